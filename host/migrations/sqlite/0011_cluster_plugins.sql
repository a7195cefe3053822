-- Plugins cluster-wide (issue 13): every plugin version any node loaded,
-- by content; what the admin API installed; what each node serves.
CREATE TABLE plugin_blobs (
    sha256 TEXT PRIMARY KEY,
    plugin_id TEXT NOT NULL,
    version TEXT NOT NULL,
    wasm BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
-- One row per plugin installed through the admin API; sha256 NULL once removed.
CREATE TABLE installed_plugins (
    plugin_id TEXT PRIMARY KEY,
    sha256 TEXT,
    updated_at BIGINT NOT NULL
);
CREATE TABLE plugin_nodes (
    node TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    version TEXT,
    sha256 TEXT,
    source TEXT NOT NULL,
    state TEXT NOT NULL,
    last_error TEXT,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (node, plugin_id)
);
