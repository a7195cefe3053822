//! Output files: kept on the node's disk or in an S3-compatible bucket
//! (through the `object_store` crate), served by signed, expiring URLs,
//! and deleted after `artifacts.retention_days` (see [`retention`]).
//!
//! A URL is `<public_url>/files/<artifact id>?exp=<unix s>&sig=<hex>`, where
//! `sig` is HMAC-SHA256 over `"<id>.<exp>"` with a server secret kept in the
//! database (so every node of a cluster signs alike). Verification is
//! constant-time; a tampered or expired link gets 403. Behind the link the
//! file is streamed (with Range support) or, with `delivery = "redirect"`,
//! the client is sent to a short-lived presigned URL of the bucket.
//!
//! Every output is first *staged* on local disk: vendor URLs are streamed
//! there with a size cap (a large video never sits in memory), and the
//! file's header is read there ([`probe`]). A small output (up to
//! [`IN_MEMORY_BYTES`], most images and speech) is read whole and written,
//! synced and probed in one blocking call: one hand-off to the blocking
//! pool instead of one per file operation (measured in `bench/`). [`ArtifactStore::publish`] then
//! makes it durable: with the `file` store the staged file already is the
//! artifact; with `s3` it is uploaded in 5 MiB parts and deleted locally,
//! so memory stays bounded whatever the size. Keys are
//! `<job id>/<position>.<ext>` (under `s3_prefix` in the bucket).
//!
//! This module must never decide who may see an artifact beyond checking
//! the signature.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use hmac::{Hmac, KeyInit, Mac};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::signer::Signer;
use object_store::{Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

pub mod probe;
pub mod retention;

use crate::config::{ArtifactBackend, ArtifactsConfig, Delivery};
use crate::net::NetClients;
use crate::plugins::policy::HttpPolicy;

type HmacSha256 = Hmac<Sha256>;

/// Part size of uploads to a bucket (S3's smallest part).
const PART_BYTES: usize = 5 << 20;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// Errors storing or fetching artifacts.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// Disk I/O failed.
    #[error("artifact storage: {0}")]
    Io(#[from] std::io::Error),
    /// The object store failed.
    #[error("artifact storage: {0}")]
    Objects(#[from] object_store::Error),
    /// The vendor URL was refused by the plugin's HTTP rules.
    #[error("result URL refused: {0}")]
    Refused(String),
    /// Downloading failed.
    #[error("downloading the result failed: {0}")]
    Download(String),
    /// The file is larger than allowed.
    #[error("result exceeds the {0}-byte artifact cap")]
    TooLarge(u64),
    /// The configuration does not describe a usable store.
    #[error("artifact store: {0}")]
    Config(String),
}

/// Where artifacts are kept and how they are handed out.
#[derive(Clone)]
pub struct ArtifactStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Keys are relative to the store's root (or bucket prefix).
    objects: Arc<dyn ObjectStore>,
    backend: ArtifactBackend,
    /// `file`: the root, where staged files already are the artifacts.
    /// `s3`: where outputs wait for their upload.
    staging: PathBuf,
    /// `s3`: the bucket client, for presigned URLs, and the key prefix.
    bucket: Option<(Arc<AmazonS3>, String)>,
    delivery: Delivery,
    presign_ttl: Duration,
    secret: Vec<u8>,
    public_url: String,
    ttl: Duration,
    max_bytes: u64,
}

/// Largest vendor download read into memory before it is written (larger
/// or unannounced sizes stream to disk).
pub const IN_MEMORY_BYTES: u64 = 8 << 20;

/// An output written to local disk, not yet published.
#[derive(Debug)]
pub struct Staged {
    key: String,
    local: PathBuf,
    size: u64,
    probed: Option<probe::MediaInfo>,
}

impl Staged {
    /// The local file (to read its header).
    pub fn local(&self) -> &Path {
        &self.local
    }

    /// Its header, when it was read while staging (outputs held in memory).
    pub fn probed(&self) -> Option<probe::MediaInfo> {
        self.probed
    }
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Key in the store (`<job id>/<position>.<ext>`).
    pub path: String,
    /// Bytes written.
    pub size: u64,
}

/// What `/files/…` answers with.
pub enum Download {
    /// The bytes of `range` (the whole file when `None`) of a file of `total` bytes.
    Bytes {
        /// The content.
        body: BoxStream<'static, Result<Bytes, object_store::Error>>,
        /// The part sent, if a range was asked for.
        range: Option<Range<u64>>,
        /// The file's size.
        total: u64,
    },
    /// Fetch it from this presigned URL instead.
    Redirect(String),
}

impl ArtifactStore {
    /// A store on local disk at `root`, signing with `secret`.
    pub fn new(root: PathBuf, secret: Vec<u8>, public_url: String, ttl: Duration, max_bytes: u64) -> ArtifactStore {
        let config = ArtifactsConfig { url_ttl_secs: ttl.as_secs(), max_mib: 0, ..ArtifactsConfig::default() };
        let mut store = Self::from_config(&config, &root, secret, public_url).expect("a local store always opens");
        Arc::get_mut(&mut store.inner).expect("not shared yet").ttl = ttl;
        Arc::get_mut(&mut store.inner).expect("not shared yet").max_bytes = max_bytes;
        store
    }

    /// The store `config` describes: `file` under `root`, or an S3 bucket
    /// (staging under `<root>/../staging`).
    pub fn from_config(
        config: &ArtifactsConfig,
        root: &Path,
        secret: Vec<u8>,
        public_url: String,
    ) -> Result<ArtifactStore, ArtifactError> {
        let (objects, staging, bucket): (Arc<dyn ObjectStore>, PathBuf, _) = match config.store {
            ArtifactBackend::File => {
                std::fs::create_dir_all(root)?;
                let local = LocalFileSystem::new_with_prefix(root)?;
                (Arc::new(local), root.to_path_buf(), None)
            }
            ArtifactBackend::S3 => {
                let s3 = Arc::new(s3_client(config)?);
                let prefix = config.s3_prefix.trim_matches('/').to_string();
                let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    s3.clone()
                } else {
                    Arc::new(PrefixStore::new(s3.clone(), prefix.as_str()))
                };
                let staging = root.parent().unwrap_or(root).join("staging");
                std::fs::create_dir_all(&staging)?;
                (objects, staging, Some((s3, prefix)))
            }
        };
        Ok(ArtifactStore {
            inner: Arc::new(Inner {
                objects,
                backend: config.store,
                staging,
                bucket,
                delivery: config.delivery,
                presign_ttl: Duration::from_secs(config.presign_ttl_secs.max(1)),
                secret,
                public_url,
                ttl: Duration::from_secs(config.url_ttl_secs),
                max_bytes: config.max_mib << 20,
            }),
        })
    }

    fn key(job_id: &str, position: usize, mime: &str) -> String {
        format!("{job_id}/{position}.{}", extension_for(mime))
    }

    /// Where an output is written before it is published.
    fn staging_path(&self, key: &str) -> PathBuf {
        match self.inner.backend {
            ArtifactBackend::File => self.inner.staging.join(key),
            // Unique: two steps of one job never share a staged file.
            ArtifactBackend::S3 => {
                let name = key.replace('/', "-");
                self.inner.staging.join(format!("{}-{name}", uuid::Uuid::new_v4().simple()))
            }
        }
    }

    /// Stage inline bytes.
    pub async fn put_bytes(
        &self,
        job_id: &str,
        position: usize,
        mime: &str,
        bytes: &[u8],
    ) -> Result<Staged, ArtifactError> {
        if bytes.len() as u64 > self.inner.max_bytes {
            return Err(ArtifactError::TooLarge(self.inner.max_bytes));
        }
        self.stage_in_memory(Self::key(job_id, position, mime), Bytes::copy_from_slice(bytes), mime).await
    }

    /// Write `bytes` to staging under `key`, and read their header, in one
    /// blocking call.
    async fn stage_in_memory(&self, key: String, bytes: Bytes, mime: &str) -> Result<Staged, ArtifactError> {
        let local = self.staging_path(&key);
        let (path, mime) = (local.clone(), mime.to_string());
        let size = bytes.len() as u64;
        let probed = tokio::task::spawn_blocking(move || {
            write_file_atomically(&path, &bytes).map(|()| probe::probe_bytes(&bytes, &mime))
        })
        .await
        .map_err(|e| ArtifactError::Io(std::io::Error::other(e)))??;
        Ok(Staged { key, local, size, probed: Some(probed) })
    }

    /// Store an uploaded input file as `uploads/<id>.<ext>`.
    pub async fn store_upload(&self, id: &str, mime: &str, bytes: &[u8]) -> Result<Stored, ArtifactError> {
        let key = format!("{UPLOADS}/{id}.{}", extension_for(mime));
        let local = self.staging_path(&key);
        write_atomically(&local, |file| async move {
            let mut file = file;
            file.write_all(bytes).await?;
            Ok(file)
        })
        .await?;
        self.publish(Staged { key, local, size: bytes.len() as u64, probed: None }, mime).await
    }

    /// The whole object at `key` (an upload, at most the upload cap).
    pub async fn read_all(&self, key: &str) -> Result<Vec<u8>, ArtifactError> {
        let got = self.inner.objects.get(&key.into()).await?;
        Ok(got.bytes().await?.to_vec())
    }

    /// Download `url` (checked against the plugin's `policy`) to staging.
    pub async fn fetch(
        &self,
        net: &NetClients,
        policy: &HttpPolicy,
        url: &str,
        job_id: &str,
        position: usize,
        mime: &str,
    ) -> Result<Staged, ArtifactError> {
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
        let cap = self.inner.max_bytes;
        if response.content_length().is_some_and(|n| n > cap) {
            return Err(ArtifactError::TooLarge(cap));
        }
        let key = Self::key(job_id, position, mime);
        if response.content_length().is_some_and(|n| n <= IN_MEMORY_BYTES) {
            // Announced and small: hyper stops at the announced length.
            let bytes = response.bytes().await.map_err(|e| ArtifactError::Download(e.to_string()))?;
            return self.stage_in_memory(key, bytes, mime).await;
        }
        let local = self.staging_path(&key);
        let mut size = 0u64;
        let mut stream = response.bytes_stream();
        let result = write_atomically(&local, |mut file| async {
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
            Ok(()) => Ok(Staged { key, local, size, probed: None }),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => Err(ArtifactError::TooLarge(cap)),
            Err(e) => Err(ArtifactError::Download(e.to_string())),
        }
    }

    /// Make a staged output durable: nothing more on disk; on a bucket, a
    /// streamed upload (parts of 5 MiB) and the local copy removed.
    pub async fn publish(&self, staged: Staged, mime: &str) -> Result<Stored, ArtifactError> {
        if self.inner.backend == ArtifactBackend::File {
            return Ok(Stored { path: staged.key, size: staged.size });
        }
        let uploaded = self.upload(&staged, mime).await;
        let _ = tokio::fs::remove_file(&staged.local).await;
        uploaded?;
        Ok(Stored { path: staged.key, size: staged.size })
    }

    async fn upload(&self, staged: &Staged, mime: &str) -> Result<(), ArtifactError> {
        let attributes = Attributes::from_iter([(Attribute::ContentType, mime.to_string())]);
        let mut writer = BufWriter::with_capacity(self.inner.objects.clone(), staged.key.as_str().into(), PART_BYTES)
            .with_max_concurrency(PARTS_IN_FLIGHT)
            .with_attributes(attributes);
        let mut file = tokio::fs::File::open(&staged.local).await?;
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        match copied {
            Ok(_) => writer.shutdown().await.map_err(ArtifactError::Io),
            Err(e) => {
                let _ = writer.abort().await;
                Err(ArtifactError::Io(e))
            }
        }
    }

    /// What `/files/…` sends for the artifact at `key` of `size` bytes:
    /// a redirect (`delivery = "redirect"`), or the bytes of `range`.
    pub async fn download(&self, key: &str, size: u64, range: Option<Range<u64>>) -> Result<Download, ArtifactError> {
        if let (Delivery::Redirect, Some((s3, prefix))) = (self.inner.delivery, &self.inner.bucket) {
            let full = if prefix.is_empty() { key.to_string() } else { format!("{prefix}/{key}") };
            let url = s3.signed_url(axum::http::Method::GET, &full.as_str().into(), self.inner.presign_ttl).await?;
            return Ok(Download::Redirect(url.to_string()));
        }
        let options = GetOptions { range: range.clone().map(GetRange::Bounded), ..GetOptions::default() };
        let got = self.inner.objects.get_opts(&key.into(), options).await?;
        Ok(Download::Bytes { body: got.into_stream(), range, total: size })
    }

    /// Delete the object at `key` (gone already counts as deleted).
    pub async fn delete(&self, key: &str) -> Result<(), ArtifactError> {
        match self.inner.objects.delete(&key.into()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The object store behind this store (keys relative to its root).
    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.objects
    }

    /// The staging directory of a bucket store (none for `file`, whose
    /// staging is the store itself).
    pub fn staging_dir(&self) -> Option<&Path> {
        (self.inner.backend == ArtifactBackend::S3).then_some(self.inner.staging.as_path())
    }

    /// A signed URL for artifact `id`, valid for the configured TTL.
    pub fn signed_url(&self, id: &str) -> String {
        let exp = time::OffsetDateTime::now_utc().unix_timestamp() + self.inner.ttl.as_secs() as i64;
        format!("{}/files/{id}?exp={exp}&sig={}", self.inner.public_url, self.signature(id, exp))
    }

    fn signature(&self, id: &str, exp: i64) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.inner.secret).expect("HMAC takes any key length");
        mac.update(format!("{id}.{exp}").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Check a signature (constant-time) and expiry.
    pub fn verify(&self, id: &str, exp: i64, sig: &str) -> bool {
        if exp < time::OffsetDateTime::now_utc().unix_timestamp() {
            return false;
        }
        let Ok(given) = hex::decode(sig) else { return false };
        let mut mac = HmacSha256::new_from_slice(&self.inner.secret).expect("HMAC takes any key length");
        mac.update(format!("{id}.{exp}").as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

/// Where uploads live in the store (retention's orphan sweep leaves them
/// to the uploads purge).
pub const UPLOADS: &str = "uploads";

/// The bucket client: config first, then the standard `AWS_*` variables.
fn s3_client(config: &ArtifactsConfig) -> Result<AmazonS3, ArtifactError> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.s3_bucket);
    if !config.s3_endpoint.is_empty() {
        builder = builder
            .with_endpoint(&config.s3_endpoint)
            .with_allow_http(config.s3_endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    let region = if !config.s3_region.is_empty() {
        config.s3_region.clone()
    } else {
        std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or("us-east-1".into())
    };
    builder = builder.with_region(region);
    if !config.s3_access_key_id.is_empty() {
        builder = builder.with_access_key_id(&config.s3_access_key_id);
    }
    if !config.s3_secret_access_key.is_empty() {
        builder = builder.with_secret_access_key(&config.s3_secret_access_key);
    }
    builder.build().map_err(|e| ArtifactError::Config(e.to_string()))
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

/// [`write_atomically`] for bytes in memory, on a blocking thread: the
/// directory, the temporary file, its data synced, the rename.
fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    match written {
        Ok(()) => std::fs::rename(&tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
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
        let staged = s.put_bytes("gen_1", 0, "image/png", b"1234").await.unwrap();
        assert_eq!(std::fs::read(staged.local()).unwrap(), b"1234");
        let stored = s.publish(staged, "image/png").await.unwrap();
        assert_eq!(stored.path, "gen_1/0.png");
        let Download::Bytes { body, total, .. } = s.download(&stored.path, 4, Some(1..3)).await.unwrap() else {
            panic!("a file store streams")
        };
        let got: Vec<Bytes> = body.map(|c| c.unwrap()).collect().await;
        assert_eq!((got.concat(), total), (b"23".to_vec(), 4));
    }
}
