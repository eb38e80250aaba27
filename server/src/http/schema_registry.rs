//! Confluent Schema Registry's REST API over the engine's schema registry, so that standard
//! serializers register and read the schemas Eddy's AVRO, PROTOBUF and JSON_SR formats use.
//!
//! This module owns the routes, the error JSON (`{"error_code": 40401, "message": ...}`) and
//! the request and response shapes; the endpoints are in `subjects`, `schemas` and `config`.
//! Registrations go through `Engine::register_schema`, which persists them (and forwards
//! them to an external registry when one is configured).

mod config;
mod schemas;
mod subjects;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use planner::schema_registry::avro::AvroSchema;
use planner::schema_registry::json_tree::JsonTree;
use planner::schema_registry::protobuf::ProtoFile;
use planner::schema_registry::{RegisteredSchema, SchemaReference, SchemaRegistry, SchemaType};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use crate::ServerError;

/// Confluent's content type, sent with every response.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

pub(crate) const SUBJECT_NOT_FOUND: u32 = 40401;
pub(crate) const VERSION_NOT_FOUND: u32 = 40402;
pub(crate) const SCHEMA_NOT_FOUND: u32 = 40403;
pub(crate) const SUBJECT_LEVEL_CONFIG_NOT_FOUND: u32 = 40408;
pub(crate) const INCOMPATIBLE: u32 = 409;
pub(crate) const INVALID_SCHEMA: u32 = 42201;
pub(crate) const INVALID_VERSION: u32 = 42202;
pub(crate) const INVALID_COMPATIBILITY: u32 = 42203;
pub(crate) const BAD_REQUEST: u32 = 400;
pub(crate) const STORE_ERROR: u32 = 50001;

/// The registry's routes, merged into the server's router (behind its authentication).
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/subjects", get(subjects::list))
        .route(
            "/subjects/{subject}",
            post(subjects::lookup).delete(subjects::delete),
        )
        .route(
            "/subjects/{subject}/versions",
            get(subjects::versions).post(subjects::register),
        )
        .route(
            "/subjects/{subject}/versions/{version}",
            get(subjects::version),
        )
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(subjects::version_text),
        )
        .route("/schemas/types", get(schemas::types))
        .route("/schemas/ids/{id}", get(schemas::by_id))
        .route("/schemas/ids/{id}/schema", get(schemas::text_by_id))
        .route("/schemas/ids/{id}/versions", get(schemas::versions_of_id))
        .route("/config", get(config::get_global).put(config::put_global))
        .route(
            "/config/{subject}",
            get(config::get_subject).put(config::put_subject),
        )
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(config::check_version),
        )
        .route(
            "/compatibility/subjects/{subject}/versions",
            post(config::check_all),
        )
}

/// An error response: HTTP status and `{"error_code", "message"}`.
#[derive(Debug)]
pub(crate) struct RegistryError {
    status: StatusCode,
    error_code: u32,
    message: String,
}

impl RegistryError {
    /// The status is the code's first three digits (`40401` → 404, `409` → 409).
    pub(crate) fn new(error_code: u32, message: impl Into<String>) -> Self {
        let mut status_code = error_code;
        while status_code >= 1000 {
            status_code /= 10;
        }
        Self {
            status: u16::try_from(status_code)
                .ok()
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error_code,
            message: message.into(),
        }
    }

    fn subject_not_found(subject: &str) -> Self {
        Self::new(SUBJECT_NOT_FOUND, format!("Subject '{subject}' not found."))
    }

    fn version_not_found(version: &str) -> Self {
        Self::new(VERSION_NOT_FOUND, format!("Version {version} not found."))
    }

    /// A failure of the engine: the store, or the external registry (whose error code is
    /// passed on: a schema it finds incompatible is 409 here too).
    fn engine(error: &ServerError) -> Self {
        let message = executor::error_chain(error);
        tracing::warn!("schema registry request failed: {message}");
        match error {
            ServerError::SchemaRegistry {
                error_code: Some(code),
                ..
            } => Self::new(*code, message),
            _ => Self::new(STORE_ERROR, message),
        }
    }
}

impl IntoResponse for RegistryError {
    fn into_response(self) -> Response {
        let body = json!({ "error_code": self.error_code, "message": self.message });
        respond(self.status, &body)
    }
}

pub(crate) type RegistryResult = Result<Response, RegistryError>;

/// A JSON response with Confluent's content type.
fn respond(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

fn ok(body: &Value) -> RegistryResult {
    Ok(respond(StatusCode::OK, body))
}

/// The body of a registration, lookup or compatibility check.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaRequest {
    schema: String,
    schema_type: Option<String>,
    #[serde(default)]
    references: Option<Vec<WireReference>>,
}

#[derive(Debug, Deserialize)]
struct WireReference {
    name: String,
    subject: String,
    version: i64,
}

/// A schema read from a request: checked, its text normalized (compact JSON for AVRO and
/// JSON, so that a registered schema is found again whatever its spacing).
struct CandidateSchema {
    schema_type: SchemaType,
    text: String,
    references: Vec<SchemaReference>,
}

/// Reads a request body (any JSON content type, or none) as a schema.
fn read_schema(body: &[u8], registry: &SchemaRegistry) -> Result<CandidateSchema, RegistryError> {
    let request: SchemaRequest = serde_json::from_slice(body).map_err(|error| {
        RegistryError::new(BAD_REQUEST, format!("Invalid JSON in request: {error}"))
    })?;
    let schema_type = match &request.schema_type {
        None => SchemaType::Avro,
        Some(name) => match name.to_ascii_uppercase().as_str() {
            "AVRO" | "PROTOBUF" | "JSON" => SchemaType::parse(name).expect("a known type name"),
            _ => {
                return Err(RegistryError::new(
                    INVALID_SCHEMA,
                    format!("Invalid schema type {name}"),
                ));
            }
        },
    };
    let mut references = Vec::new();
    for reference in request.references.unwrap_or_default() {
        let version = u32::try_from(reference.version).ok().filter(|v| *v > 0);
        let known = match version {
            Some(version) => registry.version(&reference.subject, version).is_some(),
            None => registry.latest(&reference.subject).is_some(),
        };
        let (Some(version), true) = (version, known) else {
            return Err(RegistryError::new(
                INVALID_SCHEMA,
                format!(
                    "Invalid schema: reference {} to subject {} version {} is not registered",
                    reference.name, reference.subject, reference.version
                ),
            ));
        };
        references.push(SchemaReference {
            name: reference.name,
            subject: reference.subject,
            version,
        });
    }
    let invalid = |detail: String| {
        RegistryError::new(
            INVALID_SCHEMA,
            format!("Invalid schema {}, details: {detail}", request.schema),
        )
    };
    let text = match schema_type {
        SchemaType::Avro => {
            AvroSchema::parse(&request.schema).map_err(invalid)?;
            compact(&request.schema)
        }
        SchemaType::Json => {
            JsonTree::parse(&request.schema).map_err(invalid)?;
            compact(&request.schema)
        }
        SchemaType::Protobuf => {
            ProtoFile::parse(&request.schema).map_err(invalid)?;
            request.schema.clone()
        }
    };
    Ok(CandidateSchema {
        schema_type,
        text,
        references,
    })
}

/// The text as compact JSON, members in their written order.
fn compact(text: &str) -> String {
    JsonTree::parse(text).map_or_else(|_| text.to_string(), |tree| tree.to_string())
}

/// `latest`, `-1` or a positive version number.
enum VersionSelector {
    Latest,
    Number(u32),
}

fn parse_version(text: &str) -> Result<VersionSelector, RegistryError> {
    if text == "latest" || text == "-1" {
        return Ok(VersionSelector::Latest);
    }
    match text.parse::<u32>() {
        Ok(version) if version > 0 => Ok(VersionSelector::Number(version)),
        _ => Err(RegistryError::new(
            INVALID_VERSION,
            format!(
                "The specified version '{text}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
            ),
        )),
    }
}

/// The version `text` of `subject`: its number and schema, or 40401/40402.
fn find_version(
    registry: &SchemaRegistry,
    subject: &str,
    text: &str,
) -> Result<(u32, Arc<RegisteredSchema>), RegistryError> {
    let selector = parse_version(text)?;
    let versions = registry
        .versions(subject)
        .ok_or_else(|| RegistryError::subject_not_found(subject))?;
    let number = match selector {
        VersionSelector::Latest => versions.last().copied(),
        VersionSelector::Number(number) => versions.contains(&number).then_some(number),
    }
    .ok_or_else(|| RegistryError::version_not_found(text))?;
    let schema = registry
        .version(subject, number)
        .ok_or_else(|| RegistryError::version_not_found(text))?;
    Ok((number, Arc::clone(schema)))
}

/// `schemaType` (left out for AVRO, as Confluent does) and `references` (when any).
fn describe_schema(schema: &RegisteredSchema, mut body: Value) -> Value {
    if schema.schema_type != SchemaType::Avro {
        body["schemaType"] = json!(schema.schema_type.name());
    }
    if !schema.references.is_empty() {
        body["references"] = json!(
            schema
                .references
                .iter()
                .map(|reference| json!({
                    "name": reference.name,
                    "subject": reference.subject,
                    "version": reference.version,
                }))
                .collect::<Vec<_>>()
        );
    }
    body
}

/// `{"subject", "version", "id", "schema", ...}`.
fn describe_version(subject: &str, version: u32, schema: &RegisteredSchema) -> Value {
    describe_schema(
        schema,
        json!({
            "subject": subject,
            "version": version,
            "id": schema.id,
            "schema": schema.text,
        }),
    )
}

/// A schema's own text as the body (`.../schema` endpoints).
fn raw_text(schema: &RegisteredSchema) -> Response {
    let mut response = (StatusCode::OK, schema.text.clone()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// Runs engine work (storage, an external registry) off the async runtime.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> crate::Result<T> + Send + 'static,
) -> Result<T, RegistryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| RegistryError::new(STORE_ERROR, format!("the request failed: {error}")))?
        .map_err(|error| RegistryError::engine(&error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_their_http_status() {
        let cases = [
            (SUBJECT_NOT_FOUND, 404),
            (VERSION_NOT_FOUND, 404),
            (SCHEMA_NOT_FOUND, 404),
            (INCOMPATIBLE, 409),
            (INVALID_SCHEMA, 422),
            (INVALID_COMPATIBILITY, 422),
            (BAD_REQUEST, 400),
            (STORE_ERROR, 500),
        ];
        for (code, status) in cases {
            assert_eq!(
                RegistryError::new(code, "x").status.as_u16(),
                status,
                "{code}"
            );
        }
    }

    #[test]
    fn schemas_are_checked_and_normalized() {
        let mut registry = SchemaRegistry::default();
        registry
            .register(
                "dep",
                SchemaType::Protobuf,
                "message D {}",
                Vec::new(),
                None,
            )
            .expect("registers");
        // (body, Ok(normalized text) or Err(error code))
        let cases: [(&str, Result<&str, u32>); 7] = [
            (
                r#"{"schema": "{ \"type\" : \"int\" }"}"#,
                Ok(r#"{"type":"int"}"#),
            ),
            (
                r#"{"schema": "{\"type\": \"object\"}", "schemaType": "JSON"}"#,
                Ok(r#"{"type":"object"}"#),
            ),
            (
                r#"{"schema": "syntax = \"proto3\"; message M { string a = 1; }", "schemaType": "PROTOBUF", "references": [{"name": "d.proto", "subject": "dep", "version": 1}]}"#,
                Ok(r#"syntax = "proto3"; message M { string a = 1; }"#),
            ),
            (r#"{"schema": "{\"type\": \"nope\"}"}"#, Err(INVALID_SCHEMA)),
            (
                r#"{"schema": "\"int\"", "schemaType": "XML"}"#,
                Err(INVALID_SCHEMA),
            ),
            (
                r#"{"schema": "message M {}", "schemaType": "PROTOBUF", "references": [{"name": "x", "subject": "missing", "version": 1}]}"#,
                Err(INVALID_SCHEMA),
            ),
            (r#"{"schemaType": "AVRO"}"#, Err(BAD_REQUEST)),
        ];
        for (body, expected) in cases {
            match (read_schema(body.as_bytes(), &registry), expected) {
                (Ok(schema), Ok(text)) => assert_eq!(schema.text, text, "{body}"),
                (Err(error), Err(code)) => assert_eq!(error.error_code, code, "{body}"),
                (Ok(schema), Err(code)) => panic!("{body}: {} instead of {code}", schema.text),
                (Err(error), Ok(_)) => panic!("{body}: {error:?}"),
            }
        }
    }
}
