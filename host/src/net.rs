//! Outbound HTTP clients shared by plugins, artifact downloads and webhooks.
//!
//! Three `reqwest` clients, built once: one whose DNS resolver drops every
//! non-public address (so a hostname cannot resolve its way to loopback or
//! cloud metadata after the URL was checked), one with the normal resolver
//! for targets the operator explicitly allowed to be private, and one for
//! webhooks the operator allowed to be private, whose resolver still drops
//! cloud-metadata addresses (webhook URLs come from users, and
//! `allow_private` must not open `169.254.169.254` to them). None follows
//! redirects: a redirect would bypass the allow-lists, and none uses a
//! proxy from `HTTP(S)_PROXY`: a proxy resolves names itself, which would
//! bypass these resolvers.
//!
//! This module owns no policy of its own beyond that resolver; callers
//! check URLs with [`crate::plugins::policy`] first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::plugins::policy::{is_metadata_ip, is_public_ip};

/// Time allowed to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The shared clients.
#[derive(Clone)]
pub struct NetClients {
    public_only: reqwest::Client,
    any: reqwest::Client,
    no_metadata: reqwest::Client,
}

/// A resolver that refuses names whose addresses are all non-public and
/// drops the non-public ones otherwise.
struct PublicOnlyResolver;

/// The error a refused name produces; recognised by [`is_private_refusal`].
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves only to private, loopback or link-local addresses")]
pub struct PrivateNameRefused(String);

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public_ip(a.ip())).collect();
            if public.is_empty() {
                return Err(Box::new(PrivateNameRefused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// A resolver that drops cloud-metadata addresses (and refuses a name that
/// has nothing else) but keeps private and loopback ones.
struct NoMetadataResolver;

impl Resolve for NoMetadataResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.into_iter().filter(|a| !is_metadata_ip(a.ip())).collect();
            if allowed.is_empty() {
                return Err(Box::new(PrivateNameRefused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl NetClients {
    /// Build the clients.
    pub fn new() -> Result<NetClients, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(concat!("doitong/", env!("CARGO_PKG_VERSION")))
        };
        Ok(NetClients {
            public_only: builder().dns_resolver(Arc::new(PublicOnlyResolver)).build()?,
            any: builder().build()?,
            no_metadata: builder().dns_resolver(Arc::new(NoMetadataResolver)).build()?,
        })
    }

    /// The client for a target; `allow_private` picks the unfiltered one.
    pub fn client(&self, allow_private: bool) -> &reqwest::Client {
        if allow_private { &self.any } else { &self.public_only }
    }

    /// The client for webhook deliveries: public-only unless the operator
    /// allows private targets, and never cloud metadata either way.
    pub fn webhook_client(&self, allow_private: bool) -> &reqwest::Client {
        if allow_private { &self.no_metadata } else { &self.public_only }
    }
}

/// What a failed outbound request may tell a user: the resolver's refusal
/// of a private name verbatim, otherwise only the kind of failure (no
/// error chains: they would make the gateway a port-scan oracle). The full
/// error is for the log.
pub fn public_reason(error: &reqwest::Error) -> String {
    if let Some(refused) = is_private_refusal(error) {
        return refused;
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "too many redirects"
    } else if error.is_body() || error.is_decode() {
        "the transfer was cut off"
    } else {
        "the request failed"
    };
    kind.to_string()
}

/// Whether a send error came from the public-only resolver refusing a name.
pub fn is_private_refusal(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<PrivateNameRefused>() {
            return Some(refused.to_string());
        }
        source = e.source();
    }
    None
}

/// Why reading a body stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than the cap.
    #[error("body exceeds the {cap}-byte cap")]
    TooLarge {
        /// The cap in bytes.
        cap: u64,
    },
    /// The transfer failed.
    #[error("{0}")]
    Transport(#[from] reqwest::Error),
}

/// Read a response body into memory, refusing more than `cap` bytes
/// (checked against `Content-Length` first, then while streaming).
pub async fn read_capped(response: reqwest::Response, cap: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if body.len() as u64 + chunk.len() as u64 > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
