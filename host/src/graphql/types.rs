//! GraphQL object types: generations, providers, accounts.
//!
//! Thin views over store rows and plugin declarations; resolvers that need
//! more (artifacts, signed URLs) read them through the context's [`Jobs`].

use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Enum, ErrorExtensions, ID, Object, Result, SimpleObject};

use crate::error::{ApiError, ErrorCode};
use crate::jobs::{Jobs, RoutingRecord};
use crate::plugins::{LoadedPlugin, MediaKind, Offering};
use crate::routing::{BreakerState, OfferingHealth, Priority};
use crate::store::jobs::{JobRow, JobStatus};
use crate::store::webhooks::{AttemptRow, DeliveryRow, DeliveryStatus, EndpointRow};
use crate::store::{Account, ArtifactRow};
use crate::webhooks::Webhooks;

/// `VIDEO IMAGE AUDIO AVATAR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum GenerationType {
    /// A video clip.
    Video,
    /// A still image.
    Image,
    /// Speech or audio.
    Audio,
    /// A talking-avatar clip.
    Avatar,
}

impl From<GenerationType> for MediaKind {
    fn from(t: GenerationType) -> Self {
        match t {
            GenerationType::Video => MediaKind::Video,
            GenerationType::Image => MediaKind::Image,
            GenerationType::Audio => MediaKind::Audio,
            GenerationType::Avatar => MediaKind::Avatar,
        }
    }
}

impl From<MediaKind> for GenerationType {
    fn from(k: MediaKind) -> Self {
        match k {
            MediaKind::Video => GenerationType::Video,
            MediaKind::Image => GenerationType::Image,
            MediaKind::Audio => GenerationType::Audio,
            MediaKind::Avatar => GenerationType::Avatar,
        }
    }
}

/// `QUEUED PROCESSING COMPLETED FAILED CANCELLED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum GenerationStatus {
    /// Accepted, waiting to start.
    Queued,
    /// Running at the provider.
    Processing,
    /// Finished; `url` is set.
    Completed,
    /// Finished without a result; `error` says why. Credits were refunded.
    Failed,
    /// Cancelled by the caller.
    Cancelled,
}

impl From<JobStatus> for GenerationStatus {
    fn from(s: JobStatus) -> Self {
        match s {
            JobStatus::Queued => GenerationStatus::Queued,
            JobStatus::Processing => GenerationStatus::Processing,
            JobStatus::Completed => GenerationStatus::Completed,
            JobStatus::Failed => GenerationStatus::Failed,
            JobStatus::Cancelled => GenerationStatus::Cancelled,
        }
    }
}

impl From<GenerationStatus> for JobStatus {
    fn from(s: GenerationStatus) -> Self {
        match s {
            GenerationStatus::Queued => JobStatus::Queued,
            GenerationStatus::Processing => JobStatus::Processing,
            GenerationStatus::Completed => JobStatus::Completed,
            GenerationStatus::Failed => JobStatus::Failed,
            GenerationStatus::Cancelled => JobStatus::Cancelled,
        }
    }
}

/// An ISO 8601 / RFC 3339 timestamp.
#[derive(Debug, Clone)]
pub struct DateTime(pub i64);

#[async_graphql::Scalar(name = "DateTime")]
impl async_graphql::ScalarType for DateTime {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => {
                let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| async_graphql::InputValueError::custom(e.to_string()))?;
                Ok(DateTime((t.unix_timestamp_nanos() / 1_000_000) as i64))
            }
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        // The same text as in webhook payloads.
        async_graphql::Value::String(crate::webhooks::event::rfc3339(self.0))
    }
}

/// Media facts about the first output.
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct GenerationMetadata {
    /// Pixels.
    pub width: Option<i32>,
    /// Pixels.
    pub height: Option<i32>,
    /// Seconds.
    pub duration: Option<f64>,
    /// `png`, `gif`, `mp4`, `wav`, …
    pub format: Option<String>,
    /// `WIDTHxHEIGHT`.
    pub resolution: Option<String>,
    /// Size of the first output in bytes.
    pub size_bytes: Option<i64>,
    /// MIME type of the first output.
    pub mime_type: Option<String>,
}

/// Why a generation failed.
#[derive(SimpleObject, Debug, Clone)]
pub struct GenerationError {
    /// Machine-readable code.
    pub code: ErrorCode,
    /// What happened, including the provider's own message.
    pub message: String,
}

/// One generation.
#[derive(Clone)]
pub struct Generation {
    pub(crate) row: JobRow,
    /// Its outputs, read once however many fields need them (`url`,
    /// `urls`, `metadata`), or filled in for a whole page by one query.
    artifacts: Arc<tokio::sync::OnceCell<Vec<ArtifactRow>>>,
}

impl Generation {
    /// A generation whose outputs are read when a field needs them.
    pub(crate) fn new(row: JobRow) -> Generation {
        Generation { row, artifacts: Arc::default() }
    }

    /// A generation with its outputs already read.
    pub(crate) fn with_artifacts(row: JobRow, artifacts: Vec<ArtifactRow>) -> Generation {
        Generation { row, artifacts: Arc::new(tokio::sync::OnceCell::new_with(Some(artifacts))) }
    }

    async fn artifacts(&self, ctx: &Context<'_>) -> Result<&[ArtifactRow]> {
        if self.row.status() != JobStatus::Completed {
            return Ok(&[]);
        }
        let rows = self
            .artifacts
            .get_or_try_init(|| async {
                let jobs = ctx.data_unchecked::<Jobs>();
                jobs.store().artifacts_of(&self.row.id).await
            })
            .await
            .map_err(|e| async_graphql::ErrorExtensions::extend(&crate::error::ApiError::from(e)))?;
        Ok(rows)
    }
}

#[Object]
impl Generation {
    /// `gen_…`.
    async fn id(&self) -> async_graphql::ID {
        async_graphql::ID(self.row.id.clone())
    }

    /// Lifecycle state.
    async fn status(&self) -> GenerationStatus {
        self.row.status().into()
    }

    /// Media kind.
    #[graphql(name = "type")]
    async fn kind(&self) -> GenerationType {
        MediaKind::parse(&self.row.kind).unwrap_or(MediaKind::Image).into()
    }

    /// The provider (offering) that serves it.
    async fn provider(&self) -> &str {
        &self.row.provider
    }

    /// Signed, expiring download URL of the first output, once completed.
    async fn url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let artifacts = self.artifacts(ctx).await?;
        let store = ctx.data_unchecked::<Jobs>().artifacts();
        Ok(artifacts.first().map(|a| store.signed_url(&a.id)))
    }

    /// Signed URLs of every output.
    async fn urls(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        let artifacts = self.artifacts(ctx).await?;
        let store = ctx.data_unchecked::<Jobs>().artifacts();
        Ok(artifacts.iter().map(|a| store.signed_url(&a.id)).collect())
    }

    /// 0..=100.
    async fn progress(&self) -> i32 {
        self.row.progress as i32
    }

    /// Facts about the first output, once completed.
    async fn metadata(&self, ctx: &Context<'_>) -> Result<Option<GenerationMetadata>> {
        let artifacts = self.artifacts(ctx).await?;
        // Computed by the code that renders webhook payloads, so both agree.
        Ok(artifacts.first().map(|a| {
            let m = crate::webhooks::event::Metadata::of(a);
            GenerationMetadata {
                width: m.width,
                height: m.height,
                duration: m.duration,
                format: m.format,
                resolution: m.resolution,
                size_bytes: m.size_bytes,
                mime_type: m.mime_type,
            }
        }))
    }

    /// Credits quoted (charged on completion, refunded on failure).
    async fn credit_cost(&self) -> i64 {
        self.row.credit_cost
    }

    /// Expected seconds from acceptance to result.
    async fn estimated_time(&self) -> i64 {
        self.row.estimated_seconds
    }

    /// Why it failed.
    async fn error(&self) -> Option<GenerationError> {
        let code = ErrorCode::parse(self.row.error_code.as_deref()?)?;
        Some(GenerationError { code, message: self.row.error_message.clone().unwrap_or_default() })
    }

    /// The failure's code alone.
    async fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::parse(self.row.error_code.as_deref()?)
    }

    /// When a cancel was asked for while the vendor was still answering
    /// `submit`: the generation ends `CANCELLED` once the vendor's task is
    /// cancelled. Null otherwise.
    async fn cancel_requested_at(&self) -> Option<DateTime> {
        self.row.cancel_requested_at.filter(|_| !self.row.status().is_terminal()).map(DateTime)
    }

    /// Whether it ran in test mode (placeholder output, no credits).
    async fn test_mode(&self) -> bool {
        self.row.test_mode
    }

    /// Acceptance time.
    async fn created_at(&self) -> DateTime {
        DateTime(self.row.created_at)
    }

    /// When it reached a terminal state.
    async fn completed_at(&self) -> Option<DateTime> {
        self.row.completed_at.map(DateTime)
    }

    /// How the provider was chosen: the priority, the offering chosen, why,
    /// and every candidate with its score or why it was skipped (the latest
    /// decision, after any failover). Null for generations accepted before
    /// routing was recorded.
    async fn routing(&self) -> Option<Routing> {
        let record: RoutingRecord = serde_json::from_str(self.row.routing.as_deref()?).ok()?;
        let d = record.decision;
        Some(Routing {
            priority: d.priority,
            automatic: record.automatic,
            chosen: d.chosen,
            reason: d.reason,
            fallbacks: record.fallbacks,
            candidates: d
                .candidates
                .into_iter()
                .map(|c| RoutingCandidate { id: c.id, score: c.score, skipped_because: c.skipped_because })
                .collect(),
        })
    }

    /// Every provider this generation ran on, in order: the ones it failed
    /// over from, then the current one.
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<Attempt>> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let earlier = jobs.store().job_attempts(&self.row.id).await.map_err(|e| ApiError::from(e).extend())?;
        let current_start = earlier.last().map(|a| a.ended_at).or(self.row.started_at);
        let mut attempts: Vec<Attempt> = earlier
            .into_iter()
            .map(|a| Attempt {
                provider: a.provider,
                code: a.error_code.as_deref().and_then(ErrorCode::parse),
                error: a.error_message,
                credit_cost: a.credit_cost,
                started_at: Some(DateTime(a.started_at)),
                ended_at: Some(DateTime(a.ended_at)),
            })
            .collect();
        attempts.push(Attempt {
            provider: self.row.provider.clone(),
            code: self.row.error_code.as_deref().and_then(ErrorCode::parse),
            error: self.row.error_message.clone(),
            credit_cost: self.row.credit_cost,
            started_at: current_start.map(DateTime),
            ended_at: self.row.completed_at.map(DateTime),
        });
        Ok(attempts)
    }
}

/// `Generation.routing`.
#[derive(SimpleObject, Debug, Clone)]
pub struct Routing {
    /// What the caller optimised for.
    pub priority: Priority,
    /// Chosen by the gateway (the request named no provider).
    pub automatic: bool,
    /// The offering chosen.
    pub chosen: Option<String>,
    /// Why.
    pub reason: String,
    /// The request's explicit fallbacks.
    pub fallbacks: Vec<String>,
    /// Every offering considered, best first.
    pub candidates: Vec<RoutingCandidate>,
}

/// One offering considered for a generation.
#[derive(SimpleObject, Debug, Clone)]
pub struct RoutingCandidate {
    /// Offering id.
    pub id: String,
    /// Its score for the priority (higher is better: quality rank; minus
    /// expected seconds; minus quoted credits; the balanced score).
    pub score: Option<f64>,
    /// Why it was not eligible.
    pub skipped_because: Option<String>,
}

/// One provider a generation ran on.
#[derive(SimpleObject, Debug, Clone)]
pub struct Attempt {
    /// Offering id.
    pub provider: String,
    /// The failure's public code (null for the current one unless failed).
    pub code: Option<ErrorCode>,
    /// The failure's message.
    pub error: Option<String>,
    /// What it quoted (the reservation while it ran).
    pub credit_cost: i64,
    /// When it was submitted.
    pub started_at: Option<DateTime>,
    /// When it ended.
    pub ended_at: Option<DateTime>,
}

/// An offering's observed health (`Provider.health`).
#[derive(SimpleObject, Debug, Clone)]
pub struct ProviderHealth {
    /// The circuit breaker: `CLOSED` serving, `OPEN` kept out,
    /// `HALF_OPEN` one probe allowed.
    pub state: BreakerState,
    /// Results over results plus vendor failures in the window; null
    /// without samples.
    pub success_rate: Option<f64>,
    /// Median seconds from submit to result in the window.
    pub p50_seconds: Option<f64>,
    /// Outcomes in the window.
    pub sample_size: i32,
    /// The last vendor failure.
    pub last_error: Option<GenerationError>,
    /// When the breaker opened (null when closed).
    pub opened_at: Option<DateTime>,
    /// Vendor failures in a row.
    pub consecutive_failures: i32,
    /// Held back until then (cool-down or the vendor's `Retry-After`).
    pub retry_at: Option<DateTime>,
    /// Why it is held back.
    pub held_because: Option<String>,
}

impl ProviderHealth {
    pub(crate) fn new(h: &OfferingHealth, now: i64) -> ProviderHealth {
        let b = &h.breaker;
        let state = h.state(now);
        ProviderHealth {
            state,
            success_rate: h.success_rate,
            p50_seconds: h.p50_ms.map(|ms| ms as f64 / 1000.0),
            sample_size: h.samples as i32,
            last_error: b
                .last_error_code
                .as_deref()
                .and_then(ErrorCode::parse)
                .map(|code| GenerationError { code, message: b.last_error_message.clone().unwrap_or_default() }),
            opened_at: b.opened_at.filter(|_| state != BreakerState::Closed).map(DateTime),
            consecutive_failures: b.consecutive_failures as i32,
            retry_at: crate::routing::breaker::held_until(b, now).map(DateTime),
            held_because: crate::routing::breaker::held_until(b, now).and(b.hold_reason.clone()),
        }
    }
}

/// Price of an offering with default options.
#[derive(SimpleObject, Debug, Clone)]
pub struct Pricing {
    /// Credits.
    pub credit_cost: i64,
    /// Seconds.
    pub estimated_time: i64,
}

/// One option an offering accepts.
#[derive(SimpleObject, Debug, Clone)]
pub struct ProviderOption {
    /// Name to use in `options`.
    pub name: String,
    /// `text`, `integer`, `number` or `flag`.
    #[graphql(name = "type")]
    pub kind: String,
    /// Must be given.
    pub required: bool,
    /// What it does.
    pub description: String,
    /// The only accepted values, when restricted.
    pub allowed_values: Vec<async_graphql::Json<serde_json::Value>>,
    /// Applied when omitted.
    pub default: Option<async_graphql::Json<serde_json::Value>>,
    /// Inclusive lower bound.
    pub minimum: Option<f64>,
    /// Inclusive upper bound.
    pub maximum: Option<f64>,
}

/// A provider (offering) in the catalogue.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Provider {
    /// Id to pass as `provider`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// What it is good at.
    pub description: String,
    /// Media kinds it generates.
    pub types: Vec<GenerationType>,
    /// Feature tags.
    pub features: Vec<String>,
    /// Known limitations.
    pub limitations: Vec<String>,
    /// Price and time with default options.
    pub pricing: Pricing,
    /// Accepted options.
    pub options: Vec<ProviderOption>,
    /// Accepted inputs (`text`, `image`, …).
    pub inputs: Vec<String>,
    /// Quality rank 1..=100.
    pub quality: i32,
    /// Plugin id serving it.
    pub plugin: String,
    /// Plugin version.
    pub version: String,
    #[graphql(skip)]
    pub(crate) missing_secrets: Vec<String>,
}

#[ComplexObject]
impl Provider {
    /// What the gateway observed of it (shared by every server on the
    /// database): breaker state, success rate, median time, last error.
    async fn health(&self, ctx: &Context<'_>) -> ProviderHealth {
        let jobs = ctx.data_unchecked::<Jobs>();
        let view = jobs.health().view();
        ProviderHealth::new(&view.get(&self.id), crate::store::now_ms())
    }

    /// Whether live keys can use it now (secrets configured).
    async fn available(&self) -> bool {
        self.missing_secrets.is_empty()
    }

    /// Why not, when unavailable.
    async fn unavailable_reason(&self) -> Option<String> {
        if self.missing_secrets.is_empty() {
            None
        } else {
            Some(format!("missing secret(s): {}", self.missing_secrets.join(", ")))
        }
    }
}

impl Provider {
    pub(crate) fn new(plugin: &LoadedPlugin, o: &Offering) -> Provider {
        Provider {
            id: o.id.clone(),
            name: o.name.clone(),
            vendor: plugin.manifest_info().vendor.clone(),
            description: o.description.clone(),
            types: o.kinds.iter().map(|k| (*k).into()).collect(),
            features: o.features.clone(),
            limitations: o.limitations.clone(),
            pricing: Pricing { credit_cost: i64::from(o.base_credits), estimated_time: i64::from(o.estimated_seconds) },
            options: o
                .options
                .iter()
                .map(|s| ProviderOption {
                    name: s.name.clone(),
                    kind: s.kind.as_str().to_string(),
                    required: s.required,
                    description: s.description.clone(),
                    allowed_values: s.allowed_values.iter().map(|v| async_graphql::Json(v.to_json())).collect(),
                    default: s.default.as_ref().map(|v| async_graphql::Json(v.to_json())),
                    minimum: s.minimum,
                    maximum: s.maximum,
                })
                .collect(),
            inputs: o.accepts.iter().map(|f| f.as_str().to_string()).collect(),
            quality: i32::from(o.quality),
            plugin: plugin.id().to_string(),
            version: plugin.version().to_string(),
            missing_secrets: plugin.missing_secrets(),
        }
    }
}

/// The caller's account.
#[derive(Clone)]
pub struct AccountView {
    pub(crate) account: Account,
    pub(crate) test_mode: bool,
}

/// A plan's limits; null = unlimited.
#[derive(SimpleObject, Clone, Copy)]
pub struct Limits {
    /// Write requests (`generate`, `cancelGeneration`, `videoCreate`) per minute.
    pub rpm: Option<i32>,
    /// Generations running at once; more wait `QUEUED`.
    pub concurrent: Option<i32>,
    /// Generations per UTC day.
    pub daily: Option<i32>,
}

/// Current use of the limits.
#[derive(SimpleObject, Clone, Copy)]
pub struct Usage {
    /// Write requests counted in the current minute.
    pub requests_this_minute: i32,
    /// Generations queued or running.
    pub active_jobs: i32,
    /// Generations created since 00:00 UTC.
    pub generations_today: i32,
}

#[Object]
impl AccountView {
    /// `acc_…`.
    async fn id(&self) -> &str {
        &self.account.id
    }

    /// Name.
    async fn name(&self) -> &str {
        &self.account.name
    }

    /// Plan name.
    async fn plan(&self) -> &str {
        &self.account.plan
    }

    /// Available credits (reservations of running generations deducted).
    async fn credits(&self) -> i64 {
        self.account.credits
    }

    /// Whether the key in use is a test key.
    async fn test_mode(&self) -> bool {
        self.test_mode
    }

    /// The limits in force (plan, operator and account overrides applied).
    async fn limits(&self, ctx: &Context<'_>) -> Limits {
        let l = ctx.data_unchecked::<Jobs>().limits_for(&self.account);
        let i = |v: Option<u32>| v.map(|n| n.min(i32::MAX as u32) as i32);
        Limits { rpm: i(l.rpm), concurrent: i(l.concurrent), daily: i(l.daily) }
    }

    /// Current use of those limits.
    async fn usage(&self, ctx: &Context<'_>) -> Result<Usage> {
        let jobs = ctx.data_unchecked::<Jobs>();
        let counters = ctx.data_unchecked::<std::sync::Arc<crate::limits::Counters>>();
        let limits = jobs.limits_for(&self.account);
        let key = format!("{}:writes", self.account.id);
        let requests = match limits.rpm {
            Some(limit) => {
                counters.peek(&key, limit, std::time::Duration::from_secs(60)).await.map(|d| d.count).unwrap_or(0)
            }
            None => 0,
        };
        let store = jobs.store();
        let err = |e: crate::store::StoreError| ApiError::from(e).extend();
        let active = store.active_jobs_of(&self.account.id).await.map_err(err)?;
        let now = crate::store::now_ms();
        let today = store.jobs_created_since(&self.account.id, now - now.rem_euclid(86_400_000)).await.map_err(err)?;
        Ok(Usage { requests_this_minute: requests as i32, active_jobs: active as i32, generations_today: today as i32 })
    }

    /// Webhook signing secret (`whsec_…`); live keys only.
    async fn webhook_secret(&self) -> Result<&str> {
        if self.test_mode {
            let message = "test keys cannot read the webhook signing secret; use a live key";
            return Err(async_graphql::ErrorExtensions::extend(&crate::error::ApiError::new(
                crate::error::ErrorCode::Forbidden,
                message,
            )));
        }
        Ok(&self.account.webhook_secret)
    }
}

impl AccountView {
    pub(crate) fn new(account: Account, test_mode: bool) -> AccountView {
        AccountView { account, test_mode }
    }
}

/// One line of the credits ledger.
#[derive(SimpleObject, Clone)]
pub struct CreditTransaction {
    /// Sequence number (also the cursor).
    pub id: ID,
    /// `GRANT`, `RESERVE`, `ADJUST` (a failover to a provider with another quote), `CAPTURE` or `REFUND`.
    pub kind: String,
    /// Signed change to the balance.
    pub amount: i64,
    /// Balance after it.
    pub balance_after: i64,
    /// The generation it belongs to.
    pub generation_id: Option<String>,
    /// When.
    pub created_at: DateTime,
}

/// A page of ledger lines, newest first.
#[derive(SimpleObject)]
pub struct CreditTransactionConnection {
    /// The lines.
    pub nodes: Vec<CreditTransaction>,
    /// Paging.
    pub page_info: PageInfo,
}

/// A page of generations.
#[derive(SimpleObject)]
pub struct GenerationConnection {
    /// Edges with cursors.
    pub edges: Vec<GenerationEdge>,
    /// The generations.
    pub nodes: Vec<Generation>,
    /// Paging.
    pub page_info: PageInfo,
}

/// One generation with its cursor.
#[derive(SimpleObject)]
pub struct GenerationEdge {
    /// Opaque cursor.
    pub cursor: String,
    /// The generation.
    pub node: Generation,
}

/// Paging state.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More after `endCursor`.
    pub has_next_page: bool,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

/// The seed's `videoCreate` result.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct VideoCreatePayload {
    /// Generation id.
    pub id: async_graphql::ID,
    /// Status.
    pub status: GenerationStatus,
    #[graphql(skip)]
    pub(crate) generation: Generation,
}

#[ComplexObject]
impl VideoCreatePayload {
    /// Download URL once completed.
    async fn video_url(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        self.generation.url(ctx).await
    }

    /// The full generation.
    async fn generation(&self) -> &Generation {
        &self.generation
    }
}

/// `PENDING DELIVERED FAILED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Retries exhausted, 410 Gone, or the target refused.
    Failed,
}

impl From<DeliveryStatus> for WebhookDeliveryStatus {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => WebhookDeliveryStatus::Pending,
            DeliveryStatus::Delivered => WebhookDeliveryStatus::Delivered,
            DeliveryStatus::Failed => WebhookDeliveryStatus::Failed,
        }
    }
}

impl From<WebhookDeliveryStatus> for DeliveryStatus {
    fn from(s: WebhookDeliveryStatus) -> Self {
        match s {
            WebhookDeliveryStatus::Pending => DeliveryStatus::Pending,
            WebhookDeliveryStatus::Delivered => DeliveryStatus::Delivered,
            WebhookDeliveryStatus::Failed => DeliveryStatus::Failed,
        }
    }
}

/// An account-level webhook target.
#[derive(Clone)]
pub struct WebhookEndpoint(pub(crate) EndpointRow);

#[Object]
impl WebhookEndpoint {
    /// `whe_…`.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// Target URL.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// Event types it receives; `*` is the three terminal events.
    async fn events(&self) -> Vec<String> {
        self.0.event_list()
    }

    /// False once the receiver answered 410 Gone; nothing is sent to it then.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }

    /// Why it was disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// When it was added.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// One attempt at a delivery.
#[derive(SimpleObject, Clone)]
pub struct WebhookAttempt {
    /// When it started.
    pub at: DateTime,
    /// The receiver's HTTP status; null when it did not answer (timeout, connection error).
    pub http_status: Option<i32>,
    /// Time to the answer or the failure.
    pub latency_ms: i64,
    /// What went wrong (at most 300 characters).
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 300 characters).
    pub response: Option<String>,
}

impl From<AttemptRow> for WebhookAttempt {
    fn from(a: AttemptRow) -> Self {
        WebhookAttempt {
            at: DateTime(a.attempted_at),
            http_status: a.http_status.map(|s| s as i32),
            latency_ms: a.latency_ms,
            error: a.error,
            response: a.response,
        }
    }
}

/// One event sent (or being sent) to one target.
#[derive(Clone)]
pub struct WebhookDelivery(pub(crate) DeliveryRow);

#[Object]
impl WebhookDelivery {
    /// `whd_…`.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The `webhook-id` header: shared by every target of one event, the
    /// same on every retry and redelivery.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    /// `generation.completed`, `generation.failed`, `generation.cancelled` or `generation.progress`.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }

    /// The generation the event is about.
    async fn generation_id(&self) -> ID {
        ID(self.0.job_id.clone())
    }

    /// The account endpoint; null for the request's `webhookUrl`.
    async fn endpoint_id(&self) -> Option<ID> {
        self.0.endpoint_id.clone().map(ID)
    }

    /// Target URL.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// State.
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status().into()
    }

    /// The JSON body sent (the same bytes on every attempt).
    async fn payload(&self) -> &str {
        &self.0.payload
    }

    /// Attempts so far, oldest first.
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<WebhookAttempt>> {
        let hooks = ctx.data_unchecked::<Webhooks>();
        let rows = hooks.store().attempts_of(&self.0.id).await.map_err(|e| ApiError::from(e).extend())?;
        Ok(rows.into_iter().map(WebhookAttempt::from).collect())
    }

    /// When the next attempt is due, while pending.
    async fn next_attempt_at(&self) -> Option<DateTime> {
        (self.0.status() == DeliveryStatus::Pending).then_some(DateTime(self.0.next_attempt_at))
    }

    /// When the event was enqueued.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
}

/// A page of deliveries, newest first.
#[derive(SimpleObject)]
pub struct WebhookDeliveryConnection {
    /// The deliveries.
    pub nodes: Vec<WebhookDelivery>,
    /// Paging.
    pub page_info: PageInfo,
}

/// One of your API keys. The key itself is shown once, when created.
pub struct ApiKeyView(pub crate::store::accounts::ApiKey);

#[Object(name = "ApiKey")]
impl ApiKeyView {
    /// `key_…`: what `revokeKey` takes.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }

    /// The key's first characters, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// A `dt_test_` key.
    async fn test_mode(&self) -> bool {
        self.0.test_mode
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// When it was revoked; null while it works.
    async fn revoked_at(&self) -> Option<DateTime> {
        self.0.revoked_at.map(DateTime)
    }
}

/// A key just made: the only time its plaintext is shown.
#[derive(SimpleObject)]
pub struct CreatedKey {
    /// The key to send as `Authorization: Bearer …`; store it now.
    pub key: String,
    /// Its record.
    pub api_key: ApiKeyView,
}
