-- An Idempotency-Key taken inside the transaction that accepts a
-- generation records that generation (state 'accepted'); its replay is the
-- generation as accepted, rendered for the same request.
ALTER TABLE idempotency_keys ADD COLUMN job_id TEXT;
