//! `POST /inserts-stream`: a first JSON line `{"target":"NAME"}`, then one JSON object per
//! line, each inserted into the target as `INSERT INTO ... VALUES` would and acknowledged
//! with `{"status":"ok","seq":N}` or `{"status":"error","seq":N,"error_code":..,"message":..}`
//! while the request is still streaming (HTTP/2, or HTTP/1.1 chunked).
//!
//! Row fields match columns like ksqlDB's: case-insensitively unless written in backticks.
//! Values are read as the JSON format reads them and written through `executor::insert_values`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, BodyDataStream};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use datafusion::logical_expr::lit;
use datafusion::scalar::ScalarValue;
use executor::format::{Decoder, FormatKind, FormatOptions};
use futures_util::StreamExt;
use planner::InsertValuesPlan;
use planner::catalog::{ColumnDefinition, SourceDefinition};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::error::{self, ApiError};
use super::{AppState, request, shutdown_requested};
use crate::Engine;

const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";
const JSON: &str = "application/json";

pub(crate) async fn handle(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let json_array = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(JSON));
    let limit = state.config.max_body_bytes;
    let mut body = request.into_body().into_data_stream();
    let mut lines = LineBuffer::default();
    let arguments = loop {
        if let Some(line) = lines.next_line() {
            break line;
        }
        match body.next().await {
            Some(Ok(chunk)) => lines.push(&chunk),
            Some(Err(failure)) => {
                return Err(ApiError::generic(
                    error::BAD_REQUEST,
                    format!("cannot read the request body: {failure}"),
                ));
            }
            None => break lines.rest(),
        }
        if lines.pending_len() > limit {
            return Err(request::too_large(limit));
        }
    };
    let arguments = request::parse_object(&arguments)?;
    let target = request::required_string(&arguments, "target")?;
    let inserter = Arc::new(Inserter::new(&state.engine, &target)?);
    let inserts = InsertStream {
        engine: Arc::clone(&state.engine),
        inserter,
        body,
        lines,
        limit,
        next_seq: 0,
        json_array,
        first: true,
        ended: false,
        done: false,
        shutdown: state.shutdown.clone(),
    };
    let stream = futures_util::stream::unfold(inserts, |mut inserts| async move {
        let chunk = inserts.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), inserts))
    });
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if json_array { JSON } else { DELIMITED }),
    );
    Ok(response)
}

/// Inserts rows into one target.
struct Inserter {
    target: SourceDefinition,
    /// The key and value columns, in the order `InsertValuesPlan` wants them.
    columns: Vec<ColumnDefinition>,
    decoder: Decoder,
}

impl Inserter {
    fn new(engine: &Engine, target: &str) -> Result<Self, ApiError> {
        let catalog = engine.catalog();
        let name = match target.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
            Some(quoted) => quoted.to_string(),
            None if catalog.source(target).is_some() => target.to_string(),
            None => target.to_uppercase(),
        };
        let Some(source) = catalog.source(&name) else {
            return Err(ApiError::generic(
                error::BAD_STATEMENT,
                format!("Cannot insert values into an unknown stream: {target}"),
            ));
        };
        if source.is_source {
            return Err(ApiError::generic(
                error::BAD_STATEMENT,
                format!(
                    "Cannot insert values into read-only {}: {}",
                    source.kind.to_string().to_lowercase(),
                    source.name
                ),
            ));
        }
        let columns: Vec<ColumnDefinition> = source
            .key_columns()
            .chain(source.value_columns())
            .cloned()
            .collect();
        let invalid = |failure: String| ApiError::generic(error::BAD_STATEMENT, failure);
        let fields = columns
            .iter()
            .map(|column| {
                let data_type = planner::types::to_arrow(&column.data_type)
                    .map_err(|failure| invalid(failure.to_string()))?;
                Ok(arrow::datatypes::Field::new(&column.name, data_type, true))
            })
            .collect::<Result<arrow::datatypes::Fields, ApiError>>()?;
        let decoder = Decoder::new(FormatKind::Json, &FormatOptions::default(), fields)
            .map_err(|failure| invalid(failure.to_string()))?;
        Ok(Self {
            target: source.clone(),
            columns,
            decoder,
        })
    }

    /// Inserts the rows of `lines` (sequence numbers from `first_seq`) and returns one ack
    /// per line; stops after a line that is not JSON, as ksqlDB does (`true` then).
    fn insert_lines(
        &self,
        engine: &Engine,
        lines: &[Vec<u8>],
        first_seq: u64,
    ) -> (Vec<Value>, bool) {
        let mut acks = Vec::with_capacity(lines.len());
        let mut plan = InsertValuesPlan {
            target: self.target.clone(),
            values: self.columns.iter().map(|c| (c.clone(), None)).collect(),
            timestamp: None,
        };
        for (offset, line) in lines.iter().enumerate() {
            let seq = first_seq + offset as u64;
            let Ok(Value::Object(row)) = serde_json::from_slice::<Value>(line) else {
                acks.push(error_ack(seq, "Invalid JSON in inserts stream"));
                return (acks, true);
            };
            match self.insert_row(engine, &mut plan, row) {
                Ok(()) => acks.push(json!({"status": "ok", "seq": seq})),
                Err(message) => acks.push(error_ack(seq, &message)),
            }
        }
        (acks, false)
    }

    fn insert_row(
        &self,
        engine: &Engine,
        plan: &mut InsertValuesPlan,
        row: Map<String, Value>,
    ) -> Result<(), String> {
        let payload = serde_json::to_vec(&Value::Object(self.normalize(row)))
            .map_err(|failure| failure.to_string())?;
        let decoded = self.decoder.decode(&[Some(&payload)]);
        if let Some((_, message)) = decoded.errors.first() {
            return Err(format!(
                "Failed to insert values into '{}': {message}",
                self.target.name
            ));
        }
        if decoded.kept.len() != 1 {
            return Err(format!(
                "Failed to insert values into '{}'",
                self.target.name
            ));
        }
        for ((_, value), column) in plan.values.iter_mut().zip(&decoded.columns) {
            let scalar =
                ScalarValue::try_from_array(column, 0).map_err(|failure| failure.to_string())?;
            *value = Some(lit(scalar));
        }
        executor::insert_values(
            plan,
            engine.topic_log().as_ref(),
            executor::log::now_millis(),
        )
        .map_err(|failure| executor::error_chain(&failure))
    }

    /// Field names as column names: `` `name` `` exactly, otherwise the column of that
    /// exact name or else the upper-cased name.
    fn normalize(&self, row: Map<String, Value>) -> Map<String, Value> {
        row.into_iter()
            .map(|(field, value)| {
                let name = match field.strip_prefix('`').and_then(|f| f.strip_suffix('`')) {
                    Some(quoted) => quoted.to_string(),
                    None if self.columns.iter().any(|c| c.name == field) => field,
                    None => field.to_uppercase(),
                };
                (name, value)
            })
            .collect()
    }
}

fn error_ack(seq: u64, message: &str) -> Value {
    json!({
        "status": "error",
        "seq": seq,
        "error_code": error::BAD_REQUEST,
        "message": message,
    })
}

/// The state of an inserts response: reads request lines, writes acks.
struct InsertStream {
    engine: Arc<Engine>,
    inserter: Arc<Inserter>,
    body: BodyDataStream,
    lines: LineBuffer,
    limit: usize,
    next_seq: u64,
    json_array: bool,
    /// No ack written yet (the JSON array needs its opening bracket).
    first: bool,
    /// The request body has ended.
    ended: bool,
    /// The response has ended.
    done: bool,
    shutdown: watch::Receiver<bool>,
}

impl InsertStream {
    /// The acks of the next rows, or the end of the response.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        loop {
            let mut ready: Vec<Vec<u8>> = std::iter::from_fn(|| self.lines.next_line())
                .filter(|line| !line.is_empty())
                .collect();
            if self.ended {
                ready.extend(Some(self.lines.rest()).filter(|line| !line.is_empty()));
            }
            if !ready.is_empty() {
                return Some(self.insert(ready).await);
            }
            if self.ended {
                self.done = true;
                return self.finish(Vec::new());
            }
            if self.lines.pending_len() > self.limit {
                let too_large = request::too_large(self.limit);
                let message = too_large.body()["message"].as_str().unwrap_or_default();
                let ack = error_ack(self.next_seq, message);
                self.done = true;
                let chunk = self.encode(&[ack]);
                return self.finish(chunk);
            }
            tokio::select! {
                chunk = self.body.next() => match chunk {
                    Some(Ok(chunk)) => self.lines.push(&chunk),
                    Some(Err(_)) | None => self.ended = true,
                },
                () = shutdown_requested(self.shutdown.clone()) => {
                    self.done = true;
                    return self.finish(Vec::new());
                }
            }
        }
    }

    async fn insert(&mut self, lines: Vec<Vec<u8>>) -> Bytes {
        let first_seq = self.next_seq;
        self.next_seq += lines.len() as u64;
        let engine = Arc::clone(&self.engine);
        let inserter = Arc::clone(&self.inserter);
        let (acks, stop) =
            tokio::task::spawn_blocking(move || inserter.insert_lines(&engine, &lines, first_seq))
                .await
                .unwrap_or_else(|failure| {
                    tracing::error!("inserting rows failed: {failure}");
                    (vec![error_ack(first_seq, "internal error")], true)
                });
        let chunk = self.encode(&acks);
        if stop {
            self.done = true;
            return self.finish(chunk).unwrap_or_default();
        }
        Bytes::from(chunk)
    }

    /// Acks as delimited lines or JSON array elements.
    fn encode(&mut self, acks: &[Value]) -> Vec<u8> {
        let mut out = Vec::new();
        for ack in acks {
            if self.json_array {
                out.push(if self.first { b'[' } else { b',' });
            }
            self.first = false;
            // Serializing a `Value` into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, ack);
            if !self.json_array {
                out.push(b'\n');
            }
        }
        out
    }

    /// The last chunk: `chunk` and, for a JSON array, its closing bracket.
    fn finish(&mut self, mut chunk: Vec<u8>) -> Option<Bytes> {
        if self.json_array {
            chunk.extend_from_slice(if self.first { b"[]" } else { b"]" });
            self.first = false;
        }
        (!chunk.is_empty()).then(|| Bytes::from(chunk))
    }
}

/// Splits request bytes into lines (`\n`, with an optional `\r` before it).
#[derive(Default)]
struct LineBuffer {
    buffer: Vec<u8>,
    /// Where the unread bytes start.
    start: usize,
}

impl LineBuffer {
    fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(chunk);
    }

    /// The next complete line, without its line break.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        let unread = &self.buffer[self.start..];
        let end = unread.iter().position(|byte| *byte == b'\n')?;
        let mut line = unread[..end].to_vec();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        self.start += end + 1;
        if self.start > 64 * 1024 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        Some(line)
    }

    /// The unread bytes (a last line without a line break).
    fn rest(&mut self) -> Vec<u8> {
        let rest = self.buffer[self.start..].to_vec();
        self.buffer.clear();
        self.start = 0;
        rest
    }

    /// Bytes waiting for a line break.
    fn pending_len(&self) -> usize {
        self.buffer.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_on_newlines_across_chunks() {
        let mut lines = LineBuffer::default();
        lines.push(b"{\"target\":\"S\"}\n{\"a\"");
        assert_eq!(lines.next_line(), Some(b"{\"target\":\"S\"}".to_vec()));
        assert_eq!(lines.next_line(), None);
        lines.push(b":1}\r\n\n{\"b\":2}");
        assert_eq!(lines.next_line(), Some(b"{\"a\":1}".to_vec()));
        assert_eq!(lines.next_line(), Some(Vec::new()));
        assert_eq!(lines.next_line(), None);
        assert_eq!(lines.pending_len(), 7);
        assert_eq!(lines.rest(), b"{\"b\":2}".to_vec());
        assert_eq!(lines.pending_len(), 0);
    }

    #[test]
    fn error_acks_carry_seq_and_code() {
        assert_eq!(
            error_ack(3, "bad"),
            json!({"status": "error", "seq": 3, "error_code": 40000, "message": "bad"})
        );
    }
}
