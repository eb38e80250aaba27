//! DESCRIBE and EXPLAIN: descriptions of sources, persistent queries, explained statements
//! and functions, plus the query summaries that lists share with them.

use parser::ast::{Describe, Explain, SourceKind, Statement};
use planner::catalog::{ColumnDefinition, QueryDefinition, SourceDefinition};
use planner::pull::PullPlan;
use planner::{Properties, StatementPlan};

use crate::engine::{Engine, EngineState, Session};
use crate::result::{
    Field, FunctionArgument, FunctionDescription, FunctionVariation, QueryDescription, QueryKind,
    QueryStatus, QuerySummary, SourceDescription, StatementResult,
};
use crate::{Result, ServerError, user_error};

pub(crate) fn describe(
    engine: &Engine,
    state: &EngineState,
    describe: &Describe,
) -> Result<StatementResult> {
    match describe {
        Describe::Source { name, extended } => {
            let source = state.catalog.source(name).ok_or_else(|| {
                ServerError::User(format!(
                    "Could not find STREAM/TABLE '{name}' in the Metastore"
                ))
            })?;
            Ok(StatementResult::SourceDescription(Box::new(
                source_description(engine, state, source, *extended),
            )))
        }
        Describe::Streams { extended } => Ok(StatementResult::SourceDescriptions(
            source_descriptions(engine, state, SourceKind::Stream, *extended),
        )),
        Describe::Tables { extended } => Ok(StatementResult::SourceDescriptions(
            source_descriptions(engine, state, SourceKind::Table, *extended),
        )),
        Describe::Function { name } => {
            let name = name.to_uppercase();
            if let Some(user) = planner::functions::user::describe(&name) {
                return Ok(StatementResult::FunctionDescription(Box::new(
                    user_function_description(user),
                )));
            }
            if let Some(kind) = planner::functions::table::TableFunctionKind::ALL
                .into_iter()
                .find(|kind| kind.name() == name)
            {
                return Ok(StatementResult::FunctionDescription(Box::new(
                    table_function_description(kind),
                )));
            }
            let description = planner::functions::describe_function(&name).ok_or_else(|| {
                ServerError::User(format!("Can't find any functions with the name '{name}'"))
            })?;
            Ok(StatementResult::FunctionDescription(Box::new(
                function_description(&description),
            )))
        }
    }
}

/// `EXPLAIN query_id` (the plan planned again with the session's properties) or
/// `EXPLAIN statement` (planned, not run).
pub(crate) fn explain(
    state: &EngineState,
    explain: &Explain,
    session: &Session,
) -> Result<StatementResult> {
    let description = match explain {
        Explain::Query(id) => {
            let id = id.to_uppercase();
            let query = state
                .catalog
                .query(&id)
                .ok_or_else(|| ServerError::User(format!("Query with id:{id} does not exist")))?;
            query_description(state, query, Some(&session.properties))
        }
        Explain::Statement(statement) => {
            explained_statement(state, statement, &session.properties)?
        }
    };
    Ok(StatementResult::QueryDescription(Box::new(description)))
}

/// Descriptions of every source of `kind`.
pub(crate) fn source_descriptions(
    engine: &Engine,
    state: &EngineState,
    kind: SourceKind,
    extended: bool,
) -> Vec<SourceDescription> {
    state
        .catalog
        .sources()
        .filter(|source| source.kind == kind)
        .map(|source| source_description(engine, state, source, extended))
        .collect()
}

/// A source's description; `extended` adds the runtime statistics.
fn source_description(
    engine: &Engine,
    state: &EngineState,
    source: &SourceDefinition,
    extended: bool,
) -> SourceDescription {
    let write_queries = query_summaries(state, |query| query.sink == source.name);
    let (statistics, error_statistics, last_failure) = if extended {
        let totals = engine.metrics.totals(&source.name);
        (
            format!(
                "consumer-messages: {}   consumer-failed-messages: {}   producer-messages: {}",
                totals.consumed, totals.failed, totals.produced
            ),
            if totals.late > 0 {
                format!("late-records: {}", totals.late)
            } else {
                String::new()
            },
            totals.last_error,
        )
    } else {
        (String::new(), String::new(), None)
    };
    SourceDescription {
        name: source.name.clone(),
        kind: source.kind,
        window_type: source.window.map(|window| window.kind.name().to_string()),
        read_queries: query_summaries(state, |query| query.sources.contains(&source.name)),
        state_bytes: if extended {
            state_bytes(engine, state, &write_queries)
        } else {
            None
        },
        write_queries,
        fields: fields_of(&source.columns),
        timestamp: source.timestamp.as_ref().map(|t| t.column.clone()),
        statistics,
        error_statistics,
        last_failure,
        extended,
        key_format: source.key_format.name.clone(),
        value_format: source.value_format.name.clone(),
        topic: source.topic.clone(),
        partitions: source.partitions,
        replicas: source.replicas,
        statement: source.sql.clone(),
    }
}

/// Key and value bytes of the committed state of those of `queries` that keep state; none
/// when no query does, or when a state cannot be read (logged: statistics never fail a
/// `DESCRIBE`).
fn state_bytes(engine: &Engine, state: &EngineState, queries: &[QuerySummary]) -> Option<u64> {
    let mut total = None;
    for query in queries {
        let keeps_state = state
            .queries
            .get(&query.id)
            .is_some_and(|running| running.keeps_state);
        if !keeps_state {
            continue;
        }
        match executor::query::query_state_bytes(engine.state_store(), &query.id) {
            Ok(bytes) => total = Some(total.unwrap_or(0) + bytes),
            Err(error) => {
                tracing::warn!(
                    "reading the state size of query {} failed: {error}",
                    query.id
                );
                return None;
            }
        }
    }
    total
}

/// The persistent queries `selected` picks.
fn query_summaries(
    state: &EngineState,
    selected: impl Fn(&QueryDefinition) -> bool,
) -> Vec<QuerySummary> {
    state
        .catalog
        .queries()
        .filter(|query| selected(query))
        .map(|query| query_summary(state, query))
        .collect()
}

/// A persistent query in a list.
pub(crate) fn query_summary(state: &EngineState, query: &QueryDefinition) -> QuerySummary {
    QuerySummary {
        id: query.id.clone(),
        kind: QueryKind::Persistent,
        status: query_status(state, &query.id),
        sql: query.sql.clone(),
        sinks: vec![query.sink.clone()],
        sink_topics: state
            .catalog
            .source(&query.sink)
            .map(|sink| vec![sink.topic.clone()])
            .unwrap_or_default(),
    }
}

/// A persistent query's description; its execution plan is planned again when
/// `properties` are given.
pub(crate) fn query_description(
    state: &EngineState,
    query: &QueryDefinition,
    properties: Option<&Properties>,
) -> QueryDescription {
    let execution_plan = properties
        .and_then(|properties| {
            let statements = parser::parse_statements(&query.sql).ok()?;
            let statement = statements.first()?;
            // A CREATE ... AS SELECT is planned as before its sink existed.
            let mut catalog = state.catalog.as_ref().clone();
            if let parser::ast::StatementKind::CreateAsSelect(_) = &statement.kind {
                catalog.remove_source(&query.sink);
            }
            match planner::plan_statement(&catalog, statement, properties) {
                Ok(Some(
                    StatementPlan::CreateAsSelect { plan, .. }
                    | StatementPlan::InsertInto { plan, .. },
                )) => Some(plan.to_string()),
                _ => None,
            }
        })
        .unwrap_or_default();
    let sink = state.catalog.source(&query.sink);
    QueryDescription {
        id: query.id.clone(),
        kind: QueryKind::Persistent,
        status: Some(query_status(state, &query.id)),
        sql: query.sql.clone(),
        window_type: sink
            .and_then(|sink| sink.window)
            .map(|window| window.kind.name().to_string()),
        fields: sink
            .map(|sink| fields_of(&sink.columns))
            .unwrap_or_default(),
        sources: query.sources.clone(),
        sinks: vec![query.sink.clone()],
        execution_plan,
        topology: String::new(),
    }
}

/// The description of a query that is planned but not run.
fn explained_statement(
    state: &EngineState,
    statement: &Statement,
    properties: &Properties,
) -> Result<QueryDescription> {
    let (id, columns, sources, sinks, plan) =
        match planner::plan_statement(&state.catalog, statement, properties)? {
            Some(StatementPlan::CreateAsSelect {
                sink, query, plan, ..
            }) => (
                query.id,
                sink.columns,
                query.sources,
                vec![query.sink],
                plan.to_string(),
            ),
            Some(StatementPlan::InsertInto { query, plan }) => {
                let columns = state
                    .catalog
                    .source(&query.sink)
                    .map(|sink| sink.columns.clone())
                    .unwrap_or_default();
                let plan = plan.to_string();
                (query.id, columns, query.sources, vec![query.sink], plan)
            }
            Some(StatementPlan::Select { plan, columns })
            | Some(StatementPlan::Pull(
                PullPlan::Stream { plan, columns } | PullPlan::Table { plan, columns, .. },
            )) => {
                let sources = plan.root.sources().iter().map(|s| s.name.clone()).collect();
                (
                    String::new(),
                    columns,
                    sources,
                    Vec::new(),
                    plan.to_string(),
                )
            }
            // SQL over tables: DataFusion's logical plan.
            Some(StatementPlan::Pull(PullPlan::Sql(sql))) => {
                let columns = sql_columns(&sql.output);
                let sources = sql.tables.iter().map(|t| t.source.name.clone()).collect();
                let plan = sql.plan.display_indent().to_string();
                (String::new(), columns, sources, Vec::new(), plan)
            }
            _ => return user_error("EXPLAIN is only supported for queries"),
        };
    Ok(QueryDescription {
        id,
        kind: QueryKind::Persistent,
        status: None,
        sql: statement.text.clone(),
        window_type: None,
        fields: fields_of(&columns),
        sources,
        sinks,
        execution_plan: plan,
        topology: String::new(),
    })
}

/// The columns of a SQL pull query's result, as value columns of their ksqlDB types.
fn sql_columns(schema: &arrow::datatypes::SchemaRef) -> Vec<ColumnDefinition> {
    schema
        .fields()
        .iter()
        .filter_map(|field| {
            Some(ColumnDefinition {
                name: field.name().clone(),
                data_type: planner::types::from_arrow(field.data_type())?,
                kind: planner::catalog::ColumnKind::Value,
            })
        })
        .collect()
}

/// The state of persistent query `id`: `Unknown` when the engine does not run it.
fn query_status(state: &EngineState, id: &str) -> QueryStatus {
    state
        .queries
        .get(id)
        .map_or(QueryStatus::Unknown, |running| {
            QueryStatus::from(running.handle.state())
        })
}

fn fields_of(columns: &[ColumnDefinition]) -> Vec<Field> {
    columns
        .iter()
        .map(|column| Field {
            name: column.name.clone(),
            data_type: column.data_type.clone(),
            kind: column.kind.clone(),
        })
        .collect()
}

/// A built-in scalar function's description, one variation per signature.
fn function_description(
    description: &planner::functions::FunctionDescription,
) -> FunctionDescription {
    let variations = description
        .signatures
        .iter()
        .map(|signature| {
            let (arguments, return_type) = split_signature(signature);
            FunctionVariation {
                arguments: arguments
                    .into_iter()
                    .map(|type_name| FunctionArgument {
                        name: String::new(),
                        variadic: type_name.starts_with("...") || type_name.ends_with("..."),
                        type_name,
                        description: String::new(),
                    })
                    .collect(),
                return_type,
                description: description.description.to_string(),
            }
        })
        .collect();
    FunctionDescription {
        name: description.name.to_string(),
        description: description.description.to_string(),
        author: "Confluent".into(),
        version: String::new(),
        path: "internal".into(),
        kind: "SCALAR".into(),
        variations,
    }
}

/// What `DESCRIBE FUNCTION` shows of a user function: its declared overloads.
fn user_function_description(
    user: planner::functions::user::UserFunctionDescription,
) -> FunctionDescription {
    let variations = user
        .variations
        .into_iter()
        .map(|variation| FunctionVariation {
            arguments: variation
                .parameters
                .into_iter()
                .map(|parameter| FunctionArgument {
                    name: parameter.name,
                    type_name: if parameter.variadic {
                        format!("{}...", parameter.type_name)
                    } else {
                        parameter.type_name
                    },
                    description: String::new(),
                    variadic: parameter.variadic,
                })
                .collect(),
            return_type: variation.return_type,
            description: if variation.description.is_empty() {
                user.description.clone()
            } else {
                variation.description
            },
        })
        .collect();
    FunctionDescription {
        name: user.name,
        description: user.description,
        author: user.author,
        version: user.version,
        path: "user".into(),
        kind: user.kind.as_str().into(),
        variations,
    }
}

/// What `DESCRIBE FUNCTION` shows of a table function.
fn table_function_description(
    kind: planner::functions::table::TableFunctionKind,
) -> FunctionDescription {
    let variations = kind
        .signatures()
        .iter()
        .map(|(param_type, param, return_type)| FunctionVariation {
            arguments: vec![FunctionArgument {
                name: param.to_string(),
                variadic: false,
                type_name: param_type.to_string(),
                description: String::new(),
            }],
            return_type: return_type.to_string(),
            description: kind.description().to_string(),
        })
        .collect();
    FunctionDescription {
        name: kind.name().to_string(),
        description: kind.description().to_string(),
        author: "Confluent".into(),
        version: String::new(),
        path: "internal".into(),
        kind: "TABLE".into(),
        variations,
    }
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

#[cfg(test)]
mod tests {
    use planner::catalog::ColumnKind;

    use super::*;
    use crate::StatementOutput;

    /// The result of each statement of `sql`, run in `session`.
    fn results(engine: &Engine, session: &mut Session, sql: &str) -> Vec<StatementResult> {
        let mut results = Vec::new();
        engine
            .execute_script(sql, session, |_, output| match output {
                StatementOutput::Completed(result) => results.push(result),
                _ => panic!("{sql}: a statement streams"),
            })
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        results
    }

    #[test]
    fn statements_answer_typed_results() {
        let directory = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(directory.path()).expect("engine");
        let mut session = Session::default();
        let created = results(
            &engine,
            &mut session,
            "CREATE STREAM S (ID STRING KEY, V BIGINT) WITH (kafka_topic='s', value_format='JSON', partitions=1);
             CREATE STREAM S2 AS SELECT * FROM S;
             INSERT INTO S (ID, V) VALUES ('a', 1);
             SET 'auto.offset.reset' = 'earliest';
             CREATE STREAM IF NOT EXISTS S (ID STRING KEY) WITH (kafka_topic='s', value_format='JSON');
             CREATE TABLE IF NOT EXISTS S2 AS SELECT ID, COUNT(*) AS N FROM S GROUP BY ID;",
        );
        assert_eq!(
            created,
            [
                StatementResult::Status("Stream created".into()),
                StatementResult::QueryCreated {
                    query_id: "CSAS_S2_0".into(),
                    warnings: Vec::new(),
                },
                StatementResult::RowInserted,
                StatementResult::PropertySet {
                    name: "auto.offset.reset".into(),
                    value: "earliest".into()
                },
                // ksqlDB names the kind of the statement, not the existing source's.
                StatementResult::Warning(
                    "Cannot add stream `S`: A stream with the same name already exists.".into()
                ),
                StatementResult::Warning(
                    "Cannot add table `S2`: A table with the same name already exists.".into()
                ),
            ]
        );
        let [
            StatementResult::SourceDescription(sink),
            StatementResult::QueryDescription(query),
            StatementResult::QueryDescription(explained),
        ] = &results(
            &engine,
            &mut session,
            "DESCRIBE S2 EXTENDED; EXPLAIN CSAS_S2_0; EXPLAIN SELECT * FROM S2 EMIT CHANGES;",
        )[..]
        else {
            panic!("DESCRIBE and EXPLAIN describe");
        };
        let writers: Vec<&str> = sink.write_queries.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(writers, ["CSAS_S2_0"]);
        assert!(sink.read_queries.is_empty(), "{sink:?}");
        assert!(
            sink.statistics.starts_with("consumer-messages: "),
            "{sink:?}"
        );
        let fields: Vec<(&str, &ColumnKind)> = sink
            .fields
            .iter()
            .map(|field| (field.name.as_str(), &field.kind))
            .collect();
        assert_eq!(
            fields,
            [("ID", &ColumnKind::Key), ("V", &ColumnKind::Value)]
        );
        assert_eq!(
            (query.id.as_str(), &query.sources, &query.sinks),
            ("CSAS_S2_0", &vec!["S".to_string()], &vec!["S2".to_string()])
        );
        assert_eq!(query.status, Some(QueryStatus::Running));
        // A statement that is explained is planned, not run.
        assert_eq!(
            (
                explained.id.as_str(),
                &explained.sources,
                explained.status.as_ref()
            ),
            ("", &vec!["S2".to_string()], None)
        );
        assert!(!explained.execution_plan.is_empty(), "{explained:?}");
    }

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
}
