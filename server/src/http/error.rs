//! ksqlDB's error JSON: `generic_error` (`KsqlErrorMessage`) and `statement_error`
//! (`KsqlStatementErrorMessage`), with the HTTP status that goes with each error code.
//!
//! Handlers return [`ApiError`]; streamed responses embed [`ApiError::body`] in their rows.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ServerError;

/// A malformed request (bad JSON, a missing field).
pub(crate) const BAD_REQUEST: u32 = 40000;
/// A statement that cannot be executed.
pub(crate) const BAD_STATEMENT: u32 = 40001;
/// A query sent to `/ksql` instead of `/query`.
pub(crate) const QUERY_ENDPOINT: u32 = 40002;
pub(crate) const UNAUTHORIZED: u32 = 40100;
pub(crate) const NOT_FOUND: u32 = 40400;
pub(crate) const METHOD_NOT_ALLOWED: u32 = 40500;
pub(crate) const PAYLOAD_TOO_LARGE: u32 = 41300;
pub(crate) const SERVER_ERROR: u32 = 50000;

/// An error response: its HTTP status and ksqlDB error JSON.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: Value,
}

impl ApiError {
    /// `{"@type":"generic_error","error_code":..,"message":..}`; the status is the error
    /// code divided by 100, as in ksqlDB.
    pub(crate) fn generic(error_code: u32, message: impl Into<String>) -> Self {
        Self {
            status: status_of(error_code),
            body: json!({
                "@type": "generic_error",
                "error_code": error_code,
                "message": message.into(),
            }),
        }
    }

    /// A malformed request body: `Invalid JSON in request: ...`.
    pub(crate) fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::generic(BAD_REQUEST, format!("Invalid JSON in request: {detail}"))
    }

    /// `{"@type":"statement_error",..,"statementText":..,"entities":[..]}` with the entities
    /// of the statements that ran before the failing one.
    pub(crate) fn statement(
        error_code: u32,
        message: impl Into<String>,
        statement_text: &str,
        entities: Vec<Value>,
    ) -> Self {
        Self {
            status: status_of(error_code),
            body: json!({
                "@type": "statement_error",
                "error_code": error_code,
                "message": message.into(),
                "statementText": statement_text,
                "entities": entities,
            }),
        }
    }

    /// The statement error for a failed statement: 400 for the user's mistakes, 500 for
    /// storage failures and bugs.
    pub(crate) fn from_server(
        error: &ServerError,
        statement_text: &str,
        entities: Vec<Value>,
    ) -> Self {
        let code = match error {
            ServerError::Parse(_)
            | ServerError::Plan(_)
            | ServerError::User(_)
            | ServerError::SchemaRegistry { .. }
            | ServerError::Exec(executor::ExecError::User(_) | executor::ExecError::Format(_)) => {
                BAD_STATEMENT
            }
            ServerError::Exec(_) | ServerError::Internal(_) => SERVER_ERROR,
        };
        Self::statement(code, executor::error_chain(error), statement_text, entities)
    }

    /// An unexpected failure inside the server (a panicked task): 500 without details.
    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!("request failed: {what}");
        Self::generic(
            SERVER_ERROR,
            "The server encountered an internal error when processing the query. Please consult the server logs for more information.",
        )
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The error JSON.
    pub(crate) fn body(&self) -> &Value {
        &self.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body.to_string()).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn status_of(error_code: u32) -> StatusCode {
    u16::try_from(error_code / 100)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_their_http_status() {
        let cases = [
            (BAD_REQUEST, 400),
            (BAD_STATEMENT, 400),
            (QUERY_ENDPOINT, 400),
            (UNAUTHORIZED, 401),
            (NOT_FOUND, 404),
            (PAYLOAD_TOO_LARGE, 413),
            (SERVER_ERROR, 500),
        ];
        for (code, status) in cases {
            assert_eq!(
                ApiError::generic(code, "x").status().as_u16(),
                status,
                "{code}"
            );
        }
    }

    #[test]
    fn statement_errors_carry_text_and_entities() {
        let error = ApiError::statement(BAD_STATEMENT, "boom", "DROP STREAM X;", vec![json!(1)]);
        assert_eq!(
            error.body(),
            &json!({
                "@type": "statement_error",
                "error_code": 40001,
                "message": "boom",
                "statementText": "DROP STREAM X;",
                "entities": [1],
            })
        );
    }
}
