//! `/schemas` endpoints: a schema by its global id, the subjects and versions holding it,
//! and the schema types the registry accepts.

use std::sync::Arc;

use axum::extract::{Path, State};
use planner::schema_registry::SchemaRegistry;
use serde_json::json;

use super::{RegistryError, RegistryResult, SCHEMA_NOT_FOUND, describe_schema, ok, raw_text};
use crate::http::AppState;

/// `GET /schemas/types`.
pub(super) async fn types() -> RegistryResult {
    ok(&json!(["JSON", "PROTOBUF", "AVRO"]))
}

/// `GET /schemas/ids/{id}`: `{"schema": ...}` (with `schemaType` and `references`).
pub(super) async fn by_id(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let schema = find(catalog.schema_registry(), &id)?;
    ok(&describe_schema(schema, json!({ "schema": schema.text })))
}

/// `GET /schemas/ids/{id}/schema`: the schema text alone.
pub(super) async fn text_by_id(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    Ok(raw_text(find(catalog.schema_registry(), &id)?))
}

/// `GET /schemas/ids/{id}/versions`: `[{"subject", "version"}]` holding the schema.
pub(super) async fn versions_of_id(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let schema = find(registry, &id)?;
    let holders: Vec<_> = registry
        .subjects()
        .filter_map(|subject| {
            registry
                .version_of(subject, schema.id)
                .map(|version| json!({ "subject": subject, "version": version }))
        })
        .collect();
    ok(&json!(holders))
}

fn find<'a>(
    registry: &'a SchemaRegistry,
    id: &str,
) -> Result<&'a planner::schema_registry::RegisteredSchema, RegistryError> {
    id.parse::<u32>()
        .ok()
        .and_then(|id| registry.by_id(id))
        .map(|schema| schema.as_ref())
        .ok_or_else(|| RegistryError::new(SCHEMA_NOT_FOUND, format!("Schema {id} not found")))
}
