//! Running one statement for a Postgres client, as `/ksql` and `/query` run it: queries
//! stream through [`QueryRows`] (push queries are listed with the REST API's), other
//! statements run on the blocking pool in the connection's session, and what they find
//! becomes a result set.
//!
//! What Postgres drivers send on their own (`BEGIN`, `SET extra_float_digits = 3`,
//! `SHOW server_version`, `SELECT version()`) is answered here without the engine.

use std::sync::{Arc, Mutex};

use parser::ast::{SourceKind, Statement, StatementKind, Terminate};
use pgwire::error::{ErrorInfo, PgWireError};

use super::values::{Column, PgKind};
use crate::engine::substitute_variables;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::query::{self, Prepared, QueryRows};
use crate::result::{QueryKind, QueryStatus, QuerySummary, StatementResult};
use crate::{ServerError, Session, StatementOutput};

/// The session of one connection (`SET`, `DEFINE`), kept in its extensions.
#[derive(Default)]
pub(crate) struct ConnectionSession(pub(crate) Mutex<Session>);

impl ConnectionSession {
    pub(crate) fn snapshot(&self) -> Session {
        self.0
            .lock()
            .expect("session lock is never poisoned")
            .clone()
    }
}

/// What one statement answers.
pub(crate) enum Outcome {
    /// A statement without rows: its command tag, and the engine's message about it.
    Command {
        tag: String,
        notice: Option<String>,
    },
    /// `BEGIN` (true) or `COMMIT`/`ROLLBACK` (false): accepted and ignored.
    Transaction {
        tag: &'static str,
        begins: bool,
    },
    Rows(RowSet),
}

/// Rows with their columns.
pub(crate) struct RowSet {
    pub(crate) columns: Vec<Column>,
    pub(crate) rows: Rows,
    /// Said before the rows (the id of a push query).
    pub(crate) notice: Option<String>,
}

pub(crate) enum Rows {
    /// A small result known in full (SHOW, DESCRIBE), as text.
    Table(Vec<Vec<Option<String>>>),
    /// A running query.
    Query(Box<QueryRows>, bool),
}

/// One statement of a request: the engine's, or one a driver sent that Eddy answers itself.
pub(crate) enum Step {
    Client(ClientStatement),
    Statement(Box<Statement>),
}

/// Postgres statements drivers send, answered without the engine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClientStatement {
    Begin,
    Commit,
    Rollback,
    /// `SET name = value` (Postgres form), `RESET`, `DISCARD`, `DEALLOCATE`: the tag.
    Ignored(String),
    /// `SHOW name` of a Postgres setting.
    Setting(String),
    /// `SELECT version()`.
    Version,
}

/// The statements of `sql`, in order.
pub(crate) fn steps(sql: &str, session: &Session) -> Result<Vec<Step>, PgWireError> {
    if let Some(statement) = client_statement(sql) {
        return Ok(vec![Step::Client(statement)]);
    }
    let text = substitute_variables(sql, &session.variables);
    let statements = parser::parse_statements(&text)
        .map_err(|failure| server_error(&ServerError::Parse(failure)))?;
    Ok(statements
        .into_iter()
        .map(|statement| Step::Statement(Box::new(statement)))
        .collect())
}

/// Runs one step in the connection's session.
pub(crate) async fn run(
    state: &Arc<AppState>,
    session: &Arc<ConnectionSession>,
    step: Step,
) -> Result<Outcome, PgWireError> {
    let statement = match step {
        Step::Client(statement) => return answer_client(&statement),
        Step::Statement(statement) => *statement,
    };
    match &statement.kind {
        StatementKind::Select(_) | StatementKind::SqlQuery(_) => {
            let prepared = query::prepare(state, statement.text.clone(), session.snapshot(), false)
                .await
                .map_err(|failure| api_error(&failure))?;
            match prepared {
                Prepared::Rows(prepared) => Ok(Outcome::Rows(query_rows(state, prepared))),
                Prepared::Lines(lines) => {
                    query::dispose_lines(lines);
                    Err(user_error("42601", "PRINT is not a query"))
                }
            }
        }
        StatementKind::Print(_) => Err(user_error(
            "0A000",
            "PRINT is not supported over the Postgres protocol: use the REST API or the eddy REPL",
        )),
        StatementKind::RunScript { .. } => Err(user_error(
            "0A000",
            "RUN SCRIPT is not supported by the server: run the script's statements instead",
        )),
        StatementKind::Terminate(Terminate::Query(id))
            if state.push_queries.close_ignoring_case(id).is_some() =>
        {
            Ok(Outcome::Command {
                tag: "TERMINATE".into(),
                notice: Some("Query terminated.".into()),
            })
        }
        _ => {
            let shared = Arc::clone(state);
            let session = Arc::clone(session);
            tokio::task::spawn_blocking(move || {
                let output = {
                    let mut session = session.0.lock().expect("session lock is never poisoned");
                    shared.engine.execute(&statement, &mut session)
                };
                match output {
                    Ok(StatementOutput::Completed(result)) => {
                        Ok(completed(&shared, &statement, result))
                    }
                    // Only queries and PRINT stream, and they were handled above.
                    Ok(StatementOutput::Rows(_) | StatementOutput::Lines(_)) => {
                        Ok(Outcome::Command {
                            tag: tag(&statement.kind),
                            notice: None,
                        })
                    }
                    Err(failure) => Err(server_error(&failure)),
                }
            })
            .await
            .unwrap_or_else(|failure| Err(internal_error(failure)))
        }
    }
}

/// The columns a step answers, without running anything that changes state: queries are
/// planned, SHOW/DESCRIBE/EXPLAIN (which only read) are run; other statements answer no rows.
pub(crate) async fn describe(
    state: &Arc<AppState>,
    session: &Arc<ConnectionSession>,
    sql: &str,
) -> Result<Vec<Column>, PgWireError> {
    let session_now = session.snapshot();
    let mut steps = steps(sql, &session_now)?;
    if steps.len() != 1 {
        return Ok(Vec::new());
    }
    let step = steps.remove(0);
    let reads_only = match &step {
        Step::Client(ClientStatement::Setting(_) | ClientStatement::Version) => true,
        Step::Client(_) => false,
        Step::Statement(statement) => match &statement.kind {
            StatementKind::Select(_) | StatementKind::SqlQuery(_) => {
                let planned = state
                    .engine
                    .plan_select(statement, &session_now)
                    .map_err(|failure| server_error(&failure))?;
                return Ok(planned
                    .columns()
                    .into_iter()
                    .map(|column| Column::new(column.name, PgKind::of(&column.type_name)))
                    .collect());
            }
            StatementKind::Show(_) | StatementKind::Describe(_) | StatementKind::Explain(_) => true,
            _ => false,
        },
    };
    if !reads_only {
        return Ok(Vec::new());
    }
    match run(state, session, step).await? {
        Outcome::Rows(rows) => Ok(rows.columns),
        _ => Ok(Vec::new()),
    }
}

/// The rows of a started query; a push query is listed for `SHOW QUERIES`, `TERMINATE` and
/// `/close-query` until its rows are dropped.
fn query_rows(state: &Arc<AppState>, prepared: query::PreparedQuery) -> RowSet {
    let query::PreparedQuery {
        sql,
        source,
        stream,
    } = prepared;
    let is_pull = stream.is_pull;
    let columns = stream
        .columns
        .iter()
        .map(|column| Column::new(column.name.clone(), PgKind::of(&column.type_name)))
        .collect();
    let query_id = state
        .push_queries
        .new_id(&source, is_pull, stream.scalable_push);
    let notice = (!is_pull).then(|| format!("push query {query_id}"));
    let push = (!is_pull).then(|| state.push_queries.register(query_id, sql));
    let rows = QueryRows::new(stream, push, state.shutdown.clone());
    RowSet {
        columns,
        rows: Rows::Query(Box::new(rows), is_pull),
        notice,
    }
}

/// The outcome of a statement that ran to completion.
fn completed(state: &AppState, statement: &Statement, result: StatementResult) -> Outcome {
    let command = |notice: Option<String>| Outcome::Command {
        tag: tag(&statement.kind),
        notice,
    };
    match result {
        StatementResult::Status(message) | StatementResult::Warning(message) => {
            command(Some(message))
        }
        StatementResult::QueryCreated { query_id, warnings } => {
            let mut message = StatementResult::query_created_message(&query_id);
            for warning in warnings {
                message.push('\n');
                message.push_str(&warning);
            }
            command(Some(message))
        }
        StatementResult::RowInserted
        | StatementResult::PropertySet { .. }
        | StatementResult::PropertyUnset { .. }
        | StatementResult::VariableDefined { .. }
        | StatementResult::VariableUndefined { .. } => command(None),
        StatementResult::Queries(mut queries) => {
            // The push queries running on this server follow the persistent ones, as in
            // `/ksql`.
            queries.extend(
                state
                    .push_queries
                    .list()
                    .into_iter()
                    .map(|(id, sql)| QuerySummary {
                        id,
                        kind: QueryKind::Push,
                        status: QueryStatus::Running,
                        sql,
                        sinks: Vec::new(),
                        sink_topics: Vec::new(),
                    }),
            );
            Outcome::Rows(super::values::result_rows(StatementResult::Queries(
                queries,
            )))
        }
        other => Outcome::Rows(super::values::result_rows(other)),
    }
}

/// The command tag of a statement without rows, in Postgres's style (`CREATE STREAM`,
/// `INSERT 0 1`).
fn tag(kind: &StatementKind) -> String {
    let kind_word = |kind: SourceKind| match kind {
        SourceKind::Stream => "STREAM",
        SourceKind::Table => "TABLE",
    };
    match kind {
        StatementKind::CreateSource(create) => format!("CREATE {}", kind_word(create.kind)),
        StatementKind::CreateAsSelect(create) => format!("CREATE {}", kind_word(create.kind)),
        StatementKind::InsertInto(_) => "INSERT 0 0".into(),
        StatementKind::InsertValues(_) => "INSERT 0 1".into(),
        StatementKind::DropSource(drop) => format!("DROP {}", kind_word(drop.kind)),
        StatementKind::AlterSource(alter) => format!("ALTER {}", kind_word(alter.kind)),
        StatementKind::Terminate(_) => "TERMINATE".into(),
        StatementKind::SetProperty { .. } => "SET".into(),
        StatementKind::UnsetProperty { .. } => "UNSET".into(),
        StatementKind::DefineVariable { .. } => "DEFINE".into(),
        StatementKind::UndefineVariable { .. } => "UNDEFINE".into(),
        StatementKind::CreateType { .. } => "CREATE TYPE".into(),
        StatementKind::DropType { .. } => "DROP TYPE".into(),
        StatementKind::Assert(_) => "ASSERT".into(),
        StatementKind::Select(_) | StatementKind::SqlQuery(_) => "SELECT".into(),
        StatementKind::Show(_) => "SHOW".into(),
        StatementKind::Describe(_) => "DESCRIBE".into(),
        StatementKind::Explain(_) => "EXPLAIN".into(),
        StatementKind::Print(_) => "PRINT".into(),
        StatementKind::RunScript { .. } => "RUN SCRIPT".into(),
    }
}

/// Whether `SHOW word` is a ksqlDB statement: the words Eddy's grammar knows, and
/// ksqlDB's `CONNECTORS` (which Eddy's parser refuses with its own error); any other
/// `SHOW name` asks for a Postgres setting.
fn is_ksql_show(word: &str) -> bool {
    parser::SHOW_WORDS.contains(&word) || word == "CONNECTORS"
}

/// `sql` as a statement a Postgres driver sends on its own, if it is one.
pub(crate) fn client_statement(sql: &str) -> Option<ClientStatement> {
    let text = sql.trim().trim_end_matches(';').trim();
    let words: Vec<String> = text
        .split_whitespace()
        .map(|word| word.to_ascii_uppercase())
        .collect();
    let first = words.first()?.as_str();
    let second = words.get(1).map(String::as_str);
    match first {
        "BEGIN" | "START" if first == "BEGIN" || second == Some("TRANSACTION") => {
            Some(ClientStatement::Begin)
        }
        "COMMIT" | "END" => Some(ClientStatement::Commit),
        "ROLLBACK" | "ABORT" => Some(ClientStatement::Rollback),
        "RESET" | "DISCARD" | "DEALLOCATE" => Some(ClientStatement::Ignored(first.to_string())),
        // ksqlDB's SET names its property in quotes: `SET 'auto.offset.reset'='earliest'`.
        "SET" => {
            let rest = text[3..].trim_start();
            (!rest.starts_with('\'')).then(|| ClientStatement::Ignored("SET".into()))
        }
        "SHOW" if words.len() == 2 => {
            let name = second?;
            (!is_ksql_show(name)).then(|| ClientStatement::Setting(text[4..].trim().to_string()))
        }
        "SELECT" => {
            let compact: String = text[6..]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            (compact == "version()" || compact == "pg_catalog.version()")
                .then_some(ClientStatement::Version)
        }
        _ => None,
    }
}

fn answer_client(statement: &ClientStatement) -> Result<Outcome, PgWireError> {
    let single = |name: &str, value: String| {
        Outcome::Rows(RowSet {
            columns: vec![Column::new(name.to_string(), PgKind::Text)],
            rows: Rows::Table(vec![vec![Some(value)]]),
            notice: None,
        })
    };
    Ok(match statement {
        ClientStatement::Begin => Outcome::Transaction {
            tag: "BEGIN",
            begins: true,
        },
        ClientStatement::Commit => Outcome::Transaction {
            tag: "COMMIT",
            begins: false,
        },
        ClientStatement::Rollback => Outcome::Transaction {
            tag: "ROLLBACK",
            begins: false,
        },
        ClientStatement::Ignored(tag) => Outcome::Command {
            tag: tag.clone(),
            notice: None,
        },
        ClientStatement::Version => single(
            "version",
            format!(
                "PostgreSQL {} (Eddy {}, ksqlDB dialect)",
                super::SERVER_VERSION,
                env!("CARGO_PKG_VERSION")
            ),
        ),
        ClientStatement::Setting(name) => {
            let value = setting(name).ok_or_else(|| {
                user_error(
                    "42704",
                    format!("unrecognized configuration parameter \"{name}\""),
                )
            })?;
            single(&name.to_ascii_lowercase(), value.to_string())
        }
    })
}

/// The Postgres settings drivers ask for.
fn setting(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "server_version" => super::SERVER_VERSION,
        "server_version_num" => "140000",
        "server_encoding" | "client_encoding" => "UTF8",
        "standard_conforming_strings" | "integer_datetimes" | "is_superuser" => "on",
        "default_transaction_read_only" | "transaction_read_only" => "off",
        "datestyle" => "ISO, MDY",
        "timezone" => "UTC",
        "intervalstyle" => "postgres",
        "transaction_isolation" | "default_transaction_isolation" => "read committed",
        "search_path" => "public",
        "max_identifier_length" => "63",
        _ => return None,
    })
}

/// A Postgres error: `code` is its SQLSTATE.
pub(crate) fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message.into(),
    )))
}

/// An engine error with the REST API's message: syntax errors are `42601`, other mistakes
/// `42000`, failures of the server `XX000`.
pub(crate) fn server_error(error: &ServerError) -> PgWireError {
    let code = match error {
        ServerError::Parse(_) => "42601",
        ServerError::Plan(_)
        | ServerError::User(_)
        | ServerError::SchemaRegistry { .. }
        | ServerError::Exec(executor::ExecError::User(_) | executor::ExecError::Format(_)) => {
            "42000"
        }
        ServerError::Exec(_) | ServerError::Internal(_) => "XX000",
    };
    user_error(code, executor::error_chain(error))
}

/// A REST API error as a Postgres one: its message, `42000` for 4xx codes, `XX000` else.
fn api_error(error: &ApiError) -> PgWireError {
    let body = error.body();
    let message = body["message"].as_str().unwrap_or("error").to_string();
    let code = match body["error_code"].as_u64() {
        Some(code) if code < 50000 => "42000",
        _ => "XX000",
    };
    user_error(code, message)
}

fn internal_error(failure: impl std::fmt::Display) -> PgWireError {
    tracing::error!("a Postgres statement failed: {failure}");
    user_error(
        "XX000",
        "The server encountered an internal error when processing the query. Please consult the server logs for more information.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_statements_are_recognized() {
        let cases = [
            ("BEGIN", Some(ClientStatement::Begin)),
            ("begin;", Some(ClientStatement::Begin)),
            (
                "START TRANSACTION ISOLATION LEVEL READ COMMITTED",
                Some(ClientStatement::Begin),
            ),
            ("COMMIT", Some(ClientStatement::Commit)),
            ("ROLLBACK", Some(ClientStatement::Rollback)),
            (
                "SET extra_float_digits = 3",
                Some(ClientStatement::Ignored("SET".into())),
            ),
            ("SET 'auto.offset.reset' = 'earliest';", None),
            (
                "SHOW server_version",
                Some(ClientStatement::Setting("server_version".into())),
            ),
            ("SHOW STREAMS;", None),
            ("SHOW ALL TOPICS;", None),
            ("select version()", Some(ClientStatement::Version)),
            ("SELECT * FROM t;", None),
            ("START", None),
            ("", None),
        ];
        for (sql, expected) in cases {
            assert_eq!(client_statement(sql), expected, "{sql}");
        }
    }

    #[test]
    fn unknown_settings_fail_like_postgres() {
        let Err(PgWireError::UserError(info)) =
            answer_client(&ClientStatement::Setting("nope".into()))
        else {
            panic!("expected an error");
        };
        assert_eq!(info.code, "42704");
        assert!(answer_client(&ClientStatement::Setting("TimeZone".into())).is_ok());
    }
}
