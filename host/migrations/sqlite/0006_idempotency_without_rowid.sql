-- Idempotency records keyed by (account, key) in one B-tree (WITHOUT
-- ROWID): taking a key inside a generation's transaction then writes the
-- record and its expiry index entry, not also a rowid table and an
-- automatic primary-key index (ARCHITECTURE §6 cost budget; SQLite only,
-- PostgreSQL keeps its heap and index).
CREATE TABLE idempotency_keys_keyed (
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    key             TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL,
    status_code     BIGINT,
    response_body   TEXT,
    locked_until    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    job_id          TEXT,
    PRIMARY KEY (account_id, key)
) WITHOUT ROWID;
INSERT INTO idempotency_keys_keyed
    SELECT account_id, key, request_hash, state, status_code, response_body, locked_until, created_at, expires_at, job_id
    FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_keyed RENAME TO idempotency_keys;
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at);
