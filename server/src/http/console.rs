//! The web console: one page with its script and style, built into the binary and served at
//! `/` and under `/console/`. The page talks to the REST API (`/ksql`, `/query-stream`,
//! `/close-query`) and `/metrics` like any client; nothing here runs statements. With basic
//! authentication on, the page is behind the same challenge as the API, so the browser asks
//! for a login.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../../console/index.html");
const CONSOLE_JS: &str = include_str!("../../console/console.js");
const CONSOLE_CSS: &str = include_str!("../../console/console.css");

/// `GET /`: the console page.
pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /console/console.js`.
pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

/// `GET /console/console.css`.
pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

/// A static asset; `no-cache` so that a new server version's page is never mixed with an old
/// script.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_its_script_and_style_from_the_served_paths() {
        for path in ["/console/console.js", "/console/console.css"] {
            assert!(INDEX_HTML.contains(path), "index.html does not load {path}");
        }
    }
}
