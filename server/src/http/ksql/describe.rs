//! DESCRIBE and EXPLAIN entities: `sourceDescription`, `source_descriptions`,
//! `describe_function` and `queryDescription`, plus the pieces lists share with them
//! (`RunningQuery`, `SchemaInfo`), with ksqlDB's field names.

use executor::QueryState;
use parser::ast::{DataType, Describe, Explain, SourceKind, Statement};
use planner::catalog::{ColumnDefinition, ColumnKind, QueryDefinition, SourceDefinition};
use planner::{Catalog, Properties, StatementPlan};
use serde_json::{Value, json};

use crate::Session;
use crate::http::AppState;

pub(super) fn describe(state: &AppState, describe: &Describe, text: &str) -> Value {
    let catalog = state.engine.catalog();
    match describe {
        Describe::Source { name, extended } => {
            let description = catalog
                .source(name)
                .map(|source| source_description(state, &catalog, source, *extended))
                .unwrap_or(Value::Null);
            json!({
                "@type": "sourceDescription",
                "statementText": text,
                "sourceDescription": description,
                "warnings": [],
            })
        }
        Describe::Streams { extended } | Describe::Tables { extended } => {
            let kind = if matches!(describe, Describe::Streams { .. }) {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            let descriptions: Vec<Value> = catalog
                .sources()
                .filter(|source| source.kind == kind)
                .map(|source| source_description(state, &catalog, source, *extended))
                .collect();
            json!({
                "@type": "source_descriptions",
                "statementText": text,
                "sourceDescriptions": descriptions,
                "warnings": [],
            })
        }
        Describe::Function { name } => describe_function(&name.to_uppercase(), text),
    }
}

/// `queryDescription` of `EXPLAIN query_id` or of `EXPLAIN statement`.
pub(super) fn explain(state: &AppState, explain: &Explain, session: &Session, text: &str) -> Value {
    let catalog = state.engine.catalog();
    let description = match explain {
        Explain::Query(id) => catalog
            .query(&id.to_uppercase())
            .map(|query| query_description(state, &catalog, query, Some(&session.properties)))
            .unwrap_or(Value::Null),
        Explain::Statement(statement) => {
            explained_statement(&catalog, statement, &session.properties)
        }
    };
    json!({
        "@type": "queryDescription",
        "statementText": text,
        "queryDescription": description,
        "warnings": [],
    })
}

/// ksqlDB's `SourceDescription` of a stream or table.
pub(super) fn source_description(
    state: &AppState,
    catalog: &Catalog,
    source: &SourceDefinition,
    extended: bool,
) -> Value {
    let read_queries: Vec<Value> = catalog
        .queries()
        .filter(|query| query.sources.contains(&source.name))
        .map(|query| running_query(state, catalog, query))
        .collect();
    let write_queries: Vec<Value> = catalog
        .queries()
        .filter(|query| query.sink == source.name)
        .map(|query| running_query(state, catalog, query))
        .collect();
    let statistics = if extended {
        let (consumed, failed, produced) = state.engine.metrics.counters(&source.name).snapshot();
        format!(
            "consumer-messages: {consumed}   consumer-failed-messages: {failed}   producer-messages: {produced}"
        )
    } else {
        String::new()
    };
    json!({
        "name": source.name,
        "windowType": source.window.map(|window| window.kind.name()),
        "readQueries": read_queries,
        "writeQueries": write_queries,
        "fields": fields_of(&source.columns),
        "type": source.kind.to_string(),
        "timestamp": source.timestamp.as_ref().map(|t| t.column.clone()).unwrap_or_default(),
        "statistics": statistics,
        "errorStats": "",
        "statisticsMap": {},
        "errorStatsMap": {},
        "extended": extended,
        "keyFormat": source.key_format.name,
        "valueFormat": source.value_format.name,
        "topic": source.topic,
        "partitions": source.partitions,
        "replication": source.replicas,
        "statement": source.sql,
        "queryOffsetSummaries": [],
        "sourceConstraints": [],
    })
}

/// ksqlDB's `RunningQuery` of a persistent query.
pub(super) fn running_query(state: &AppState, catalog: &Catalog, query: &QueryDefinition) -> Value {
    let status = query_status(state, &query.id);
    json!({
        "queryString": query.sql,
        "sinks": [query.sink],
        "sinkKafkaTopics": catalog.source(&query.sink).map(|sink| vec![sink.topic.clone()]).unwrap_or_default(),
        "id": query.id,
        "statusCount": {status.clone(): 1},
        "queryType": "PERSISTENT",
        "state": status,
    })
}

/// ksqlDB's `QueryDescription` of a persistent query; the execution plan is planned again
/// when `properties` are given.
pub(super) fn query_description(
    state: &AppState,
    catalog: &Catalog,
    query: &QueryDefinition,
    properties: Option<&Properties>,
) -> Value {
    let plan = properties
        .and_then(|properties| {
            let statements = parser::parse_statements(&query.sql).ok()?;
            match planner::plan_statement(catalog, statements.first()?, properties) {
                Ok(Some(
                    StatementPlan::CreateAsSelect { plan, .. }
                    | StatementPlan::InsertInto { plan, .. },
                )) => Some(plan.to_string()),
                _ => None,
            }
        })
        .unwrap_or_default();
    let sink = catalog.source(&query.sink);
    let status = query_status(state, &query.id);
    json!({
        "id": query.id,
        "statementText": query.sql,
        "windowType": sink.and_then(|sink| sink.window).map(|window| window.kind.name()),
        "fields": sink.map(|sink| fields_of(&sink.columns)).unwrap_or_default(),
        "sources": query.sources,
        "sinks": [query.sink],
        "topology": "",
        "executionPlan": plan,
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": "PERSISTENT",
        "queryErrors": [],
        "tasksMetadata": [],
        "state": status,
    })
}

/// The `QueryDescription` of a statement that is explained, not run.
fn explained_statement(catalog: &Catalog, statement: &Statement, properties: &Properties) -> Value {
    let (id, fields, sources, sinks, plan) =
        match planner::plan_statement(catalog, statement, properties) {
            Ok(Some(StatementPlan::CreateAsSelect {
                sink, query, plan, ..
            })) => (
                query.id,
                sink.columns,
                query.sources,
                vec![query.sink],
                plan.to_string(),
            ),
            Ok(Some(StatementPlan::InsertInto { query, plan })) => {
                let fields = catalog
                    .source(&query.sink)
                    .map(|sink| sink.columns.clone())
                    .unwrap_or_default();
                (
                    query.id,
                    fields,
                    query.sources,
                    vec![query.sink],
                    plan.to_string(),
                )
            }
            Ok(Some(StatementPlan::Select { plan, columns, .. })) => {
                let sources = plan.root.sources().iter().map(|s| s.name.clone()).collect();
                (
                    String::new(),
                    columns,
                    sources,
                    Vec::new(),
                    plan.to_string(),
                )
            }
            _ => Default::default(),
        };
    json!({
        "id": id,
        "statementText": statement.text,
        "windowType": null,
        "fields": fields_of(&fields),
        "sources": sources,
        "sinks": sinks,
        "topology": "",
        "executionPlan": plan,
        "overriddenProperties": {},
        "ksqlHostQueryStatus": {},
        "queryType": "PERSISTENT",
        "queryErrors": [],
        "tasksMetadata": [],
        "state": "",
    })
}

/// `describe_function` of a scalar function (the engine has checked that it exists).
fn describe_function(name: &str, text: &str) -> Value {
    let Some(description) = planner::functions::describe_function(name) else {
        return Value::Null;
    };
    let functions: Vec<Value> = description
        .signatures
        .iter()
        .map(|signature| {
            let (arguments, return_type) = split_signature(signature);
            let argument_infos: Vec<Value> = arguments
                .iter()
                .map(|argument| {
                    json!({
                        "name": "",
                        "type": argument,
                        "description": "",
                        "isVariadic": argument.starts_with("...") || argument.ends_with("..."),
                    })
                })
                .collect();
            json!({
                "arguments": argument_infos,
                "returnType": return_type,
                "description": description.description,
                "argumentTypes": arguments,
            })
        })
        .collect();
    json!({
        "@type": "describe_function",
        "statementText": text,
        "name": description.name,
        "description": description.description,
        "author": "Confluent",
        "version": "",
        "path": "internal",
        "functions": functions,
        "type": "SCALAR",
        "warnings": [],
    })
}

/// `(STRING, MAP<STRING, INT>) -> STRING` as argument types and return type.
fn split_signature(signature: &str) -> (Vec<String>, String) {
    let (arguments, return_type) = signature.rsplit_once(" -> ").unwrap_or((signature, ""));
    let arguments = arguments.trim();
    let arguments = arguments
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(arguments);
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for character in arguments.chars() {
        match character {
            '<' | '(' => depth += 1,
            '>' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_string());
    }
    (parts, return_type.trim().to_string())
}

/// `FieldInfo`s of a source's columns: keys marked `KEY`, headers `HEADER`.
fn fields_of(columns: &[ColumnDefinition]) -> Vec<Value> {
    columns
        .iter()
        .map(|column| {
            let mut field = json!({
                "name": column.name,
                "schema": schema_info(&column.data_type),
            });
            match &column.kind {
                ColumnKind::Key => field["fieldType"] = json!("KEY"),
                ColumnKind::Headers => field["fieldType"] = json!("HEADER"),
                ColumnKind::Header(key) => {
                    field["fieldType"] = json!("HEADER");
                    field["headerKey"] = json!(key);
                }
                ColumnKind::Value => {}
            }
            field
        })
        .collect()
}

/// ksqlDB's `SchemaInfo` of a type: base type, struct fields, element type, decimal
/// precision and scale.
pub(super) fn schema_info(data_type: &DataType) -> Value {
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

fn query_status(state: &AppState, id: &str) -> String {
    let status = state
        .engine
        .query_states()
        .into_iter()
        .find(|(query, _)| query == id)
        .map(|(_, status)| status);
    match status {
        Some(QueryState::Running) => "RUNNING",
        Some(QueryState::Done) => "NOT_RUNNING",
        Some(QueryState::Error(_)) => "ERROR",
        None => "UNKNOWN",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_split_into_arguments_and_return_type() {
        let cases = [
            (
                "(STRING, INT, INT) -> STRING",
                vec!["STRING", "INT", "INT"],
                "STRING",
            ),
            (
                "(MAP<STRING, INT>, DECIMAL(4, 2)) -> ARRAY<INT>",
                vec!["MAP<STRING, INT>", "DECIMAL(4, 2)"],
                "ARRAY<INT>",
            ),
            ("() -> BIGINT", vec![], "BIGINT"),
        ];
        for (signature, arguments, return_type) in cases {
            let (actual_arguments, actual_return) = split_signature(signature);
            assert_eq!(actual_arguments, arguments, "{signature}");
            assert_eq!(actual_return, return_type, "{signature}");
        }
    }

    #[test]
    fn schema_info_describes_nested_types() {
        let data_type = DataType::Struct(vec![
            ("A".into(), DataType::Array(Box::new(DataType::Int))),
            (
                "B".into(),
                DataType::Decimal {
                    precision: 4,
                    scale: 2,
                },
            ),
        ]);
        assert_eq!(
            schema_info(&data_type),
            json!({
                "type": "STRUCT",
                "memberSchema": null,
                "fields": [
                    {"name": "A", "schema": {"type": "ARRAY", "fields": null, "memberSchema":
                        {"type": "INTEGER", "fields": null, "memberSchema": null}}},
                    {"name": "B", "schema": {"type": "DECIMAL", "fields": null, "memberSchema": null,
                        "parameters": {"precision": 4, "scale": 2}}},
                ],
            })
        );
    }
}
