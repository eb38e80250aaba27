//! Streamed responses of the client: `POST /query` (a JSON array read element by element)
//! and `POST /query-stream` (a metadata line, then one row per line).
//!
//! Both read the body chunk by chunk through a `framing` splitter; dropping them closes the
//! connection, which ends a push query. Sending the requests is in `client`.

use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::Value;

use super::framing::{ArraySplitter, LineSplitter, Splitter};
use super::{ClientError, is_error_message, rejected};

/// The response of `POST /query`: its status and the elements of its JSON array, read as
/// they arrive (`header`, `row`s, then `finalMessage` or `errorMessage`). An error status
/// comes with one element, the error JSON. Dropping it closes the query's connection.
#[derive(Debug)]
pub struct QueryResponse {
    pub status: u16,
    elements: ValueReader<ArraySplitter>,
}

/// The response of `POST /query-stream`: the metadata line, then rows as they arrive.
/// Dropping it closes the connection, which ends a push query.
#[derive(Debug)]
pub struct QueryStream {
    /// `{"queryId", "columnNames", "columnTypes"}`.
    pub metadata: Value,
    /// The id to pass to `Client::close_query` (push queries only).
    pub query_id: Option<String>,
    rows: ValueReader<LineSplitter>,
}

impl QueryResponse {
    pub(crate) fn new(status: u16, body: Incoming) -> QueryResponse {
        QueryResponse {
            status,
            elements: ValueReader::new(body),
        }
    }

    /// The next element of the response array as soon as it is complete; `None` once the
    /// response has ended.
    pub async fn next(&mut self) -> Result<Option<Value>, ClientError> {
        self.elements.next().await
    }

    /// Reads every remaining element (for responses that end: pull queries, errors and push
    /// queries with a `LIMIT`).
    pub async fn collect(mut self) -> Result<Vec<Value>, ClientError> {
        let mut elements = Vec::new();
        while let Some(element) = self.next().await? {
            elements.push(element);
        }
        Ok(elements)
    }
}

impl QueryStream {
    /// Reads the metadata line of a successful (`status`) response.
    pub(crate) async fn start(status: u16, body: Incoming) -> Result<QueryStream, ClientError> {
        let mut rows = ValueReader::new(body);
        let metadata = rows.next().await?.ok_or_else(|| {
            ClientError::InvalidResponse("the query stream ended before its metadata".to_string())
        })?;
        if is_error_message(&metadata) {
            return Err(rejected(status, metadata));
        }
        let query_id = metadata
            .get("queryId")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(QueryStream {
            metadata,
            query_id,
            rows,
        })
    }

    /// The next row (a JSON array of column values) as soon as it has arrived; `None` once
    /// the query has ended. An error message from the server ends the stream with
    /// `ClientError::Rejected`.
    pub async fn next_row(&mut self) -> Result<Option<Value>, ClientError> {
        match self.rows.next().await? {
            Some(value) if is_error_message(&value) => Err(rejected(200, value)),
            other => Ok(other),
        }
    }
}

/// The values of a body, read chunk by chunk as they arrive.
#[derive(Debug)]
struct ValueReader<S> {
    body: Incoming,
    splitter: S,
    /// Values already split off the body and not returned yet.
    pending: VecDeque<Value>,
    ended: bool,
}

impl<S: Splitter> ValueReader<S> {
    fn new(body: Incoming) -> Self {
        ValueReader {
            body,
            splitter: S::default(),
            pending: VecDeque::new(),
            ended: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Value>, ClientError> {
        loop {
            if let Some(value) = self.pending.pop_front() {
                return Ok(Some(value));
            }
            if self.ended {
                return Ok(None);
            }
            match next_chunk(&mut self.body).await? {
                Some(chunk) => self.pending.extend(
                    self.splitter
                        .push(&chunk)
                        .map_err(ClientError::InvalidResponse)?,
                ),
                None => {
                    self.ended = true;
                    self.pending.extend(
                        self.splitter
                            .finish()
                            .map_err(ClientError::InvalidResponse)?,
                    );
                }
            }
        }
    }
}

async fn next_chunk(body: &mut Incoming) -> Result<Option<Bytes>, ClientError> {
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ClientError::Body)?;
        if let Ok(data) = frame.into_data() {
            return Ok(Some(data));
        }
        // Trailers carry nothing the client uses.
    }
    Ok(None)
}
