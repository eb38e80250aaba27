//! Statements that inspect or remove things: SHOW/LIST, DESCRIBE, DROP, TERMINATE,
//! EXPLAIN, CREATE TYPE and DROP TYPE.

use std::sync::Arc;

use executor::QueryState;
use parser::ast::{Describe, Explain, Show, SourceKind, Statement, StatementKind, Terminate};
use planner::StatementPlan;
use planner::catalog::{ColumnKind, SourceDefinition};

use crate::engine::{Engine, EngineState, Session, StatementOutput};
use crate::handler::ddl::{kind_title, stop_query};
use crate::{Result, ServerError, user_error};

pub(crate) fn run(
    engine: &Engine,
    state: &mut EngineState,
    statement: &Statement,
    session: &Session,
) -> Result<StatementOutput> {
    match &statement.kind {
        StatementKind::Show(show) => self::show(engine, state, show, session),
        StatementKind::Describe(describe) => self::describe(engine, state, describe),
        StatementKind::DropSource(drop) => {
            let Some(source) = state.catalog.source(&drop.name).cloned() else {
                if drop.if_exists {
                    return Ok(StatementOutput::Message(format!(
                        "Source `{}` does not exist.",
                        drop.name
                    )));
                }
                return user_error(format!("Source {} does not exist.", drop.name));
            };
            if source.kind != drop.kind {
                return user_error(format!(
                    "Incompatible data source type is {}, but statement was DROP {}",
                    source.kind, drop.kind
                ));
            }
            let readers: Vec<String> = state
                .catalog
                .queries()
                .filter(|q| q.sources.contains(&source.name))
                .map(|q| q.id.clone())
                .collect();
            let writers: Vec<String> = state
                .catalog
                .queries()
                .filter(|q| q.sink == source.name)
                .map(|q| q.id.clone())
                .collect();
            if !readers.is_empty() || !writers.is_empty() {
                return user_error(format!(
                    "Cannot drop {}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {}.",
                    source.name,
                    readers.join(", "),
                    writers.join(", "),
                    source.name
                ));
            }
            Arc::make_mut(&mut state.catalog).remove_source(&source.name);
            engine
                .state_store()
                .delete_table(&executor::table_state_id(&source.name))?;
            if drop.delete_topic {
                let log = engine.topic_log();
                if log.describe_topic(&source.topic)?.is_some() {
                    log.delete_topic(&source.topic)?;
                }
            }
            Ok(StatementOutput::Message(format!(
                "Source `{}` (topic: {}) was dropped.",
                source.name, source.topic
            )))
        }
        StatementKind::Terminate(terminate) => {
            let ids: Vec<String> = match terminate {
                Terminate::All => state.queries.keys().cloned().collect(),
                Terminate::Query(id) => {
                    let id = id.to_uppercase();
                    if state.catalog.query(&id).is_none() {
                        return user_error(format!("Unknown queryId: {id}"));
                    }
                    vec![id]
                }
            };
            for id in &ids {
                stop_query(engine, state, id)?;
            }
            Ok(StatementOutput::Message("Query terminated.".into()))
        }
        StatementKind::Explain(Explain::Statement(inner)) => {
            match planner::plan_statement(&state.catalog, inner, &session.properties)? {
                Some(
                    StatementPlan::CreateAsSelect { plan, .. }
                    | StatementPlan::InsertInto { plan, .. }
                    | StatementPlan::Select { plan, .. },
                ) => Ok(StatementOutput::Text(plan.to_string())),
                _ => user_error("EXPLAIN is only supported for queries"),
            }
        }
        StatementKind::Explain(Explain::Query(id)) => {
            let id = id.to_uppercase();
            let query = state
                .catalog
                .query(&id)
                .ok_or_else(|| ServerError::User(format!("Query with id:{id} does not exist")))?;
            let statements = parser::parse_statements(&query.sql)?;
            let plan_text = match statements
                .first()
                .map(|s| planner::plan_statement(&state.catalog, s, &session.properties))
            {
                Some(Ok(Some(
                    StatementPlan::CreateAsSelect { plan, .. }
                    | StatementPlan::InsertInto { plan, .. },
                ))) => plan.to_string(),
                _ => String::new(),
            };
            Ok(StatementOutput::Text(format!(
                "ID                   : {}\nSQL                  : {}\nStatus               : {}\n\n{plan_text}",
                query.id,
                query.sql,
                status_text(state, &query.id)
            )))
        }
        StatementKind::CreateType {
            name,
            if_not_exists,
            data_type,
        } => {
            if state.catalog.custom_type(name).is_some() {
                if *if_not_exists {
                    return Ok(StatementOutput::Message(format!(
                        "Type {name} already exists"
                    )));
                }
                return user_error(format!(
                    "Cannot register custom type '{name}' since it is already registered with type: {}",
                    planner::types::sql_type_name(
                        state.catalog.custom_type(name).expect("checked")
                    )
                ));
            }
            let resolved = state.catalog.resolve_type(data_type)?;
            Arc::make_mut(&mut state.catalog).put_type(name.clone(), resolved);
            Ok(StatementOutput::Message(format!(
                "Created custom type {name}"
            )))
        }
        StatementKind::DropType { name, if_exists } => {
            if Arc::make_mut(&mut state.catalog)
                .remove_type(name)
                .is_none()
                && !if_exists
            {
                return user_error(format!("Type {name} does not exist."));
            }
            Ok(StatementOutput::Message(format!("Dropped type {name}")))
        }
        StatementKind::AlterSource(_) => user_error("ALTER is not supported yet"),
        StatementKind::Assert(_) => user_error("ASSERT is not supported yet"),
        other => Err(ServerError::Internal(format!(
            "statement not handled: {other:?}"
        ))),
    }
}

fn status_text(state: &EngineState, id: &str) -> String {
    match state.queries.get(id).map(|q| q.handle.state()) {
        Some(QueryState::Running) => "RUNNING".into(),
        Some(QueryState::Done) => "DONE".into(),
        Some(QueryState::Error(message)) => format!("ERROR: {message}"),
        None => "UNKNOWN".into(),
    }
}

fn show(
    engine: &Engine,
    state: &EngineState,
    show: &Show,
    session: &Session,
) -> Result<StatementOutput> {
    let table = |header: &[&str], rows: Vec<Vec<String>>| StatementOutput::Table {
        header: header.iter().map(|h| h.to_string()).collect(),
        rows,
    };
    Ok(match show {
        Show::Streams { .. } | Show::Tables { .. } => {
            let kind = if matches!(show, Show::Streams { .. }) {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            let rows = state
                .catalog
                .sources()
                .filter(|source| source.kind == kind)
                .map(|source| {
                    vec![
                        source.name.clone(),
                        source.topic.clone(),
                        source.key_format.name.clone(),
                        source.value_format.name.clone(),
                        "false".into(),
                    ]
                })
                .collect();
            let first = format!("{} Name", kind_title(kind));
            table(
                &[
                    &first,
                    "Kafka Topic",
                    "Key Format",
                    "Value Format",
                    "Windowed",
                ],
                rows,
            )
        }
        Show::Topics { .. } => {
            let rows = engine
                .topic_log()
                .list_topics()?
                .into_iter()
                .map(|topic| {
                    vec![
                        topic.name,
                        topic.partitions.to_string(),
                        topic.replicas.to_string(),
                    ]
                })
                .collect();
            table(&["Kafka Topic", "Partitions", "Partition Replicas"], rows)
        }
        Show::Queries { .. } => {
            let rows = state
                .catalog
                .queries()
                .map(|query| {
                    vec![
                        query.id.clone(),
                        "PERSISTENT".into(),
                        status_text(state, &query.id),
                        query.sink.clone(),
                        state
                            .catalog
                            .source(&query.sink)
                            .map(|s| s.topic.clone())
                            .unwrap_or_default(),
                        query.sql.clone(),
                    ]
                })
                .collect();
            table(
                &[
                    "Query ID",
                    "Query Type",
                    "Status",
                    "Sink Name",
                    "Sink Kafka Topic",
                    "Query String",
                ],
                rows,
            )
        }
        Show::Properties => table(
            &["Property", "Scope", "Value"],
            crate::handler::properties::show(session),
        ),
        Show::Functions => table(
            &["Function Name", "Category"],
            planner::functions::scalar_function_names()
                .into_iter()
                .map(|name| vec![name.to_string(), "SCALAR".into()])
                .collect(),
        ),
        Show::Types => table(
            &["Type Name", "Schema"],
            state
                .catalog
                .custom_types()
                .map(|(name, data_type)| {
                    vec![name.clone(), planner::types::sql_type_name(data_type)]
                })
                .collect(),
        ),
        Show::Variables => table(
            &["Variable Name", "Value"],
            session
                .variables
                .iter()
                .map(|(name, value)| vec![name.clone(), value.clone()])
                .collect(),
        ),
    })
}

fn describe(engine: &Engine, state: &EngineState, describe: &Describe) -> Result<StatementOutput> {
    match describe {
        Describe::Source { name, extended } => {
            let source = state.catalog.source(name).ok_or_else(|| {
                ServerError::User(format!(
                    "Could not find STREAM/TABLE '{name}' in the Metastore"
                ))
            })?;
            Ok(StatementOutput::Text(describe_source(
                engine, state, source, *extended,
            )?))
        }
        Describe::Streams { extended } | Describe::Tables { extended } => {
            let kind = if matches!(describe, Describe::Streams { .. }) {
                SourceKind::Stream
            } else {
                SourceKind::Table
            };
            let mut text = String::new();
            for source in state.catalog.sources().filter(|s| s.kind == kind) {
                text.push_str(&describe_source(engine, state, source, *extended)?);
                text.push('\n');
            }
            Ok(StatementOutput::Text(text))
        }
        Describe::Function { name } => {
            let name = name.to_uppercase();
            let description = planner::functions::describe_function(&name).ok_or_else(|| {
                ServerError::User(format!("Can't find any functions with the name '{name}'"))
            })?;
            Ok(StatementOutput::Text(format!(
                "Name        : {name}\nType        : SCALAR\n{description:?}\n"
            )))
        }
    }
}

fn describe_source(
    engine: &Engine,
    state: &EngineState,
    source: &SourceDefinition,
    extended: bool,
) -> Result<String> {
    let mut text = String::new();
    text.push_str(&format!("{:<21}: {}\n", "Name", source.name));
    if extended {
        text.push_str(&format!("{:<21}: {}\n", "Type", source.kind));
        text.push_str(&format!(
            "{:<21}: {}\n",
            "Timestamp field",
            source
                .timestamp
                .as_ref()
                .map(|t| t.column.clone())
                .unwrap_or_else(|| "Not set - using <ROWTIME>".into())
        ));
        text.push_str(&format!(
            "{:<21}: {}\n",
            "Key format", source.key_format.name
        ));
        text.push_str(&format!(
            "{:<21}: {}\n",
            "Value format", source.value_format.name
        ));
        text.push_str(&format!(
            "{:<21}: {} (partitions: {}, replication: {})\n",
            "Kafka topic", source.topic, source.partitions, source.replicas
        ));
        text.push_str(&format!("{:<21}: {}\n", "Statement", source.sql));
    }
    let width = source
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    text.push_str(&format!(" {:<width$} | Type\n", "Field"));
    text.push_str(&format!("{}\n", "-".repeat(width + 30)));
    let mut columns: Vec<(String, String)> =
        vec![("ROWTIME".into(), "BIGINT           (system)".into())];
    for column in &source.columns {
        let suffix = match (&column.kind, source.kind) {
            (ColumnKind::Key, SourceKind::Stream) => "  (key)".to_string(),
            (ColumnKind::Key, SourceKind::Table) => "  (primary key)".to_string(),
            (ColumnKind::Value, _) => String::new(),
            (ColumnKind::Headers, _) => "  (headers)".to_string(),
            (ColumnKind::Header(key), _) => format!("  (header('{key}'))"),
        };
        columns.push((
            column.name.clone(),
            format!("{}{suffix}", display_type(&column.data_type)),
        ));
    }
    for (name, type_text) in columns {
        text.push_str(&format!(" {name:<width$} | {type_text}\n"));
    }
    text.push_str(&format!("{}\n", "-".repeat(width + 30)));
    if extended {
        let readers: Vec<String> = state
            .catalog
            .queries()
            .filter(|q| q.sources.contains(&source.name))
            .map(|q| format!("{} (RUNNING) : {}", q.id, q.sql))
            .collect();
        let writers: Vec<String> = state
            .catalog
            .queries()
            .filter(|q| q.sink == source.name)
            .map(|q| format!("{} (RUNNING) : {}", q.id, q.sql))
            .collect();
        text.push_str(&format!(
            "\nQueries that read from this {}\n-----------------------------------\n{}\n",
            source.kind,
            readers.join("\n")
        ));
        text.push_str(&format!(
            "\nQueries that write from this {}\n-----------------------------------\n{}\n",
            source.kind,
            writers.join("\n")
        ));
        let counters = engine.metrics.counters(&source.name);
        let (consumed, failed, produced) = counters.snapshot();
        text.push_str("\nLocal runtime statistics\n------------------------\n");
        text.push_str(&format!(
            "consumer-messages: {consumed}   consumer-failed-messages: {failed}   producer-messages: {produced}\n"
        ));
        if let Some(error) = counters.last_error() {
            text.push_str(&format!("last-failure: {error}\n"));
        }
    }
    Ok(text)
}

/// `VARCHAR(STRING)` as ksqlDB's DESCRIBE shows strings; other types by name.
fn display_type(data_type: &parser::ast::DataType) -> String {
    match data_type {
        parser::ast::DataType::String => "VARCHAR(STRING)".into(),
        other => planner::types::sql_type_name(other),
    }
}
