//! The schemas of a case's topics: registered before the statements run, in the order of
//! ksqlDB's harness, and looked up to serialize inputs and decode outputs.

use std::sync::Arc;

use planner::Catalog;
use planner::schema_registry::{SchemaReference, SchemaType, subject_name};
use server::Engine;

use crate::codec::PayloadSchema;
use crate::compare::TopicSchemas;
use crate::corpus::Case;
use crate::json::Json;
use crate::verdict::{Verdict, error_text};

/// The key and value schemas of `topic`: from a source over it (preferring the sink of a
/// query for outputs and a non-sink for inputs), else from the case's `topics` entry.
pub(crate) fn topic_schemas(
    topic: &str,
    catalog: &Catalog,
    case: &Case,
    output: bool,
) -> TopicSchemas {
    let sinks: Vec<&str> = catalog.queries().map(|query| query.sink.as_str()).collect();
    let mut candidates: Vec<_> = catalog
        .sources()
        .filter(|source| source.topic == topic)
        .collect();
    candidates.sort_by_key(|source| sinks.contains(&source.name.as_str()) != output);
    let registry = Arc::new(catalog.schema_registry().clone());
    let with_registry = |schemas: TopicSchemas| TopicSchemas {
        key: schemas
            .key
            .with_registry(&registry, subject_name(topic, true)),
        value: schemas
            .value
            .with_registry(&registry, subject_name(topic, false)),
    };
    if let Some(source) = candidates.first() {
        return with_registry(TopicSchemas {
            key: PayloadSchema::key_of(source),
            value: PayloadSchema::value_of(source),
        });
    }
    let entry = case.topics.iter().find(|entry| entry.name == topic);
    with_registry(TopicSchemas {
        key: PayloadSchema::untyped(
            entry
                .and_then(|entry| entry.key_format.as_deref())
                .unwrap_or("KAFKA"),
        ),
        value: PayloadSchema::untyped(
            entry
                .and_then(|entry| entry.value_format.as_deref())
                .unwrap_or("JSON"),
        ),
    })
}

/// A `topics` schema: subject, type, text, references and id.
type MainSchema = (
    String,
    SchemaType,
    String,
    Vec<SchemaReference>,
    Option<u32>,
);

/// Registers schemas before the statements run, in the order of ksqlDB's harness (which
/// fixes the ids that `KEY/VALUE_SCHEMA_ID` refer to): first those of the topics that
/// `CREATE STREAM/TABLE` statements with columns declare (the schemas the engine generates
/// for them), then the `topics` entries, key before value, with their ids when given, and
/// last the schemas they reference, under the references' names.
pub(crate) fn register_topic_schemas(
    case: &Case,
    engine: &Engine,
    properties: &planner::Properties,
) -> Result<(), Verdict> {
    let register = |subject: &str, schema_type, text: &str, references, id| {
        engine
            .register_schema(subject, schema_type, text, references, id)
            .map_err(|error| {
                Verdict::error(format!(
                    "cannot register the schema of subject {subject}: {}",
                    error_text(&error)
                ))
            })
    };
    let mut explicit: Vec<String> = Vec::new();
    let mut main: Vec<MainSchema> = Vec::new();
    let mut referenced: Vec<(String, SchemaType, String)> = Vec::new();
    for topic in &case.topics {
        for (key, prefix) in [(true, "key"), (false, "value")] {
            let entry = &topic.entry;
            let Some(schema) = entry.get_present(&format!("{prefix}Schema")) else {
                continue;
            };
            let format = if key {
                topic.key_format.as_deref()
            } else {
                topic.value_format.as_deref()
            };
            let (schema_type, text) = schema_text(format, schema);
            let id = entry
                .get_present(&format!("{prefix}SchemaId"))
                .and_then(Json::as_i64)
                .and_then(|id| u32::try_from(id).ok());
            let mut references = Vec::new();
            for reference in entry
                .get_present(&format!("{prefix}SchemaReferences"))
                .and_then(Json::as_array)
                .unwrap_or_default()
            {
                let (Some(name), Some(schema)) = (
                    reference.get("name").and_then(Json::as_str),
                    reference.get("schema"),
                ) else {
                    continue;
                };
                let format = reference.get("format").and_then(Json::as_str);
                let (schema_type, text) = schema_text(format, schema);
                references.push(SchemaReference {
                    name: name.to_string(),
                    subject: name.to_string(),
                    version: 1,
                });
                referenced.push((name.to_string(), schema_type, text));
            }
            let subject = subject_name(&topic.name, key);
            explicit.push(subject.clone());
            main.push((subject, schema_type, text, references, id));
        }
    }
    for (subject, schema_type, text) in declared_schemas(case, engine, properties) {
        if !explicit.contains(&subject) {
            register(&subject, schema_type, &text, Vec::new(), None)?;
        }
    }
    for (subject, schema_type, text, references, id) in main {
        register(&subject, schema_type, &text, references, id)?;
    }
    for (name, schema_type, text) in referenced {
        register(&name, schema_type, &text, Vec::new(), None)?;
    }
    Ok(())
}

/// The schemas the engine would register for the `CREATE STREAM/TABLE` statements with
/// columns, in statement order (statements that do not plan are skipped: they fail later,
/// when they run).
fn declared_schemas(
    case: &Case,
    engine: &Engine,
    properties: &planner::Properties,
) -> Vec<(String, SchemaType, String)> {
    let mut catalog = engine.catalog();
    let mut schemas = Vec::new();
    for script in &case.statements {
        let Ok(statements) = parser::parse_statements(script) else {
            continue;
        };
        for statement in statements {
            let parser::ast::StatementKind::CreateSource(create) = &statement.kind else {
                continue;
            };
            if create.elements.is_empty() {
                continue;
            }
            let Ok(Some(planner::StatementPlan::CreateSource { source, .. })) =
                planner::plan_statement(&catalog, &statement, properties)
            else {
                continue;
            };
            for format in [&source.key_format, &source.value_format] {
                if let Some(binding) = &format.schema
                    && let Some(subject) = &binding.subject
                {
                    schemas.push((
                        subject.clone(),
                        binding.schema.schema_type,
                        binding.schema.text.clone(),
                    ));
                }
            }
            catalog.put_source(source);
        }
    }
    schemas
}

/// The registry type and text of a schema in a `topics` entry: PROTOBUF schemas are text,
/// AVRO and JSON schemas are JSON (a bare string is an Avro primitive type).
fn schema_text(format: Option<&str>, schema: &Json) -> (SchemaType, String) {
    let format = format.and_then(SchemaType::parse);
    match (format, schema) {
        (Some(SchemaType::Protobuf), Json::String(text)) => (SchemaType::Protobuf, text.clone()),
        (None, Json::String(text)) if text.contains("syntax") || text.contains("message ") => {
            (SchemaType::Protobuf, text.clone())
        }
        (Some(SchemaType::Json), other) => (SchemaType::Json, other.to_string()),
        (None, other @ Json::Object(_))
            if other.get("type").and_then(Json::as_str) == Some("object") =>
        {
            (SchemaType::Json, other.to_string())
        }
        (_, other) => (SchemaType::Avro, other.to_string()),
    }
}
