//! `GET /info`, `GET /healthcheck`, `GET /status` and `GET /status/{type}/{entity}/{action}`
//! as ksqlDB answers them. Statuses are those of the commands run through this server's
//! `/ksql` since it started (Eddy executes statements before answering, so all succeeded).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::{self, ApiError};
use super::{AppState, JSON, json_response};

/// The ksqlDB version whose REST API Eddy speaks.
pub(crate) const KSQLDB_VERSION: &str = "0.29.0";

pub(crate) async fn server_info() -> Response {
    ok(json!({
        "KsqlServerInfo": {
            "version": KSQLDB_VERSION,
            "kafkaClusterId": "eddy",
            "ksqlServiceId": "default_",
            "serverStatus": "RUNNING",
        }
    }))
}

pub(crate) async fn healthcheck() -> Response {
    ok(json!({
        "isHealthy": true,
        "details": {
            "metastore": {"isHealthy": true},
            "kafka": {"isHealthy": true},
            "commandRunner": {"isHealthy": true},
        }
    }))
}

/// `{"commandStatuses": {"stream/`S`/create": "SUCCESS", ...}}`
pub(crate) async fn statuses(State(state): State<Arc<AppState>>) -> Response {
    let commands = state
        .commands
        .lock()
        .expect("command map lock is never poisoned");
    let statuses: Map<String, Value> = commands
        .iter()
        .map(|(id, (status, _))| (id.clone(), Value::String(status.clone())))
        .collect();
    ok(json!({ "commandStatuses": statuses }))
}

/// `{"status": "SUCCESS", "message": "Stream created"}`, or 404 for an unknown command.
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = format!("{kind}/{entity}/{action}");
    let commands = state
        .commands
        .lock()
        .expect("command map lock is never poisoned");
    let (status, message) = commands
        .get(&id)
        .ok_or_else(|| ApiError::generic(error::NOT_FOUND, format!("Command not found: {id}")))?;
    Ok(ok(json!({ "status": status, "message": message })))
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, JSON, body.to_string().into_bytes())
}
