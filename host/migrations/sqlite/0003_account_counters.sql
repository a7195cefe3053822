-- Per-account counters kept in the same transactions as the jobs they
-- count, so the queue-depth and daily-cap checks are O(1) reads of the
-- locked account row instead of counting jobs.
ALTER TABLE accounts ADD COLUMN active_jobs BIGINT NOT NULL DEFAULT 0 CHECK (active_jobs >= 0);
ALTER TABLE accounts ADD COLUMN day_start BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN day_count BIGINT NOT NULL DEFAULT 0;
UPDATE accounts SET active_jobs = (
    SELECT COUNT(*) FROM jobs WHERE jobs.account_id = accounts.id AND jobs.status IN ('queued', 'processing')
);
