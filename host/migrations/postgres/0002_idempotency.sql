-- Idempotency-Key records (ARCHITECTURE §6): one per (account, key).
CREATE TABLE idempotency_keys (
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL,
    status_code     BIGINT,
    response_body   TEXT,
    locked_until    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
