//! The `doitong` client commands against a running server (issue 15):
//! `generate` with a progress bar on a real terminal (a pty from
//! `script`), the result saved; `status`; `providers`; errors that say
//! what to do.

use std::process::{Command, Output};

use crate::harness::Server;

fn doitong(server: &Server, key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(args)
        .env("DOITONG_URL", server.url(""))
        .env("DOITONG_API_KEY", key)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `doitong generate --out` on a terminal draws the progress bar and saves
/// the image; `status` and `providers` read the same server.
#[tokio::test]
async fn generate_on_a_terminal_shows_progress_and_saves_the_result() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fox.png");
    let command = format!(
        "{} generate --type IMAGE --prompt 'a red fox in the snow' --option aspectRatio=16:9 --out {}",
        env!("CARGO_BIN_EXE_doitong"),
        out.display()
    );
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    let run = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env("DOITONG_URL", server.url(""))
        .env("DOITONG_API_KEY", &server.key)
        .env("TERM", "xterm-256color")
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    let screen = text(&run.stdout);
    assert!(run.status.success(), "{screen}\n{}", text(&run.stderr));
    assert!(screen.contains('█') && screen.contains("100%"), "a progress bar was drawn: {screen}");
    assert!(screen.contains("status:   COMPLETED") && screen.contains("saved"), "{screen}");
    let saved = std::fs::read(&out).unwrap();
    assert!(saved.starts_with(b"\x89PNG"), "the result was saved");

    let at = screen.find("gen_").unwrap_or_else(|| panic!("{screen}"));
    let id: String = screen[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let status = doitong(&server, &server.key, &["status", &id]);
    assert!(text(&status.stdout).contains("status:   COMPLETED"), "{}", text(&status.stdout));
    let providers = doitong(&server, &server.key, &["providers", "--type", "image"]);
    let listing = text(&providers.stdout);
    assert!(providers.status.success() && listing.lines().any(|l| l.starts_with("placeholder ")), "{listing}");
}

/// A bad key, a missing key and a bad option each fail with the API's code
/// and what to do.
#[tokio::test]
async fn errors_print_their_code_and_what_to_do() {
    let server = Server::start().await;
    let bad = doitong(&server, "dt_live_not_a_key", &["generate", "--prompt", "x"]);
    assert!(!bad.status.success());
    let message = text(&bad.stderr);
    assert!(message.contains("UNAUTHENTICATED: unknown or revoked API key"), "{message}");
    assert!(message.contains("what to do: check the key"), "{message}");

    let none = Command::new(env!("CARGO_BIN_EXE_doitong"))
        .args(["generate", "--prompt", "x", "--url", &server.url("")])
        .env_remove("DOITONG_API_KEY")
        .output()
        .unwrap();
    assert!(text(&none.stderr).contains("no API key: set DOITONG_API_KEY"), "{}", text(&none.stderr));

    let option = doitong(
        &server,
        &server.key,
        &["generate", "--provider", "placeholder", "--prompt", "x", "--option", "aspectRatio=7:3"],
    );
    let message = text(&option.stderr);
    assert!(message.contains("INVALID_INPUT") && message.contains("allowed:"), "{message}");
    let lenient = doitong(
        &server,
        &server.key,
        &["generate", "--provider", "placeholder", "--prompt", "x", "--option", "aspectRatio=7:3", "--lenient"],
    );
    assert!(lenient.status.success(), "{}", text(&lenient.stderr));
    assert!(text(&lenient.stderr).contains("adjusted options.aspectRatio"), "{}", text(&lenient.stderr));
}

/// The typed Python client in `examples/python-typed-client`, generated
/// from `schema.graphql` with ariadne-codegen, is current (regenerating it
/// changes nothing) and works against a server.
#[tokio::test]
async fn the_generated_python_client_is_current_and_works() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let example = root.join("examples/python-typed-client");

    let scratch = tempfile::tempdir().unwrap();
    let copy = scratch.path().join("examples/python-typed-client");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(root.join("schema.graphql"), scratch.path().join("schema.graphql")).unwrap();
    for file in ["pyproject.toml", "queries.graphql"] {
        std::fs::copy(example.join(file), copy.join(file)).unwrap();
    }
    let generated = Command::new("ariadne-codegen").current_dir(&copy).output();
    let generated = generated.expect("ariadne-codegen is installed (`pip install ariadne-codegen`; .ci/run does)");
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    let mut files: Vec<_> = std::fs::read_dir(example.join("doitong_client"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".py"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for name in &files {
        let committed = std::fs::read_to_string(example.join("doitong_client").join(name)).unwrap();
        let fresh = std::fs::read_to_string(copy.join("doitong_client").join(name)).unwrap_or_default();
        assert!(
            committed == fresh,
            "examples/python-typed-client/doitong_client/{} is stale: run `ariadne-codegen` there",
            name.to_string_lossy()
        );
    }

    let server = Server::start().await;
    let run = Command::new("python3")
        .arg("main.py")
        .current_dir(&example)
        .env("DOITONG_URL", server.url(""))
        .env("DOITONG_API_KEY", &server.key)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let out = text(&run.stdout);
    assert!(run.status.success(), "{out}\n{}", text(&run.stderr));
    assert!(out.contains("image providers:") && out.contains("placeholder"), "{out}");
    assert!(out.contains("done: ") && out.contains("/files/"), "{out}");
}
