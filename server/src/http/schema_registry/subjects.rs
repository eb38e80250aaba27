//! `/subjects` endpoints: list subjects and versions, read a version, register a schema,
//! look one up, delete a subject.
//!
//! A DELETE removes the subject for good (Confluent's soft delete, which keeps it readable
//! with `?deleted=true`, is not kept apart); the schemas keep their ids. The hard delete
//! that clients send after a soft one (`?permanent=true`) finds nothing left and answers
//! `[]`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use planner::schema_registry::compatibility::check_compatibility;
use serde::Deserialize;
use serde_json::json;

use super::{
    INCOMPATIBLE, RegistryError, RegistryResult, SCHEMA_NOT_FOUND, describe_version, find_version,
    ok, raw_text, read_schema, run_blocking,
};
use crate::http::AppState;

/// `GET /subjects`: the subject names.
pub(super) async fn list(State(state): State<Arc<AppState>>) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let subjects: Vec<&str> = catalog.schema_registry().subjects().collect();
    ok(&json!(subjects))
}

/// `GET /subjects/{subject}/versions`: the version numbers.
pub(super) async fn versions(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let versions = catalog
        .schema_registry()
        .versions(&subject)
        .ok_or_else(|| RegistryError::subject_not_found(&subject))?;
    ok(&json!(versions))
}

/// `GET /subjects/{subject}/versions/{version}`: the version with its id and schema.
pub(super) async fn version(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let (number, schema) = find_version(catalog.schema_registry(), &subject, &version)?;
    ok(&describe_version(&subject, number, &schema))
}

/// `GET /subjects/{subject}/versions/{version}/schema`: the schema text alone.
pub(super) async fn version_text(
    State(state): State<Arc<AppState>>,
    Path((subject, version)): Path<(String, String)>,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let (_, schema) = find_version(catalog.schema_registry(), &subject, &version)?;
    Ok(raw_text(&schema))
}

/// `POST /subjects/{subject}/versions`: registers a schema (checked against the subject's
/// compatibility level) and returns `{"id": N}`; a schema the subject holds keeps its id.
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let schema = read_schema(&body, registry)?;
    if let Some(id) = registry.find(
        &subject,
        schema.schema_type,
        &schema.text,
        &schema.references,
    ) && state.engine.schema_registry_url().is_none()
    {
        return ok(&json!({ "id": id }));
    }
    let versions = registry.subject_schemas(&subject);
    let level = registry.compatibility(&subject);
    if let Err(problems) = check_compatibility(level, schema.schema_type, &schema.text, &versions) {
        return Err(RegistryError::new(
            INCOMPATIBLE,
            format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: [{}]",
                problems.join(", ")
            ),
        ));
    }
    let engine = Arc::clone(&state.engine);
    let id = run_blocking(move || {
        engine.register_schema(
            &subject,
            schema.schema_type,
            &schema.text,
            schema.references,
            None,
        )
    })
    .await?;
    ok(&json!({ "id": id }))
}

/// `POST /subjects/{subject}`: the version of the subject holding this schema.
pub(super) async fn lookup(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> RegistryResult {
    let catalog = state.engine.catalog_snapshot();
    let registry = catalog.schema_registry();
    let schema = read_schema(&body, registry)?;
    if registry.versions(&subject).is_none() {
        return Err(RegistryError::subject_not_found(&subject));
    }
    let id = registry
        .find(
            &subject,
            schema.schema_type,
            &schema.text,
            &schema.references,
        )
        .ok_or_else(|| RegistryError::new(SCHEMA_NOT_FOUND, "Schema not found"))?;
    let version = registry
        .version_of(&subject, id)
        .expect("a schema found under a subject has a version there");
    let registered = registry
        .by_id(id)
        .expect("a schema found under a subject is registered");
    ok(&describe_version(&subject, version, registered))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DeleteQuery {
    #[serde(default)]
    permanent: bool,
}

/// `DELETE /subjects/{subject}`: deletes the subject and returns its versions.
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> RegistryResult {
    let engine = Arc::clone(&state.engine);
    let name = subject.clone();
    match run_blocking(move || engine.delete_schema_subject(&name)).await? {
        Some(versions) => ok(&json!(versions)),
        None if query.permanent => ok(&json!([])),
        None => Err(RegistryError::subject_not_found(&subject)),
    }
}
