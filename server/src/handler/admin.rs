//! Statements the server handles without a plan: SHOW/LIST, DESCRIBE and EXPLAIN (in
//! `show` and `describe`), DROP, TERMINATE, CREATE TYPE and DROP TYPE.

use std::sync::Arc;

use parser::ast::{Statement, StatementKind, Terminate};

use crate::engine::{Engine, EngineState, Session};
use crate::handler::ddl::stop_query;
use crate::handler::{describe, show};
use crate::result::StatementResult;
use crate::{Result, ServerError, user_error};

pub(crate) fn run(
    engine: &Engine,
    state: &mut EngineState,
    statement: &Statement,
    session: &Session,
) -> Result<StatementResult> {
    match &statement.kind {
        StatementKind::Show(statement) => show::show(engine, state, statement, session),
        StatementKind::Describe(statement) => describe::describe(engine, state, statement),
        StatementKind::Explain(explain) => describe::explain(state, explain, session),
        StatementKind::DropSource(drop) => {
            let Some(source) = planner::drop_target(&state.catalog, drop)?.cloned() else {
                return Ok(StatementResult::Status(format!(
                    "Source `{}` does not exist.",
                    drop.name
                )));
            };
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
            Ok(StatementResult::Status(format!(
                "Source `{}` (topic: {}) was dropped.",
                source.name, source.topic
            )))
        }
        StatementKind::Terminate(terminate) => {
            let ids: Vec<String> = match terminate {
                // Every query of the catalog, started or not (a replay at start defers them).
                Terminate::All => state
                    .catalog
                    .queries()
                    .map(|query| query.id.clone())
                    .collect(),
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
            Ok(StatementResult::Status("Query terminated.".into()))
        }
        StatementKind::CreateType {
            name,
            if_not_exists,
            data_type,
        } => {
            if state.catalog.custom_type(name).is_some() {
                if *if_not_exists {
                    return Ok(StatementResult::Status(format!(
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
            Ok(StatementResult::Status(format!(
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
            Ok(StatementResult::Status(format!("Dropped type {name}")))
        }
        StatementKind::AlterSource(alter) => {
            planner::check_alter_target(&state.catalog, alter)?;
            user_error("ALTER is not supported yet")
        }
        StatementKind::Assert(_) => user_error("ASSERT is not supported yet"),
        other => Err(ServerError::Internal(format!(
            "statement not handled: {other:?}"
        ))),
    }
}
