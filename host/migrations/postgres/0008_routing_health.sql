-- Routing that watches the vendors (issue 12).
--
-- offering_outcomes: what each offering actually did, one row per finished
-- attempt that says something about the vendor (a result, or a vendor-side
-- failure; not the user's own mistakes). Success rate and median time to
-- result are read over a sliding window of these rows, by every node.
CREATE TABLE offering_outcomes (
    id              BIGSERIAL PRIMARY KEY,
    offering_id     TEXT NOT NULL,
    ok              BOOLEAN NOT NULL,
    duration_ms     BIGINT,
    error_code      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX offering_outcomes_recent ON offering_outcomes (created_at, offering_id);

-- offering_health: each offering's circuit breaker, shared by every node.
-- state 'open' with hold_until in the past reads as HALF_OPEN; one probe
-- job at a time claims it (probe_job_id, probe_until).
CREATE TABLE offering_health (
    offering_id             TEXT PRIMARY KEY,
    state                   TEXT NOT NULL,
    consecutive_failures    BIGINT NOT NULL,
    opened_at               BIGINT,
    hold_until              BIGINT,
    hold_reason             TEXT,
    probe_job_id            TEXT,
    probe_until             BIGINT,
    last_error_code         TEXT,
    last_error_message      TEXT,
    last_error_at           BIGINT,
    updated_at              BIGINT NOT NULL
);

-- Every provider a generation tried before the one it is on now.
CREATE TABLE job_attempts (
    job_id          TEXT NOT NULL REFERENCES jobs(id),
    attempt         BIGINT NOT NULL,
    provider        TEXT NOT NULL,
    credit_cost     BIGINT NOT NULL,
    error_code      TEXT,
    error_message   TEXT,
    started_at      BIGINT NOT NULL,
    ended_at        BIGINT NOT NULL,
    PRIMARY KEY (job_id, attempt)
);

-- How the generation was routed: priority, the decision explained, the
-- request as given (for failover to another offering) and the explicit
-- fallbacks. NULL for generations accepted before this migration.
ALTER TABLE jobs ADD COLUMN routing TEXT;

-- A failover adjusts the reservation to the new quote: one 'adjust' line
-- per failover, so 'adjust' is exempt from one-line-per-entry.
DROP INDEX ledger_job_entry;
CREATE UNIQUE INDEX ledger_job_entry ON ledger (job_id, entry) WHERE job_id IS NOT NULL AND entry <> 'adjust';
