//! Output files: stored in `<data_dir>/artifacts`, served by signed,
//! expiring URLs.
//!
//! A URL is `<public_url>/files/<artifact id>?exp=<unix s>&sig=<hex>`, where
//! `sig` is HMAC-SHA256 over `"<id>.<exp>"` with a server secret kept in the
//! database (so every node of a cluster signs alike). Verification is
//! constant-time; a tampered or expired link gets 403.
//!
//! Vendor URLs are downloaded here, streamed to disk with a size cap, so a
//! large video never sits in memory. This module must never decide who may
//! see an artifact beyond checking the signature.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::StreamExt;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

pub mod probe;

use crate::net::NetClients;
use crate::plugins::policy::HttpPolicy;

type HmacSha256 = Hmac<Sha256>;

/// Errors storing or fetching artifacts.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Disk I/O failed.
    #[error("artifact storage: {0}")]
    Io(#[from] std::io::Error),
    /// The vendor URL was refused by the plugin's HTTP rules.
    #[error("result URL refused: {0}")]
    Refused(String),
    /// Downloading failed.
    #[error("downloading the result failed: {0}")]
    Download(String),
    /// The file is larger than allowed.
    #[error("result exceeds the {0}-byte artifact cap")]
    TooLarge(u64),
}

/// The local artifact store.
#[derive(Clone)]
pub struct ArtifactStore {
    root: PathBuf,
    secret: Vec<u8>,
    public_url: String,
    ttl: Duration,
    max_bytes: u64,
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Path relative to the store root.
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

impl ArtifactStore {
    /// A store rooted at `root`, signing with `secret`.
    pub fn new(root: PathBuf, secret: Vec<u8>, public_url: String, ttl: Duration, max_bytes: u64) -> ArtifactStore {
        ArtifactStore { root, secret, public_url, ttl, max_bytes }
    }

    fn relative(job_id: &str, position: usize, mime: &str) -> String {
        format!("{job_id}/{position}.{}", extension_for(mime))
    }

    /// Absolute path of a stored file.
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Write inline bytes.
    pub async fn put_bytes(
        &self,
        job_id: &str,
        position: usize,
        mime: &str,
        bytes: &[u8],
    ) -> Result<Stored, ArtifactError> {
        if bytes.len() as u64 > self.max_bytes {
            return Err(ArtifactError::TooLarge(self.max_bytes));
        }
        let relative = Self::relative(job_id, position, mime);
        let path = self.path_of(&relative);
        write_atomically(&path, |file| async move {
            let mut file = file;
            file.write_all(bytes).await?;
            Ok(file)
        })
        .await?;
        Ok(Stored { path: relative, size: bytes.len() as u64 })
    }

    /// Download `url` (checked against the plugin's `policy`) into the store.
    pub async fn fetch(
        &self,
        net: &NetClients,
        policy: &HttpPolicy,
        url: &str,
        job_id: &str,
        position: usize,
        mime: &str,
    ) -> Result<Stored, ArtifactError> {
        let checked = policy.check_download(url).map_err(|e| ArtifactError::Refused(e.to_string()))?;
        let response = net
            .client(policy.allow_private)
            .get(checked)
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .map_err(|e| ArtifactError::Download(e.to_string()))?;
        if !response.status().is_success() {
            return Err(ArtifactError::Download(format!("HTTP {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > self.max_bytes) {
            return Err(ArtifactError::TooLarge(self.max_bytes));
        }
        let relative = Self::relative(job_id, position, mime);
        let path = self.path_of(&relative);
        let cap = self.max_bytes;
        let mut size = 0u64;
        let mut stream = response.bytes_stream();
        let result = write_atomically(&path, |mut file| async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(std::io::Error::other)?;
                size += chunk.len() as u64;
                if size > cap {
                    return Err(std::io::Error::new(std::io::ErrorKind::FileTooLarge, "cap"));
                }
                file.write_all(&chunk).await?;
            }
            Ok(file)
        })
        .await;
        match result {
            Ok(()) => Ok(Stored { path: relative, size }),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => Err(ArtifactError::TooLarge(cap)),
            Err(e) => Err(ArtifactError::Download(e.to_string())),
        }
    }

    /// A signed URL for artifact `id`, valid for the configured TTL.
    pub fn signed_url(&self, id: &str) -> String {
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + self.ttl.as_secs() as i64;
        format!("{}/files/{id}?exp={exp}&sig={}", self.public_url, self.signature(id, exp))
    }

    fn signature(&self, id: &str, exp: i64) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("{id}.{exp}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Check a signature (constant-time) and expiry.
    pub fn verify(&self, id: &str, exp: i64, sig: &str) -> bool {
        if exp < time::OffsetDateTime::now_utc().unix_timestamp() {
            return false;
        }
        let Ok(given) = hex::decode(sig) else { return false };
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("{id}.{exp}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

/// Write through a temporary file and rename, so a crash never leaves a
/// half-written artifact under its final name.
async fn write_atomically<F, Fut>(path: &Path, write: F) -> std::io::Result<()>
where
    F: FnOnce(tokio::fs::File) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<tokio::fs::File>>,
{
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    // Unique per write: two writers of one artifact (a step retried while
    // the first still runs) never share a temporary file; the rename makes
    // whichever finishes last the artifact, whole either way.
    let tmp = path.with_extension(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let file = tokio::fs::File::create(&tmp).await?;
    match write(file).await {
        Ok(mut file) => {
            file.flush().await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, path).await
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            Err(e)
        }
    }
}

/// File extension for a MIME type.
pub fn extension_for(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or("").trim() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/svg+xml" => "svg",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/mpeg" => "mp3",
        "audio/ogg" => "ogg",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/aac" => "aac",
        "audio/mp4" => "m4a",
        "audio/opus" => "opus",
        "audio/basic" => "au",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Short format name for metadata (`png`, `mp4`, …).
pub fn format_for(mime: &str) -> String {
    extension_for(mime).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ArtifactStore {
        ArtifactStore::new("/tmp/x".into(), b"secret".to_vec(), "http://h".into(), Duration::from_secs(60), 10)
    }

    fn parts(url: &str) -> (String, i64, String) {
        let url = url::Url::parse(url).unwrap();
        let id = url.path().rsplit('/').next().unwrap().to_string();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        (id, q["exp"].parse().unwrap(), q["sig"].clone())
    }

    #[test]
    fn signed_urls_verify_and_tampering_fails() {
        let s = store();
        let (id, exp, sig) = parts(&s.signed_url("art_1"));
        assert!(s.verify(&id, exp, &sig));
        assert!(!s.verify("art_2", exp, &sig), "other id");
        assert!(!s.verify(&id, exp + 1, &sig), "extended expiry");
        let mut bad = sig.clone();
        bad.replace_range(0..1, if &sig[0..1] == "0" { "1" } else { "0" });
        assert!(!s.verify(&id, exp, &bad), "flipped signature");
        assert!(!s.verify(&id, exp, "zz"), "not hex");
        let other =
            ArtifactStore::new("/tmp/x".into(), b"other".to_vec(), "http://h".into(), Duration::from_secs(60), 10);
        assert!(!other.verify(&id, exp, &sig), "other secret");
    }

    #[test]
    fn expired_links_fail() {
        let s = store();
        let past = time::OffsetDateTime::now_utc().unix_timestamp() - 1;
        let sig = s.signature("art_1", past);
        assert!(!s.verify("art_1", past, &sig));
    }

    #[tokio::test]
    async fn oversized_bytes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = ArtifactStore::new(dir.path().into(), b"k".to_vec(), "http://h".into(), Duration::from_secs(1), 4);
        assert!(matches!(s.put_bytes("gen_1", 0, "text/plain", b"12345").await, Err(ArtifactError::TooLarge(4))));
        let stored = s.put_bytes("gen_1", 0, "image/png", b"1234").await.unwrap();
        assert_eq!(stored.path, "gen_1/0.png");
        assert_eq!(std::fs::read(s.path_of(&stored.path)).unwrap(), b"1234");
    }
}
