//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>).
//!
//! A secret is `whsec_` followed by the base64 of the key bytes (32 random
//! bytes for the secrets made here). A signature is
//! `v1,<base64 HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>`;
//! the `webhook-signature` header carries one per secret in force,
//! space-separated, so a receiver holding either the old or the new secret
//! during a rotation accepts the delivery.
//!
//! Pure functions only: no clock (callers pass `now`), no I/O.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of a secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of key in a new secret.
pub const SECRET_BYTES: usize = 32;
/// How far a `webhook-timestamp` may be from now before `verify` refuses it
/// (the Standard Webhooks libraries use the same five minutes).
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// A new random secret, `whsec_<base64 of 32 bytes>`.
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", BASE64.encode(rand::random::<[u8; SECRET_BYTES]>()))
}

/// Why a secret or a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The secret is not `whsec_<base64>`.
    #[error("the secret is not `whsec_<base64>`: {0}")]
    BadSecret(String),
    /// The timestamp is not Unix seconds.
    #[error("webhook-timestamp {0:?} is not Unix seconds")]
    BadTimestamp(String),
    /// The timestamp is outside the tolerance.
    #[error("webhook-timestamp is {0} s away from now (more than {TOLERANCE_SECS} s): replayed or the clock is off")]
    Stale(i64),
    /// The header has no `v1,` signature.
    #[error("webhook-signature has no `v1,<base64>` signature")]
    NoSignature,
    /// No signature matches.
    #[error("no signature matches: wrong secret, or the id, timestamp or body differ from what was signed")]
    Mismatch,
}

/// The key bytes of a secret (the part after `whsec_`, base64-decoded; a
/// secret pasted without the prefix is accepted too, as the reference
/// libraries do).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, VerifyError> {
    let encoded = secret.trim().strip_prefix(SECRET_PREFIX).unwrap_or(secret.trim());
    let key = BASE64.decode(encoded).map_err(|e| VerifyError::BadSecret(e.to_string()))?;
    if key.is_empty() {
        return Err(VerifyError::BadSecret("it is empty".into()));
    }
    Ok(key)
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `v1,<base64 signature>` of one message with one key.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(key, id, &timestamp.to_string(), body).finalize().into_bytes();
    format!("v1,{}", BASE64.encode(digest))
}

/// The `webhook-signature` header: one signature per key, space-separated,
/// in the order given (current secret first).
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter().map(|key| sign(key, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Check a delivery as a receiver would: `signature` (the header, possibly
/// several space-separated signatures) must contain a `v1` signature of
/// `id.timestamp.body` made with `secret`; with `now` (Unix seconds), the
/// timestamp must be within [`TOLERANCE_SECS`] of it.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: Option<i64>,
) -> Result<(), VerifyError> {
    let key = decode_secret(secret)?;
    let ts: i64 = timestamp.trim().parse().map_err(|_| VerifyError::BadTimestamp(timestamp.to_string()))?;
    if let Some(now) = now
        && (now - ts).abs() > TOLERANCE_SECS
    {
        return Err(VerifyError::Stale(now - ts));
    }
    let candidates: Vec<Vec<u8>> = signature
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| BASE64.decode(b64).ok())
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::NoSignature);
    }
    let expected = mac(&key, id, timestamp.trim(), body);
    // `verify_slice` compares in constant time.
    if candidates.iter().any(|given| expected.clone().verify_slice(given).is_ok()) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's published test vector.
    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const VECTOR_TS: i64 = 1_614_265_330;
    const VECTOR_BODY: &str = r#"{"test": 2432232314}"#;
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_the_specification_test_vector() {
        let key = decode_secret(VECTOR_SECRET).unwrap();
        assert_eq!(sign(&key, VECTOR_ID, VECTOR_TS, VECTOR_BODY.as_bytes()), VECTOR_SIGNATURE);
        verify(VECTOR_SECRET, VECTOR_ID, &VECTOR_TS.to_string(), VECTOR_SIGNATURE, VECTOR_BODY.as_bytes(), None)
            .unwrap();
    }

    #[test]
    fn new_secrets_are_32_random_bytes() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_"));
        assert_eq!(decode_secret(&secret).unwrap().len(), SECRET_BYTES);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn two_keys_give_two_signatures_each_verifiable() {
        let (old, new) = (new_secret(), new_secret());
        let keys = vec![decode_secret(&new).unwrap(), decode_secret(&old).unwrap()];
        let header = signature_header(&keys, "msg_1", 1000, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
        for secret in [&old, &new] {
            verify(secret, "msg_1", "1000", &header, b"{}", Some(1000)).unwrap();
        }
        assert_eq!(verify(&new_secret(), "msg_1", "1000", &header, b"{}", None), Err(VerifyError::Mismatch));
    }

    #[test]
    fn verify_refuses_each_kind_of_tampering() {
        let ts = VECTOR_TS.to_string();
        let ok = |id: &str, ts: &str, sig: &str, body: &str, now: Option<i64>| {
            verify(VECTOR_SECRET, id, ts, sig, body.as_bytes(), now)
        };
        let cases: Vec<(Result<(), VerifyError>, VerifyError)> = vec![
            (ok(VECTOR_ID, &ts, VECTOR_SIGNATURE, r#"{"test": 2432232315}"#, None), VerifyError::Mismatch),
            (ok("msg_other", &ts, VECTOR_SIGNATURE, VECTOR_BODY, None), VerifyError::Mismatch),
            (ok(VECTOR_ID, "1614265331", VECTOR_SIGNATURE, VECTOR_BODY, None), VerifyError::Mismatch),
            (
                ok(VECTOR_ID, &ts, "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", VECTOR_BODY, None),
                VerifyError::NoSignature,
            ),
            (ok(VECTOR_ID, &ts, "", VECTOR_BODY, None), VerifyError::NoSignature),
            (
                ok(VECTOR_ID, "yesterday", VECTOR_SIGNATURE, VECTOR_BODY, None),
                VerifyError::BadTimestamp("yesterday".into()),
            ),
            (ok(VECTOR_ID, &ts, VECTOR_SIGNATURE, VECTOR_BODY, Some(VECTOR_TS + 301)), VerifyError::Stale(301)),
            (ok(VECTOR_ID, &ts, VECTOR_SIGNATURE, VECTOR_BODY, Some(VECTOR_TS - 301)), VerifyError::Stale(-301)),
        ];
        for (got, want) in cases {
            assert_eq!(got, Err(want));
        }
        // Within the tolerance, and with an unrelated signature beside the right one.
        ok(VECTOR_ID, &ts, &format!("v1,AAAA {VECTOR_SIGNATURE}"), VECTOR_BODY, Some(VECTOR_TS + 299)).unwrap();
        assert!(matches!(decode_secret("whsec_not base64!"), Err(VerifyError::BadSecret(_))));
        assert!(matches!(decode_secret("whsec_"), Err(VerifyError::BadSecret(_))));
    }
}
