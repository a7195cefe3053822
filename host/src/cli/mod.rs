//! The `doitong` binary's client commands: `generate`, `status`,
//! `providers`, run against a server's public API with an API key, as a
//! user's script would. Part of the binary only (the library has no
//! terminal concerns).
//!
//! Errors print the API's code and what to do about it; a generation that
//! runs shows a progress bar (indicatif, on stderr, drawn only on a
//! terminal) fed by polling `generation(id)` with `Prefer: wait`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

/// How to reach the server, and as whom.
#[derive(clap::Args)]
pub struct ApiArgs {
    /// The server's base URL.
    #[arg(long, env = "DOITONG_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// An API key (`dt_live_…` or `dt_test_…`).
    #[arg(long, env = "DOITONG_API_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// `doitong generate`.
#[derive(clap::Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// VIDEO, IMAGE, AUDIO or AVATAR.
    #[arg(long = "type", value_name = "TYPE", default_value = "IMAGE")]
    pub kind: String,
    /// The prompt, or the text to speak.
    #[arg(long)]
    pub prompt: String,
    /// An offering id (`doitong providers`); absent: the gateway chooses.
    #[arg(long)]
    pub provider: Option<String>,
    /// An option as NAME=VALUE (repeatable); VALUE is read as JSON when it
    /// parses (`10`, `true`), else as text.
    #[arg(long = "option", value_name = "NAME=VALUE")]
    pub options: Vec<String>,
    /// An input image: a local file (uploaded first) or an https:// URL.
    #[arg(long)]
    pub image: Option<String>,
    /// Adjust options the provider does not take instead of refusing them
    /// (`Prefer: handling=lenient`); the changes are printed.
    #[arg(long)]
    pub lenient: bool,
    /// Wait for the end, showing progress.
    #[arg(long)]
    pub wait: bool,
    /// Save the result here (implies --wait).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A server answering as the API does.
struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    fn new(args: &ApiArgs) -> Result<Api> {
        let Some(key) = args.key.clone().filter(|k| !k.is_empty()) else {
            bail!("no API key: set DOITONG_API_KEY or pass --key (keys look like dt_test_… or dt_live_…)");
        };
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
        Ok(Api { http, url: args.url.trim_end_matches('/').to_string(), key })
    }

    /// Run an operation; its `data`, or the first error with its code and
    /// what to do.
    async fn call(&self, query: &str, variables: Value, prefer: Option<&str>) -> Result<(Value, Value)> {
        let mut request = self.http.post(format!("{}/graphql", self.url)).bearer_auth(&self.key);
        if let Some(prefer) = prefer {
            request = request.header("prefer", prefer);
        }
        let response = request
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .with_context(|| format!("cannot reach {} (is `doitong serve` running there?)", self.url))?;
        let body: Value = response.json().await.context("the server did not answer with JSON")?;
        if let Some(error) = body["errors"].get(0) {
            bail!(explain(error));
        }
        Ok((body["data"].clone(), body["extensions"].clone()))
    }

    async fn upload(&self, path: &Path) -> Result<String> {
        let bytes = tokio::fs::read(path).await.with_context(|| format!("cannot read {}", path.display()))?;
        let response = self
            .http
            .post(format!("{}/uploads", self.url))
            .bearer_auth(&self.key)
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.url))?;
        let body: Value = response.json().await.context("the server did not answer with JSON")?;
        match body["id"].as_str() {
            Some(id) => Ok(id.to_string()),
            None => bail!(explain(&body["errors"][0])),
        }
    }
}

/// `CODE: message` and what to do about it.
fn explain(error: &Value) -> String {
    let code = error["extensions"]["code"].as_str().unwrap_or("ERROR");
    let message = error["message"].as_str().unwrap_or("the server refused the request");
    let hint = match code {
        "UNAUTHENTICATED" => "check the key (DOITONG_API_KEY or --key); `doitong keys create` makes one",
        "INSUFFICIENT_CREDITS" => "add credits to the account (`doitong accounts grant`)",
        "RATE_LIMIT" => "wait and retry; the plan's limits are in `account { limits }`",
        "INVALID_INPUT" => "fix the named field; `doitong providers` lists each provider's options, or add --lenient",
        "PROVIDER_UNAVAILABLE" => "retry later, or leave out --provider to let the gateway choose",
        "GENERATION_FAILED" => "change the prompt or options and retry (credits were refunded)",
        "FORBIDDEN" => "use a key allowed to do this (a live key, or the admin token)",
        _ => "see the server log",
    };
    let mut text = format!("{code}: {message}");
    if let Some(allowed) = error["extensions"]["allowedValues"].as_array() {
        let allowed: Vec<String> = allowed.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect();
        text.push_str(&format!("\n  allowed: {}", allowed.join(", ")));
    }
    text.push_str(&format!("\n  what to do: {hint}"));
    text
}

/// `NAME=VALUE` pairs as a JSON object.
fn options(pairs: &[String]) -> Result<Value> {
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else { bail!("--option {pair}: write it as NAME=VALUE") };
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        map.insert(name.trim().to_string(), value);
    }
    Ok(Value::Object(map))
}

const FIELDS: &str = "id status progress provider creditCost url error { code message }";

/// `doitong generate`.
pub async fn generate(args: &GenerateArgs) -> Result<()> {
    let api = Api::new(&args.api)?;
    let image = match &args.image {
        Some(image) if image.starts_with("https://") || image.starts_with("data:") => Some(image.clone()),
        Some(path) => Some(api.upload(Path::new(path)).await?),
        None => None,
    };
    let input = json!({
        "type": args.kind.to_uppercase(),
        "provider": args.provider,
        "input": { "text": args.prompt, "image": image },
        "options": options(&args.options)?,
    });
    let query = format!("mutation($input: GenerateInput!) {{ generate(input: $input) {{ {FIELDS} }} }}");
    let prefer = args.lenient.then_some("handling=lenient");
    let (data, extensions) = api.call(&query, json!({ "input": input }), prefer).await?;
    for warning in extensions["warnings"].as_array().into_iter().flatten() {
        eprintln!(
            "adjusted {}: {}",
            warning["field"].as_str().unwrap_or("?"),
            warning["message"].as_str().unwrap_or("")
        );
    }
    let mut generation = data["generate"].clone();
    let id = generation["id"].as_str().context("no generation id in the answer")?.to_string();
    eprintln!("{id}: {} on {} ({} credits)", generation["status"], generation["provider"], generation["creditCost"]);
    if args.wait || args.out.is_some() {
        generation = follow(&api, &id).await?;
    }
    print_generation(&generation);
    if generation["status"] == "FAILED" {
        bail!(explain(
            &json!({ "extensions": { "code": generation["error"]["code"] }, "message": generation["error"]["message"] })
        ));
    }
    if let (Some(out), Some(url)) = (&args.out, generation["url"].as_str()) {
        let bytes = api.http.get(url).send().await?.error_for_status()?.bytes().await?;
        tokio::fs::write(out, &bytes).await.with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("saved {} ({} bytes)", out.display(), bytes.len());
    }
    Ok(())
}

/// Poll the generation to its end, with a progress bar.
async fn follow(api: &Api, id: &str) -> Result<Value> {
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40.cyan/blue} {pos:>3}% {msg}")
            .expect("a valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let query = format!("query($id: ID!) {{ generation(id: $id) {{ {FIELDS} }} }}");
    loop {
        let (data, _) = api.call(&query, json!({ "id": id }), Some("wait=2")).await?;
        let generation = data["generation"].clone();
        let status = generation["status"].as_str().unwrap_or_default().to_string();
        bar.set_position(generation["progress"].as_u64().unwrap_or(0));
        bar.set_message(status.to_lowercase());
        if ["COMPLETED", "FAILED", "CANCELLED"].contains(&status.as_str()) {
            if status == "COMPLETED" {
                bar.set_position(100);
            }
            bar.finish();
            return Ok(generation);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn print_generation(g: &Value) {
    println!("id:       {}", g["id"].as_str().unwrap_or_default());
    println!("status:   {}", g["status"].as_str().unwrap_or_default());
    println!("provider: {}", g["provider"].as_str().unwrap_or_default());
    println!("credits:  {}", g["creditCost"]);
    if let Some(url) = g["url"].as_str() {
        println!("url:      {url}");
    }
    if let Some(message) = g["error"]["message"].as_str() {
        println!("error:    {} {message}", g["error"]["code"].as_str().unwrap_or_default());
    }
}

/// `doitong status ID`.
pub async fn status(api: &ApiArgs, id: &str) -> Result<()> {
    let api = Api::new(api)?;
    let query = format!("query($id: ID!) {{ generation(id: $id) {{ {FIELDS} }} }}");
    let (data, _) = api.call(&query, json!({ "id": id }), None).await?;
    if data["generation"].is_null() {
        bail!(
            "NOT_FOUND: no generation `{id}` in this account\n  what to do: check the id (`doitong generate` prints it)"
        );
    }
    print_generation(&data["generation"]);
    Ok(())
}

/// `doitong providers [--type T]`.
pub async fn providers(api: &ApiArgs, kind: Option<&str>) -> Result<()> {
    let api = Api::new(api)?;
    let query = "query($t: GenerationType) { providers(type: $t) { id types available pricing { creditCost } options { name } } }";
    let (data, _) = api.call(query, json!({ "t": kind.map(str::to_uppercase) }), None).await?;
    println!("{:<22} {:<18} {:>7}  {:<9} options", "provider", "types", "credits", "available");
    for p in data["providers"].as_array().into_iter().flatten() {
        let types: Vec<&str> = p["types"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let options: Vec<&str> =
            p["options"].as_array().into_iter().flatten().filter_map(|o| o["name"].as_str()).collect();
        println!(
            "{:<22} {:<18} {:>7}  {:<9} {}",
            p["id"].as_str().unwrap_or_default(),
            types.join(","),
            p["pricing"]["creditCost"],
            if p["available"] == true { "yes" } else { "no" },
            options.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_read_json_or_text() {
        let parsed = options(&["duration=10".into(), "loop=true".into(), "aspectRatio=16:9".into()]).unwrap();
        assert_eq!(parsed, json!({ "duration": 10, "loop": true, "aspectRatio": "16:9" }));
        assert!(options(&["nonsense".into()]).is_err());
    }

    #[test]
    fn errors_say_what_to_do() {
        let text =
            explain(&json!({ "message": "unknown or revoked API key", "extensions": { "code": "UNAUTHENTICATED" } }));
        assert!(text.starts_with("UNAUTHENTICATED: unknown or revoked API key"), "{text}");
        assert!(text.contains("what to do: check the key"), "{text}");
    }
}
