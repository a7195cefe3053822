//! Where a plugin may send HTTP: small pure rules with table tests.
//!
//! A plugin's request goes out only if, in this order:
//! 1. its URL parses and is `http` or `https`, with no user info;
//! 2. if its origin is the plugin's *vendor origin* (the first allowed host
//!    in the manifest) and the operator set `base_url`, it is rewritten onto
//!    `base_url` (origin replaced, `base_url`'s path prepended). This is how
//!    an adapter is pointed at a mock, a region or a self-hosted vendor
//!    without the plugin knowing;
//! 3. its (rewritten) origin is in the manifest's allowed hosts or is the
//!    operator's `base_url`, and — when the operator gave an explicit
//!    `allowed_hosts` list — also in that list;
//! 4. the address it reaches is public, unless the operator set
//!    `allow_private` for the plugin. IP literals are checked here; names
//!    are checked after DNS by the HTTP client's resolver
//!    ([`is_public_ip`]), so a name cannot resolve its way around the rule.
//!
//! This module must never perform I/O.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// `scheme://host[:port]`, with the port made explicit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parse `scheme://host[:port]` (a trailing `/` is tolerated; nothing else).
    pub fn parse(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text).map_err(|e| e.to_string())?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("must be scheme://host[:port] with no path".into());
        }
        Origin::of(&url)
    }

    /// The origin of a URL.
    pub fn of(url: &Url) -> Result<Origin, String> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(format!("scheme `{scheme}` is not http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("URLs with user info are refused".into());
        }
        let host = url.host_str().ok_or("URL has no host")?.to_ascii_lowercase();
        let port = url.port_or_known_default().ok_or("URL has no port")?;
        Ok(Origin { scheme: scheme.to_string(), host, port })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = matches!((self.scheme.as_str(), self.port), ("http", 80) | ("https", 443));
        if default {
            write!(f, "{}://{}", self.scheme, self.host)
        } else {
            write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// The effective HTTP rules for one plugin: its manifest plus operator config.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    allowed: Vec<Origin>,
    operator_allowed: Option<Vec<Origin>>,
    vendor_origin: Option<Origin>,
    base_url: Option<Url>,
    /// Whether private, loopback and link-local addresses may be reached.
    pub allow_private: bool,
}

/// Why a request was refused; the text goes back to the plugin and into logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The URL is malformed or uses a refused scheme.
    #[error("bad URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The origin is not allowed for this plugin.
    #[error("{origin} is not among this plugin's allowed hosts ({allowed})")]
    HostNotAllowed {
        /// The refused origin.
        origin: String,
        /// The allowed origins, comma-separated.
        allowed: String,
    },
    /// The address is private/loopback/link-local and the operator has not allowed it.
    #[error("{address} is a private, loopback or link-local address (set allow_private for this plugin to permit it)")]
    PrivateAddress {
        /// The refused address.
        address: String,
    },
}

impl HttpPolicy {
    /// Build the policy. `manifest_hosts` must already be valid origins
    /// (the manifest validator checks them); invalid ones are ignored.
    pub fn new(
        manifest_hosts: &[String],
        base_url: Option<&str>,
        operator_allowed: Option<&[String]>,
        allow_private: bool,
    ) -> Result<HttpPolicy, String> {
        let allowed: Vec<Origin> = manifest_hosts.iter().filter_map(|h| Origin::parse(h).ok()).collect();
        let vendor_origin = allowed.first().cloned();
        let base_url = match base_url.filter(|b| !b.is_empty()) {
            Some(b) => {
                let url = Url::parse(b).map_err(|e| format!("base_url {b:?}: {e}"))?;
                Origin::of(&url).map_err(|e| format!("base_url {b:?}: {e}"))?;
                Some(url)
            }
            None => None,
        };
        let operator_allowed = match operator_allowed {
            Some(list) => Some(
                list.iter()
                    .map(|h| Origin::parse(h).map_err(|e| format!("allowed host {h:?}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        Ok(HttpPolicy { allowed, operator_allowed, vendor_origin, base_url, allow_private })
    }

    /// Rules 1 and 2: parse, refuse odd schemes, rewrite the vendor origin.
    fn parse_and_rebase(&self, raw: &str) -> Result<(Url, Origin), Denied> {
        let bad = |reason: String| Denied::BadUrl { url: raw.to_string(), reason };
        let mut url = Url::parse(raw).map_err(|e| bad(e.to_string()))?;
        let mut origin = Origin::of(&url).map_err(bad)?;
        if let (Some(base), Some(vendor)) = (&self.base_url, &self.vendor_origin)
            && &origin == vendor
        {
            url = rebase(&url, base);
            origin = Origin::of(&url).map_err(bad)?;
        }
        Ok((url, origin))
    }

    /// Rule 4 for IP literals and `localhost` names.
    fn check_address(&self, url: &Url) -> Result<(), Denied> {
        if self.allow_private {
            return Ok(());
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal.filter(|ip| !is_public_ip(*ip)) {
            return Err(Denied::PrivateAddress { address: ip.to_string() });
        }
        let host = url.host_str().unwrap_or_default();
        if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
            return Err(Denied::PrivateAddress { address: host.to_string() });
        }
        Ok(())
    }

    /// The rules for downloading a result a plugin pointed at: vendors
    /// serve results from CDNs not known in advance, so any `http(s)` host
    /// is allowed (rule 3 is skipped), but rules 1, 2 and 4 apply.
    pub fn check_download(&self, raw: &str) -> Result<Url, Denied> {
        let (url, _) = self.parse_and_rebase(raw)?;
        self.check_address(&url)?;
        Ok(url)
    }

    /// Apply rules 1–4 (IP literals only for rule 4); returns the URL to send to.
    pub fn check(&self, raw: &str) -> Result<Url, Denied> {
        let (url, origin) = self.parse_and_rebase(raw)?;

        let base_origin = self.base_url.as_ref().and_then(|b| Origin::of(b).ok());
        let in_manifest = self.allowed.contains(&origin) || base_origin.as_ref() == Some(&origin);
        let in_operator = self.operator_allowed.as_ref().is_none_or(|list| list.contains(&origin));
        if !(in_manifest && in_operator) {
            let mut allowed: Vec<String> = self.allowed.iter().map(|o| o.to_string()).collect();
            allowed.extend(base_origin.map(|o| o.to_string()));
            return Err(Denied::HostNotAllowed {
                origin: origin.to_string(),
                allowed: if allowed.is_empty() { "none".into() } else { allowed.join(", ") },
            });
        }

        self.check_address(&url)?;
        Ok(url)
    }
}

/// `url` moved onto `base`: origin replaced, `base`'s path prepended.
fn rebase(url: &Url, base: &Url) -> Url {
    let mut out = base.clone();
    let prefix = base.path().trim_end_matches('/');
    out.set_path(&format!("{prefix}{}", url.path()));
    out.set_query(url.query());
    out.set_fragment(None);
    out
}

/// Whether `ip` is a publicly routable unicast address: not loopback,
/// private (RFC 1918, ULA), link-local (incl. cloud metadata 169.254/16),
/// CGNAT, unspecified, multicast, broadcast, documentation or benchmarking
/// ranges. IPv4-mapped IPv6 addresses are judged as IPv4.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// Cloud instance-metadata addresses: all of link-local 169.254.0.0/16
/// (AWS, GCP, Azure, OCI 169.254.169.254, ECS 169.254.170.2, Tencent
/// 169.254.0.23, …) and fe80::/10, Alibaba 100.100.100.200, AWS IMDS over
/// IPv6 fd00:ec2::254, also when written IPv4-mapped. Webhook targets may
/// never reach these, whatever the operator allows for private ones.
pub fn is_metadata_ip(ip: IpAddr) -> bool {
    let v4 = |v4: Ipv4Addr| v4.is_link_local() || v4 == Ipv4Addr::new(100, 100, 100, 200);
    const IMDS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);
    match ip {
        IpAddr::V4(addr) => v4(addr),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(addr) => v4(addr),
            None => v6 == IMDS_V6 || (v6.segments()[0] & 0xffc0) == 0xfe80,
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Forms that carry an IPv4 address: public only if that address is.
    let embedded_v4 = |hi: u16, lo: u16| is_public_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return embedded_v4(s[6], s[7]); // IPv4-compatible ::a.b.c.d (deprecated)
    }
    if s[0] == 0x2002 {
        return embedded_v4(s[1], s[2]); // 6to4 2002:V4ADDR::/48
    }
    if s[0] == 0x2001 && s[1] == 0 {
        // Teredo 2001::/32: the client's address is the last 32 bits, inverted.
        return embedded_v4(!s[6], !s[7]);
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed by some)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b)) // NAT64 may reach private v4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base: Option<&str>, operator: Option<&[String]>, private: bool) -> HttpPolicy {
        let hosts = vec!["https://api.vendor.com".to_string(), "https://upload.vendor.com:8443".to_string()];
        HttpPolicy::new(&hosts, base, operator, private).unwrap()
    }

    #[test]
    fn public_and_private_addresses() {
        let public = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "::8.8.8.8"];
        let private = [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "198.18.0.1",
            "240.0.0.1",
            "::127.0.0.1", // IPv4-compatible
            "::10.0.0.1",
            "2002:a9fe:a9fe::1",                    // 6to4 of 169.254.169.254
            "2002:7f00:1::",                        // 6to4 of 127.0.0.1
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "fec0::1",                              // site-local
        ];
        for ip in public {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip} should be public");
        }
        for ip in private {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip} should be private");
        }
    }

    #[test]
    fn allowed_hosts_match_scheme_host_and_port() {
        let p = policy(None, None, false);
        assert!(p.check("https://api.vendor.com/v1/tasks").is_ok());
        assert!(p.check("https://API.vendor.com:443/v1").is_ok());
        assert!(p.check("https://upload.vendor.com:8443/x").is_ok());
        for refused in [
            "http://api.vendor.com/v1",        // scheme differs
            "https://api.vendor.com:444/v1",   // port differs
            "https://upload.vendor.com/x",     // default port differs from 8443
            "https://api.vendor.com.evil.io/", // suffix trick
            "https://evil.io/?u=https://api.vendor.com",
            "https://user:pw@api.vendor.com/", // user info
            "file:///etc/passwd",
            "not a url",
        ] {
            assert!(p.check(refused).is_err(), "{refused} should be refused");
        }
    }

    #[test]
    fn base_url_rewrites_the_vendor_origin_only() {
        let p = policy(Some("http://127.0.0.1:9000/mock"), None, true);
        let url = p.check("https://api.vendor.com/v1/tasks?x=1").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/mock/v1/tasks?x=1");
        // Other manifest hosts are not rewritten.
        let url = p.check("https://upload.vendor.com:8443/x").unwrap();
        assert_eq!(url.as_str(), "https://upload.vendor.com:8443/x");
        // The base URL's own origin may be called directly too.
        assert!(p.check("http://127.0.0.1:9000/mock/v1/x").is_ok());
        // But not other loopback ports.
        assert!(matches!(p.check("http://127.0.0.1:9001/"), Err(Denied::HostNotAllowed { .. })));
    }

    #[test]
    fn loopback_base_url_needs_allow_private() {
        let p = policy(Some("http://127.0.0.1:9000"), None, false);
        assert!(matches!(p.check("https://api.vendor.com/v1"), Err(Denied::PrivateAddress { .. })));
        let p = policy(Some("http://localhost:9000"), None, false);
        assert!(matches!(p.check("https://api.vendor.com/v1"), Err(Denied::PrivateAddress { .. })));
        let p = policy(Some("http://[::ffff:127.0.0.1]:9000"), None, false);
        assert!(matches!(p.check("https://api.vendor.com/v1"), Err(Denied::PrivateAddress { .. })));
    }

    #[test]
    fn downloads_allow_any_public_host_but_no_private_one() {
        let p = policy(None, None, false);
        assert!(p.check_download("https://cdn.elsewhere.net/out.mp4").is_ok());
        for refused in ["http://127.0.0.1/x", "http://169.254.169.254/latest", "http://localhost:80/", "ftp://cdn/x"] {
            assert!(p.check_download(refused).is_err(), "{refused}");
        }
        let p = policy(Some("http://127.0.0.1:9000"), None, true);
        assert_eq!(p.check_download("https://api.vendor.com/f.png").unwrap().as_str(), "http://127.0.0.1:9000/f.png");
    }

    #[test]
    fn operator_list_narrows_the_manifest() {
        let only_api = vec!["https://api.vendor.com".to_string()];
        let p = policy(None, Some(&only_api), false);
        assert!(p.check("https://api.vendor.com/v1").is_ok());
        assert!(p.check("https://upload.vendor.com:8443/x").is_err());
        // The operator cannot widen beyond the manifest.
        let other = vec!["https://evil.io".to_string()];
        let p = policy(None, Some(&other), false);
        assert!(p.check("https://evil.io/").is_err());
    }

    #[test]
    fn origins_display_without_default_ports() {
        assert_eq!(Origin::parse("https://a.com:443").unwrap().to_string(), "https://a.com");
        assert_eq!(Origin::parse("http://a.com:8080/").unwrap().to_string(), "http://a.com:8080");
        assert!(Origin::parse("https://a.com/path").is_err());
    }
}
