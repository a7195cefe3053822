//! Pages and their assets, embedded in the binary: GraphiQL on
//! `GET /graphql` with its scripts under `/assets/graphiql/…` (vendored in
//! `host/assets/graphiql/`, see its README). Nothing is loaded from another
//! origin, so the pages work offline and a strict Content-Security-Policy
//! holds: scripts from this origin only, no inline script.
//!
//! Asset URLs are relative, so the pages work wherever the router is
//! nested. This module must never serve anything but the files listed here.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The policy every page is served with.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $mime:literal) => {
        Asset { name: $name, mime: $mime, bytes: include_bytes!(concat!("../../assets/graphiql/", $name)) }
    };
}

static GRAPHIQL_ASSETS: [Asset; 5] = [
    asset!("graphiql.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql.min.css", "text/css; charset=utf-8"),
    asset!("react.production.min.js", "text/javascript; charset=utf-8"),
    asset!("react-dom.production.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql-init.js", "text/javascript; charset=utf-8"),
];

static GRAPHIQL_PAGE: &[u8] = include_bytes!("../../assets/graphiql/index.html");

/// Strong ETags by content, computed once.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    GRAPHIQL_ASSETS.iter().map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.bytes))[..32])).collect()
});

/// `GET /graphql`: the GraphiQL page.
pub(super) async fn graphiql() -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], GRAPHIQL_PAGE)
            .into_response();
    secure(response.headers_mut());
    response
}

/// `GET /assets/graphiql/{name}`: one of the page's files, cacheable and
/// revalidated by ETag.
pub(super) async fn graphiql_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = GRAPHIQL_ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (asset, etag) = (&GRAPHIQL_ASSETS[i], &ETAGS[i]);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let cache = [(header::ETAG, etag.as_str()), (header::CACHE_CONTROL, "public, max-age=86400")];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let mut response = (cache, [(header::CONTENT_TYPE, asset.mime)], asset.bytes).into_response();
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn secure(h: &mut HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file the page loads is embedded, and the page loads nothing
    /// from another origin.
    #[test]
    fn the_page_references_only_embedded_assets() {
        let page = std::str::from_utf8(GRAPHIQL_PAGE).unwrap();
        let referenced: Vec<&str> =
            page.split(['"', '\'']).filter(|s| s.starts_with("assets/") || s.contains("://")).collect();
        assert!(!referenced.is_empty());
        for reference in referenced {
            let name = reference.strip_prefix("assets/graphiql/").unwrap_or_else(|| panic!("external: {reference}"));
            assert!(GRAPHIQL_ASSETS.iter().any(|a| a.name == name), "{name} is not embedded");
        }
    }
}
