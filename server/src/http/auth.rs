//! HTTP basic authentication: with users configured, every request must carry one of
//! their name/password pairs, or gets 401 with ksqlDB's error JSON and a `WWW-Authenticate`
//! challenge. The users come from `HttpConfig::users`; reading them is the caller's job.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::AppState;
use super::error::{self, ApiError};

/// The realm named in the `WWW-Authenticate` challenge.
const REALM: &str = "Basic realm=\"Eddy\"";

/// Passes the request on when no users are configured or its credentials match one.
pub(crate) async fn require_credentials(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    match &state.config.users {
        Some(users) if !authorized(request.headers(), users) => {
            let mut response =
                ApiError::generic(error::UNAUTHORIZED, "Unauthorized").into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
            response
        }
        _ => next.run(request).await,
    }
}

/// True when `Authorization: Basic base64(user:password)` names a known user.
fn authorized(headers: &HeaderMap, users: &BTreeMap<String, String>) -> bool {
    let Some((user, password)) = basic_credentials(headers) else {
        return false;
    };
    users
        .get(&user)
        .is_some_and(|expected| constant_time_eq(expected.as_bytes(), password.as_bytes()))
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Compares without stopping at the first difference, so timing does not leak a prefix.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_must_match_a_user() {
        let users = BTreeMap::from([("alice".to_string(), "s3cret:x".to_string())]);
        let encode = |text: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(text)
            )
        };
        let cases = [
            (Some(encode("alice:s3cret:x")), true),
            (Some(encode("alice:wrong")), false),
            (Some(encode("bob:s3cret:x")), false),
            (Some(encode("alice")), false),
            (Some("Bearer abc".to_string()), false),
            (Some("Basic !!!".to_string()), false),
            (
                Some(encode("alice:s3cret:x").replace("Basic", "basic")),
                true,
            ),
            (None, false),
        ];
        for (header_value, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(value) = &header_value {
                headers.insert(
                    header::AUTHORIZATION,
                    HeaderValue::from_str(value).expect("ascii header"),
                );
            }
            assert_eq!(authorized(&headers, &users), expected, "{header_value:?}");
        }
    }
}
