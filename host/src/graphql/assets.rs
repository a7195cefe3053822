//! Pages and their assets, embedded in the binary: the console on `GET /`
//! (`host/assets/console/`: plain ES modules, no build step) with its files
//! under `/console/…`, and GraphiQL on `GET /graphql` with its scripts
//! under `/assets/graphiql/…` (vendored in `host/assets/graphiql/`, see its
//! README). Nothing is loaded from another origin, so the pages work
//! offline and a strict Content-Security-Policy holds: scripts from this
//! origin only, no inline script.
//!
//! Asset URLs are relative, so the pages work wherever the router is
//! nested. This module must never serve anything but the files listed here.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The policy every page is served with. Results may be redirects to a
/// bucket's presigned URLs (`artifacts.delivery = "redirect"`), hence
/// `https:` for images and media.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data: https:; media-src 'self' https:; font-src 'self' data:; connect-src 'self'; \
     base-uri 'self'; form-action 'none'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($dir:literal, $name:literal, $mime:literal) => {
        Asset { name: $name, mime: $mime, bytes: include_bytes!(concat!("../../assets/", $dir, "/", $name)) }
    };
}

static GRAPHIQL_ASSETS: [Asset; 5] = [
    asset!("graphiql", "graphiql.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql", "graphiql.min.css", "text/css; charset=utf-8"),
    asset!("graphiql", "react.production.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql", "react-dom.production.min.js", "text/javascript; charset=utf-8"),
    asset!("graphiql", "graphiql-init.js", "text/javascript; charset=utf-8"),
];

static CONSOLE_ASSETS: [Asset; 2] = [
    asset!("console", "console.js", "text/javascript; charset=utf-8"),
    asset!("console", "console.css", "text/css; charset=utf-8"),
];

static GRAPHIQL_PAGE: &[u8] = include_bytes!("../../assets/graphiql/index.html");
static CONSOLE_PAGE: &[u8] = include_bytes!("../../assets/console/index.html");

/// A strong ETag by content.
fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32])
}

/// The ETags of each set, computed once.
static GRAPHIQL_ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| GRAPHIQL_ASSETS.iter().map(|a| etag(a.bytes)).collect());
static CONSOLE_ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| CONSOLE_ASSETS.iter().map(|a| etag(a.bytes)).collect());

/// `GET /`: the console. Its files are addressed relative to the page; at
/// a path not ending in `/` (a router nested at `/ai`, asked for `/ai`) the
/// page gets a `<base>` naming the directory, so they still resolve.
pub(super) async fn console(uri: axum::extract::OriginalUri) -> Response {
    let path = uri.path();
    if path.ends_with('/') {
        return page(CONSOLE_PAGE);
    }
    let html = std::str::from_utf8(CONSOLE_PAGE).expect("the page is UTF-8");
    let escaped = path.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;");
    let html = html.replacen("<head>", &format!("<head>\n    <base href=\"{escaped}/\">"), 1);
    page_owned(html.into_bytes())
}

/// `GET /console/{name}`: one of the console's files.
pub(super) async fn console_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&CONSOLE_ASSETS, &CONSOLE_ETAGS, &name, &headers)
}

/// `GET /graphql`: the GraphiQL page.
pub(super) async fn graphiql() -> Response {
    page(GRAPHIQL_PAGE)
}

/// `GET /assets/graphiql/{name}`: one of GraphiQL's files.
pub(super) async fn graphiql_asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&GRAPHIQL_ASSETS, &GRAPHIQL_ETAGS, &name, &headers)
}

fn page(html: &'static [u8]) -> Response {
    page_owned(html.to_vec())
}

fn page_owned(html: Vec<u8>) -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], html)
            .into_response();
    secure(response.headers_mut());
    response
}

/// One file of `assets`, cacheable and revalidated by ETag.
fn serve(assets: &'static [Asset], etags: &[String], name: &str, headers: &HeaderMap) -> Response {
    let Some(i) = assets.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (asset, etag) = (&assets[i], etags[i].as_str());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    // Revalidated on use: a new binary's files are picked up at once.
    let cache = [(header::ETAG, etag), (header::CACHE_CONTROL, "no-cache")];
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
