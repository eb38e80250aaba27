//! SHOW and LIST: streams, tables, topics, queries, properties, functions, types and
//! variables. The EXTENDED forms of streams, tables and queries answer descriptions.

use parser::ast::{Show, SourceKind};

use crate::Result;
use crate::engine::{Engine, EngineState, Session};
use crate::handler::describe::{query_description, query_summary, source_descriptions};
use crate::result::{FunctionSummary, SourceSummary, StatementResult, TopicSummary};

pub(crate) fn show(
    engine: &Engine,
    state: &EngineState,
    show: &Show,
    session: &Session,
) -> Result<StatementResult> {
    Ok(match show {
        Show::Streams { extended } => sources(engine, state, SourceKind::Stream, *extended),
        Show::Tables { extended } => sources(engine, state, SourceKind::Table, *extended),
        // ksqlDB hides its internal (repartition) topics unless SHOW ALL TOPICS.
        Show::Topics { all, extended } => StatementResult::Topics {
            extended: *extended,
            topics: engine
                .topic_log()
                .list_topics()?
                .into_iter()
                .filter(|topic| *all || !executor::query::is_internal_topic(&topic.name))
                .map(|topic| TopicSummary {
                    name: topic.name,
                    partitions: topic.partitions,
                    replicas: topic.replicas,
                })
                .collect(),
        },
        Show::Queries { extended: true } => StatementResult::QueryDescriptions(
            state
                .catalog
                .queries()
                .map(|query| query_description(state, query, None))
                .collect(),
        ),
        Show::Queries { extended: false } => StatementResult::Queries(
            state
                .catalog
                .queries()
                .map(|query| query_summary(state, query))
                .collect(),
        ),
        Show::Properties => StatementResult::Properties {
            properties: crate::handler::properties::show(session),
            overridden: session.properties.keys().cloned().collect(),
        },
        Show::Functions => StatementResult::Functions(functions()),
        Show::Types => StatementResult::Types(
            state
                .catalog
                .custom_types()
                .map(|(name, data_type)| (name.clone(), data_type.clone()))
                .collect(),
        ),
        Show::Variables => StatementResult::Variables(
            session
                .variables
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        ),
    })
}

/// `SHOW STREAMS|TABLES`, or their descriptions for EXTENDED.
fn sources(
    engine: &Engine,
    state: &EngineState,
    kind: SourceKind,
    extended: bool,
) -> StatementResult {
    if extended {
        return StatementResult::SourceDescriptions(source_descriptions(engine, state, kind, true));
    }
    let sources = state
        .catalog
        .sources()
        .filter(|source| source.kind == kind)
        .map(|source| SourceSummary {
            name: source.name.clone(),
            topic: source.topic.clone(),
            key_format: source.key_format.name.clone(),
            value_format: source.value_format.name.clone(),
            windowed: source.window.is_some(),
        })
        .collect();
    StatementResult::Sources { kind, sources }
}

/// Scalar, aggregate and table functions, sorted by name.
fn functions() -> Vec<FunctionSummary> {
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
    let tables = planner::functions::table::TableFunctionKind::ALL
        .into_iter()
        .map(|kind| (kind.name(), "TABLE", "TABLE"));
    let users = planner::functions::user::descriptions();
    let users = users.iter().map(|user| {
        (
            user.name.as_str(),
            user.kind.as_str(),
            user.category.as_str(),
        )
    });
    let mut functions: Vec<(&str, &str, &str)> = scalars
        .chain(aggregates)
        .chain(tables)
        .chain(users)
        .collect();
    functions.sort();
    functions
        .into_iter()
        .map(|(name, kind, category)| FunctionSummary {
            name: name.to_string(),
            kind: kind.to_string(),
            category: category.to_string(),
        })
        .collect()
}
