//! Media helpers: base64 and `data:` URIs for vendors that take inline media.

use base64::Engine as _;

use crate::Media;

/// Standard base64 (with padding) of `bytes`.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode standard base64, accepting input without padding too.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let trimmed = text.trim().trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed)
}

/// A `data:<mime>;base64,…` URI for the media's bytes, if the host supplied them.
pub fn data_uri(media: &Media) -> Option<String> {
    let bytes = media.bytes.as_ref()?;
    let mime = media.mime.as_deref().unwrap_or("application/octet-stream");
    Some(format!("data:{mime};base64,{}", base64(bytes)))
}

/// The URL a vendor can fetch: the user's `https://` URL, or a `data:` URI
/// when the input arrived inline.
pub fn url_or_data_uri(media: &Media) -> Option<String> {
    if !media.url.is_empty() { Some(media.url.clone()) } else { data_uri(media) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_with_and_without_padding() {
        let encoded = base64(b"hello!?");
        assert_eq!(encoded, "aGVsbG8hPw==");
        assert_eq!(decode_base64(&encoded).unwrap(), b"hello!?");
        assert_eq!(decode_base64("aGVsbG8hPw").unwrap(), b"hello!?");
    }

    #[test]
    fn data_uri_prefers_user_url() {
        let inline = Media { url: String::new(), mime: Some("image/png".into()), bytes: Some(vec![1, 2]) };
        assert_eq!(url_or_data_uri(&inline).unwrap(), "data:image/png;base64,AQI=");
        let linked = Media { url: "https://x/y.png".into(), mime: None, bytes: Some(vec![1]) };
        assert_eq!(url_or_data_uri(&linked).unwrap(), "https://x/y.png");
    }
}
