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

/// Whether `value` names an upload (`upload_` and 20 letters or digits,
/// as `POST /uploads` makes them): resolved against the caller's uploads
/// when the generation is accepted.
pub fn is_upload_id(value: &str) -> bool {
    value
        .strip_prefix("upload_")
        .is_some_and(|rest| rest.len() == 20 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Check a media reference and, for a `data:` URI, decode it. An upload
/// id is kept as the reference's `url` (no bytes) for the accepting
/// generation to resolve.
pub fn check_reference(value: &str, field: &str) -> Result<Media, ApiError> {
    let value = value.trim();
    if is_upload_id(value) {
        return Ok(Media { url: value.to_string(), mime: None, bytes: None });
    }
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
        // The encoded length above bounds the work; the decoded one is the cap.
        if bytes.len() as u64 > MAX_MEDIA_BYTES {
            return Err(ApiError::invalid(field, format!("{field} is larger than {} MiB", MAX_MEDIA_BYTES >> 20)));
        }
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
    let response =
        net.client(false).get(&media.url).timeout(std::time::Duration::from_secs(60)).send().await.map_err(|e| {
            tracing::info!(url = %media.url, "fetching user media failed: {e:#}");
            format!("could not fetch {}: {}", media.url, net::public_reason(&e))
        })?;
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
    let bytes = net::read_capped(response, MAX_MEDIA_BYTES).await.map_err(|e| match e {
        net::BodyError::TooLarge { .. } => format!("{}: {e}", media.url),
        net::BodyError::Transport(e) => {
            tracing::info!(url = %media.url, "reading user media failed: {e:#}");
            format!("{}: {}", media.url, net::public_reason(&e))
        }
    })?;
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

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
    }

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    /// A refusal is INVALID_INPUT naming the field.
    fn refusal(err: &ApiError) -> Result<(), TestCaseError> {
        prop_assert_eq!(err.code, ErrorCode::InvalidInput);
        prop_assert_eq!(&err.details["field"], "input.image");
        Ok(())
    }

    /// What any accepted reference looks like: inline bytes with no URL, or
    /// an `https` URL (the trimmed input) with no bytes.
    fn well_formed(value: &str, media: &Media) -> Result<(), TestCaseError> {
        match &media.bytes {
            Some(bytes) => {
                prop_assert!(media.url.is_empty());
                prop_assert!(value.trim().starts_with("data:"));
                prop_assert!(bytes.len() as u64 <= MAX_MEDIA_BYTES);
            }
            None if is_upload_id(value.trim()) => prop_assert_eq!(media.url.as_str(), value.trim()),
            None => {
                prop_assert_eq!(media.url.as_str(), value.trim());
                prop_assert_eq!(url::Url::parse(&media.url).map(|u| u.scheme().to_string()).ok(), Some("https".into()));
            }
        }
        Ok(())
    }

    fn check(value: &str) -> Result<(), TestCaseError> {
        match check_reference(value, "input.image") {
            Ok(media) => well_formed(value, &media),
            Err(err) => refusal(&err),
        }
    }

    /// A MIME type as a `data:` URI might carry it (possibly empty, with
    /// parameters, or percent-encoded).
    fn mime() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z]{1,8}/[a-z0-9.+-]{1,10}",
            "[a-z]{1,8}/[a-z0-9]{1,8};[a-z]{1,6}=[a-z0-9%]{0,6}",
            "[a-z]{1,6}%2F[a-z]{1,6}",
            "[^,]{0,16}",
        ]
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Any string, and any string that looks like a `data:` or `https:`
        /// reference: a clear refusal or a well-formed reference, no panic.
        #[test]
        fn any_reference_is_checked(
            any in any::<String>(),
            data in "(data:)?[ -~]{0,40}",
            url in "[hH][tT][tT][pP][sS]?://[a-zA-Z0-9.:@%\\[\\]_-]{0,24}(/[ -~]{0,24})?",
        ) {
            check(&any)?;
            check(&data)?;
            check(&url)?;
            check(&format!("data:{any}"))?;
        }

        /// A base64 `data:` URI of any bytes and MIME type (padded or not,
        /// with surrounding whitespace) is accepted and decodes to exactly
        /// the bytes encoded, with its MIME type when one was given.
        #[test]
        fn base64_data_uris_decode_to_their_bytes(
            bytes in prop::collection::vec(any::<u8>(), 0..2048),
            mime in mime(),
            pad in any::<bool>(),
            space in prop::sample::select(vec!["", " ", "\n", "\t "]),
        ) {
            let mut data = B64.encode(&bytes);
            if !pad {
                data = data.trim_end_matches('=').to_string();
            }
            let value = format!("{space}data:{mime};base64,{data}{space}");
            match check_reference(&value, "input.image") {
                Ok(media) => {
                    prop_assert_eq!(media.bytes.as_deref(), Some(&bytes[..]));
                    prop_assert_eq!(media.mime.as_deref(), (!mime.is_empty()).then_some(mime.as_str()));
                    prop_assert!(media.url.is_empty());
                }
                // The standard engine insists on padding.
                Err(err) => {
                    refusal(&err)?;
                    prop_assert!(!pad && !data.len().is_multiple_of(4), "{value:?}: {}", err.message);
                }
            }
        }

        /// A `data:` URI whose payload is not valid base64 (a stray
        /// character, percent-encoding, a truncated quantum) is refused;
        /// so is one without `;base64` or without a comma.
        #[test]
        fn broken_data_uris_are_refused(
            bytes in prop::collection::vec(any::<u8>(), 1..512),
            mime in mime(),
            stray in prop::sample::select(vec!['!', '*', '%', '-', '_', '.', '~', '@', ' ', 'é']),
            at in any::<prop::sample::Index>(),
            how in 0..5u8,
        ) {
            let good = B64.encode(&bytes);
            let (value, says) = match how {
                0 => {
                    let mut data = good.clone();
                    data.insert(at.index(data.len() - 1) + 1, stray);
                    (format!("data:{mime};base64,{data}"), "invalid base64")
                }
                1 => {
                    let percent: String = good.bytes().map(|b| format!("%{b:02X}")).collect();
                    (format!("data:{mime};base64,{percent}"), "invalid base64")
                }
                2 => (format!("data:{mime};base64,{}", &good[..good.len() - 1]), "invalid base64"),
                3 => (format!("data:{mime},{good}"), "only base64"),
                _ => (format!("data:{}", mime.replace(',', "")), "no comma"),
            };
            let err = check_reference(&value, "input.image").unwrap_err();
            refusal(&err)?;
            prop_assert!(err.message.contains(says), "{value:?}: {}", err.message);
        }
    }

    proptest! {
        #![proptest_config(config(6))]

        /// Inline data is refused by its size: around the limit, a payload
        /// too long to decode, or decoding to more than the cap, is refused
        /// as too large; a valid one within it is decoded.
        #[test]
        fn inline_size_is_capped(delta in -8i64..8) {
            let limit = MAX_MEDIA_BYTES * 4 / 3 + 4;
            let len = (limit as i64 + delta) as usize;
            let value = format!("data:image/png;base64,{}", "A".repeat(len));
            match check_reference(&value, "input.image") {
                Ok(media) => {
                    prop_assert!(len as u64 <= limit && len.is_multiple_of(4));
                    prop_assert!((len / 4 * 3) as u64 <= MAX_MEDIA_BYTES);
                    prop_assert_eq!(media.bytes.as_ref().map(Vec::len), Some(len / 4 * 3));
                    well_formed(&value, &media)?;
                }
                Err(err) => {
                    refusal(&err)?;
                    // Too long to decode, or decoding to more than the cap.
                    let decodes_too_large = len.is_multiple_of(4) && (len / 4 * 3) as u64 > MAX_MEDIA_BYTES;
                    let too_large = len as u64 > limit || decodes_too_large;
                    prop_assert!(too_large || !len.is_multiple_of(4));
                    prop_assert_eq!(err.message.contains("larger than"), too_large, "{}", err.message);
                }
            }
        }
    }
}
