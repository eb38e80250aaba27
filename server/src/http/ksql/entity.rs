//! Statement results as ksqlDB's `/ksql` entities (`currentStatus`, `streams`,
//! `sourceDescription`, `queryDescription`, ...), with ksqlDB's field names; `read` turns
//! such entities back into results for the REPL.

mod read;

use parser::ast::{DataType, SourceKind};
use planner::catalog::ColumnKind;
use serde_json::{Map, Value, json};

pub use self::read::read_entity;
use crate::result::{
    Field, FunctionDescription, QueryDescription, QuerySummary, SourceDescription, StatementResult,
};

/// The entity answering a statement whose text is `text`, or None when ksqlDB answers none
/// (`INSERT ... VALUES`, `SET`, `DEFINE`). `command` records a `currentStatus` message and
/// gives its command id and sequence number.
pub(super) fn write_entity(
    result: &StatementResult,
    text: &str,
    command: impl FnOnce(&str) -> (String, i64),
) -> Option<Value> {
    let entity = |kind: &str, field: &str, value: Value| json!({"@type": kind, "statementText": text, field: value, "warnings": []});
    Some(match result {
        StatementResult::Status(message) => current_status(text, message, None, &[], command),
        StatementResult::QueryCreated { query_id, warnings } => current_status(
            text,
            &StatementResult::query_created_message(query_id),
            Some(query_id),
            warnings,
            command,
        ),
        StatementResult::Warning(message) => json!({
            "@type": "warning_entity",
            "statementText": text,
            "message": message,
            "warnings": [],
        }),
        StatementResult::RowInserted
        | StatementResult::PropertySet { .. }
        | StatementResult::PropertyUnset { .. }
        | StatementResult::VariableDefined { .. }
        | StatementResult::VariableUndefined { .. } => return None,
        StatementResult::Sources { kind, sources } => {
            let list: Vec<Value> = sources
                .iter()
                .map(|source| {
                    json!({
                        "type": kind.to_string(),
                        "name": source.name,
                        "topic": source.topic,
                        "keyFormat": source.key_format,
                        "valueFormat": source.value_format,
                        "isWindowed": source.windowed,
                    })
                })
                .collect();
            let name = match kind {
                SourceKind::Stream => "streams",
                SourceKind::Table => "tables",
            };
            entity(name, name, Value::Array(list))
        }
        StatementResult::SourceDescription(source) => entity(
            "sourceDescription",
            "sourceDescription",
            source_description(source),
        ),
        StatementResult::SourceDescriptions(sources) => entity(
            "source_descriptions",
            "sourceDescriptions",
            sources.iter().map(source_description).collect(),
        ),
        StatementResult::Queries(queries) => entity(
            "queries",
            "queries",
            queries.iter().map(running_query).collect(),
        ),
        StatementResult::QueryDescriptions(queries) => entity(
            "query_descriptions",
            "queryDescriptions",
            queries.iter().map(query_description).collect(),
        ),
        StatementResult::QueryDescription(query) => entity(
            "queryDescription",
            "queryDescription",
            query_description(query),
        ),
        StatementResult::Topics { extended, topics } => {
            let list: Vec<Value> = topics
                .iter()
                .map(|topic| {
                    let replicas = vec![topic.replicas; topic.partitions as usize];
                    if *extended {
                        json!({
                            "name": topic.name,
                            "replicaInfo": replicas,
                            "consumerCount": 0,
                            "consumerGroupCount": 0,
                        })
                    } else {
                        json!({"name": topic.name, "replicaInfo": replicas})
                    }
                })
                .collect();
            let kind = if *extended {
                "kafka_topics_extended"
            } else {
                "kafka_topics"
            };
            entity(kind, "topics", Value::Array(list))
        }
        StatementResult::Properties {
            properties,
            overridden,
        } => {
            let list: Vec<Value> = properties
                .iter()
                .map(|property| {
                    json!({"name": property.name, "scope": property.scope, "value": property.value})
                })
                .collect();
            json!({
                "@type": "properties",
                "statementText": text,
                "properties": list,
                "overwrittenProperties": overridden,
                "defaultProperties": [],
                "warnings": [],
            })
        }
        StatementResult::Functions(functions) => {
            let list: Vec<Value> = functions
                .iter()
                .map(|function| {
                    json!({"name": function.name, "type": function.kind, "category": function.category})
                })
                .collect();
            entity("function_names", "functions", Value::Array(list))
        }
        StatementResult::FunctionDescription(function) => function_description(function, text),
        StatementResult::Types(types) => {
            let map: Map<String, Value> = types
                .iter()
                .map(|(name, data_type)| (name.clone(), schema_info(data_type)))
                .collect();
            entity("type_list", "types", Value::Object(map))
        }
        StatementResult::Variables(variables) => {
            let list: Vec<Value> = variables
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            entity("variables", "variables", Value::Array(list))
        }
    })
}

/// The `currentStatus` of a statement that succeeded, with ksqlDB's `KsqlWarning`s.
fn current_status(
    text: &str,
    message: &str,
    query_id: Option<&String>,
    warnings: &[String],
    command: impl FnOnce(&str) -> (String, i64),
) -> Value {
    let warnings: Vec<Value> = warnings
        .iter()
        .map(|warning| json!({"message": warning}))
        .collect();
    let (command_id, sequence) = command(message);
    json!({
        "@type": "currentStatus",
        "statementText": text,
        "commandId": command_id,
        "commandStatus": {
            "status": "SUCCESS",
            "message": message,
            "queryId": query_id,
        },
        "commandSequenceNumber": sequence,
        "warnings": warnings,
    })
}

/// ksqlDB's `SourceDescription`.
fn source_description(source: &SourceDescription) -> Value {
    json!({
        "name": source.name,
        "windowType": source.window_type,
        "readQueries": source.read_queries.iter().map(running_query).collect::<Vec<_>>(),
        "writeQueries": source.write_queries.iter().map(running_query).collect::<Vec<_>>(),
        "fields": fields_of(&source.fields),
        "type": source.kind.to_string(),
        "timestamp": source.timestamp.clone().unwrap_or_default(),
        "statistics": source.statistics_line(),
        "errorStats": source.error_statistics,
        "statisticsMap": statistics_map(source),
        "errorStatsMap": {},
        "extended": source.extended,
        "keyFormat": source.key_format,
        "valueFormat": source.value_format,
        "topic": source.topic,
        "partitions": source.partitions,
        "replication": source.replicas,
        "statement": source.statement,
        "queryOffsetSummaries": [],
        "sourceConstraints": [],
    })
}

/// The statistics that have a value of their own: the state size.
fn statistics_map(source: &SourceDescription) -> Value {
    let mut map = serde_json::Map::new();
    if let Some(bytes) = source.state_bytes {
        map.insert(SourceDescription::STATE_BYTES.into(), json!(bytes));
    }
    Value::Object(map)
}

/// ksqlDB's `RunningQuery`.
fn running_query(query: &QuerySummary) -> Value {
    let status = query.status.name();
    json!({
        "queryString": query.sql,
        "sinks": query.sinks,
        "sinkKafkaTopics": query.sink_topics,
        "id": query.id,
        "statusCount": {status: 1},
        "queryType": query.kind.name(),
        "state": status,
    })
}

/// ksqlDB's `QueryDescription`.
fn query_description(query: &QueryDescription) -> Value {
    json!({
        "id": query.id,
        "statementText": query.sql,
        "windowType": query.window_type,
        "fields": fields_of(&query.fields),
        "sources": query.sources,
        "sinks": query.sinks,
        "topology": query.topology,
        "executionPlan": query.execution_plan,
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": query.kind.name(),
        "queryErrors": [],
        "tasksMetadata": [],
        "state": query.status.as_ref().map_or("", |status| status.name()),
    })
}

/// `describe_function`.
fn function_description(function: &FunctionDescription, text: &str) -> Value {
    let variations: Vec<Value> = function
        .variations
        .iter()
        .map(|variation| {
            let arguments: Vec<Value> = variation
                .arguments
                .iter()
                .map(|argument| {
                    json!({
                        "name": argument.name,
                        "type": argument.type_name,
                        "description": argument.description,
                        "isVariadic": argument.variadic,
                    })
                })
                .collect();
            let types: Vec<&String> = variation
                .arguments
                .iter()
                .map(|argument| &argument.type_name)
                .collect();
            json!({
                "arguments": arguments,
                "returnType": variation.return_type,
                "description": variation.description,
                "argumentTypes": types,
            })
        })
        .collect();
    json!({
        "@type": "describe_function",
        "statementText": text,
        "name": function.name,
        "description": function.description,
        "author": function.author,
        "version": function.version,
        "path": function.path,
        "functions": variations,
        "type": function.kind,
        "warnings": [],
    })
}

/// `FieldInfo`s: keys marked `KEY`, headers `HEADER`.
fn fields_of(fields: &[Field]) -> Vec<Value> {
    fields
        .iter()
        .map(|field| {
            let mut info = json!({
                "name": field.name,
                "schema": schema_info(&field.data_type),
            });
            match &field.kind {
                ColumnKind::Key => info["fieldType"] = json!("KEY"),
                ColumnKind::Headers => info["fieldType"] = json!("HEADER"),
                ColumnKind::Header(key) => {
                    info["fieldType"] = json!("HEADER");
                    info["headerKey"] = json!(key);
                }
                ColumnKind::Value => {}
            }
            info
        })
        .collect()
}

/// ksqlDB's `SchemaInfo` of a type: base type, struct fields, element type, decimal
/// precision and scale.
fn schema_info(data_type: &DataType) -> Value {
    let base = |name: &str| json!({"type": name, "fields": null, "memberSchema": null});
    match data_type {
        DataType::Boolean => base("BOOLEAN"),
        DataType::Int => base("INTEGER"),
        DataType::Bigint => base("BIGINT"),
        DataType::Double => base("DOUBLE"),
        DataType::String => base("STRING"),
        DataType::Bytes => base("BYTES"),
        DataType::Date => base("DATE"),
        DataType::Time => base("TIME"),
        DataType::Timestamp => base("TIMESTAMP"),
        DataType::Decimal { precision, scale } => json!({
            "type": "DECIMAL",
            "fields": null,
            "memberSchema": null,
            "parameters": {"precision": precision, "scale": scale},
        }),
        DataType::Array(element) => json!({
            "type": "ARRAY",
            "fields": null,
            "memberSchema": schema_info(element),
        }),
        DataType::Map(_, value) => json!({
            "type": "MAP",
            "fields": null,
            "memberSchema": schema_info(value),
        }),
        DataType::Struct(members) => {
            let fields: Vec<Value> = members
                .iter()
                .map(|(name, member)| json!({"name": name, "schema": schema_info(member)}))
                .collect();
            json!({"type": "STRUCT", "fields": fields, "memberSchema": null})
        }
        DataType::Custom(name) => base(name),
    }
}

#[cfg(test)]
mod tests;
