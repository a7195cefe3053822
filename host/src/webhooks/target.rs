//! Which URLs may receive webhooks (SSRF rules).
//!
//! Checked when a target is given (`generate`'s `webhookUrl`,
//! `createWebhookEndpoint`) and again before every attempt:
//! - http or https only, an absolute URL with a host and no user info;
//! - an IP literal or `localhost` (`*.localhost`) that is private, loopback,
//!   link-local or otherwise non-public is refused unless the operator set
//!   `webhooks.allow_private`;
//! - cloud-metadata addresses (all of link-local `169.254.0.0/16` and
//!   `fe80::/10`, `fd00:ec2::254`, …) and
//!   metadata host names are refused always, even with `allow_private`.
//!
//! Other host names cannot be judged before they are resolved: deliveries
//! go through [`crate::net::NetClients::webhook_client`], whose resolver
//! drops non-public addresses (or, with `allow_private`, metadata ones) at
//! connect time, and redirects are never followed.

use std::net::IpAddr;

use url::{Host, Url};

use crate::plugins::policy::{is_metadata_ip, is_public_ip};

/// Host names of cloud metadata services.
const METADATA_NAMES: &[&str] = &["metadata.google.internal", "metadata.goog", "metadata"];

/// Why a URL may not receive webhooks; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefused {
    /// Not a URL.
    #[error("is not a valid URL: {0}")]
    Invalid(String),
    /// Not http(s).
    #[error("must be an http:// or https:// URL")]
    Scheme,
    /// Has `user:password@`.
    #[error("must not contain a user name or password")]
    UserInfo,
    /// A cloud metadata address, never allowed.
    #[error("targets a cloud metadata address ({0}), which is never allowed")]
    Metadata(String),
    /// A private address while the operator does not allow them.
    #[error(
        "targets a private, loopback or link-local address ({0}); use a public URL (the operator can allow private targets with webhooks.allow_private)"
    )]
    Private(String),
}

/// Check a webhook target; returns the parsed URL.
pub fn check(url: &str, allow_private: bool) -> Result<Url, TargetRefused> {
    let parsed = Url::parse(url.trim()).map_err(|e| TargetRefused::Invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetRefused::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetRefused::UserInfo);
    }
    let ip: Option<IpAddr> = match parsed.host() {
        None => return Err(TargetRefused::Invalid("it has no host".into())),
        Some(Host::Ipv4(v4)) => Some(v4.into()),
        Some(Host::Ipv6(v6)) => Some(v6.into()),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_NAMES.contains(&name.as_str()) {
                return Err(TargetRefused::Metadata(name));
            }
            if !allow_private && (name == "localhost" || name.ends_with(".localhost")) {
                return Err(TargetRefused::Private(name));
            }
            None
        }
    };
    if let Some(ip) = ip {
        if is_metadata_ip(ip) {
            return Err(TargetRefused::Metadata(ip.to_string()));
        }
        if !allow_private && !is_public_ip(ip) {
            return Err(TargetRefused::Private(ip.to_string()));
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_with_and_without_allow_private() {
        use TargetRefused as R;
        let private = |s: &str| Err(R::Private(s.to_string()));
        let metadata = |s: &str| Err(R::Metadata(s.to_string()));
        // (url, default, with allow_private)
        #[expect(clippy::type_complexity, reason = "a table of cases")]
        let cases: Vec<(&str, Result<(), R>, Result<(), R>)> = vec![
            ("https://hooks.example.com/doitong", Ok(()), Ok(())),
            ("http://example.com:8080/x?y=1", Ok(()), Ok(())),
            ("http://8.8.8.8/", Ok(()), Ok(())),
            ("http://127.0.0.1:9000/hook", private("127.0.0.1"), Ok(())),
            ("http://localhost/hook", private("localhost"), Ok(())),
            ("http://LOCALHOST./hook", private("localhost"), Ok(())),
            ("http://api.localhost/hook", private("api.localhost"), Ok(())),
            ("http://10.1.2.3/", private("10.1.2.3"), Ok(())),
            ("http://192.168.0.10/", private("192.168.0.10"), Ok(())),
            ("http://[::1]/", private("::1"), Ok(())),
            // Link-local, where metadata services live: never, like metadata.
            ("http://[fe80::1]/", metadata("fe80::1"), metadata("fe80::1")),
            ("http://169.254.0.23/", metadata("169.254.0.23"), metadata("169.254.0.23")),
            ("http://0.0.0.0/", private("0.0.0.0"), Ok(())),
            // Escapes: other spellings of loopback are normalised by the URL parser.
            ("http://2130706433/", private("127.0.0.1"), Ok(())),
            ("http://0x7f.1/", private("127.0.0.1"), Ok(())),
            ("http://[::ffff:127.0.0.1]/", private("::ffff:127.0.0.1"), Ok(())),
            // Metadata: refused always.
            ("http://169.254.169.254/", metadata("169.254.169.254"), metadata("169.254.169.254")),
            ("http://169.254.169.254/latest/meta-data/", metadata("169.254.169.254"), metadata("169.254.169.254")),
            ("http://[fd00:ec2::254]/", metadata("fd00:ec2::254"), metadata("fd00:ec2::254")),
            (
                "http://[::ffff:169.254.169.254]/",
                metadata("::ffff:169.254.169.254"),
                metadata("::ffff:169.254.169.254"),
            ),
            ("http://0xa9fea9fe/", metadata("169.254.169.254"), metadata("169.254.169.254")),
            ("http://169.254.170.2/v2/credentials", metadata("169.254.170.2"), metadata("169.254.170.2")),
            (
                "http://metadata.google.internal/",
                metadata("metadata.google.internal"),
                metadata("metadata.google.internal"),
            ),
            // Shape.
            ("ftp://example.com/", Err(R::Scheme), Err(R::Scheme)),
            ("file:///etc/passwd", Err(R::Scheme), Err(R::Scheme)),
            ("https://user:pw@example.com/", Err(R::UserInfo), Err(R::UserInfo)),
            ("https://user@example.com/", Err(R::UserInfo), Err(R::UserInfo)),
        ];
        for (url, default, allowed) in cases {
            assert_eq!(check(url, false).map(drop), default, "{url} by default");
            assert_eq!(check(url, true).map(drop), allowed, "{url} with allow_private");
        }
        assert!(matches!(check("not a url", true), Err(R::Invalid(_))));
        assert!(matches!(check("/relative", true), Err(R::Invalid(_))));
    }
}
