//! SHOW/LIST entities: `streams`, `tables`, `queries`, `kafka_topics`, `properties`,
//! `function_names`, `type_list` and `variables`, with ksqlDB's field names. The EXTENDED
//! forms answer `source_descriptions`, `query_descriptions` and `kafka_topics_extended`.

use parser::ast::{Show, SourceKind};
use serde_json::{Map, Value, json};

use super::describe::{query_description, running_query, schema_info, source_description};
use crate::Session;
use crate::http::AppState;

pub(super) fn show(state: &AppState, show: &Show, session: &Session, text: &str) -> Value {
    match show {
        Show::Streams { extended } => sources(state, SourceKind::Stream, *extended, text),
        Show::Tables { extended } => sources(state, SourceKind::Table, *extended, text),
        Show::Topics { extended, .. } => topics(state, *extended, text),
        Show::Queries { extended } => queries(state, *extended, text),
        Show::Properties => {
            let properties: Vec<Value> = crate::handler::properties::show(session)
                .into_iter()
                .map(|row| {
                    let cell = |index: usize| row.get(index).cloned().unwrap_or_default();
                    json!({"name": cell(0), "scope": cell(1), "value": cell(2)})
                })
                .collect();
            json!({
                "@type": "properties",
                "statementText": text,
                "properties": properties,
                "overwrittenProperties": session.properties.keys().collect::<Vec<_>>(),
                "defaultProperties": [],
                "warnings": [],
            })
        }
        Show::Functions => {
            let scalars = planner::functions::scalar_function_names()
                .into_iter()
                .map(|name| {
                    let category = planner::functions::describe_function(name)
                        .map(|description| description.category.as_str())
                        .unwrap_or("OTHER");
                    (name, "SCALAR", category)
                });
            let aggregates = planner::functions::aggregate::aggregate_function_names()
                .into_iter()
                .map(|name| (name, "AGGREGATE", "AGGREGATE"));
            let mut functions: Vec<(&str, &str, &str)> = scalars.chain(aggregates).collect();
            functions.sort();
            let functions: Vec<Value> = functions
                .into_iter()
                .map(|(name, kind, category)| {
                    json!({"name": name, "type": kind, "category": category})
                })
                .collect();
            json!({
                "@type": "function_names",
                "statementText": text,
                "functions": functions,
                "warnings": [],
            })
        }
        Show::Types => {
            let catalog = state.engine.catalog();
            let types: Map<String, Value> = catalog
                .custom_types()
                .map(|(name, data_type)| (name.clone(), schema_info(data_type)))
                .collect();
            json!({
                "@type": "type_list",
                "statementText": text,
                "types": types,
                "warnings": [],
            })
        }
        Show::Variables => {
            let variables: Vec<Value> = session
                .variables
                .iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
            json!({
                "@type": "variables",
                "statementText": text,
                "variables": variables,
                "warnings": [],
            })
        }
    }
}

/// `streams`/`tables`, or `source_descriptions` for EXTENDED.
fn sources(state: &AppState, kind: SourceKind, extended: bool, text: &str) -> Value {
    let catalog = state.engine.catalog();
    let sources = catalog.sources().filter(|source| source.kind == kind);
    if extended {
        let descriptions: Vec<Value> = sources
            .map(|source| source_description(state, &catalog, source, true))
            .collect();
        return json!({
            "@type": "source_descriptions",
            "statementText": text,
            "sourceDescriptions": descriptions,
            "warnings": [],
        });
    }
    let list: Vec<Value> = sources
        .map(|source| {
            json!({
                "type": kind.to_string(),
                "name": source.name,
                "topic": source.topic,
                "keyFormat": source.key_format.name,
                "valueFormat": source.value_format.name,
                "isWindowed": source.window.is_some(),
            })
        })
        .collect();
    let (entity, field) = match kind {
        SourceKind::Stream => ("streams", "streams"),
        SourceKind::Table => ("tables", "tables"),
    };
    json!({
        "@type": entity,
        "statementText": text,
        field: list,
        "warnings": [],
    })
}

/// `kafka_topics` (or `kafka_topics_extended`): names and one replica count per partition.
fn topics(state: &AppState, extended: bool, text: &str) -> Value {
    let topics = state
        .engine
        .topic_log()
        .list_topics()
        .unwrap_or_else(|failure| {
            tracing::warn!("cannot list topics: {}", executor::error_chain(&failure));
            Vec::new()
        });
    let list: Vec<Value> = topics
        .into_iter()
        .map(|topic| {
            let replicas = vec![topic.replicas; topic.partitions as usize];
            if extended {
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
    json!({
        "@type": if extended { "kafka_topics_extended" } else { "kafka_topics" },
        "statementText": text,
        "topics": list,
        "warnings": [],
    })
}

/// `queries`: persistent queries, then the push queries running on this server; or
/// `query_descriptions` for EXTENDED.
fn queries(state: &AppState, extended: bool, text: &str) -> Value {
    let catalog = state.engine.catalog();
    if extended {
        let descriptions: Vec<Value> = catalog
            .queries()
            .map(|query| query_description(state, &catalog, query, None))
            .collect();
        return json!({
            "@type": "query_descriptions",
            "statementText": text,
            "queryDescriptions": descriptions,
            "warnings": [],
        });
    }
    let mut list: Vec<Value> = catalog
        .queries()
        .map(|query| running_query(state, &catalog, query))
        .collect();
    list.extend(state.push_queries.list().into_iter().map(|(id, sql)| {
        json!({
            "queryString": sql,
            "sinks": [],
            "sinkKafkaTopics": [],
            "id": id,
            "statusCount": {"RUNNING": 1},
            "queryType": "PUSH",
            "state": "RUNNING",
        })
    }));
    json!({
        "@type": "queries",
        "statementText": text,
        "queries": list,
        "warnings": [],
    })
}
