-- Cluster-wide chores (artifact retention) run on one node at a time: the
-- node holding a row's lease until `until` (Unix ms) does it (issue 13).
CREATE TABLE maintenance_locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until BIGINT NOT NULL
);
CREATE INDEX artifacts_created_at ON artifacts (created_at);
