//! Query, Mutation and Subscription roots.

use std::time::Duration;

use async_graphql::{Context, ErrorExtensions, ID, InputObject, Json, Object, Result, Schema, Subscription};
use futures::Stream;

use super::bare_selection::BareSelectionExpansion;
use super::types::{
    AccountView, ApiKeyView, CreatedKey, CreditTransaction, CreditTransactionConnection, Generation,
    GenerationConnection, GenerationEdge, GenerationStatus, GenerationType, PageInfo, Provider, VideoCreatePayload,
    WebhookDelivery, WebhookDeliveryConnection, WebhookDeliveryStatus, WebhookEndpoint,
};
use crate::admin::LimitOverrides;
use crate::admission::IdempotentGeneration;
use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Caller, GenerateRequest, Jobs, RawInput};
use crate::plugins::{ManageError, PluginManager};
use crate::routing::Priority;
use crate::webhooks::Webhooks;

/// The schema type.
pub type DoitongSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// The public API's schema in SDL: what `doitong schema` prints and
/// `schema.graphql` at the repository root holds.
pub fn sdl() -> String {
    Schema::build(Query, Mutation, SubscriptionRoot).finish().sdl()
}

/// Build the schema over the job service and the rate-limit counters.
pub fn build_schema(
    jobs: Jobs,
    counters: std::sync::Arc<crate::limits::Counters>,
    plugins: crate::plugins::PluginManager,
    webhooks: Webhooks,
) -> DoitongSchema {
    let limits = jobs.config().limits.clone();
    Schema::build(Query, Mutation, SubscriptionRoot)
        .limit_depth(limits.graphql_depth)
        .limit_complexity(limits.graphql_complexity)
        .limit_directives(limits.graphql_directives)
        .data(jobs)
        .data(counters)
        .data(plugins)
        .data(webhooks)
        .extension(BareSelectionExpansion)
        .finish()
}

/// `Prefer: wait=N` from the request, in seconds (capped at 60).
#[derive(Debug, Clone, Copy)]
pub struct PreferWait(pub u64);

/// `Prefer: handling=lenient`: where the changes made to the request's
/// options are collected, for `extensions.warnings`.
#[derive(Debug, Clone, Default)]
pub struct Lenient(pub std::sync::Arc<std::sync::Mutex<Vec<crate::jobs::lenient::Adjustment>>>);

/// Marks a request made with the operator's admin token.
#[derive(Debug, Clone, Copy)]
pub struct Admin;

/// Operator actions, for requests made with the admin token only.
fn admin(ctx: &Context<'_>) -> Result<crate::admin::Admin> {
    ctx.data_opt::<Admin>().map(|_| crate::admin::Admin::new(ctx.data_unchecked::<Jobs>().store().clone())).ok_or_else(
        || {
            ApiError::new(ErrorCode::Forbidden, "this field needs the admin token (`admin_token` in the config)")
                .extend()
        },
    )
}

/// Key management for the caller's own account.
fn own_keys(ctx: &Context<'_>) -> crate::keys::Keys {
    crate::keys::Keys::new(ctx.data_unchecked::<Jobs>().store().clone())
}

fn caller<'a>(ctx: &'a Context<'_>) -> Result<&'a Caller> {
    ctx.data_opt::<Caller>().ok_or_else(|| {
        ApiError::new(ErrorCode::Unauthenticated, "send an API key as `Authorization: Bearer dt_…`").extend()
    })
}

fn gql(e: ApiError) -> async_graphql::Error {
    e.extend()
}

/// Inputs of a generation. Media are `https://` URLs, `data:` URIs, or
/// `upload_…` ids from `POST /uploads`.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ContentInput {
    /// Prompt, or the text to speak.
    pub text: Option<String>,
    /// Image (image-to-video, references).
    pub image: Option<String>,
    /// Audio (lip sync).
    pub audio: Option<String>,
    /// Video (references).
    pub video: Option<String>,
    /// Voice name or id.
    pub voice: Option<String>,
}

/// A generation request.
#[derive(InputObject, Debug, Clone)]
pub struct GenerateInput {
    /// What to generate.
    #[graphql(name = "type")]
    pub kind: GenerationType,
    /// Provider id; absent chooses one by `priority`.
    pub provider: Option<String>,
    /// Offerings to move to, in order, if `provider` fails before its
    /// vendor accepts the job (same generation id; the reservation follows
    /// the new quote). Without it a named provider never fails over.
    #[graphql(default)]
    pub fallbacks: Vec<String>,
    /// Inputs.
    pub input: ContentInput,
    /// Provider options (see `providers { options }`).
    pub options: Option<Json<serde_json::Value>>,
    /// What automatic selection optimises.
    #[graphql(default)]
    pub priority: Priority,
    /// URL notified when the generation finishes (signed Standard Webhooks
    /// `generation.completed|failed|cancelled` events).
    pub webhook_url: Option<String>,
    /// Also send `generation.progress` events to `webhookUrl`. Default false.
    #[graphql(default)]
    pub webhook_progress: bool,
}

/// The seed's Apollo `videoCreate` input.
#[derive(InputObject, Debug, Clone)]
pub struct VideoCreateInput {
    /// Prompt.
    pub prompt: String,
    /// Provider id (e.g. `luma`); absent chooses one.
    pub model: Option<String>,
    /// Seconds.
    pub duration: Option<i32>,
    /// E.g. `16:9`.
    pub aspect_ratio: Option<String>,
    /// E.g. `1080p`.
    pub resolution: Option<String>,
    /// Image to animate.
    pub image: Option<String>,
    /// URL notified when the generation finishes.
    pub webhook_url: Option<String>,
}

impl From<ContentInput> for RawInput {
    fn from(c: ContentInput) -> Self {
        RawInput { text: c.text, image: c.image, audio: c.audio, video: c.video, voice: c.voice }
    }
}

/// Query root.
pub struct Query;

#[Object]
impl Query {
    /// One of your generations.
    async fn generation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Generation>> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let row = jobs.get(caller(ctx)?, &id).await.map_err(gql)?;
        Ok(row.map(Generation::new))
    }

    /// Your generations, newest first.
    #[graphql(complexity = "usize::try_from(first.clamp(1, 100)).unwrap_or(100) * child_complexity")]
    async fn generations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
        status: Option<GenerationStatus>,
        #[graphql(name = "type")] kind: Option<GenerationType>,
    ) -> Result<GenerationConnection> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let caller = caller(ctx)?;
        if !(1..=100).contains(&first) {
            return Err(gql(ApiError::invalid("first", "first must be between 1 and 100")));
        }
        let cursor = match after {
            Some(c) => Some(
                decode_cursor(&c)
                    .ok_or_else(|| gql(ApiError::invalid("after", "after is not a cursor from this API")))?,
            ),
            None => None,
        };
        let kind = kind.map(|k| crate::plugins::MediaKind::from(k).as_str());
        let mut rows = jobs
            .store()
            .jobs_of(&caller.account_id, status.map(Into::into), kind, cursor, i64::from(first) + 1, caller.test_mode)
            .await
            .map_err(|e| gql(e.into()))?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        // The page's outputs in one query, not one per generation and field.
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut outputs = jobs.store().artifacts_of_jobs(&ids).await.map_err(|e| gql(e.into()))?;
        let edges: Vec<GenerationEdge> = rows
            .into_iter()
            .map(|row| {
                let artifacts = outputs.remove(&row.id).unwrap_or_default();
                GenerationEdge {
                    cursor: encode_cursor(row.created_at, &row.id),
                    node: Generation::with_artifacts(row, artifacts),
                }
            })
            .collect();
        let end_cursor = edges.last().map(|e| e.cursor.clone());
        let nodes = edges.iter().map(|e| e.node.clone()).collect();
        Ok(GenerationConnection { edges, nodes, page_info: PageInfo { has_next_page, end_cursor } })
    }

    /// Your account's API keys (a test key sees test keys only).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKeyView>> {
        let keys = own_keys(ctx).list(caller(ctx)?).await.map_err(gql)?;
        Ok(keys.into_iter().map(ApiKeyView).collect())
    }

    /// The provider catalogue, optionally for one media type.
    async fn providers(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type")] kind: Option<GenerationType>,
    ) -> Result<Vec<Provider>> {
        let jobs = ctx.data_unchecked::<Jobs>();
        caller(ctx)?;
        Ok(jobs.offerings(kind.map(Into::into)).iter().map(|(p, o)| Provider::new(p, o)).collect())
    }

    /// Your credits ledger, newest first.
    #[graphql(complexity = "usize::try_from(first.clamp(1, 100)).unwrap_or(100) * child_complexity")]
    async fn credit_transactions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<CreditTransactionConnection> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let caller = caller(ctx)?;
        if !(1..=100).contains(&first) {
            return Err(gql(ApiError::invalid("first", "first must be between 1 and 100")));
        }
        let after = match after {
            Some(a) => Some(
                a.parse::<i64>().map_err(|_| gql(ApiError::invalid("after", "after is not a cursor from this API")))?,
            ),
            None => None,
        };
        let mut rows = jobs
            .store()
            .ledger_page(&caller.account_id, after, i64::from(first) + 1)
            .await
            .map_err(|e| gql(e.into()))?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        let end_cursor = rows.last().map(|r| r.id.to_string());
        let nodes = rows
            .into_iter()
            .map(|r| CreditTransaction {
                id: ID(r.id.to_string()),
                kind: r.entry.to_uppercase(),
                amount: r.amount,
                balance_after: r.balance_after,
                generation_id: r.job_id,
                created_at: super::types::DateTime(r.created_at),
            })
            .collect();
        Ok(CreditTransactionConnection { nodes, page_info: PageInfo { has_next_page, end_cursor } })
    }

    /// Every plugin: serving, failed, disabled, and versions draining their
    /// running jobs (admin token).
    async fn plugins(&self, ctx: &Context<'_>) -> Result<Vec<PluginView>> {
        admin(ctx)?;
        let manager = ctx.data_unchecked::<PluginManager>();
        let mut nodes: std::collections::HashMap<String, Vec<PluginNodeView>> = std::collections::HashMap::new();
        for n in manager.node_states().await.map_err(|e| gql(plugin_error(e)))? {
            nodes.entry(n.plugin_id.clone()).or_default().push(PluginNodeView::from(n));
        }
        Ok(manager
            .list()
            .into_iter()
            .map(|p| {
                let on_nodes = if p.state == crate::plugins::PluginState::Draining {
                    Vec::new()
                } else {
                    nodes.get(&p.id).cloned().unwrap_or_default()
                };
                PluginView { nodes: on_nodes, ..PluginView::from(p) }
            })
            .collect())
    }

    /// Every account (admin token).
    async fn accounts(&self, ctx: &Context<'_>) -> Result<Vec<AccountView>> {
        admin(ctx)?;
        let jobs = ctx.data_unchecked::<Jobs>();
        let accounts = jobs.store().accounts().await.map_err(|e| gql(e.into()))?;
        Ok(accounts.into_iter().map(|a| AccountView::new(a, false)).collect())
    }

    /// Your webhook endpoints.
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        let caller = caller(ctx)?;
        let rows = ctx.data_unchecked::<Webhooks>().endpoints(&caller.account_id).await.map_err(gql)?;
        Ok(rows.into_iter().map(WebhookEndpoint).collect())
    }

    /// Your webhook deliveries with every attempt, newest first; filter by
    /// generation and status.
    #[graphql(complexity = "usize::try_from(first.clamp(1, 100)).unwrap_or(100) * child_complexity")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        generation_id: Option<ID>,
        status: Option<WebhookDeliveryStatus>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> Result<WebhookDeliveryConnection> {
        let caller = caller(ctx)?;
        if !(1..=100).contains(&first) {
            return Err(gql(ApiError::invalid("first", "first must be between 1 and 100")));
        }
        let cursor = match after {
            Some(c) => Some(
                decode_cursor(&c)
                    .ok_or_else(|| gql(ApiError::invalid("after", "after is not a cursor from this API")))?,
            ),
            None => None,
        };
        let hooks = ctx.data_unchecked::<Webhooks>();
        let mut rows = hooks
            .deliveries(
                &caller.account_id,
                generation_id.as_ref().map(|id| id.as_str()),
                status.map(Into::into),
                cursor,
                i64::from(first) + 1,
            )
            .await
            .map_err(gql)?;
        let has_next_page = rows.len() > first as usize;
        rows.truncate(first as usize);
        let end_cursor = rows.last().map(|r| encode_cursor(r.created_at, &r.id));
        let nodes = rows.into_iter().map(WebhookDelivery).collect();
        Ok(WebhookDeliveryConnection { nodes, page_info: PageInfo { has_next_page, end_cursor } })
    }

    /// Your account.
    async fn account(&self, ctx: &Context<'_>) -> Result<AccountView> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let caller = caller(ctx)?;
        let account = jobs.store().account(&caller.account_id).await.map_err(|e| gql(e.into()))?;
        let account = account.ok_or_else(|| gql(ApiError::new(ErrorCode::NotFound, "account not found")))?;
        Ok(AccountView::new(account, caller.test_mode))
    }
}

/// Mutation root.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Start a generation. With `Prefer: wait=N` (N ≤ 60) the answer waits
    /// up to N seconds for a terminal status.
    async fn generate(&self, ctx: &Context<'_>, input: GenerateInput) -> Result<Generation> {
        let request = GenerateRequest {
            kind: input.kind.into(),
            provider: input.provider.filter(|p| !p.is_empty()),
            input: input.input.into(),
            options: input.options.map(|j| j.0),
            priority: input.priority,
            webhook_url: input.webhook_url,
            webhook_progress: input.webhook_progress,
            idempotency: None,
            fallbacks: input.fallbacks,
            lenient: false,
            run_now: false,
        };
        start(ctx, request).await
    }

    /// Cancel a generation; false if it had already finished. A generation
    /// whose `submit` is in flight is cancelled at the vendor as soon as
    /// the vendor answers (this waits up to 30 s for that, then returns
    /// true with `cancelRequestedAt` set).
    async fn cancel_generation(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let jobs = ctx.data_unchecked::<Jobs>();
        jobs.cancel(caller(ctx)?, &id).await.map_err(gql)
    }

    /// Validate a plugin (`.wasm`, base64) and put it into service on every
    /// node sharing the database (kept there by sha256, served again after
    /// restarts); replaces a plugin with the same id (admin token).
    async fn install_plugin(&self, ctx: &Context<'_>, wasm_base64: String) -> Result<PluginView> {
        admin(ctx)?;
        use base64::Engine as _;
        let wasm = base64::engine::general_purpose::STANDARD
            .decode(wasm_base64.trim())
            .map_err(|e| gql(ApiError::invalid("wasmBase64", format!("not base64: {e}"))))?;
        let manager = ctx.data_unchecked::<PluginManager>();
        let plugin = manager.install(&wasm).await.map_err(|e| gql(plugin_error(e)))?;
        let info =
            manager.list().into_iter().find(|p| p.id == plugin.id() && p.sha256.as_deref() == Some(plugin.sha256()));
        info.map(PluginView::from).ok_or_else(|| gql(ApiError::internal(&"installed plugin missing from the listing")))
    }

    /// Serve a disabled plugin's offerings again (admin token).
    async fn enable_plugin(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        admin(ctx)?;
        ctx.data_unchecked::<PluginManager>().set_enabled(&id, true).await.map_err(|e| gql(plugin_error(e)))?;
        Ok(true)
    }

    /// Stop serving a plugin's offerings until enabled again, also across
    /// restarts (admin token).
    async fn disable_plugin(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        admin(ctx)?;
        ctx.data_unchecked::<PluginManager>().set_enabled(&id, false).await.map_err(|e| gql(plugin_error(e)))?;
        Ok(true)
    }

    /// Unload a plugin and delete its file; running jobs finish (admin token).
    async fn remove_plugin(&self, ctx: &Context<'_>, id: String) -> Result<bool> {
        admin(ctx)?;
        ctx.data_unchecked::<PluginManager>().remove(&id).await.map_err(|e| gql(plugin_error(e)))?;
        Ok(true)
    }

    /// Create an account (admin token).
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        name: String,
        #[graphql(default_with = "String::from(\"free\")")] plan: String,
        #[graphql(default)] credits: i64,
    ) -> Result<AccountView> {
        let account = admin(ctx)?.create_account(&name, &plan, credits).await.map_err(gql)?;
        Ok(AccountView::new(account, false))
    }

    /// Add (or, negative, remove) credits (admin token); returns the new balance.
    async fn grant_credits(&self, ctx: &Context<'_>, account_id: ID, amount: i64) -> Result<i64> {
        admin(ctx)?.grant_credits(&account_id, amount).await.map_err(gql)
    }

    /// Change an account's plan and per-account limit overrides (admin token).
    async fn set_plan(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        plan: String,
        rpm: Option<i64>,
        concurrent: Option<i64>,
        daily: Option<i64>,
    ) -> Result<bool> {
        let overrides = LimitOverrides { rpm, concurrent, daily };
        admin(ctx)?.set_plan(&account_id, &plan, overrides).await.map_err(gql)?;
        Ok(true)
    }

    /// Create an API key for an account (admin token); the key is shown once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
        #[graphql(default)] test: bool,
    ) -> Result<String> {
        Ok(admin(ctx)?.create_key(&account_id, test).await.map_err(gql)?.0)
    }

    /// Revoke an API key by its id (`key_…`, admin token).
    async fn revoke_api_key(&self, ctx: &Context<'_>, key_id: ID) -> Result<bool> {
        admin(ctx)?.revoke_key(&key_id).await.map_err(gql)
    }

    /// A new API key for your account (`test: false` needs a live key);
    /// its plaintext is in the answer, and nowhere else, ever.
    async fn create_key(&self, ctx: &Context<'_>, #[graphql(default = true)] test: bool) -> Result<CreatedKey> {
        let (key, record) = own_keys(ctx).create(caller(ctx)?, test).await.map_err(gql)?;
        Ok(CreatedKey { key, api_key: ApiKeyView(record) })
    }

    /// Revoke one of your account's keys (a test key: test keys only);
    /// false if it was revoked already.
    async fn revoke_key(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        own_keys(ctx).revoke(caller(ctx)?, &id).await.map_err(gql)
    }

    /// Replace your webhook signing secret; returns the new one. The old
    /// secret keeps signing deliveries (a second signature in
    /// `webhook-signature`) for `graceHours` (0..=720), so receivers can
    /// switch without missing any.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 24)] grace_hours: i32,
    ) -> Result<String> {
        let caller = live_only(caller(ctx)?, "rotate the webhook signing secret")?;
        ctx.data_unchecked::<Webhooks>().rotate_secret(&caller.account_id, grace_hours).await.map_err(gql)
    }

    /// Add a webhook endpoint to your account. `events` lists event types
    /// (`generation.completed`, `generation.failed`, `generation.cancelled`,
    /// `generation.progress`) or `*` for the three terminal ones (default).
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        url: String,
        events: Option<Vec<String>>,
    ) -> Result<WebhookEndpoint> {
        let caller = caller(ctx)?;
        let hooks = ctx.data_unchecked::<Webhooks>();
        Ok(WebhookEndpoint(hooks.create_endpoint(&caller.account_id, &url, events).await.map_err(gql)?))
    }

    /// Remove one of your webhook endpoints; its pending deliveries fail.
    async fn delete_webhook_endpoint(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let caller = live_only(caller(ctx)?, "delete webhook endpoints")?;
        ctx.data_unchecked::<Webhooks>().delete_endpoint(&caller.account_id, &id).await.map_err(gql)
    }

    /// Send a delivery again now, with the same `webhook-id` and payload.
    async fn redeliver_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let caller = caller(ctx)?;
        Ok(WebhookDelivery(ctx.data_unchecked::<Webhooks>().redeliver(&caller.account_id, &id).await.map_err(gql)?))
    }

    /// Start a video generation (the portal's Apollo example).
    async fn video_create(&self, ctx: &Context<'_>, input: VideoCreateInput) -> Result<VideoCreatePayload> {
        let mut options = serde_json::Map::new();
        if let Some(d) = input.duration {
            options.insert("duration".into(), d.into());
        }
        if let Some(a) = input.aspect_ratio {
            options.insert("aspectRatio".into(), a.into());
        }
        if let Some(r) = input.resolution {
            options.insert("resolution".into(), r.into());
        }
        let request = GenerateRequest {
            kind: crate::plugins::MediaKind::Video,
            provider: input.model.filter(|m| !m.is_empty()),
            input: RawInput { text: Some(input.prompt), image: input.image, ..RawInput::default() },
            options: Some(serde_json::Value::Object(options)),
            priority: Priority::Balanced,
            webhook_url: input.webhook_url,
            webhook_progress: false,
            idempotency: None,
            fallbacks: Vec::new(),
            lenient: false,
            run_now: false,
        };
        let generation = start(ctx, request).await?;
        Ok(VideoCreatePayload { id: ID(generation.row.id.clone()), status: generation.row.status().into(), generation })
    }
}

async fn start(ctx: &Context<'_>, mut request: GenerateRequest) -> Result<Generation> {
    let jobs = ctx.data_unchecked::<Jobs>();
    let caller = caller(ctx)?;
    match ctx.data_opt::<IdempotentGeneration>() {
        Some(IdempotentGeneration::Take(key)) => key.apply(&mut request),
        Some(IdempotentGeneration::Replay { job_id }) => {
            let row = jobs.get(caller, job_id).await.map_err(gql)?.ok_or_else(|| {
                gql(ApiError::internal(&format!("generation `{job_id}` of an Idempotency-Key record is missing")))
            })?;
            return Ok(Generation::new(row.as_accepted()));
        }
        None => {}
    }
    // A caller that waits gets its job stepped at once, off the queue.
    request.run_now = ctx.data_opt::<PreferWait>().is_some_and(|PreferWait(secs)| *secs > 0);
    // `Prefer: handling=lenient`: adjust the options, and report how.
    if let Some(warnings) = ctx.data_opt::<Lenient>() {
        request.lenient = true;
        let (row, adjustments) = jobs.generate_adjusting(caller, request).await.map_err(gql)?;
        warnings.0.lock().expect("never poisoned").extend(adjustments);
        return finish_start(ctx, jobs, row).await;
    }
    let row = jobs.generate(caller, request).await.map_err(gql)?;
    finish_start(ctx, jobs, row).await
}

/// The accepted generation, waited for when `Prefer: wait` asks.
async fn finish_start(ctx: &Context<'_>, jobs: &Jobs, row: crate::store::JobRow) -> Result<Generation> {
    if let Some(PreferWait(secs)) = ctx.data_opt::<PreferWait>()
        && *secs > 0
        && let Some(done) = jobs.wait(&row.id, Duration::from_secs(*secs)).await.map_err(gql)?
    {
        return Ok(Generation::new(done));
    }
    Ok(Generation::new(row))
}

/// Subscription root.
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Every change of one of your generations, until it is terminal.
    async fn generation_updated(&self, ctx: &Context<'_>, id: ID) -> Result<impl Stream<Item = Generation>> {
        let jobs = ctx.data_unchecked::<Jobs>().clone();
        let caller = caller(ctx)?.clone();
        let first = jobs.get(&caller, &id).await.map_err(gql)?;
        let first =
            first.ok_or_else(|| gql(ApiError::new(ErrorCode::NotFound, format!("no generation `{}`", id.as_str()))))?;
        let mut events = jobs.subscribe();
        Ok(async_stream::stream! {
            let mut last = (first.status.clone(), first.progress);
            let terminal = first.status().is_terminal();
            yield Generation::new(first);
            if terminal { return; }
            loop {
                match events.recv().await {
                    Ok(changed) if changed != id.as_str() => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    _ => {}
                }
                let Ok(Some(row)) = jobs.get(&caller, &id).await else { return };
                if (row.status.clone(), row.progress) == last { continue; }
                last = (row.status.clone(), row.progress);
                let terminal = row.status().is_terminal();
                yield Generation::new(row);
                if terminal { return; }
            }
        })
    }
}

/// `caller` if it holds a live key: test keys (often handed to front-end
/// developers or left in CI logs) cannot `what`.
pub(crate) fn live_only<'a>(caller: &'a Caller, what: &str) -> Result<&'a Caller> {
    if caller.test_mode {
        return Err(gql(ApiError::new(ErrorCode::Forbidden, format!("test keys cannot {what}; use a live key"))));
    }
    Ok(caller)
}

fn plugin_error(e: ManageError) -> ApiError {
    match e {
        ManageError::Invalid(e) => ApiError::invalid("wasmBase64", e.to_string()),
        ManageError::Unknown(_) => ApiError::new(ErrorCode::NotFound, e.to_string()),
        ManageError::Bundled(_) => ApiError::invalid("id", e.to_string()),
        ManageError::Io { .. } => ApiError::internal(&e),
        ManageError::Store(store) => store.into(),
    }
}

/// `LOADED FAILED DRAINING DISABLED`.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum PluginStateView {
    /// Serving new requests.
    Loaded,
    /// The latest load failed (an older version may still serve).
    Failed,
    /// Replaced or removed; finishing the jobs that started on it.
    Draining,
    /// Turned off by the operator.
    Disabled,
}

/// A plugin as the admin `plugins` query shows it.
#[derive(async_graphql::SimpleObject)]
pub struct PluginView {
    /// Plugin id (or the file name of a file that failed before its manifest).
    pub id: String,
    /// Semver version.
    pub version: Option<String>,
    /// SHA-256 of the `.wasm`.
    pub sha256: Option<String>,
    /// `bundled`, `dir` or `uploaded`.
    pub source: String,
    /// Offering ids.
    pub offerings: Vec<String>,
    /// Optional contract interfaces the plugin exports (e.g. `health`, contract 1.1).
    pub capabilities: Vec<String>,
    /// State.
    pub state: PluginStateView,
    /// Most recent load error.
    pub last_error: Option<String>,
    /// When the record last changed.
    pub loaded_at: super::types::DateTime,
    /// What each node sharing the database serves under this id, as it
    /// last reported (every few seconds; this node included).
    pub nodes: Vec<PluginNodeView>,
}

/// One node's state of one plugin.
#[derive(async_graphql::SimpleObject, Clone)]
pub struct PluginNodeView {
    /// The node's `node_name`.
    pub node: String,
    /// Serving version.
    pub version: Option<String>,
    /// Serving version's SHA-256.
    pub sha256: Option<String>,
    /// `bundled`, `dir` or `uploaded`.
    pub source: String,
    /// `loaded`, `failed`, `disabled`.
    pub state: String,
    /// Latest load error on that node.
    pub last_error: Option<String>,
    /// When the node last reported.
    pub seen_at: super::types::DateTime,
}

impl From<crate::store::plugins::NodePlugin> for PluginNodeView {
    fn from(n: crate::store::plugins::NodePlugin) -> Self {
        PluginNodeView {
            node: n.node,
            version: n.version,
            sha256: n.sha256,
            source: n.source,
            state: n.state,
            last_error: n.last_error,
            seen_at: super::types::DateTime(n.seen_at),
        }
    }
}

impl From<crate::plugins::PluginInfo> for PluginView {
    fn from(p: crate::plugins::PluginInfo) -> Self {
        use crate::plugins::PluginState as S;
        PluginView {
            id: p.id,
            version: p.version,
            sha256: p.sha256,
            source: p.source.to_string(),
            offerings: p.offerings,
            capabilities: p.capabilities,
            state: match p.state {
                S::Loaded => PluginStateView::Loaded,
                S::Failed => PluginStateView::Failed,
                S::Draining => PluginStateView::Draining,
                S::Disabled => PluginStateView::Disabled,
            },
            last_error: p.last_error,
            loaded_at: super::types::DateTime((p.loaded_at.unix_timestamp_nanos() / 1_000_000) as i64),
            nodes: Vec::new(),
        }
    }
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (ts, id) = text.split_once(':')?;
    Some((ts.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod schema_file {
    /// `schema.graphql` is what clients generate code from: it must be the
    /// schema this build serves.
    #[test]
    fn schema_graphql_is_current() {
        let committed = include_str!("../../../schema.graphql");
        let current = super::sdl();
        assert!(
            committed == current,
            "schema.graphql is out of date: run `cargo run -p doitong-host -- schema > schema.graphql` and commit it"
        );
    }
}
