-- Files a client uploaded (POST /uploads) to use as a generation's input
-- (`input.image: "upload_…"`), until they expire (issue 15).
CREATE TABLE uploads (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    path        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);
