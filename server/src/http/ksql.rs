//! `POST /ksql`: runs the statements of a request one at a time in a fresh session and
//! answers one ksqlDB entity per statement: `currentStatus` for statements that change the
//! catalog, lists and descriptions for SHOW/LIST, DESCRIBE and EXPLAIN, nothing for
//! `INSERT ... VALUES`, `SET` and `DEFINE`. The first error ends the request with a
//! `statement_error` carrying the entities of the statements before it.

mod entity;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use parser::ast::{SourceKind, Statement, StatementKind, Terminate};
use serde_json::{Value, json};

pub use self::entity::read_entity;
use super::error::{self, ApiError};
use super::{AppState, json_response, request};
use crate::engine::substitute_variables;
use crate::result::{QueryKind, QueryStatus, QuerySummary, StatementResult};
use crate::{ServerError, Session, StatementOutput};

/// ksqlDB's answer to a query sent to `/ksql`.
const USE_QUERY_ENDPOINT: &str = "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT";

pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let content_type = super::json_content_type(request.headers());
    let arguments = request::read_json_object(request, state.config.max_body_bytes).await?;
    let ksql = request::required_string(&arguments, "ksql")?;
    let session = state.session(
        request::string_map(&arguments, "streamsProperties")?,
        request::string_map(&arguments, "sessionVariables")?,
    );
    let shared = Arc::clone(&state);
    let entities = tokio::task::spawn_blocking(move || run_statements(&shared, &ksql, session))
        .await
        .unwrap_or_else(|failure| Err(ApiError::internal(failure)))?;
    let body = Value::Array(entities).to_string().into_bytes();
    Ok(json_response(StatusCode::OK, content_type, body))
}

/// Executes the statements of `ksql` in order; the entities, or the first error.
fn run_statements(
    state: &AppState,
    ksql: &str,
    mut session: Session,
) -> Result<Vec<Value>, ApiError> {
    let sql = substitute_variables(ksql, &session.variables);
    let statements = parser::parse_statements(&sql)
        .map_err(|failure| ApiError::from_server(&ServerError::Parse(failure), &sql, vec![]))?;
    let mut entities = Vec::new();
    for statement in &statements {
        match &statement.kind {
            StatementKind::Select(_) | StatementKind::SqlQuery(_) | StatementKind::Print(_) => {
                return Err(ApiError::statement(
                    error::QUERY_ENDPOINT,
                    USE_QUERY_ENDPOINT,
                    &statement.text,
                    entities,
                ));
            }
            StatementKind::RunScript { .. } => {
                return Err(ApiError::statement(
                    error::BAD_STATEMENT,
                    "RUN SCRIPT is not supported by the server: run the script's statements instead",
                    &statement.text,
                    entities,
                ));
            }
            _ => {}
        }
        if let StatementKind::Terminate(Terminate::Query(id)) = &statement.kind
            && let Some(push_id) = state.push_queries.close_ignoring_case(id)
        {
            // ksqlDB terminates push queries by id too, answering `terminate_query`.
            entities.push(json!({
                "@type": "terminate_query",
                "statementText": statement.text,
                "queryId": push_id,
                "wasTerminated": true,
                "warnings": [],
            }));
            continue;
        }
        match state.engine.execute(statement, &mut session) {
            Ok(StatementOutput::Completed(result)) => {
                entities.extend(entity(state, statement, result));
            }
            // Queries and PRINT were refused above; dropping their output stops them.
            Ok(StatementOutput::Rows(_) | StatementOutput::Lines(_)) => {}
            Err(failure) => {
                return Err(ApiError::from_server(&failure, &statement.text, entities));
            }
        }
    }
    Ok(entities)
}

/// The entity answering one executed statement, if ksqlDB answers one. A `currentStatus` is
/// also recorded for `/status`.
fn entity(state: &AppState, statement: &Statement, result: StatementResult) -> Option<Value> {
    let result =
        match result {
            StatementResult::Queries(mut queries) => {
                // The push queries running on this server follow the persistent ones.
                queries.extend(state.push_queries.list().into_iter().map(|(id, sql)| {
                    QuerySummary {
                        id,
                        kind: QueryKind::Push,
                        status: QueryStatus::Running,
                        sql,
                        sinks: Vec::new(),
                        sink_topics: Vec::new(),
                    }
                }));
                StatementResult::Queries(queries)
            }
            other => other,
        };
    entity::write_entity(&result, &statement.text, |message| {
        let command_id = command_id(&statement.kind);
        state
            .commands
            .lock()
            .expect("command map lock is never poisoned")
            .insert(command_id.clone(), ("SUCCESS".into(), message.to_string()));
        let sequence = state.command_sequence.fetch_add(1, Ordering::Relaxed);
        (command_id, sequence)
    })
}

/// ksqlDB's command id of a statement: `stream/`NAME`/create`, `table/NAME/drop`,
/// `terminate/CSAS_X_0/execute`, `type/NAME/create`, ...
fn command_id(kind: &StatementKind) -> String {
    let kind_word = |kind: SourceKind| match kind {
        SourceKind::Stream => "stream",
        SourceKind::Table => "table",
    };
    match kind {
        StatementKind::CreateSource(create) => {
            format!("{}/`{}`/create", kind_word(create.kind), create.name)
        }
        StatementKind::CreateAsSelect(create) => {
            format!("{}/`{}`/create", kind_word(create.kind), create.name)
        }
        StatementKind::InsertInto(insert) => format!("stream/`{}`/create", insert.target),
        StatementKind::DropSource(drop) => format!("{}/{}/drop", kind_word(drop.kind), drop.name),
        StatementKind::Terminate(Terminate::Query(id)) => {
            format!("terminate/{}/execute", id.to_uppercase())
        }
        StatementKind::Terminate(Terminate::All) => "terminate/ALL/execute".into(),
        StatementKind::CreateType { name, .. } => format!("type/{name}/create"),
        StatementKind::DropType { name, .. } => format!("type/{name}/drop"),
        StatementKind::AlterSource(alter) => {
            format!("{}/{}/alter", kind_word(alter.kind), alter.name)
        }
        _ => "cluster/statement/execute".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_ids_follow_ksqldb() {
        let cases = [
            (
                "CREATE STREAM s (id INT) WITH (kafka_topic='t', value_format='JSON');",
                "stream/`S`/create",
            ),
            ("CREATE TABLE t AS SELECT * FROM s;", "table/`T`/create"),
            ("INSERT INTO s SELECT * FROM u;", "stream/`S`/create"),
            ("DROP TABLE t;", "table/T/drop"),
            ("TERMINATE csas_s_0;", "terminate/CSAS_S_0/execute"),
            ("TERMINATE ALL;", "terminate/ALL/execute"),
            (
                "CREATE TYPE address AS STRUCT<a INT>;",
                "type/ADDRESS/create",
            ),
            ("DROP TYPE address;", "type/ADDRESS/drop"),
        ];
        for (sql, expected) in cases {
            let statements = parser::parse_statements(sql).expect(sql);
            assert_eq!(command_id(&statements[0].kind), expected, "{sql}");
        }
    }
}
