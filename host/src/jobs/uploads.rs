//! Uploaded input files (`POST /uploads`): the bytes are checked (an
//! image, audio or video file, recognised by its content, within
//! `artifacts.upload_max_mib`), stored in the artifact store under
//! `uploads/`, and recorded with an expiry (`artifacts.upload_ttl_secs`).
//! A generation names one as `input.image: "upload_…"` (or `audio`,
//! `video`): it is resolved when the generation is accepted (the caller's
//! own, not expired, of the field's kind) and read when the step runs.
//! Expired uploads are purged by every node (object, then row).
//!
//! This module must never hand one account's upload to another.

use std::time::Duration;

use super::{Caller, Jobs};
use crate::background::Background;
use crate::error::ApiError;
use crate::plugins::{InputField, JobRequest, Media};
use crate::store::uploads::UploadRow;
use crate::store::{accounts::new_id, now_ms};

/// How often expired uploads are looked for (more often when they live
/// shorter than this).
const PURGE_EVERY: Duration = Duration::from_secs(300);
/// Uploads deleted per round trip.
const BATCH: i64 = 200;

impl Jobs {
    /// Store `bytes` as an upload of `caller`'s account.
    pub async fn upload(&self, caller: &Caller, bytes: &[u8]) -> Result<UploadRow, ApiError> {
        let config = &self.inner.config.artifacts;
        let cap = config.upload_max_mib.max(1) << 20;
        if bytes.len() as u64 > cap {
            return Err(too_large(cap));
        }
        if bytes.is_empty() {
            return Err(ApiError::invalid("body", "the upload is empty: send the file's bytes"));
        }
        let mime = detect(bytes).ok_or_else(|| {
            ApiError::invalid("body", "not an image, audio or video file this gateway recognises (PNG, JPEG, WebP, GIF, MP3, WAV, OGG, FLAC, MP4, WebM, MOV…)")
        })?;
        let id = new_id("upload");
        let stored = self.inner.artifacts.store_upload(&id, &mime, bytes).await.map_err(|e| ApiError::internal(&e))?;
        let now = now_ms();
        let row = UploadRow {
            id,
            account_id: caller.account_id.clone(),
            path: stored.path,
            mime,
            size_bytes: stored.size as i64,
            created_at: now,
            expires_at: now + (config.upload_ttl_secs.max(1) as i64) * 1000,
        };
        self.inner.store.insert_upload(&row).await?;
        tracing::info!(upload = %row.id, mime = %row.mime, bytes = row.size_bytes, "upload stored");
        Ok(row)
    }

    /// The signed URL an upload is downloaded from (also what a vendor is
    /// given when it takes media by URL).
    pub fn upload_url(&self, upload: &UploadRow) -> String {
        self.inner.artifacts.signed_url(&upload.id)
    }

    /// Check the uploads `request` names: the caller's, not expired, of the
    /// field's kind; their MIME types filled in.
    pub(super) async fn resolve_uploads(&self, caller: &Caller, request: &mut JobRequest) -> Result<(), ApiError> {
        for (field, media) in media_fields(request) {
            let Some(media) = media.filter(|m| super::media::is_upload_id(&m.url)) else { continue };
            let upload = self.owned_upload(caller, &media.url, field).await?;
            media.mime = Some(upload.mime);
        }
        Ok(())
    }

    /// Make the uploads `request` names usable by a plugin: a signed URL,
    /// and the bytes when `needs_bytes` says the offering wants them.
    pub(super) async fn open_uploads(
        &self,
        account_id: &str,
        request: &mut JobRequest,
        needs_bytes: &[InputField],
    ) -> Result<(), String> {
        for (field, media) in media_fields(request) {
            let Some(media) = media.filter(|m| super::media::is_upload_id(&m.url)) else { continue };
            let upload = match self.inner.store.upload(&media.url).await {
                Ok(Some(u)) if u.account_id == account_id => u,
                Ok(_) => return Err(format!("input.{}: upload `{}` is gone", field.as_str(), media.url)),
                Err(e) => return Err(format!("input.{}: reading the upload failed: {e}", field.as_str())),
            };
            if needs_bytes.contains(&field) {
                let bytes = self.inner.artifacts.read_all(&upload.path).await;
                media.bytes =
                    Some(bytes.map_err(|e| format!("input.{}: reading the upload failed: {e}", field.as_str()))?);
            }
            media.mime = Some(upload.mime.clone());
            media.url = self.upload_url(&upload);
        }
        Ok(())
    }

    async fn owned_upload(&self, caller: &Caller, id: &str, field: InputField) -> Result<UploadRow, ApiError> {
        let name = format!("input.{}", field.as_str());
        let missing = || ApiError::invalid(&name, format!("{name}: no upload `{id}` in this account (uploads expire)"));
        let upload = self.inner.store.upload(id).await?.filter(|u| u.account_id == caller.account_id);
        let upload = upload.filter(|u| u.expires_at > now_ms()).ok_or_else(missing)?;
        let kind = upload.mime.split('/').next().unwrap_or_default();
        if kind != field.as_str() {
            return Err(ApiError::invalid(
                &name,
                format!("{name}: upload `{id}` is {}, not an {}", upload.mime, field.as_str()),
            ));
        }
        Ok(upload)
    }

    /// Start the task that deletes expired uploads (object, then row).
    pub fn spawn_upload_purge(&self) -> Background {
        let jobs = self.clone();
        let every = PURGE_EVERY.min(Duration::from_secs(self.inner.config.artifacts.upload_ttl_secs.max(1)));
        Background::spawn(move |mut stopped| async move {
            loop {
                if let Err(e) = jobs.purge_uploads().await {
                    tracing::warn!("purging expired uploads failed: {e}");
                }
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => return,
                }
            }
        })
    }

    /// Delete every expired upload; how many.
    pub async fn purge_uploads(&self) -> Result<u64, ApiError> {
        let mut purged = 0;
        loop {
            let expired = self.inner.store.expired_uploads(now_ms(), BATCH).await?;
            for upload in &expired {
                self.inner.artifacts.delete(&upload.path).await.map_err(|e| ApiError::internal(&e))?;
                self.inner.store.delete_upload(&upload.id).await?;
                purged += 1;
            }
            if (expired.len() as i64) < BATCH {
                return Ok(purged);
            }
        }
    }
}

fn media_fields(request: &mut JobRequest) -> [(InputField, Option<&mut Media>); 3] {
    let input = &mut request.input;
    [
        (InputField::Image, input.image.as_mut()),
        (InputField::Audio, input.audio.as_mut()),
        (InputField::Video, input.video.as_mut()),
    ]
}

fn too_large(cap: u64) -> ApiError {
    ApiError::invalid("body", format!("the upload is larger than {} MiB (artifacts.upload_max_mib)", cap >> 20))
        .with("limit", "upload_max_mib")
        .with("maxBytes", cap)
}

/// The media type of `bytes`, from their content: image, audio or video only.
fn detect(bytes: &[u8]) -> Option<String> {
    let kind = infer::get(bytes)?;
    let mime = match kind.mime_type() {
        "audio/x-wav" => "audio/wav",
        "audio/x-flac" => "audio/flac",
        other => other,
    };
    matches!(kind.matcher_type(), infer::MatcherType::Image | infer::MatcherType::Audio | infer::MatcherType::Video)
        .then(|| mime.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_is_recognised_by_content() {
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, b'I', b'H', b'D', b'R'];
        assert_eq!(detect(&png).as_deref(), Some("image/png"));
        let mut wav = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
        wav.extend_from_slice(&[0; 16]);
        assert_eq!(detect(&wav).as_deref(), Some("audio/wav"));
        assert_eq!(detect(b"%PDF-1.7 not media"), None);
        assert_eq!(detect(b"plain text"), None);
    }
}
