-- The request holding an Idempotency-Key claim (a random token): only it
-- renews the claim (a heartbeat while it runs), stores its response or
-- releases it, so a claim taken over after it lapsed cannot be completed
-- by the request that lost it (issue 14).
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;
