-- An Idempotency-Key that accepted a generation is carried by the
-- generation's own row: the job's INSERT enforces "one generation per key
-- and account" through this unique index, so taking the key costs the hot
-- path no statement of its own (ARCHITECTURE §6 cost budget). The purge
-- clears keys past the retention; `idempotency_keys` keeps refusals,
-- waited requests and other mutations.
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE jobs ADD COLUMN idempotency_hash TEXT;
CREATE UNIQUE INDEX jobs_idempotency ON jobs (account_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
