//! Statements that register sources and start persistent queries: CREATE STREAM/TABLE,
//! CREATE ... AS SELECT and INSERT INTO ... SELECT.

use std::sync::Arc;

use executor::query::StartPosition;
use parser::ast::SourceKind;
use planner::catalog::{QueryDefinition, SourceDefinition};
use planner::{DataflowPlan, StatementPlan};

use crate::engine::{DeferredQuery, Engine, EngineState, RunningQuery, Session};
use crate::result::StatementResult;
use crate::{Result, user_error};

pub(crate) fn apply_plan(
    engine: &Engine,
    state: &mut EngineState,
    plan: StatementPlan,
    session: &Session,
) -> Result<StatementResult> {
    match plan {
        StatementPlan::CreateSource {
            source,
            partitions,
            or_replace,
            if_not_exists,
        } => {
            if if_not_exists && state.catalog.source(&source.name).is_some() {
                return Ok(source_exists(source.kind, &source.name));
            }
            let log = engine.topic_log();
            let partitions = match (log.describe_topic(&source.topic)?, partitions) {
                (Some(topic), Some(requested)) if topic.partitions != requested => {
                    return user_error(partitions_mismatch(
                        &source.topic,
                        requested,
                        topic.partitions,
                    ));
                }
                (Some(topic), _) => topic.partitions,
                (None, Some(partitions)) => {
                    log.create_topic(&source.topic, partitions, source.replicas)?;
                    partitions
                }
                (None, None) => {
                    return user_error(format!(
                        "Topic '{}' does not exist. If you want to create a new topic for the {} please re-run the statement providing the required 'PARTITIONS' configuration in the WITH clause (and optionally 'REPLICAS'). For example: CREATE {} {} (...) WITH (KAFKA_TOPIC='{}', PARTITIONS=2, ...);",
                        source.topic,
                        kind_word(source.kind),
                        kind_title(source.kind).to_uppercase(),
                        source.name,
                        source.topic
                    ));
                }
            };
            let _ = or_replace;
            let message = format!("{} created", kind_title(source.kind));
            Arc::make_mut(&mut state.catalog).put_source(SourceDefinition {
                partitions,
                ..source
            });
            Ok(StatementResult::Status(message))
        }
        StatementPlan::CreateAsSelect {
            sink,
            query,
            plan,
            or_replace,
            if_not_exists,
            warnings,
        } => {
            if if_not_exists && state.catalog.source(&sink.name).is_some() {
                return Ok(source_exists(sink.kind, &sink.name));
            }
            if or_replace && let Some(existing) = state.catalog.source(&sink.name) {
                let writers: Vec<String> = state
                    .catalog
                    .queries()
                    .filter(|q| q.sink == existing.name)
                    .map(|q| q.id.clone())
                    .collect();
                for id in writers {
                    stop_query(engine, state, &id)?;
                }
            }
            let log = engine.topic_log();
            match log.describe_topic(&sink.topic)? {
                Some(topic) if topic.partitions != sink.partitions => {
                    return user_error(partitions_mismatch(
                        &sink.topic,
                        sink.partitions,
                        topic.partitions,
                    ));
                }
                Some(_) => {}
                None => log.create_topic(&sink.topic, sink.partitions, sink.replicas)?,
            }
            let query_id = query.id.clone();
            start_query(engine, state, query, &plan, session)?;
            Arc::make_mut(&mut state.catalog).put_source(sink);
            Ok(StatementResult::QueryCreated { query_id, warnings })
        }
        StatementPlan::InsertInto { query, plan } => {
            let query_id = query.id.clone();
            start_query(engine, state, query, &plan, session)?;
            Ok(StatementResult::QueryCreated {
                query_id,
                warnings: Vec::new(),
            })
        }
        StatementPlan::Select { .. } | StatementPlan::Pull(_) | StatementPlan::InsertValues(_) => {
            Err(crate::ServerError::Internal(
                "query plan routed to DDL".into(),
            ))
        }
    }
}

fn start_query(
    engine: &Engine,
    state: &mut EngineState,
    query: QueryDefinition,
    plan: &DataflowPlan,
    session: &Session,
) -> Result<()> {
    // Persistent queries read from the beginning unless the session says otherwise.
    let start = Engine::start_position(&session.properties, StartPosition::Earliest);
    match &mut state.replaying {
        Some(deferred) => {
            // CREATE OR REPLACE keeps the query's id: the last plan is the one to run.
            deferred.retain(|earlier| earlier.id != query.id);
            deferred.push(DeferredQuery {
                id: query.id.clone(),
                plan: plan.clone(),
                start,
            });
        }
        None => run_query(engine, state, &query.id, plan, start)?,
    }
    Arc::make_mut(&mut state.catalog).take_query_number();
    Arc::make_mut(&mut state.catalog).put_query(query);
    Ok(())
}

/// Starts the threads of persistent query `id`.
pub(crate) fn run_query(
    engine: &Engine,
    state: &mut EngineState,
    id: &str,
    plan: &DataflowPlan,
    start: StartPosition,
) -> Result<()> {
    let handle = executor::start_persistent(
        id,
        plan,
        &engine.backend,
        &engine.metrics,
        start,
        engine.state_store(),
    )?;
    state.queries.insert(
        id.to_string(),
        RunningQuery {
            handle,
            keeps_state: plan.root.keeps_state(),
        },
    );
    Ok(())
}

/// Stops a persistent query and forgets it (its committed offsets are deleted).
pub(crate) fn stop_query(engine: &Engine, state: &mut EngineState, id: &str) -> Result<()> {
    if let Some(mut running) = state.queries.remove(id) {
        running.handle.stop();
    }
    let internal_topics = state
        .catalog
        .query(id)
        .map(|query| query.internal_topics.clone())
        .unwrap_or_default();
    Arc::make_mut(&mut state.catalog).remove_query(id);
    let log = engine.topic_log();
    log.delete_group(id)?;
    for topic in internal_topics {
        if log.describe_topic(&topic)?.is_some() {
            log.delete_topic(&topic)?;
        }
    }
    executor::query::delete_query_state(engine.state_store(), id)?;
    Ok(())
}

pub(crate) fn kind_title(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "Stream",
        SourceKind::Table => "Table",
    }
}

pub(crate) fn kind_word(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    }
}

/// ksqlDB's warning for `CREATE ... IF NOT EXISTS` of a source that exists: the kind is the
/// statement's, whatever the existing source's.
fn source_exists(kind: SourceKind, name: &str) -> StatementResult {
    let kind = kind_word(kind);
    StatementResult::Warning(format!(
        "Cannot add {kind} `{name}`: A {kind} with the same name already exists."
    ))
}

/// ksqlDB's refusal of a statement that wants an existing topic with another partition
/// count.
fn partitions_mismatch(topic: &str, expected: u32, actual: u32) -> String {
    format!(
        "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {expected} partitions (topic has {actual}), 1 replication factor (topic has 1)."
    )
}
