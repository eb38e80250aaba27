//! `/ksql` entities read back into statement results, for the REPL in `--server` mode.
//!
//! Reading is lenient, as ksqlDB's CLI is: a missing field reads as empty, and an entity
//! this server does not write (from a ksqlDB server) reads as its message or as its JSON.

use parser::ast::{DataType, SourceKind};
use planner::catalog::ColumnKind;
use serde_json::Value;

use crate::result::{
    Field, FunctionArgument, FunctionDescription, FunctionSummary, FunctionVariation,
    PropertyValue, QueryDescription, QueryKind, QueryStatus, QuerySummary, SourceDescription,
    SourceSummary, StatementResult, TopicSummary,
};

/// The statement result a `/ksql` entity reports.
pub fn read_entity(entity: &Value) -> StatementResult {
    let kind = text(&entity["@type"]);
    match kind.as_str() {
        "currentStatus" => {
            let status = &entity["commandStatus"];
            match status["queryId"].as_str() {
                Some(query_id) => StatementResult::QueryCreated {
                    query_id: query_id.to_string(),
                    warnings: list(&entity["warnings"], |warning| text(&warning["message"])),
                },
                None => StatementResult::Status(text(&status["message"])),
            }
        }
        "streams" | "tables" => StatementResult::Sources {
            kind: if kind == "streams" {
                SourceKind::Stream
            } else {
                SourceKind::Table
            },
            sources: list(&entity[kind.as_str()], |source| SourceSummary {
                name: text(&source["name"]),
                topic: text(&source["topic"]),
                key_format: text(&source["keyFormat"]),
                value_format: text(&source["valueFormat"]),
                windowed: source["isWindowed"].as_bool().unwrap_or(false),
            }),
        },
        "sourceDescription" => StatementResult::SourceDescription(Box::new(source_description(
            &entity["sourceDescription"],
        ))),
        "source_descriptions" => StatementResult::SourceDescriptions(list(
            &entity["sourceDescriptions"],
            source_description,
        )),
        "queries" => StatementResult::Queries(list(&entity["queries"], running_query)),
        "query_descriptions" => StatementResult::QueryDescriptions(list(
            &entity["queryDescriptions"],
            query_description,
        )),
        "queryDescription" => StatementResult::QueryDescription(Box::new(query_description(
            &entity["queryDescription"],
        ))),
        "kafka_topics" | "kafka_topics_extended" => StatementResult::Topics {
            extended: kind == "kafka_topics_extended",
            topics: list(&entity["topics"], |topic| {
                let replicas = topic["replicaInfo"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice);
                TopicSummary {
                    name: text(&topic["name"]),
                    partitions: replicas.len() as u32,
                    replicas: replicas
                        .first()
                        .and_then(Value::as_u64)
                        .map_or(0, |count| count as u16),
                }
            }),
        },
        "properties" => StatementResult::Properties {
            properties: list(&entity["properties"], |property| PropertyValue {
                name: text(&property["name"]),
                scope: text(&property["scope"]),
                value: text(&property["value"]),
            }),
            overridden: list(&entity["overwrittenProperties"], text),
        },
        "function_names" => {
            StatementResult::Functions(list(&entity["functions"], |function| FunctionSummary {
                name: text(&function["name"]),
                kind: text(&function["type"]),
                category: text(&function["category"]),
            }))
        }
        "describe_function" => {
            StatementResult::FunctionDescription(Box::new(function_description(entity)))
        }
        "type_list" => StatementResult::Types(
            entity["types"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, schema)| (name.clone(), data_type(schema)))
                .collect(),
        ),
        "variables" => StatementResult::Variables(list(&entity["variables"], |variable| {
            (text(&variable["name"]), text(&variable["value"]))
        })),
        "warning_entity" => StatementResult::Warning(text(&entity["message"])),
        _ => StatementResult::Status(match entity.get("message") {
            Some(message) => text(message),
            None => serde_json::to_string_pretty(entity).unwrap_or_default(),
        }),
    }
}

fn source_description(source: &Value) -> SourceDescription {
    let timestamp = text(&source["timestamp"]);
    let state_bytes = source["statisticsMap"][SourceDescription::STATE_BYTES].as_u64();
    // `statistics` ends with the state size too (`SourceDescription::statistics_line`).
    let mut statistics = text(&source["statistics"]);
    if let Some(bytes) = state_bytes {
        let suffix = format!("   {}: {bytes}", SourceDescription::STATE_BYTES);
        if let Some(counters) = statistics.strip_suffix(&suffix) {
            statistics = counters.to_string();
        }
    }
    SourceDescription {
        name: text(&source["name"]),
        kind: source_kind(&source["type"]),
        window_type: source["windowType"].as_str().map(str::to_string),
        read_queries: list(&source["readQueries"], running_query),
        write_queries: list(&source["writeQueries"], running_query),
        fields: list(&source["fields"], field),
        timestamp: (!timestamp.is_empty()).then_some(timestamp),
        statistics,
        error_statistics: text(&source["errorStats"]),
        state_bytes,
        last_failure: None,
        extended: source["extended"].as_bool().unwrap_or(false),
        key_format: text(&source["keyFormat"]),
        value_format: text(&source["valueFormat"]),
        topic: text(&source["topic"]),
        partitions: source["partitions"]
            .as_u64()
            .map_or(0, |count| count as u32),
        replicas: source["replication"]
            .as_u64()
            .map_or(0, |count| count as u16),
        statement: text(&source["statement"]),
    }
}

fn source_kind(kind: &Value) -> SourceKind {
    match kind.as_str() {
        Some("TABLE") => SourceKind::Table,
        _ => SourceKind::Stream,
    }
}

/// ksqlDB's `RunningQuery`; its state is `state`, or the first of a ksqlDB server's
/// per-host `statusCount`.
fn running_query(query: &Value) -> QuerySummary {
    let state = query["state"].as_str().or_else(|| {
        query["statusCount"]
            .as_object()
            .and_then(|counts| counts.keys().next())
            .map(String::as_str)
    });
    QuerySummary {
        id: text(&query["id"]),
        kind: query_kind(&query["queryType"]),
        status: state.map_or(QueryStatus::Unknown, QueryStatus::from_name),
        sql: text(&query["queryString"]),
        sinks: list(&query["sinks"], text),
        sink_topics: list(&query["sinkKafkaTopics"], text),
    }
}

fn query_kind(kind: &Value) -> QueryKind {
    match kind.as_str() {
        Some("PUSH") => QueryKind::Push,
        _ => QueryKind::Persistent,
    }
}

fn query_description(query: &Value) -> QueryDescription {
    let state = text(&query["state"]);
    QueryDescription {
        id: text(&query["id"]),
        kind: query_kind(&query["queryType"]),
        status: (!state.is_empty()).then(|| QueryStatus::from_name(&state)),
        sql: text(&query["statementText"]),
        window_type: query["windowType"].as_str().map(str::to_string),
        fields: list(&query["fields"], field),
        sources: list(&query["sources"], text),
        sinks: list(&query["sinks"], text),
        execution_plan: text(&query["executionPlan"]),
        topology: text(&query["topology"]),
    }
}

fn function_description(function: &Value) -> FunctionDescription {
    FunctionDescription {
        name: text(&function["name"]),
        description: text(&function["description"]),
        author: text(&function["author"]),
        version: text(&function["version"]),
        path: text(&function["path"]),
        kind: text(&function["type"]),
        variations: list(&function["functions"], |variation| FunctionVariation {
            arguments: list(&variation["arguments"], |argument| FunctionArgument {
                name: text(&argument["name"]),
                type_name: text(&argument["type"]),
                description: text(&argument["description"]),
                variadic: argument["isVariadic"].as_bool().unwrap_or(false),
            }),
            return_type: text(&variation["returnType"]),
            description: text(&variation["description"]),
        }),
    }
}

/// ksqlDB's `FieldInfo` (its kind is `fieldType`; some servers write `type`).
fn field(field: &Value) -> Field {
    let kind = field["fieldType"].as_str().or(field["type"].as_str());
    Field {
        name: text(&field["name"]),
        data_type: data_type(&field["schema"]),
        kind: match (kind, field["headerKey"].as_str()) {
            (Some("KEY"), _) => ColumnKind::Key,
            (Some("HEADER"), Some(key)) => ColumnKind::Header(key.to_string()),
            (Some("HEADER"), None) => ColumnKind::Headers,
            _ => ColumnKind::Value,
        },
    }
}

/// The type a ksqlDB `SchemaInfo` describes; a name it does not know is a custom type.
fn data_type(schema: &Value) -> DataType {
    let member = || Box::new(data_type(&schema["memberSchema"]));
    let parameter = |name: &str| {
        schema["parameters"][name]
            .as_u64()
            .map_or(0, |value| value as u8)
    };
    match schema["type"].as_str().unwrap_or("") {
        "BOOLEAN" => DataType::Boolean,
        "INTEGER" | "INT" => DataType::Int,
        "BIGINT" => DataType::Bigint,
        "DOUBLE" => DataType::Double,
        "STRING" | "VARCHAR" => DataType::String,
        "BYTES" => DataType::Bytes,
        "DATE" => DataType::Date,
        "TIME" => DataType::Time,
        "TIMESTAMP" => DataType::Timestamp,
        "DECIMAL" => DataType::Decimal {
            precision: parameter("precision"),
            scale: parameter("scale"),
        },
        "ARRAY" => DataType::Array(member()),
        "MAP" => DataType::Map(Box::new(DataType::String), member()),
        "STRUCT" => DataType::Struct(list(&schema["fields"], |member| {
            (text(&member["name"]), data_type(&member["schema"]))
        })),
        other => DataType::Custom(other.to_string()),
    }
}

/// The items of a JSON array, each read by `item`; none when `value` is not an array.
fn list<T>(value: &Value, item: impl Fn(&Value) -> T) -> Vec<T> {
    value.as_array().into_iter().flatten().map(item).collect()
}

/// A JSON value as text: strings bare, null empty, anything else as JSON.
fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
