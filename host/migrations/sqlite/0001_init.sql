-- Doitong schema v1 (SQLite). Times are Unix milliseconds; JSON is TEXT.
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    plan                TEXT NOT NULL,
    credits             BIGINT NOT NULL CHECK (credits >= 0),
    rpm_limit           BIGINT,
    concurrent_limit    BIGINT,
    daily_limit         BIGINT,
    webhook_secret      TEXT NOT NULL,
    created_at          BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    key_hash    TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    test_mode   BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE jobs (
    id                  TEXT PRIMARY KEY,
    account_id          TEXT NOT NULL REFERENCES accounts(id),
    test_mode           BOOLEAN NOT NULL,
    kind                TEXT NOT NULL,
    provider            TEXT NOT NULL,
    plugin_id           TEXT NOT NULL,
    plugin_sha256       TEXT NOT NULL,
    status              TEXT NOT NULL,
    request             TEXT NOT NULL,
    credit_cost         BIGINT NOT NULL,
    estimated_seconds   BIGINT NOT NULL,
    progress            BIGINT NOT NULL DEFAULT 0,
    handle              TEXT,
    attempts            BIGINT NOT NULL DEFAULT 0,
    poll_at             BIGINT NOT NULL,
    lease_owner         TEXT,
    lease_until         BIGINT,
    deadline_at         BIGINT NOT NULL,
    error_code          TEXT,
    error_message       TEXT,
    webhook_url         TEXT,
    created_at          BIGINT NOT NULL,
    started_at          BIGINT,
    completed_at        BIGINT,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, poll_at);
CREATE INDEX jobs_account ON jobs (account_id, created_at);

CREATE TABLE artifacts (
    id          TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs(id),
    position    BIGINT NOT NULL,
    path        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    width       BIGINT,
    height      BIGINT,
    duration_ms BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX artifacts_job ON artifacts (job_id, position);

CREATE TABLE ledger (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    job_id          TEXT,
    entry           TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    balance_after   BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account_id, id);
-- At most one reservation, capture and refund per generation.
CREATE UNIQUE INDEX ledger_job_entry ON ledger (job_id, entry) WHERE job_id IS NOT NULL;

CREATE TABLE settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);
