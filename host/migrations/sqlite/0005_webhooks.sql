-- Webhooks (ARCHITECTURE §7): account endpoints, a durable outbox of
-- deliveries written in the same transaction as the status change that
-- causes them, and every attempt's outcome. Times are Unix milliseconds.

-- Rotation: the previous secret keeps signing (as a second signature)
-- until `webhook_secret_previous_until`.
ALTER TABLE accounts ADD COLUMN webhook_secret_previous TEXT;
ALTER TABLE accounts ADD COLUMN webhook_secret_previous_until BIGINT;

-- The per-request `webhookUrl` also receives `generation.progress` events.
ALTER TABLE jobs ADD COLUMN webhook_progress BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    url             TEXT NOT NULL,
    -- Comma-framed list: ',*,' (the three terminal events) and/or names,
    -- e.g. ',generation.completed,generation.progress,'.
    events          TEXT NOT NULL,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, enabled);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    -- The `webhook-id` header: one per event, shared by its targets, stable across retries.
    message_id      TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    job_id          TEXT NOT NULL,
    -- NULL for the per-request `webhookUrl`.
    endpoint_id     TEXT,
    url             TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created_at);
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries(id),
    attempted_at    BIGINT NOT NULL,
    http_status     BIGINT,
    latency_ms      BIGINT NOT NULL,
    error           TEXT,
    response        TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
