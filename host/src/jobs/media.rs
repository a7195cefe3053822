//! User-supplied media: `https://` URLs or `data:` URIs.
//!
//! At accept time a reference is only checked (scheme, size of inline
//! data); URLs are fetched at dispatch time, and only for offerings that
//! declare they need the bytes, through the public-only HTTP client so a
//! user cannot make the host fetch from its own network. Plugins never
//! fetch user URLs themselves.

use base64::Engine as _;

use crate::error::ApiError;
use crate::net::{self, NetClients};
use crate::plugins::Media;
use crate::plugins::policy::HttpPolicy;

/// Largest media input accepted, inline or fetched.
pub const MAX_MEDIA_BYTES: u64 = 20 << 20;

/// Check a media reference and, for a `data:` URI, decode it.
pub fn check_reference(value: &str, field: &str) -> Result<Media, ApiError> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| ApiError::invalid(field, format!("{field} is not a valid data: URI (no comma)")))?;
        let (mime, is_base64) = match meta.strip_suffix(";base64") {
            Some(mime) => (mime, true),
            None => (meta, false),
        };
        if !is_base64 {
            return Err(ApiError::invalid(field, format!("{field}: only base64 data: URIs are accepted")));
        }
        if data.len() as u64 > MAX_MEDIA_BYTES * 4 / 3 + 4 {
            return Err(ApiError::invalid(field, format!("{field} is larger than {} MiB", MAX_MEDIA_BYTES >> 20)));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| ApiError::invalid(field, format!("{field}: invalid base64 in data: URI ({e})")))?;
        let mime = if mime.is_empty() { None } else { Some(mime.to_string()) };
        return Ok(Media { url: String::new(), mime, bytes: Some(bytes) });
    }
    let url = url::Url::parse(value)
        .map_err(|e| ApiError::invalid(field, format!("{field} must be an https:// URL or a data: URI ({e})")))?;
    if url.scheme() != "https" {
        return Err(ApiError::invalid(field, format!("{field} must be an https:// URL or a data: URI")));
    }
    let unusable = HttpPolicy::new(&[], None, None, false).expect("empty policy").check_download(value).err();
    if let Some(denied) = unusable {
        return Err(ApiError::invalid(field, format!("{field} cannot be used: {denied}")));
    }
    let mime = mime_guess::from_path(url.path()).first().map(|m| m.essence_str().to_string());
    Ok(Media { url: value.to_string(), mime, bytes: None })
}

/// Fetch a URL reference's bytes (public addresses only, size-capped).
pub async fn fetch_bytes(net: &NetClients, media: &mut Media) -> Result<(), String> {
    if media.bytes.is_some() || media.url.is_empty() {
        return Ok(());
    }
    let response = net
        .client(false)
        .get(&media.url)
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| format!("could not fetch {}: {e}", media.url))?;
    if !response.status().is_success() {
        return Err(format!("fetching {} answered HTTP {}", media.url, response.status()));
    }
    if media.mime.is_none() {
        media.mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
    }
    let bytes = net::read_capped(response, MAX_MEDIA_BYTES).await.map_err(|e| format!("{}: {e}", media.url))?;
    media.bytes = Some(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let m = check_reference("data:image/png;base64,AQID", "input.image").unwrap();
        assert_eq!(m.bytes.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(m.mime.as_deref(), Some("image/png"));
        let m = check_reference("https://example.com/a/cat.jpg", "input.image").unwrap();
        assert_eq!(m.mime.as_deref(), Some("image/jpeg"));
        assert!(m.bytes.is_none());
        for bad in [
            "http://example.com/a.png",
            "ftp://example.com/a.png",
            "https://127.0.0.1/a.png",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/a.png",
            "data:image/png,raw",
            "data:image/png;base64,!!!",
            "not a url",
        ] {
            assert!(check_reference(bad, "input.image").is_err(), "{bad}");
        }
    }
}
