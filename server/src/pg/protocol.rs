//! The simple (`Query`) and extended (`Parse`/`Bind`/`Describe`/`Execute`/`Sync`) query
//! protocols.
//!
//! Rows of a query go out as they arrive: each batch is flushed, so a push query streams.
//! A push query ends at its LIMIT, on a CancelRequest (psql's Ctrl-C, psycopg's
//! `conn.cancel()`), or when the connection closes: a push query with no new rows sends a
//! harmless `ParameterStatus` every second, so a closed connection is noticed. Its rows are
//! dropped then, which stops the query in the engine.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::{Sink, SinkExt};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionHandle, DEFAULT_NAME, PgWireConnectionState, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{DataRow, RowDescription};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;

use super::execute::{self, ConnectionSession, Outcome, RowSet, Rows};
use super::parameters;
use super::values::{self, Column};
use crate::http::AppState;
use crate::http::query::{Ending, Next};

/// How long a push query waits without rows before checking that its client is still there.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Answers queries of every connection.
pub(crate) struct QueryHandler {
    state: Arc<AppState>,
    parser: Arc<StatementParser>,
}

impl QueryHandler {
    pub(crate) fn new(state: Arc<AppState>) -> Self {
        Self {
            state,
            parser: Arc::new(StatementParser),
        }
    }

    /// The session of `client`'s connection.
    fn session<C: ClientInfo>(&self, client: &C) -> Arc<ConnectionSession> {
        client.session_extensions().get_or_insert_with(|| {
            ConnectionSession(Mutex::new(
                self.state.session(Default::default(), Default::default()),
            ))
        })
    }
}

/// A statement prepared with `Parse`: its text, with `$n` placeholders.
#[derive(Debug, Clone)]
pub(crate) struct PreparedStatement {
    sql: String,
    parameters: usize,
}

/// Prepares statements; they are parsed when they run, once their parameters are bound.
pub(crate) struct StatementParser;

#[async_trait]
impl QueryParser for StatementParser {
    type Statement = PreparedStatement;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<PreparedStatement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        Ok(Some(PreparedStatement {
            sql: sql.to_string(),
            parameters: parameters::count(sql),
        }))
    }

    fn get_parameter_types(&self, statement: &PreparedStatement) -> PgWireResult<Vec<Type>> {
        Ok(vec![Type::UNKNOWN; statement.parameters])
    }

    fn get_result_schema(
        &self,
        _statement: &PreparedStatement,
        _column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        // Described by the handler, which knows the engine.
        Ok(Vec::new())
    }
}

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let session = self.session(client);
        let steps = execute::steps(&query.query, &session.snapshot())?;
        if steps.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        }
        for step in steps {
            let outcome = execute::run(&self.state, &session, step).await?;
            send_outcome(client, outcome, true, &|_| FieldFormat::Text).await?;
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let status = client.transaction_status();
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(internal("simple queries are answered by on_query"))
    }
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = PreparedStatement;
    type QueryParser = StatementParser;

    fn query_parser(&self) -> Arc<StatementParser> {
        Arc::clone(&self.parser)
    }

    async fn on_execute<C>(
        &self,
        client: &mut C,
        message: pgwire::messages::extendedquery::Execute,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let portal_name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(portal_name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(portal_name.to_owned())),
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        let sql = bound_sql(&portal)?;
        let session = self.session(client);
        let mut steps = execute::steps(&sql, &session.snapshot())?;
        match steps.len() {
            0 => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
            }
            1 => {
                let outcome = execute::run(&self.state, &session, steps.remove(0)).await?;
                let formats = portal.result_column_format.clone();
                send_outcome(client, outcome, false, &|index| format_of(&formats, index)).await?;
            }
            _ => {
                return Err(execute::user_error(
                    "42601",
                    "cannot insert multiple commands into a prepared statement",
                ));
            }
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<PreparedStatement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement = &target.statement;
        let types = (0..statement.parameters)
            .map(|index| {
                target
                    .parameter_types
                    .get(index)
                    .cloned()
                    .flatten()
                    .unwrap_or(Type::UNKNOWN)
            })
            .collect();
        // Before Bind the values are unknown: NULLs stand in for them. A statement that
        // cannot be described so says it answers no rows; Execute reports its error.
        let nulls = vec!["NULL".to_string(); statement.parameters];
        let session = self.session(client);
        let columns = match parameters::substitute(&statement.sql, &nulls) {
            Ok(sql) => execute::describe(&self.state, &session, &sql)
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Ok(DescribeStatementResponse::new(
            types,
            values::fields(&columns, |_| FieldFormat::Text),
        ))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<PreparedStatement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let sql = bound_sql(portal)?;
        let session = self.session(client);
        let columns = execute::describe(&self.state, &session, &sql).await?;
        let formats = &portal.result_column_format;
        Ok(DescribePortalResponse::new(values::fields(
            &columns,
            |index| format_of(formats, index),
        )))
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<PreparedStatement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(internal("portals are executed by on_execute"))
    }
}

/// The text of a bound portal: its statement with the parameters as literals.
fn bound_sql(portal: &Portal<PreparedStatement>) -> PgWireResult<String> {
    let statement = &portal.statement;
    let literals = portal
        .parameters
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let pg_type = statement
                .parameter_types
                .get(index)
                .cloned()
                .flatten()
                .unwrap_or(Type::UNKNOWN);
            parameters::literal(
                value.as_ref(),
                &pg_type,
                format_of(&portal.parameter_format, index),
            )
        })
        .collect::<Result<Vec<String>, String>>()
        .map_err(|message| execute::user_error("22023", message))?;
    parameters::substitute(&statement.statement.sql, &literals)
        .map_err(|message| execute::user_error("08P01", message))
}

/// The format of column (or parameter) `index`; columns the client named no format for are
/// text.
fn format_of(format: &Format, index: usize) -> FieldFormat {
    match format {
        Format::Individual(codes) => codes
            .get(index)
            .map_or(FieldFormat::Text, |code| FieldFormat::from(*code)),
        unified => unified.format_for(index),
    }
}

/// Sends what a statement answered: the row description (in the simple protocol), the
/// rows, and the command tag.
async fn send_outcome<C>(
    client: &mut C,
    outcome: Outcome,
    describe: bool,
    format: &(dyn Fn(usize) -> FieldFormat + Sync),
) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match outcome {
        Outcome::Command { tag, notice } => {
            if let Some(notice) = notice {
                send_notice(client, notice).await?;
            }
            client
                .feed(PgWireBackendMessage::CommandComplete(command_complete(
                    &tag,
                )))
                .await?;
        }
        Outcome::Transaction { tag, begins } => {
            let status = client.transaction_status();
            client.set_transaction_status(if begins {
                status.to_in_transaction_state()
            } else {
                TransactionStatus::Idle
            });
            client
                .feed(PgWireBackendMessage::CommandComplete(command_complete(tag)))
                .await?;
        }
        Outcome::Rows(rows) => send_rows(client, rows, describe, format).await?,
    }
    Ok(())
}

async fn send_notice<C>(client: &mut C, message: String) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let info = ErrorInfo::new("NOTICE".into(), "00000".into(), message);
    client
        .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(
            info,
        )))
        .await?;
    Ok(())
}

fn command_complete(tag: &str) -> CommandComplete {
    Tag::new(tag).into()
}

async fn send_rows<C>(
    client: &mut C,
    rows: RowSet,
    describe: bool,
    format: &(dyn Fn(usize) -> FieldFormat + Sync),
) -> PgWireResult<()>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let RowSet {
        columns,
        rows,
        notice,
    } = rows;
    if let Some(notice) = notice {
        send_notice(client, notice).await?;
    }
    if describe {
        let fields = values::fields(&columns, format);
        let description = RowDescription::new(fields.iter().map(Into::into).collect());
        client
            .feed(PgWireBackendMessage::RowDescription(description))
            .await?;
    }
    let encode_error = |message: String| execute::user_error("22P03", message);
    let mut count = 0usize;
    match rows {
        Rows::Table(table) => {
            for row in table {
                let mut data = BytesMut::new();
                for (index, (value, column)) in row.iter().zip(&columns).enumerate() {
                    values::encode_text_field(
                        column.kind,
                        format(index),
                        value.as_deref(),
                        &mut data,
                    )
                    .map_err(encode_error)?;
                }
                client
                    .feed(PgWireBackendMessage::DataRow(data_row(data, columns.len())))
                    .await?;
                count += 1;
            }
        }
        Rows::Query(mut query, is_pull) => {
            let mut cancel = cancel_signal(client).await;
            let mut heartbeat =
                tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
            loop {
                let next = tokio::select! {
                    next = query.next() => next,
                    () = &mut cancel => return Err(PgWireError::QueryCanceled),
                    _ = heartbeat.tick(), if !is_pull => {
                        client
                            .send(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                                "is_superuser".into(),
                                "on".into(),
                            )))
                            .await?;
                        continue;
                    }
                };
                match next {
                    Next::Batch(batch) => {
                        count += send_batch(client, &batch, &columns, format).await.map_err(
                            |failure| match failure {
                                SendError::Encode(message) => encode_error(message),
                                SendError::Wire(error) => error,
                            },
                        )?;
                        if !is_pull {
                            client.flush().await?;
                            heartbeat.reset();
                        }
                    }
                    Next::End(Ending::Failed(message)) => {
                        return Err(execute::user_error("XX000", message));
                    }
                    Next::End(Ending::Completed | Ending::Closed) => break,
                }
            }
        }
    }
    client
        .feed(PgWireBackendMessage::CommandComplete(
            Tag::new("SELECT").with_rows(count).into(),
        ))
        .await?;
    Ok(())
}

enum SendError {
    Encode(String),
    Wire(PgWireError),
}

/// Feeds the rows of `batch`; the number of rows.
async fn send_batch<C>(
    client: &mut C,
    batch: &arrow::record_batch::RecordBatch,
    columns: &[Column],
    format: &(dyn Fn(usize) -> FieldFormat + Sync),
) -> Result<usize, SendError>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let arrays = batch.columns();
    for row in 0..batch.num_rows() {
        let mut data = BytesMut::new();
        for (index, (array, column)) in arrays.iter().zip(columns).enumerate() {
            values::encode_value(column.kind, format(index), array.as_ref(), row, &mut data)
                .map_err(SendError::Encode)?;
        }
        client
            .feed(PgWireBackendMessage::DataRow(data_row(data, columns.len())))
            .await
            .map_err(|error| SendError::Wire(error.into()))?;
    }
    Ok(batch.num_rows())
}

fn data_row(data: BytesMut, fields: usize) -> DataRow {
    DataRow::new(data, i16::try_from(fields).unwrap_or(i16::MAX))
}

/// Resolves when this connection's client cancels the query starting now (never when the
/// connection is not registered for cancel requests).
async fn cancel_signal<C: ClientInfo>(client: &C) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    let Some(handle) = client.session_extensions().get::<Arc<ConnectionHandle>>() else {
        return Box::pin(std::future::pending());
    };
    let receiver = handle.start_query().await;
    Box::pin(async move {
        // A dropped sender means another query replaced this one: nothing cancels it then.
        if receiver.await.is_err() {
            std::future::pending::<()>().await;
        }
    })
}

fn internal(message: &str) -> PgWireError {
    execute::user_error("XX000", message)
}
