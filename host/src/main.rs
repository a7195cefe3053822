//! `doitong`: the CLI over the `doitong_host` library.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use doitong_host::admin::{Admin, LimitOverrides};
use doitong_host::{Config, Gateway};

mod cli;

#[derive(Parser)]
#[command(name = "doitong", version, about = "Self-hostable GraphQL gateway for AI media generation")]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// State directory (overrides config and DOITONG_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides config).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a generation on a server (`--wait`/`--out`: follow it with a
    /// progress bar and save the result).
    Generate(cli::GenerateArgs),
    /// Show one generation.
    Status {
        /// The generation's id (`gen_…`).
        id: String,
        #[command(flatten)]
        api: cli::ApiArgs,
    },
    /// List the providers a server offers.
    Providers {
        /// Only those generating VIDEO, IMAGE, AUDIO or AVATAR.
        #[arg(long = "type", value_name = "TYPE")]
        kind: Option<String>,
        #[command(flatten)]
        api: cli::ApiArgs,
    },
    /// Print the public GraphQL schema (SDL), as committed in `schema.graphql`.
    Schema,
    /// Run the server.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<String>,
        /// Base of signed artifact URLs.
        #[arg(long)]
        public_url: Option<String>,
        /// Redis for rate-limit counters shared by several servers.
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    Accounts {
        #[command(subcommand)]
        command: AccountsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Inspect plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Webhook tools for receivers.
    Webhooks {
        #[command(subcommand)]
        command: WebhooksCommand,
    },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Check a delivery's signature the way a receiver must: reads the raw
    /// body on standard input; prints `valid` (exit 0) or `invalid: <why>` (exit 1).
    Verify {
        /// The account's signing secret (`whsec_…`, from `account { webhookSecret }`).
        #[arg(long)]
        secret: String,
        /// The `webhook-id` header.
        #[arg(long)]
        id: String,
        /// The `webhook-timestamp` header (Unix seconds).
        #[arg(long)]
        timestamp: String,
        /// The `webhook-signature` header (one or more `v1,<base64>`, space-separated).
        #[arg(long, allow_hyphen_values = true)]
        signature: String,
        /// Accept a timestamp more than 5 minutes from now (a replayed or saved delivery).
        #[arg(long)]
        ignore_timestamp: bool,
    },
}

#[derive(Subcommand)]
enum AccountsCommand {
    /// Create an account; prints its id.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "free", value_parser = ["free", "starter", "pro", "enterprise"])]
        plan: String,
        #[arg(long, default_value_t = 0)]
        credits: i64,
    },
    /// List accounts (id, name, plan, credits).
    List,
    /// Add (or, negative, remove) credits; prints the new balance.
    Grant {
        #[arg(long)]
        account: String,
        #[arg(long, allow_hyphen_values = true)]
        credits: i64,
    },
    /// Change an account's plan and its own limit overrides.
    SetPlan {
        #[arg(long)]
        account: String,
        #[arg(long, value_parser = ["free", "starter", "pro", "enterprise"])]
        plan: String,
        #[arg(long)]
        rpm: Option<i64>,
        #[arg(long)]
        concurrent: Option<i64>,
        #[arg(long)]
        daily: Option<i64>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key; prints it as the last line.
    Create {
        #[arg(long)]
        account: String,
        /// A dt_test_ key (placeholder output, no credits).
        #[arg(long)]
        test: bool,
    },
    /// List an account's keys (id, prefix, mode, revoked).
    List {
        #[arg(long)]
        account: String,
    },
    /// Revoke a key by id (key_…).
    Revoke {
        #[arg(long)]
        key: String,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// List the plugins this configuration would load (offline).
    List,
    /// Load a .wasm and print its manifest or the exact validation error (offline).
    Check { file: PathBuf },
    /// Upload a .wasm to a running server, which validates and swaps it in.
    Install {
        file: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Serve a disabled plugin again on a running server.
    Enable {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Stop serving a plugin on a running server (until enabled again; kept across restarts).
    Disable {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Unload a plugin from a running server and delete its file.
    Remove {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Show a running server's plugins (id, version, state, source, error).
    Status {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// How to reach a running server's admin API.
#[derive(clap::Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// The server's admin token.
    #[arg(long, env = "DOITONG_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
}

/// Run an admin GraphQL operation on a running server; its `data`.
async fn admin_call(server: &ServerArgs, query: &str, variables: serde_json::Value) -> Result<serde_json::Value> {
    let url = format!("{}/graphql", server.url.trim_end_matches('/'));
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&server.admin_token)
        .json(&serde_json::json!({ "query": query, "variables": variables }))
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = response.status();
    let body: serde_json::Value =
        response.json().await.with_context(|| format!("{url} answered HTTP {status} without JSON"))?;
    if let Some(error) = body["errors"].get(0) {
        bail!("{}", error["message"].as_str().unwrap_or("request failed"));
    }
    Ok(body["data"].clone())
}

fn load_config(cli: &Cli, extra: toml::Table) -> Result<Config> {
    let mut flags = extra;
    if let Some(d) = &cli.data_dir {
        flags.insert("data_dir".into(), toml::Value::String(d.display().to_string()));
    }
    if let Some(u) = &cli.database_url {
        flags.insert("database_url".into(), toml::Value::String(u.clone()));
    }
    Ok(Config::load(cli.config.as_deref(), std::env::vars(), flags)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,wasmtime=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match &cli.command {
        Command::Serve { listen, public_url, redis_url } => {
            let mut flags = toml::Table::new();
            if let Some(l) = listen {
                flags.insert("listen".into(), toml::Value::String(l.clone()));
            }
            if let Some(p) = public_url {
                flags.insert("public_url".into(), toml::Value::String(p.clone()));
            }
            if let Some(r) = redis_url {
                flags.insert("redis_url".into(), toml::Value::String(r.clone()));
            }
            serve(load_config(&cli, flags)?).await
        }
        Command::Generate(args) => cli::generate(args).await,
        Command::Status { id, api } => cli::status(api, id).await,
        Command::Providers { kind, api } => cli::providers(api, kind.as_deref()).await,
        Command::Schema => {
            print!("{}", doitong_host::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            Admin::open(&load_config(&cli, toml::Table::new())?).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Accounts { command } => {
            let admin = Admin::open(&load_config(&cli, toml::Table::new())?).await?;
            match command {
                AccountsCommand::Create { name, plan, credits } => {
                    println!("{}", admin.create_account(name, plan, *credits).await?.id);
                }
                AccountsCommand::List => {
                    for a in admin.accounts().await? {
                        println!("{}\t{}\t{}\t{}", a.id, a.name, a.plan, a.credits);
                    }
                }
                AccountsCommand::Grant { account, credits } => {
                    let id = admin.find_account(account).await?.id;
                    println!("{}", admin.grant_credits(&id, *credits).await?);
                }
                AccountsCommand::SetPlan { account, plan, rpm, concurrent, daily } => {
                    let id = admin.find_account(account).await?.id;
                    let overrides = LimitOverrides { rpm: *rpm, concurrent: *concurrent, daily: *daily };
                    admin.set_plan(&id, plan, overrides).await?;
                    println!("{id}\t{plan}");
                }
            }
            Ok(())
        }
        Command::Keys { command } => {
            let admin = Admin::open(&load_config(&cli, toml::Table::new())?).await?;
            match command {
                KeysCommand::Create { account, test } => {
                    let id = admin.find_account(account).await?.id;
                    println!("{}", admin.create_key(&id, *test).await?.0);
                }
                KeysCommand::List { account } => {
                    let id = admin.find_account(account).await?.id;
                    for k in admin.keys(&id).await? {
                        let mode = if k.test_mode { "test" } else { "live" };
                        let revoked = if k.revoked_at.is_some() { "revoked" } else { "active" };
                        println!("{}\t{}…\t{mode}\t{revoked}", k.id, k.prefix);
                    }
                }
                KeysCommand::Revoke { key } => {
                    if !admin.revoke_key(key).await? {
                        bail!("no active key {key:?}");
                    }
                    println!("revoked {key}");
                }
            }
            Ok(())
        }
        Command::Plugins { command } => plugins(&cli, command).await,
        Command::Webhooks {
            command: WebhooksCommand::Verify { secret, id, timestamp, signature, ignore_timestamp },
        } => {
            use std::io::Read as _;
            let mut body = Vec::new();
            std::io::stdin().read_to_end(&mut body).context("reading the body from standard input")?;
            let now = (!ignore_timestamp).then(|| doitong_host::store::now_ms() / 1000);
            match doitong_host::webhooks::signing::verify(secret, id, timestamp, signature, &body, now) {
                Ok(()) => {
                    println!("valid");
                    Ok(())
                }
                Err(why) => {
                    println!("invalid: {why}");
                    std::process::exit(1);
                }
            }
        }
    }
}

async fn serve(config: Config) -> Result<()> {
    let listen = config.listen;
    let gateway = Gateway::start(config).await?;
    if let Some(key) = &gateway.first_run_key {
        eprintln!("created account `default` (free plan, 1000 credits) with a test-mode API key:");
        println!("{key}");
    }
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    eprintln!(
        "doitong listening on http://{}  (GraphiQL: http://{}/graphql)",
        listener.local_addr()?,
        listener.local_addr()?
    );
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        eprintln!("doitong: {signal}: shutting down");
        let _ = stop.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let config = gateway.config();
    let limits = doitong_host::server::ServeLimits {
        header_timeout: std::time::Duration::from_secs(config.limits.header_timeout_secs.max(1)),
        max_connections: config.limits.max_connections,
        grace: std::time::Duration::from_secs(config.shutdown_grace_secs),
    };
    // On the signal the listener closes; requests in flight, job steps and
    // webhook attempts then finish together, each within the grace.
    let http = doitong_host::server::serve(listener, gateway.router(), limits, stopped(stopping.clone()));
    tokio::pin!(http);
    let mut http_done = false;
    tokio::select! {
        () = &mut http => http_done = true,
        () = stopped(stopping) => {}
    }
    let drain_http = async {
        if !http_done {
            http.await;
        }
    };
    tokio::join!(drain_http, gateway.shutdown());
    Ok(())
}

/// The first of SIGTERM (`docker stop`, systemd, Kubernetes) and SIGINT
/// (Ctrl-C); its name.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("installing the SIGTERM handler");
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

async fn plugins(cli: &Cli, command: &PluginsCommand) -> Result<()> {
    match command {
        PluginsCommand::Install { file, server } => {
            use base64::Engine as _;
            let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let data = admin_call(
                server,
                "mutation($w: String!) { installPlugin(wasmBase64: $w) { id version sha256 state } }",
                serde_json::json!({ "w": base64::engine::general_purpose::STANDARD.encode(wasm) }),
            )
            .await?;
            let p = &data["installPlugin"];
            println!(
                "{}\t{}\t{}\t{}",
                p["id"].as_str().unwrap_or_default(),
                p["version"].as_str().unwrap_or_default(),
                p["state"].as_str().unwrap_or_default(),
                p["sha256"].as_str().unwrap_or_default()
            );
            return Ok(());
        }
        PluginsCommand::Enable { id, server }
        | PluginsCommand::Disable { id, server }
        | PluginsCommand::Remove { id, server } => {
            let field = match command {
                PluginsCommand::Enable { .. } => "enablePlugin",
                PluginsCommand::Disable { .. } => "disablePlugin",
                _ => "removePlugin",
            };
            admin_call(
                server,
                &format!("mutation($id: String!) {{ {field}(id: $id) }}"),
                serde_json::json!({ "id": id }),
            )
            .await?;
            println!("{field} {id}: ok");
            return Ok(());
        }
        PluginsCommand::Status { server } => {
            let data =
                admin_call(server, "{ plugins { id version state source lastError } }", serde_json::json!({})).await?;
            for p in data["plugins"].as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p["id"].as_str().unwrap_or_default(),
                    p["version"].as_str().unwrap_or("-"),
                    p["state"].as_str().unwrap_or_default(),
                    p["source"].as_str().unwrap_or_default(),
                    p["lastError"].as_str().unwrap_or_default().replace(char::is_whitespace, " ")
                );
            }
            return Ok(());
        }
        PluginsCommand::List | PluginsCommand::Check { .. } => {}
    }
    let config = load_config(cli, toml::Table::new())?;
    let runtime = doitong_host::plugins::PluginRuntime::new(config.sandbox.limits(), None)?;
    match command {
        PluginsCommand::Check { file } => {
            let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = file.display().to_string();
            let plugin = runtime.load_with(&name, &wasm, &|id: &str| config.plugin_settings(id)).await?;
            let manifest = plugin.manifest_info();
            println!("{}", serde_json::to_string_pretty(manifest)?);
            eprintln!("ok: {} {} (sha256 {})", plugin.id(), plugin.version(), plugin.sha256());
            Ok(())
        }
        PluginsCommand::List => {
            for p in Gateway::inspect_plugins(config).await? {
                println!(
                    "{}\t{}\t{:?}\t{}\t{}\t{}",
                    p.id,
                    p.version.as_deref().unwrap_or("-"),
                    p.state,
                    p.source,
                    p.offerings.join(","),
                    p.last_error.unwrap_or_default().replace(char::is_whitespace, " ")
                );
            }
            Ok(())
        }
        _ => unreachable!("server commands returned above"),
    }
}
