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
use crate::credential::Credential;

/// The realm named in the `WWW-Authenticate` challenge.
const REALM: &str = "Basic realm=\"Eddy\"";

/// Passes the request on when no users are configured or its credentials match one.
pub(crate) async fn require_credentials(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = match &state.config.users {
        Some(users) => authorized(request.headers(), users).await,
        None => true,
    };
    if allowed {
        return next.run(request).await;
    }
    let mut response = ApiError::generic(error::UNAUTHORIZED, "Unauthorized").into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(REALM));
    response
}

/// True when `Authorization: Basic base64(user:password)` names a known user and its
/// password. A slow check (PBKDF2) runs on the blocking pool.
async fn authorized(headers: &HeaderMap, users: &BTreeMap<String, Credential>) -> bool {
    let Some((user, password)) = basic_credentials(headers) else {
        return false;
    };
    let Some(credential) = users.get(&user) else {
        return false;
    };
    if !credential.is_slow() {
        return credential.verify(&password);
    }
    let credential = credential.clone();
    tokio::task::spawn_blocking(move || credential.verify(&password))
        .await
        .unwrap_or(false)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_must_match_a_user() {
        let stored = Credential::parse("s3cret:x").expect("plain password");
        let users = BTreeMap::from([("alice".to_string(), stored)]);
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
            assert_eq!(
                authorized(&headers, &users).await,
                expected,
                "{header_value:?}"
            );
        }
    }
}
