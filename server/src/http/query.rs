//! `POST /query`: runs one `SELECT` (or `PRINT`) and streams its results back as ksqlDB's
//! JSON array of header, rows and final message (a pull query's rows as protobuf messages
//! with `Accept: application/vnd.ksql.v1+protobuf`). Shared with `/query-stream`: preparing a
//! query and streaming a [`QueryRows`] in a [`RowFormat`].
//!
//! # Push queries stream independently
//!
//! Each query has its own bounded channel between its thread and its response
//! ([`crate::RowStream`]), and the response pulls a batch only when the connection has
//! taken the previous one. A slow client therefore fills its own channel and pauses its
//! own query thread; other queries and connections are unaffected. When a client goes
//! away, the connection drops the response body, which drops the [`QueryRows`]: the
//! channel closes, the query thread stops, and it is joined on the blocking pool. A push
//! query also ends on `/close-query` and when the server stops; a pull query ends by
//! itself once it has read its table.

mod format;
mod rows;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parser::ast::{Relation, Statement, StatementKind};

pub(crate) use self::format::{QueryMetadata, RowFormat};
pub(crate) use self::rows::{Ending, Next, PushQueries, QueryRows, dispose_lines};
use super::error::{self, ApiError};
use super::metrics::ServerMetrics;
use super::{AppState, request};
use crate::client::KSQL_V1_PROTOBUF;
use crate::engine::substitute_variables;
use crate::{LineStream, ServerError, Session, StatementOutput};

pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let content_type = super::json_content_type(request.headers());
    let protobuf = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(KSQL_V1_PROTOBUF));
    let arguments = request::read_json_object(request, state.config.max_body_bytes).await?;
    let sql = request::required_string(&arguments, "ksql")?;
    let session = state.session(
        request::string_map(&arguments, "streamsProperties")?,
        request::string_map(&arguments, "sessionVariables")?,
    );
    match prepare(&state, sql, session, true).await? {
        // Rows as protobuf messages are for pull queries (as in ksqlDB).
        Prepared::Rows(query) if protobuf && query.stream.is_pull => Ok(respond(
            &state,
            query,
            RowFormat::StreamedProtobuf,
            KSQL_V1_PROTOBUF,
            started,
        )
        .await),
        Prepared::Rows(query) => {
            Ok(respond(&state, query, RowFormat::Streamed, content_type, started).await)
        }
        Prepared::Lines(lines) => Ok(print_response(&state, lines, content_type)),
    }
}

/// A query ready to stream.
pub(crate) enum Prepared {
    Rows(PreparedQuery),
    Lines(LineStream),
}

pub(crate) struct PreparedQuery {
    pub(crate) sql: String,
    /// The first source the query reads, for its id.
    pub(crate) source: String,
    pub(crate) stream: crate::RowStream,
}

/// Parses and starts the one query of `sql`. `allow_print` admits `PRINT` (only `/query`
/// streams it).
///
/// A SELECT is planned here. A pull query that only looks up keys is also answered here:
/// that takes far less than handing it to the blocking pool and back (tens of
/// microseconds). Every other query starts on the blocking pool, so that a long one (a table
/// scan) blocks no connection.
pub(crate) async fn prepare(
    state: &Arc<AppState>,
    sql: String,
    mut session: Session,
    allow_print: bool,
) -> Result<Prepared, ApiError> {
    let engine = Arc::clone(&state.engine);
    let (statement, source) = parse_query(&sql, &session, allow_print)?;
    let planned = match &statement.kind {
        StatementKind::Select(_) => {
            let planned = engine
                .plan_select(&statement, &session)
                .map_err(|failure| ApiError::from_server(&failure, &statement.text, vec![]))?;
            if planned.is_key_lookup() {
                let output = engine.run_select(planned, &session);
                return prepared(output, &statement, source);
            }
            Some(planned)
        }
        _ => None,
    };
    tokio::task::spawn_blocking(move || {
        let output = match planned {
            Some(planned) => engine.run_select(planned, &session),
            None => engine.execute(&statement, &mut session),
        };
        prepared(output, &statement, source)
    })
    .await
    .unwrap_or_else(|failure| Err(ApiError::internal(failure)))
}

/// The one statement of `sql` if it is a query (`PRINT` only with `allow_print`), and the
/// first source it reads (for its id).
fn parse_query(
    sql: &str,
    session: &Session,
    allow_print: bool,
) -> Result<(Statement, String), ApiError> {
    let text = substitute_variables(sql, &session.variables);
    let mut statements = parser::parse_statements(&text)
        .map_err(|failure| ApiError::from_server(&ServerError::Parse(failure), &text, vec![]))?;
    if statements.len() != 1 {
        return Err(ApiError::statement(
            error::BAD_STATEMENT,
            format!(
                "Expected exactly one KSQL statement; found {} instead",
                statements.len()
            ),
            &text,
            vec![],
        ));
    }
    let statement = statements.remove(0);
    let source = match &statement.kind {
        StatementKind::Select(query) => first_source(&query.from).to_string(),
        // Beyond ksqlDB's grammar: always a pull query, whose id names no source.
        StatementKind::SqlQuery(_) => String::new(),
        StatementKind::Print(print) if allow_print => print.topic.clone(),
        _ => {
            return Err(ApiError::statement(
                error::BAD_STATEMENT,
                "The following statement types should be issued to the '/ksql' endpoint: every statement except SELECT and PRINT",
                &statement.text,
                vec![],
            ));
        }
    };
    Ok((statement, source))
}

/// What a started query streams back, or its error as the API reports it.
fn prepared(
    output: crate::Result<StatementOutput>,
    statement: &Statement,
    source: String,
) -> Result<Prepared, ApiError> {
    match output {
        Ok(StatementOutput::Rows(stream)) => Ok(Prepared::Rows(PreparedQuery {
            sql: statement.text.clone(),
            source,
            stream,
        })),
        Ok(StatementOutput::Lines(lines)) => Ok(Prepared::Lines(lines)),
        Ok(_) => Err(ApiError::internal("a query returned no rows")),
        Err(failure) => Err(ApiError::from_server(&failure, &statement.text, vec![])),
    }
}

fn first_source(relation: &Relation) -> &str {
    match relation {
        Relation::Source { name, .. } => name,
        Relation::Join(join) => first_source(&join.left),
    }
}

/// Streams a started query in `format`. Push queries are registered for `/close-query`.
///
/// As ksqlDB does, the header, each row and the end are written one at a time: each is its
/// own DATA frame over HTTP/2 and its own chunk over HTTP/1.1, so that clients that parse
/// each frame as one JSON value (several third-party ksqlDB clients do) read every row of a
/// backlog, not only the first of a frame.
pub(crate) async fn respond(
    state: &Arc<AppState>,
    query: PreparedQuery,
    format: RowFormat,
    content_type: &'static str,
    started: Instant,
) -> Response {
    let PreparedQuery {
        sql,
        source,
        stream,
    } = query;
    let is_pull = stream.is_pull;
    let final_message = stream.final_message;
    let columns = stream.columns.clone();
    let query_id = state
        .push_queries
        .new_id(&source, is_pull, stream.scalable_push);
    let push = (!is_pull).then(|| {
        state.server_metrics.push_query_started();
        state.push_queries.register(query_id.clone(), sql)
    });
    let rows = QueryRows::new(stream, push, state.shutdown.clone());
    let mut start = Vec::with_capacity(1024);
    format.write_start(
        &QueryMetadata {
            query_id: &query_id,
            columns: &columns,
            is_pull,
        },
        &mut start,
    );
    let body = RowBody {
        rows,
        format,
        is_pull,
        final_message,
        pending: VecDeque::from([Bytes::from(start)]),
        done: false,
        served: is_pull.then(|| (Arc::clone(&state.server_metrics), started)),
    };
    body_response(content_type, Body::from_stream(body.into_stream()))
}

/// The state of a streamed response body.
struct RowBody {
    rows: QueryRows,
    format: RowFormat,
    is_pull: bool,
    final_message: Option<&'static str>,
    /// Writes to send before reading more rows: one element (header, row or end) each.
    pending: VecDeque<Bytes>,
    done: bool,
    /// For a pull query: where its latency is recorded once its end is written, and when
    /// its request arrived.
    served: Option<(Arc<ServerMetrics>, Instant)>,
}

impl RowBody {
    fn into_stream(self) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send {
        futures_util::stream::unfold(self, |mut body| async move {
            let chunk = body.next_chunk().await?;
            Some((Ok(chunk), body))
        })
    }

    /// The next element to write, or None once the end has been sent.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(chunk);
            }
            if self.done {
                return None;
            }
            let mut out = Vec::new();
            let mut ends = Vec::new();
            match self.rows.next().await {
                Next::Batch(batch) => {
                    self.format
                        .write_batch(&batch, self.is_pull, &mut out, &mut ends)
                }
                Next::End(ending) => {
                    self.format
                        .write_end(&ending, self.final_message, self.is_pull, &mut out);
                    ends.push(out.len());
                    self.done = true;
                    if let Some((metrics, started)) = self.served.take() {
                        metrics.pull_query_served(started.elapsed());
                    }
                }
            }
            let out = Bytes::from(out);
            let mut from = 0;
            for end in ends {
                if end > from {
                    self.pending.push_back(out.slice(from..end));
                }
                from = end;
            }
        }
    }
}

/// Streams PRINT lines, one per record, until the topic printing ends or the server stops.
fn print_response(state: &AppState, lines: LineStream, content_type: &'static str) -> Response {
    struct Lines {
        stream: Option<LineStream>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    }
    impl Drop for Lines {
        fn drop(&mut self) {
            if let Some(stream) = self.stream.take() {
                dispose_lines(stream);
            }
        }
    }
    let lines = Lines {
        stream: Some(lines),
        shutdown: state.shutdown.clone(),
    };
    let stream = futures_util::stream::unfold(lines, |mut lines| async move {
        let shutdown = lines.shutdown.clone();
        let line = tokio::select! {
            line = lines.stream.as_mut()?.receiver.recv() => line?,
            () = super::shutdown_requested(shutdown) => return None,
        };
        let mut chunk = line.into_bytes();
        chunk.push(b'\n');
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), lines))
    });
    body_response(content_type, Body::from_stream(stream))
}

fn body_response(content_type: &'static str, body: Body) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
