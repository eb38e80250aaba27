//! `/config` (compatibility levels, `BACKWARD` by default) and `/compatibility` (whether a
//! schema could be registered as a new version of a subject).
//!
//! A check against one version (`/compatibility/subjects/{subject}/versions/{version}`)
//! uses the direction of the subject's level against that version only; a check without a
//! version uses the level as registration does. See `compatibility` for what is checked.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use planner::schema_registry::compatibility::{Compatibility, check_compatibility};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    BAD_REQUEST, INVALID_COMPATIBILITY, RegistryError, RegistryResult,
    SUBJECT_LEVEL_CONFIG_NOT_FOUND, find_version, ok, read_schema, run_blocking,
};
use crate::http::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConfigQuery {
    #[serde(default)]
    default_to_global: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CheckQuery {
    #[serde(default)]
    verbose: bool,
}

/// `GET /config`: `{"compatibilityLevel": ...}` of the registry.
pub(super) async fn get_global(State(state): State<Arc<AppState>>) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let level = catalog
        .schema_registry()
        .compatibility_set(None)
        .unwrap_or_default();
    ok(&json!({ "compatibilityLevel": level.name() }))
}

/// `GET /config/{subject}`: the subject's own level (or the registry's with
/// `?defaultToGlobal=true`); 40408 when it has none.
pub(super) async fn get_subject(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<ConfigQuery>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let level = match registry.compatibility_set(Some(&subject)) {
        Some(level) => level,
        None if query.default_to_global => registry.compatibility(&subject),
        None => {
            return Err(RegistryError::new(
                SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                format!("Subject '{subject}' does not have subject-level compatibility configured"),
            ));
        }
    };
    ok(&json!({ "compatibilityLevel": level.name() }))
}

/// `PUT /config` with `{"compatibility": "FULL"}`.
pub(super) async fn put_global(State(state): State<Arc<AppState>>, body: Bytes) -> RegistryResult {
    put(state, None, &body).await
}

/// `PUT /config/{subject}` with `{"compatibility": "FULL"}`.
pub(super) async fn put_subject(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> RegistryResult {
    put(state, Some(subject), &body).await
}

async fn put(state: Arc<AppState>, subject: Option<String>, body: &[u8]) -> RegistryResult {
    let request: Value = serde_json::from_slice(body).map_err(|error| {
        RegistryError::new(BAD_REQUEST, format!("Invalid JSON in request: {error}"))
    })?;
    let level = request
        .get("compatibility")
        .and_then(Value::as_str)
        .and_then(Compatibility::parse)
        .ok_or_else(|| {
            RegistryError::new(
                INVALID_COMPATIBILITY,
                "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
            )
        })?;
    let engine = Arc::clone(&state.engine);
    run_blocking(move || engine.set_schema_compatibility(subject.as_deref(), level)).await?;
    ok(&json!({ "compatibility": level.name() }))
}

/// `POST /compatibility/subjects/{subject}/versions/{version}`: `{"is_compatible": bool}`
/// (with `messages` when `?verbose=true`).
pub(super) async fn check_version(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
    Query(query): Query<CheckQuery>,
    body: Bytes,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let schema = read_schema(&body, registry)?;
    let (_, previous) = find_version(registry, &subject, &version)?;
    let level = match registry.compatibility(&subject) {
        Compatibility::BackwardTransitive => Compatibility::Backward,
        Compatibility::ForwardTransitive => Compatibility::Forward,
        Compatibility::FullTransitive => Compatibility::Full,
        level => level,
    };
    let result = check_compatibility(level, schema.schema_type, &schema.text, &[&previous]);
    answer(result, query.verbose)
}

/// `POST /compatibility/subjects/{subject}/versions`: checks as a registration would.
pub(super) async fn check_all(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<CheckQuery>,
    body: Bytes,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let schema = read_schema(&body, registry)?;
    let versions = registry.subject_schemas(&subject);
    let level = registry.compatibility(&subject);
    let result = check_compatibility(level, schema.schema_type, &schema.text, &versions);
    answer(result, query.verbose)
}

fn answer(result: Result<(), Vec<String>>, verbose: bool) -> RegistryResult {
    let mut body = json!({ "is_compatible": result.is_ok() });
    if verbose {
        body["messages"] = json!(result.err().unwrap_or_default());
    }
    ok(&body)
}
