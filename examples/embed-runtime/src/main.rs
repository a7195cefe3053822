//! The plugin runtime without the gateway: no database, no GraphQL.
//!
//! `cargo run -p doitong-example-embed-runtime -- [PLUGIN.wasm] [PROMPT]`
//! loads the plugin (default: the bundled placeholder), prints its
//! offerings, quotes and runs one image generation, and writes the result
//! next to the current directory. The same sandbox limits apply as in the
//! server; the caller supplies secrets and the HTTP policy.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use doitong_host::plugins::{
    JobInput, JobRequest, MediaKind, PluginRuntime, PluginSettings, Progress, RuntimeLimits, Submitted,
};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let wasm = match args.next() {
        Some(path) => std::fs::read(&path).with_context(|| format!("cannot read {path}"))?,
        None => doitong_host::gateway::bundled::plugin("placeholder").context("placeholder is bundled")?.to_vec(),
    };
    let prompt = args.next().unwrap_or_else(|| "a lighthouse at dusk".to_string());

    let runtime = PluginRuntime::new(RuntimeLimits::default(), None)?;
    // Secrets and HTTP rules come from the caller, e.g. read from your own config.
    let settings = PluginSettings::default();
    let plugin = runtime.load("plugin.wasm", &wasm, &settings).await?;
    println!("loaded {} {} ({} offerings)", plugin.id(), plugin.version(), plugin.manifest_info().offerings.len());
    let offering = plugin
        .manifest_info()
        .offerings
        .iter()
        .find(|o| o.kinds.contains(&MediaKind::Image))
        .context("the plugin has no image offering")?
        .clone();

    let request = JobRequest {
        offering: offering.id.clone(),
        kind: MediaKind::Image,
        input: JobInput { text: Some(prompt), ..JobInput::default() },
        options: Vec::new(),
    };
    let quote = plugin.quote(&request).await?.map_err(|f| anyhow::anyhow!("{}", f.message))?;
    println!("{}: {} credits, about {} s", offering.id, quote.credits, quote.estimated_seconds);

    let artifacts = match plugin.submit(&request).await?.map_err(|f| anyhow::anyhow!("{}", f.message))? {
        Submitted::Done(artifacts) => artifacts,
        Submitted::Running(mut running) => loop {
            tokio::time::sleep(Duration::from_millis(u64::from(running.poll_after_ms.max(50)))).await;
            match plugin.poll(&running.handle).await? {
                Progress::Running(next) => {
                    println!("  {}%", next.percent.unwrap_or(0));
                    running = next;
                }
                Progress::Done(artifacts) => break artifacts,
                Progress::Failed(f) => bail!("generation failed: {}", f.message),
                Progress::Cancelled => bail!("cancelled"),
            }
        },
    };
    let first = artifacts.first().context("no output")?;
    let bytes = first.bytes.as_ref().context("this example saves inline outputs only")?;
    let extension = first.mime.rsplit('/').next().unwrap_or("bin");
    let path = format!("embed-runtime-output.{extension}");
    std::fs::write(&path, bytes)?;
    println!("wrote {path} ({} bytes, {:?}x{:?})", bytes.len(), first.width, first.height);
    Ok(())
}
