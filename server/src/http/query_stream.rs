//! `POST /query-stream` (the HTTP/2 API of ksqlDB's Java client, HTTP/1.1 too) and
//! `POST /close-query`.
//!
//! The `Accept` header picks the format: `application/vnd.ksqlapi.delimited.v1` (the
//! default: metadata line, then one JSON array per row), `application/json` or
//! `application/vnd.ksqlapi.json.v1` (one JSON array), or `application/vnd.ksql.v1+json`
//! (the `/query` format). Push queries get an id that `/close-query` ends.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{self, ApiError};
use super::query::{self, Prepared, RowFormat};
use super::{AppState, KSQL_V1_JSON, request};

const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
const JSON: &str = "application/json";
const KSQLAPI_JSON: &str = "application/vnd.ksqlapi.json.v1";

pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    let (format, content_type) = negotiate(request.headers());
    let arguments = request::read_json_object(request, state.config.max_body_bytes).await?;
    let sql = request::required_string(&arguments, "sql")?;
    let session = state.session(
        request::string_map(&arguments, "properties")?,
        request::string_map(&arguments, "sessionVariables")?,
    );
    match query::prepare(&state, sql, session, false).await? {
        Prepared::Rows(prepared) => {
            Ok(query::respond(&state, prepared, format, content_type, started).await)
        }
        Prepared::Lines(lines) => {
            query::dispose_lines(lines);
            Err(ApiError::internal("PRINT reached /query-stream"))
        }
    }
}

/// `{"queryId": "..."}`: ends that push query's response; 400 when no such query runs.
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let arguments = request::read_json_object(request, state.config.max_body_bytes).await?;
    let query_id = request::required_string(&arguments, "queryId")?;
    if state.push_queries.close(&query_id) {
        Ok(StatusCode::OK.into_response())
    } else {
        Err(ApiError::generic(
            error::BAD_REQUEST,
            format!("No query with id {query_id}"),
        ))
    }
}

/// The response format and content type the client's `Accept` asks for.
fn negotiate(headers: &HeaderMap) -> (RowFormat, &'static str) {
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| item.split(';').next().unwrap_or("").trim())
        .collect();
    for media_type in accepted {
        match media_type {
            DELIMITED => return (RowFormat::Delimited, DELIMITED),
            KSQL_V1_JSON => return (RowFormat::Streamed, KSQL_V1_JSON),
            JSON => return (RowFormat::JsonArray, JSON),
            KSQLAPI_JSON => return (RowFormat::JsonArray, KSQLAPI_JSON),
            _ => {}
        }
    }
    (RowFormat::Delimited, DELIMITED)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn accept_header_picks_the_format() {
        let cases = [
            (None, RowFormat::Delimited, DELIMITED),
            (Some("*/*"), RowFormat::Delimited, DELIMITED),
            (Some(DELIMITED), RowFormat::Delimited, DELIMITED),
            (Some("application/json"), RowFormat::JsonArray, JSON),
            (Some(KSQLAPI_JSON), RowFormat::JsonArray, KSQLAPI_JSON),
            (
                Some("application/vnd.ksql.v1+json; q=0.9"),
                RowFormat::Streamed,
                KSQL_V1_JSON,
            ),
            (
                Some("text/html, application/json"),
                RowFormat::JsonArray,
                JSON,
            ),
        ];
        for (accept, format, content_type) in cases {
            let mut headers = HeaderMap::new();
            if let Some(accept) = accept {
                headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
            }
            assert_eq!(negotiate(&headers), (format, content_type), "{accept:?}");
        }
    }
}
