//! Runs a REST case (`kind: rest`) against Eddy's HTTP server, following ksqlDB's
//! `RestTestExecutor`: leading statements in one `POST /ksql`, inputs, wait, each SELECT on
//! `POST /query`, then the output topics and the responses are judged.
//!
//! Each case gets its own server on 127.0.0.1:0 over the case's engine, reached through
//! `server::client`. Judging the responses is in `judge`.

mod judge;
mod proto_text;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use executor::TopicLog;
use serde_json::{Map, Value};
use server::Engine;
use server::client::{Client, QueryResponse};
use server::http::{HttpConfig, HttpServer};
use tokio::time::timeout;

use self::judge::{
    Actual, check_error, check_responses, describe_error, expected_kind, expected_query_len,
};
use crate::compare::{ActualRecord, CompareOptions, TopicSchemas, record_matches};
use crate::compare::{describe_actual, describe_expected};
use crate::corpus::{Case, ExpectedError, TestRecord};
use crate::run::{
    CATCH_UP_TIMEOUT, produce_inputs, read_topic, register_topic_schemas, topic_schemas,
    wait_for_queries,
};
use crate::topics::topics_to_create;
use crate::verdict::{Verdict, error_text, one_line};

/// The config of ksqlDB's test server (`TestKsqlRestApp`, `RestQueryTranslationTest`) that
/// the cases rely on: the server's default properties, which the case's `properties` (sent in
/// `streamsProperties`) override.
const BASE_PROPERTIES: [(&str, &str); 5] = [
    ("auto.offset.reset", "earliest"),
    ("cache.max.bytes.buffering", "0"),
    ("ksql.headers.columns.enabled", "true"),
    ("ksql.query.pull.table.scan.enabled", "true"),
    ("ksql.query.push.v2.enabled", "true"),
];
/// How long a request may take to answer, and a pull query to send its whole response.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A push query that sent nothing for this long is considered done (push queries without
/// `LIMIT` never end).
const PUSH_IDLE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the server may take to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Worker threads of a case's runtime (the server and the client).
const RUNTIME_THREADS: usize = 2;

/// Runs one REST case on `engine` through its own server and judges it.
pub(crate) fn run_rest_case(case: &Case, engine: &Arc<Engine>) -> Verdict {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(RUNTIME_THREADS)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return Verdict::error(format!("cannot start a tokio runtime: {error}")),
    };
    let verdict = match runtime.block_on(run_on_server(case, engine)) {
        Ok(()) => Verdict::pass(),
        // Server messages may span lines (`Syntax Error\n\nStatement: ...`).
        Err(verdict) => Verdict {
            reason: one_line(&verdict.reason),
            ..verdict
        },
    };
    // Stop the server's tasks before the engine stops its queries.
    runtime.shutdown_timeout(STOP_TIMEOUT);
    verdict
}

/// Starts the server, runs the case through it and stops it.
async fn run_on_server(case: &Case, engine: &Arc<Engine>) -> Result<(), Verdict> {
    let log = engine.topic_log();
    for (name, partitions) in topics_to_create(case) {
        log.create_topic(&name, partitions, 1)
            .map_err(|error| Verdict::error(format!("cannot create topic {name}: {error}")))?;
    }
    let defaults: planner::Properties = BASE_PROPERTIES
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    // As ksqlDB's `RestTestExecutor`, the `topics` schemas are registered (with their ids)
    // before the statements run.
    let mut properties = defaults.clone();
    properties.extend(case.properties.iter().cloned());
    register_topic_schemas(case, engine, &properties)?;
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = HttpServer::start_with_properties(
        Arc::clone(engine),
        address,
        HttpConfig::default(),
        defaults,
    )
    .await
    .map_err(|error| Verdict::error(format!("cannot start the server: {}", error_text(&error))))?;
    let result = match Client::new(&format!("http://{}", server.local_addr()), None) {
        Ok(client) => {
            let run = CaseRun {
                case,
                engine,
                log: log.as_ref(),
                client,
                properties: streams_properties(case),
                deadline: Instant::now() + CATCH_UP_TIMEOUT,
            };
            run.run().await
        }
        Err(error) => Err(Verdict::error(format!(
            "cannot create a client: {}",
            error_text(&error)
        ))),
    };
    // A server that does not stop in time is dropped with the runtime.
    let _ = timeout(STOP_TIMEOUT, server.stop()).await;
    result
}

/// One case going through the server.
struct CaseRun<'a> {
    case: &'a Case,
    engine: &'a Engine,
    log: &'a dyn TopicLog,
    client: Client,
    /// `streamsProperties` of every request.
    properties: Map<String, Value>,
    /// When waiting for the persistent queries gives up.
    deadline: Instant,
}

impl CaseRun<'_> {
    async fn run(&self) -> Result<(), Verdict> {
        let case = self.case;
        let (admin, queries) = split_statements(&case.statements);
        let last_statement = case.statements.last().map_or("", String::as_str);
        let mut actual: Vec<Actual> = Vec::new();
        // Whether a request failed as the case expects.
        let mut failed_as_expected = false;

        if !admin.is_empty() {
            let sql = admin.join("\n");
            let (status, body) = timeout(REQUEST_TIMEOUT, self.client.ksql(&sql, &self.properties))
                .await
                .map_err(|_| {
                    Verdict::fail(format!("POST /ksql: no answer within {REQUEST_TIMEOUT:?}"))
                })?
                .map_err(|error| Verdict::fail(format!("POST /ksql: {}", error_text(&error))))?;
            if !is_success(status) {
                return match &case.expected_error {
                    Some(expected) => {
                        check_error(expected, status, &body, last_statement).map_err(Verdict::fail)
                    }
                    None => Err(Verdict::fail(format!(
                        "POST /ksql failed: {}{}",
                        describe_error(status, &body),
                        statement_of(&body)
                    ))),
                };
            }
            let Value::Array(entities) = body else {
                return Err(Verdict::fail(format!(
                    "POST /ksql: expected an array of entities, got {body}"
                )));
            };
            actual.extend(entities.into_iter().map(Actual::Admin));
        }
        let admin_responses = actual.len();

        if !case.wait_for_push_query {
            self.produce_inputs()?;
        }
        if case.expected_error.is_none() && case.responses.len() > admin.len() {
            tokio::task::block_in_place(|| wait_for_queries(self.engine, self.log, self.deadline))?;
        }

        for (position, sql) in queries.iter().enumerate() {
            let number = position + 1;
            let response = timeout(REQUEST_TIMEOUT, self.client.query(sql, &self.properties))
                .await
                .map_err(|_| {
                    Verdict::fail(format!(
                        "query {number}: no answer within {REQUEST_TIMEOUT:?}"
                    ))
                })?
                .map_err(|error| {
                    Verdict::fail(format!("query {number}: {}", error_text(&error)))
                })?;
            if !is_success(response.status) {
                let status = response.status;
                let body = self.error_body(response).await;
                match &case.expected_error {
                    Some(expected) => {
                        check_error(expected, status, &body, last_statement)
                            .map_err(Verdict::fail)?;
                        failed_as_expected = true;
                        continue;
                    }
                    None => {
                        return Err(Verdict::fail(format!(
                            "query {number} failed: {}",
                            describe_error(status, &body)
                        )));
                    }
                }
            }
            if let Some(expected) = &case.expected_error {
                return Err(Verdict::fail(format!(
                    "expected error {} but query {number} succeeded",
                    describe_expected_error(expected)
                )));
            }
            let wanted = expected_query_len(&case.responses, admin_responses + position);
            let produce_after_header = case.wait_for_push_query && position == 0;
            let elements = self
                .read_query(number, response, is_push(sql), wanted, produce_after_header)
                .await?;
            actual.push(Actual::Query(elements));
        }

        // `queryProto` responses: the pull queries again, rows as protobuf.
        let protobuf = case
            .responses
            .iter()
            .any(|response| expected_kind(response) == Some("queryProto"));
        if protobuf && case.expected_error.is_none() {
            for (position, sql) in queries.iter().enumerate() {
                if is_push(sql) {
                    continue;
                }
                let number = position + 1;
                let response = timeout(
                    REQUEST_TIMEOUT,
                    self.client.query_protobuf(sql, &self.properties),
                )
                .await
                .map_err(|_| {
                    Verdict::fail(format!(
                        "query {number} (protobuf): no answer within {REQUEST_TIMEOUT:?}"
                    ))
                })?
                .map_err(|error| {
                    Verdict::fail(format!("query {number} (protobuf): {}", error_text(&error)))
                })?;
                if !is_success(response.status) {
                    let status = response.status;
                    let body = self.error_body(response).await;
                    return Err(Verdict::fail(format!(
                        "query {number} (protobuf) failed: {}",
                        describe_error(status, &body)
                    )));
                }
                let elements = self
                    .read_query(number, response, false, None, false)
                    .await?;
                actual.push(Actual::Query(protobuf_rows_as_text(elements).map_err(
                    |reason| Verdict::fail(format!("query {number} (protobuf): {reason}")),
                )?));
            }
        }

        if let Some(expected) = &case.expected_error
            && !failed_as_expected
        {
            return Err(Verdict::fail(format!(
                "expected error {} but none occurred",
                describe_expected_error(expected)
            )));
        }
        self.check_outputs()?;
        check_responses(
            &case.responses,
            &actual,
            &case.statements,
            case.verify_order,
        )
        .map_err(Verdict::fail)
    }

    /// Reads a `/query` response: to its end for pull queries and push queries that end
    /// (`LIMIT`), else until the expected number of elements arrived or nothing came for
    /// `PUSH_IDLE_TIMEOUT`. With `produce_after_header`, the inputs are produced once the
    /// header has arrived.
    async fn read_query(
        &self,
        number: usize,
        mut response: QueryResponse,
        push: bool,
        wanted: Option<usize>,
        mut produce_after_header: bool,
    ) -> Result<Vec<Value>, Verdict> {
        let started = Instant::now();
        let mut elements: Vec<Value> = Vec::new();
        loop {
            // A push query without an expected response is only read up to its header.
            if push && elements.len() >= wanted.unwrap_or(1) && !produce_after_header {
                break;
            }
            let wait = if push {
                PUSH_IDLE_TIMEOUT
            } else {
                REQUEST_TIMEOUT.saturating_sub(started.elapsed())
            };
            match timeout(wait, response.next()).await {
                Err(_) if push => break,
                Err(_) => {
                    return Err(Verdict::fail(format!(
                        "query {number}: the response did not end within {REQUEST_TIMEOUT:?} \
                         ({} elements so far)",
                        elements.len()
                    )));
                }
                Ok(Err(error)) => {
                    return Err(Verdict::fail(format!(
                        "query {number}: {} ({} elements read)",
                        error_text(&error),
                        elements.len()
                    )));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(element))) => {
                    let header = element.get("header").is_some();
                    elements.push(element);
                    if header && produce_after_header {
                        produce_after_header = false;
                        self.produce_inputs()?;
                    }
                }
            }
        }
        if produce_after_header && !self.case.inputs.is_empty() {
            return Err(Verdict::fail(format!(
                "query {number}: no header arrived, so the inputs (waitForActivePushQuery) \
                 were not produced"
            )));
        }
        // Dropping the response closes the connection, which stops a push query.
        Ok(elements)
    }

    /// The error JSON of a failed `/query` (its only element).
    async fn error_body(&self, response: QueryResponse) -> Value {
        match timeout(REQUEST_TIMEOUT, response.collect()).await {
            Ok(Ok(mut elements)) if elements.len() == 1 => elements.remove(0),
            Ok(Ok(elements)) => Value::Array(elements),
            Ok(Err(error)) => Value::String(error_text(&error)),
            Err(_) => Value::String("no error body".to_string()),
        }
    }

    fn produce_inputs(&self) -> Result<(), Verdict> {
        tokio::task::block_in_place(|| {
            produce_inputs(self.case, self.engine, self.log, self.deadline)
        })
    }

    /// Each output topic must hold the expected records first, in order (ksqlDB's harness
    /// reads as many records as expected: later ones are not checked, nor are headers).
    fn check_outputs(&self) -> Result<(), Verdict> {
        if self.case.outputs.is_empty() {
            return Ok(());
        }
        tokio::task::block_in_place(|| {
            wait_for_queries(self.engine, self.log, self.deadline)?;
            let catalog = self.engine.catalog();
            let options = CompareOptions {
                exact_numeric: !self.case.properties.iter().any(|(name, value)| {
                    name == "use.exact.numeric.comparison" && value == "false"
                }),
                accept_zero_timestamp: false,
            };
            let mut topics: Vec<&str> = Vec::new();
            for record in &self.case.outputs {
                if !topics.contains(&record.topic.as_str()) {
                    topics.push(&record.topic);
                }
            }
            for topic in topics {
                let expected: Vec<&TestRecord> = self
                    .case
                    .outputs
                    .iter()
                    .filter(|record| record.topic == topic)
                    .collect();
                let records = read_topic(self.log, topic).map_err(|error| {
                    Verdict::error(format!("cannot read topic {topic}: {error}"))
                })?;
                let schemas = topic_schemas(topic, &catalog, self.case, true);
                compare_prefix(topic, &expected, &records, &schemas, options)
                    .map_err(Verdict::fail)?;
            }
            Ok(())
        })
    }
}

/// Checks that the topic's first records are the expected ones, in order within each
/// partition (any interleaving across partitions); records after them are not checked.
fn compare_prefix(
    topic: &str,
    expected: &[&TestRecord],
    actual: &[ActualRecord],
    schemas: &TopicSchemas,
    options: CompareOptions,
) -> Result<(), String> {
    let mut partitions: Vec<u32> = actual.iter().map(|record| record.partition).collect();
    partitions.sort_unstable();
    partitions.dedup();
    let mut queues: Vec<std::collections::VecDeque<&ActualRecord>> = partitions
        .iter()
        .map(|partition| {
            let mut records: Vec<&ActualRecord> = actual
                .iter()
                .filter(|record| record.partition == *partition)
                .collect();
            records.sort_by_key(|record| record.offset);
            records.into()
        })
        .collect();
    for (index, wanted) in expected.iter().enumerate() {
        let mut first_difference: Option<(&ActualRecord, String)> = None;
        let mut matched = None;
        for (queue_index, queue) in queues.iter().enumerate() {
            let Some(head) = queue.front() else {
                continue;
            };
            // Headers are not compared: take the actual ones.
            let mut wanted = (*wanted).clone();
            wanted.headers = Some(
                head.record
                    .headers
                    .iter()
                    .map(|header| (header.key.clone(), header.value.clone()))
                    .collect(),
            );
            match record_matches(&wanted, head, schemas, options) {
                Ok(()) => {
                    matched = Some(queue_index);
                    break;
                }
                Err(difference) => {
                    first_difference.get_or_insert((head, difference));
                }
            }
        }
        match (matched, first_difference) {
            (Some(queue_index), _) => {
                queues[queue_index].pop_front();
            }
            (None, Some((head, difference))) => {
                return Err(format!(
                    "topic {topic}: record {index}: expected {}, actual {} ({difference})",
                    describe_expected(wanted),
                    describe_actual(head, schemas, wanted.window.map(|window| window.kind)),
                ));
            }
            (None, None) => {
                return Err(format!(
                    "topic {topic}: record {index}: expected {}, actual none (expected {} records, got {})",
                    describe_expected(wanted),
                    expected.len(),
                    actual.len()
                ));
            }
        }
    }
    Ok(())
}

/// The leading statements that are not queries, and the queries after them (ksqlDB's
/// harness splits on a `SELECT ` prefix).
/// The elements of a protobuf `/query` response with each row's message as protobuf text
/// (`{"row":{"columns":["<text>"]}}`), decoded with the header's `protoSchema`.
fn protobuf_rows_as_text(elements: Vec<Value>) -> Result<Vec<Value>, String> {
    let mut schema: Option<String> = None;
    elements
        .into_iter()
        .map(|element| {
            if let Some(text) = element
                .get("header")
                .and_then(|header| header.get("protoSchema"))
                .and_then(Value::as_str)
            {
                schema = Some(text.to_string());
            }
            let Some(bytes) = element
                .get("row")
                .and_then(|row| row.get("protobufBytes"))
                .and_then(Value::as_str)
            else {
                return Ok(element);
            };
            let schema = schema
                .as_deref()
                .ok_or("a row before the header's protoSchema")?;
            let bytes = crate::base64::decode(bytes)?;
            let text = proto_text::text_format(schema, &bytes)?;
            Ok(serde_json::json!({"row": {"columns": [text]}}))
        })
        .collect()
}

fn split_statements(statements: &[String]) -> (&[String], &[String]) {
    let first_query = statements
        .iter()
        .position(|statement| statement.starts_with("SELECT "))
        .unwrap_or(statements.len());
    statements.split_at(first_query)
}

/// The case's `properties`, as `streamsProperties`.
fn streams_properties(case: &Case) -> Map<String, Value> {
    let mut properties = Map::new();
    for (name, value) in &case.properties {
        properties.insert(name.clone(), Value::String(value.clone()));
    }
    properties
}

/// Whether a SELECT is a push query (it never ends unless it has a `LIMIT`).
fn is_push(sql: &str) -> bool {
    let upper = sql.to_ascii_uppercase();
    upper.contains("EMIT CHANGES") || upper.contains("EMIT FINAL")
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// ` [statement: ...]` for a statement error, to show which statement failed.
fn statement_of(body: &Value) -> String {
    body.get("statementText")
        .and_then(Value::as_str)
        .map(|text| format!(" [statement: {}]", one_line(text)))
        .unwrap_or_default()
}

fn describe_expected_error(expected: &ExpectedError) -> String {
    let mut text = match &expected.message {
        Some(message) => format!("containing {message:?}"),
        None => "of any message".to_string(),
    };
    if let Some(status) = expected.status {
        text.push_str(&format!(" with status {status}"));
    }
    one_line(&text)
}

#[cfg(test)]
mod tests;
