//! Runs one case on a fresh engine in a temporary directory and judges it, following
//! ksqlDB's `TestExecutor`: topics, config, statements, inputs, wait, outputs, `post`.
//!
//! Topics are created before the statements (see `topics::topics_to_create`); input records
//! go to the partition of their serialized key (murmur2; null keys to partition 0); the run
//! waits until every persistent query has consumed everything (no sleeps, bounded).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use executor::log::partitioner::partition_for_key;
use executor::{Header, QueryState, Record, TopicLog};
use planner::Catalog;
use planner::schema_registry::{SchemaReference, SchemaType, subject_name};
use server::{Engine, Session};

use super::codec::{PayloadSchema, windowed_key};
use super::compare::{ActualRecord, CompareOptions, TopicSchemas, compare_topic};
use super::corpus::{Case, CaseKind, ExpectedError, TestRecord};
use super::json::Json;
use super::post::check_post;
use super::topics::topics_to_create;

/// How long the queries of a case may take to consume their input.
pub(crate) const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one wait for new records lasts before the queries are checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The config every case starts from (ksqlDB's harness), before the case's `properties`.
const BASE_PROPERTIES: [(&str, &str); 4] = [
    ("auto.offset.reset", "earliest"),
    ("cache.max.bytes.buffering", "0"),
    ("ksql.service.id", "some.ksql.service.id"),
    ("ksql.headers.columns.enabled", "true"),
];

/// The verdict on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// Eddy's behaviour differs from ksqlDB's (or needs a feature not built yet).
    Fail,
    /// The runner could not run the case.
    Error,
}

/// A verdict and its reason (empty for a pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub reason: String,
}

impl Verdict {
    pub fn pass() -> Self {
        Self {
            status: Status::Pass,
            reason: String::new(),
        }
    }

    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            reason: reason.into(),
        }
    }

    pub fn error(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            reason: reason.into(),
        }
    }
}

/// Runs one case on its own engine and judges it.
pub fn run_case(case: &Case) -> Verdict {
    if case.kind == CaseKind::Rest {
        return super::rest::run_rest_case(case);
    }
    let directory = match tempfile::Builder::new()
        .prefix("eddy-conformance-")
        .tempdir()
    {
        Ok(directory) => directory,
        Err(error) => {
            return Verdict::error(format!("cannot create a temporary directory: {error}"));
        }
    };
    let engine = match Engine::open(directory.path()) {
        Ok(engine) => engine,
        Err(error) => {
            return Verdict::error(format!("cannot open an engine: {}", error_text(&error)));
        }
    };
    let verdict = match run_on(case, &engine) {
        Ok(()) => Verdict::pass(),
        Err(verdict) => verdict,
    };
    // Stop the queries and close the store before the directory goes.
    drop(engine);
    drop(directory);
    verdict
}

fn run_on(case: &Case, engine: &Engine) -> Result<(), Verdict> {
    let log = engine.topic_log();
    let mut session = Session::default();
    for (name, value) in BASE_PROPERTIES {
        session
            .properties
            .insert(name.to_string(), value.to_string());
    }
    for (name, value) in &case.properties {
        session.properties.insert(name.clone(), value.clone());
        // `SET` stores `ksql.streams.X` as `X`; config overrides mean the same.
        if let Some(short) = name.strip_prefix("ksql.streams.") {
            session.properties.insert(short.to_string(), value.clone());
        }
    }
    let options = CompareOptions {
        exact_numeric: !case
            .properties
            .iter()
            .any(|(name, value)| name == "use.exact.numeric.comparison" && value == "false"),
        accept_zero_timestamp: case.inputs.is_empty(),
    };

    for (name, partitions) in topics_to_create(case) {
        log.create_topic(&name, partitions, 1)
            .map_err(|error| Verdict::error(format!("cannot create topic {name}: {error}")))?;
    }
    register_topic_schemas(case, engine, &session.properties)?;

    for (index, script) in case.statements.iter().enumerate() {
        if let Err(error) = engine.execute_script(script, &mut session, |_, _| {}) {
            let text = error_text(&error);
            return match &case.expected_error {
                Some(expected) => check_expected_error(expected, &text, false),
                None => Err(Verdict::fail(format!(
                    "statement {} failed: {}",
                    index + 1,
                    one_line(&text)
                ))),
            };
        }
    }

    let deadline = Instant::now() + CATCH_UP_TIMEOUT;
    // Records written by the statements (INSERT VALUES) come before the inputs.
    wait_for_queries(engine, log.as_ref(), deadline)?;
    produce_inputs(case, engine, log.as_ref(), deadline)?;
    wait_for_queries(engine, log.as_ref(), deadline)?;

    let failures: Vec<(String, String)> = engine
        .query_states()
        .into_iter()
        .filter_map(|(id, state)| match state {
            QueryState::Error(message) => Some((id, message)),
            _ => None,
        })
        .collect();
    if let Some(expected) = &case.expected_error {
        return match failures.first() {
            Some(_) => {
                let text = failures
                    .iter()
                    .map(|(id, message)| format!("query {id} failed: {message}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                check_expected_error(expected, &text, true)
            }
            None => Err(Verdict::fail(format!(
                "expected error {} but none occurred",
                describe_error(expected)
            ))),
        };
    }
    if let Some((id, message)) = failures.first() {
        return Err(Verdict::fail(format!(
            "query {id} failed: {}",
            one_line(message)
        )));
    }

    let catalog = engine.catalog();
    let mut topics: Vec<&str> = Vec::new();
    for record in &case.outputs {
        if !topics.contains(&record.topic.as_str()) {
            topics.push(&record.topic);
        }
    }
    for topic in topics {
        let expected: Vec<&TestRecord> = case
            .outputs
            .iter()
            .filter(|record| record.topic == topic)
            .collect();
        let actual = read_topic(log.as_ref(), topic)
            .map_err(|error| Verdict::error(format!("cannot read topic {topic}: {error}")))?;
        let schemas = topic_schemas(topic, &catalog, case, true);
        compare_topic(topic, &expected, &actual, &schemas, options)
            .map_err(|reason| Verdict::fail(one_line(&reason)))?;
    }

    if let Some(post) = &case.post {
        let topics = log
            .list_topics()
            .map_err(|error| Verdict::error(format!("cannot list topics: {error}")))?;
        check_post(post, &catalog, &topics).map_err(|reason| Verdict::fail(one_line(&reason)))?;
    }
    Ok(())
}

/// Whether an error matches the expected one: `message` and `cause_message` must be
/// substrings of the error text. For errors while processing records (Kafka Streams'
/// `StreamsException`, whose own message is Kafka Streams wording) either one suffices.
fn check_expected_error(
    expected: &ExpectedError,
    text: &str,
    processing: bool,
) -> Result<(), Verdict> {
    let contains =
        |wanted: &Option<String>| wanted.as_deref().is_none_or(|wanted| text.contains(wanted));
    let streams = expected
        .kind
        .as_deref()
        .is_some_and(|kind| kind.ends_with("StreamsException"));
    let matched = if streams && processing {
        let given = [&expected.message, &expected.cause_message];
        given.iter().all(|wanted| wanted.is_none())
            || given.iter().any(|wanted| {
                wanted
                    .as_deref()
                    .is_some_and(|wanted| text.contains(wanted))
            })
    } else {
        contains(&expected.message) && contains(&expected.cause_message)
    };
    if matched {
        Ok(())
    } else {
        Err(Verdict::fail(format!(
            "expected error {}, got: {}",
            describe_error(expected),
            one_line(text)
        )))
    }
}

fn describe_error(expected: &ExpectedError) -> String {
    let mut text = match &expected.message {
        Some(message) => format!("containing {:?}", message),
        None => "of any message".to_string(),
    };
    if let Some(cause) = &expected.cause_message {
        text.push_str(&format!(" caused by {:?}", cause));
    }
    one_line(&text)
}

/// An error and its causes, as one text (causes already in the text are not repeated).
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A reason on one line.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key and value schemas of `topic`: from a source over it (preferring the sink of a
/// query for outputs and a non-sink for inputs), else from the case's `topics` entry.
pub(crate) fn topic_schemas(
    topic: &str,
    catalog: &Catalog,
    case: &Case,
    output: bool,
) -> TopicSchemas {
    let sinks: Vec<&str> = catalog.queries().map(|query| query.sink.as_str()).collect();
    let mut candidates: Vec<_> = catalog
        .sources()
        .filter(|source| source.topic == topic)
        .collect();
    candidates.sort_by_key(|source| sinks.contains(&source.name.as_str()) != output);
    let registry = Arc::new(catalog.schema_registry().clone());
    let with_registry = |schemas: TopicSchemas| TopicSchemas {
        key: schemas
            .key
            .with_registry(&registry, subject_name(topic, true)),
        value: schemas
            .value
            .with_registry(&registry, subject_name(topic, false)),
    };
    if let Some(source) = candidates.first() {
        return with_registry(TopicSchemas {
            key: PayloadSchema::key_of(source),
            value: PayloadSchema::value_of(source),
        });
    }
    let entry = case.topics.iter().find(|entry| entry.name == topic);
    with_registry(TopicSchemas {
        key: PayloadSchema::untyped(
            entry
                .and_then(|entry| entry.key_format.as_deref())
                .unwrap_or("KAFKA"),
        ),
        value: PayloadSchema::untyped(
            entry
                .and_then(|entry| entry.value_format.as_deref())
                .unwrap_or("JSON"),
        ),
    })
}

/// A `topics` schema: subject, type, text, references and id.
type MainSchema = (
    String,
    SchemaType,
    String,
    Vec<SchemaReference>,
    Option<u32>,
);

/// Registers schemas before the statements run, in the order of ksqlDB's harness (which
/// fixes the ids that `KEY/VALUE_SCHEMA_ID` refer to): first those of the topics that
/// `CREATE STREAM/TABLE` statements with columns declare (the schemas the engine generates
/// for them), then the `topics` entries, key before value, with their ids when given, and
/// last the schemas they reference, under the references' names.
pub(crate) fn register_topic_schemas(
    case: &Case,
    engine: &Engine,
    properties: &planner::Properties,
) -> Result<(), Verdict> {
    let register = |subject: &str, schema_type, text: &str, references, id| {
        engine
            .register_schema(subject, schema_type, text, references, id)
            .map_err(|error| {
                Verdict::error(format!(
                    "cannot register the schema of subject {subject}: {}",
                    error_text(&error)
                ))
            })
    };
    let mut explicit: Vec<String> = Vec::new();
    let mut main: Vec<MainSchema> = Vec::new();
    let mut referenced: Vec<(String, SchemaType, String)> = Vec::new();
    for topic in &case.topics {
        for (key, prefix) in [(true, "key"), (false, "value")] {
            let entry = &topic.entry;
            let Some(schema) = entry.get_present(&format!("{prefix}Schema")) else {
                continue;
            };
            let format = if key {
                topic.key_format.as_deref()
            } else {
                topic.value_format.as_deref()
            };
            let (schema_type, text) = schema_text(format, schema);
            let id = entry
                .get_present(&format!("{prefix}SchemaId"))
                .and_then(Json::as_i64)
                .and_then(|id| u32::try_from(id).ok());
            let mut references = Vec::new();
            for reference in entry
                .get_present(&format!("{prefix}SchemaReferences"))
                .and_then(Json::as_array)
                .unwrap_or_default()
            {
                let (Some(name), Some(schema)) = (
                    reference.get("name").and_then(Json::as_str),
                    reference.get("schema"),
                ) else {
                    continue;
                };
                let format = reference.get("format").and_then(Json::as_str);
                let (schema_type, text) = schema_text(format, schema);
                references.push(SchemaReference {
                    name: name.to_string(),
                    subject: name.to_string(),
                    version: 1,
                });
                referenced.push((name.to_string(), schema_type, text));
            }
            let subject = subject_name(&topic.name, key);
            explicit.push(subject.clone());
            main.push((subject, schema_type, text, references, id));
        }
    }
    for (subject, schema_type, text) in declared_schemas(case, engine, properties) {
        if !explicit.contains(&subject) {
            register(&subject, schema_type, &text, Vec::new(), None)?;
        }
    }
    for (subject, schema_type, text, references, id) in main {
        register(&subject, schema_type, &text, references, id)?;
    }
    for (name, schema_type, text) in referenced {
        register(&name, schema_type, &text, Vec::new(), None)?;
    }
    Ok(())
}

/// The schemas the engine would register for the `CREATE STREAM/TABLE` statements with
/// columns, in statement order (statements that do not plan are skipped: they fail later,
/// when they run).
fn declared_schemas(
    case: &Case,
    engine: &Engine,
    properties: &planner::Properties,
) -> Vec<(String, SchemaType, String)> {
    let mut catalog = engine.catalog();
    let mut schemas = Vec::new();
    for script in &case.statements {
        let Ok(statements) = parser::parse_statements(script) else {
            continue;
        };
        for statement in statements {
            let parser::ast::StatementKind::CreateSource(create) = &statement.kind else {
                continue;
            };
            if create.elements.is_empty() {
                continue;
            }
            let Ok(Some(planner::StatementPlan::CreateSource { source, .. })) =
                planner::plan_statement(&catalog, &statement, properties)
            else {
                continue;
            };
            for format in [&source.key_format, &source.value_format] {
                if let Some(binding) = &format.schema
                    && let Some(subject) = &binding.subject
                {
                    schemas.push((
                        subject.clone(),
                        binding.schema.schema_type,
                        binding.schema.text.clone(),
                    ));
                }
            }
            catalog.put_source(source);
        }
    }
    schemas
}

/// The registry type and text of a schema in a `topics` entry: PROTOBUF schemas are text,
/// AVRO and JSON schemas are JSON (a bare string is an Avro primitive type).
fn schema_text(format: Option<&str>, schema: &Json) -> (SchemaType, String) {
    let format = format.and_then(SchemaType::parse);
    match (format, schema) {
        (Some(SchemaType::Protobuf), Json::String(text)) => (SchemaType::Protobuf, text.clone()),
        (None, Json::String(text)) if text.contains("syntax") || text.contains("message ") => {
            (SchemaType::Protobuf, text.clone())
        }
        (Some(SchemaType::Json), other) => (SchemaType::Json, other.to_string()),
        (None, other @ Json::Object(_))
            if other.get("type").and_then(Json::as_str) == Some("object") =>
        {
            (SchemaType::Json, other.to_string())
        }
        (_, other) => (SchemaType::Avro, other.to_string()),
    }
}

/// Serializes and produces the input records in order: consecutive records of one topic in
/// one append, and before switching topics, waits until the queries have consumed them. Like
/// ksqlDB's harness, which pipes each record through every query before the next, this keeps
/// the order of records from different topics (joins, several queries into one sink).
pub(crate) fn produce_inputs(
    case: &Case,
    engine: &Engine,
    log: &dyn TopicLog,
    deadline: Instant,
) -> Result<(), Verdict> {
    let catalog = engine.catalog();
    let mut schemas: BTreeMap<&str, TopicSchemas> = BTreeMap::new();
    let mut partition_counts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut pending: Vec<(u32, Record)> = Vec::new();
    let mut pending_topic: Option<&str> = None;
    for (index, input) in case.inputs.iter().enumerate() {
        let topic = input.topic.as_str();
        if let Some(current) = pending_topic
            && current != topic
        {
            produce(log, current, std::mem::take(&mut pending))?;
            wait_for_queries(engine, log, deadline)?;
        }
        pending_topic = Some(topic);
        let schema = schemas
            .entry(topic)
            .or_insert_with(|| topic_schemas(topic, &catalog, case, false));
        let partitions = match partition_counts.get(topic) {
            Some(count) => *count,
            None => {
                let count = match log.describe_topic(topic) {
                    Ok(Some(description)) => description.partitions,
                    Ok(None) => {
                        log.create_topic(topic, 1, 1).map_err(|error| {
                            Verdict::error(format!("cannot create topic {topic}: {error}"))
                        })?;
                        1
                    }
                    Err(error) => {
                        return Err(Verdict::error(format!(
                            "cannot describe topic {topic}: {error}"
                        )));
                    }
                };
                partition_counts.insert(topic, count);
                count
            }
        };
        let record = serialize_input(input, schema)
            .map_err(|reason| Verdict::fail(format!("input {index}: {reason}")))?;
        let partition = record
            .0
            .as_deref()
            .map_or(0, |key| partition_for_key(key, partitions));
        pending.push((partition, record.1));
    }
    if let Some(topic) = pending_topic {
        produce(log, topic, pending)?;
    }
    Ok(())
}

fn produce(log: &dyn TopicLog, topic: &str, records: Vec<(u32, Record)>) -> Result<(), Verdict> {
    log.produce(topic, records)
        .map(|_| ())
        .map_err(|error| Verdict::error(format!("cannot produce to {topic}: {error}")))
}

/// The record for an input, with the bytes its partition is chosen by (the key without
/// its window).
fn serialize_input(
    input: &TestRecord,
    schemas: &TopicSchemas,
) -> Result<(Option<Vec<u8>>, Record), String> {
    let key = schemas
        .key
        .encode(&input.key)
        .map_err(|error| format!("key: {error}"))?;
    let value = schemas
        .value
        .encode(&input.value)
        .map_err(|error| format!("value: {error}"))?;
    let record_key = match &input.window {
        Some(window) => Some(windowed_key(key.clone(), window)),
        None => key.clone(),
    };
    let headers = input
        .headers
        .iter()
        .flatten()
        .map(|(key, value)| Header {
            key: key.clone(),
            value: value.clone(),
        })
        .collect();
    Ok((
        key,
        Record {
            key: record_key,
            value,
            timestamp: input.timestamp.unwrap_or(0),
            headers,
        },
    ))
}

/// Waits until every persistent query has consumed all its input (checked twice around an
/// unchanged log, so that a query writing while another is checked is not missed), failing
/// the case at `deadline`.
pub(crate) fn wait_for_queries(
    engine: &Engine,
    log: &dyn TopicLog,
    deadline: Instant,
) -> Result<(), Verdict> {
    let progress_error = |error: &(dyn std::error::Error + 'static)| {
        Verdict::error(format!("cannot read query progress: {}", error_text(error)))
    };
    loop {
        let before = log_ends(log).map_err(|error| progress_error(&error))?;
        let caught_up = engine
            .queries_caught_up()
            .map_err(|error| progress_error(&error))?;
        if caught_up && log_ends(log).map_err(|error| progress_error(&error))? == before {
            return Ok(());
        }
        if Instant::now() > deadline {
            let states = engine
                .query_states()
                .into_iter()
                .map(|(id, state)| format!("{id}: {state:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(Verdict::fail(format!(
                "queries did not consume their input within {CATCH_UP_TIMEOUT:?} ({states})"
            )));
        }
        if caught_up {
            continue;
        }
        wait_for_append(engine, &before).map_err(|error| progress_error(&error))?;
    }
}

/// Per topic, `(earliest, next)` offsets of each partition.
type LogEnds = Vec<(String, Vec<(u64, u64)>)>;

/// The end offsets of every partition of every topic.
fn log_ends(log: &dyn TopicLog) -> executor::Result<LogEnds> {
    log.list_topics()?
        .into_iter()
        .map(|topic| Ok((topic.name.clone(), log.offsets(&topic.name)?)))
        .collect()
}

/// Waits up to `POLL_INTERVAL` for a record appended past `ends` to any of those topics.
fn wait_for_append(engine: &Engine, ends: &LogEnds) -> executor::Result<()> {
    let mut consumer = engine.topic_log().consumer()?;
    for (topic, partitions) in ends {
        for (partition, (_, next)) in partitions.iter().enumerate() {
            consumer.assign(topic, partition as u32, *next)?;
        }
    }
    consumer.poll(1, POLL_INTERVAL)?;
    Ok(())
}

/// Every record of `topic`, partition by partition (none when the topic does not exist).
pub(crate) fn read_topic(log: &dyn TopicLog, topic: &str) -> executor::Result<Vec<ActualRecord>> {
    if log.describe_topic(topic)?.is_none() {
        return Ok(Vec::new());
    }
    let mut records = Vec::new();
    for (partition, (earliest, end)) in log.offsets(topic)?.into_iter().enumerate() {
        let mut next = earliest;
        while next < end {
            let batch = log.read(topic, partition as u32, next, (end - next) as usize)?;
            let Some(last) = batch.last() else {
                break;
            };
            next = last.offset + 1;
            records.extend(batch.into_iter().map(|consumed| ActualRecord {
                partition: consumed.partition,
                offset: consumed.offset,
                record: consumed.record,
            }));
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::super::corpus::parse_file;
    use super::super::json::Json;
    use super::*;

    fn case(json: &str) -> Case {
        let document =
            Json::parse(&format!("{{\"kind\":\"qtt\",\"cases\":[{json}]}}")).expect("valid");
        parse_file(&document).expect("parses").remove(0)
    }

    #[test]
    fn expected_errors_match_on_message_and_cause() {
        let expected = |kind: &str, message: Option<&str>, cause: Option<&str>| ExpectedError {
            kind: Some(kind.to_string()),
            message: message.map(str::to_string),
            cause: None,
            cause_message: cause.map(str::to_string),
            status: None,
        };
        let statement = "io.confluent.ksql.util.KsqlStatementException";
        let streams = "org.apache.kafka.streams.errors.StreamsException";
        let cases = [
            (
                expected(statement, Some("does not exist"), None),
                "stream `X` does not exist",
                false,
                true,
            ),
            (
                expected(statement, Some("does not exist"), None),
                "syntax error",
                false,
                false,
            ),
            (
                expected(statement, Some("a"), Some("b")),
                "a: b",
                false,
                true,
            ),
            (
                expected(statement, Some("a"), Some("c")),
                "a: b",
                false,
                false,
            ),
            (
                expected(
                    streams,
                    Some("Exception caught in process"),
                    Some("Numeric field overflow"),
                ),
                "query X failed: Numeric field overflow",
                true,
                true,
            ),
            (
                expected(streams, Some("Exception caught in process"), None),
                "query X failed: other",
                true,
                false,
            ),
        ];
        for (expected, text, processing, matches) in cases {
            let result = check_expected_error(&expected, text, processing);
            assert_eq!(
                result.is_ok(),
                matches,
                "{expected:?} vs {text}: {result:?}"
            );
        }
    }

    #[test]
    fn an_expected_error_that_does_not_occur_fails() {
        let no_error = case(
            r#"{"id":"e","kind":"qtt","statements":[],"inputs":[],"outputs":[],
               "expected_error":{"type":"io.confluent.ksql.util.KsqlStatementException",
                                 "message":"boom","cause":null,"cause_message":null}}"#,
        );
        let verdict = run_case(&no_error);
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.reason,
            "expected error containing \"boom\" but none occurred"
        );
    }

    #[test]
    fn missing_output_records_fail_with_the_first_missing_record() {
        let missing = case(
            r#"{"id":"m","kind":"qtt","statements":[],"inputs":[],
               "topics":[{"name":"t","keyFormat":"KAFKA","valueFormat":"JSON"}],
               "outputs":[{"topic":"t","key":"a","value":{"V":1}}]}"#,
        );
        let verdict = run_case(&missing);
        assert_eq!(verdict.status, Status::Fail);
        assert_eq!(
            verdict.reason,
            "topic t: record 0: expected key=\"a\" value={\"V\":1}, actual none (expected 1 records, got 0)"
        );
    }

    #[test]
    fn inputs_reach_their_topic_and_compare_as_outputs() {
        // No statements: what is produced is read back, which exercises the serdes, the
        // partitioner and the comparison end to end without depending on the SQL engine.
        let json = r#"{"id":"i","kind":"qtt","statements":[],
               "topics":[{"name":"t","keyFormat":"KAFKA","valueFormat":"JSON","partitions":4}],
               "inputs":[{"topic":"t","key":"a","value":{"V":1.10},"timestamp":3,
                          "headers":[{"KEY":"h","VALUE":"IQ=="}]},
                         {"topic":"t","key":null,"value":null}],
               "outputs":[{"topic":"t","key":"a","value":{"V":1.10},"timestamp":3,
                           "headers":[{"KEY":"h","VALUE":"IQ=="}]},
                          {"topic":"t","key":null,"value":null}]}"#;
        assert_eq!(run_case(&case(json)), Verdict::pass());
        let altered = json.replace(
            "\"outputs\":[{\"topic\":\"t\",\"key\":\"a\",\"value\":{\"V\":1.10}",
            "\"outputs\":[{\"topic\":\"t\",\"key\":\"a\",\"value\":{\"V\":1.2}",
        );
        let verdict = run_case(&case(&altered));
        assert_eq!(verdict.status, Status::Fail);
        assert!(
            verdict
                .reason
                .starts_with("topic t: record 0: expected key=\"a\" value={\"V\":1.2}"),
            "{}",
            verdict.reason
        );
        assert!(
            verdict
                .reason
                .contains("actual key=\"a\" value={\"V\":1.10}"),
            "{}",
            verdict.reason
        );
    }
    #[test]
    fn schema_registry_formats_run_end_to_end() {
        for format in ["AVRO", "PROTOBUF", "JSON_SR", "PROTOBUF_NOSR"] {
            let json = r#"{"id":"sr","kind":"qtt",
                   "statements":["CREATE STREAM INPUT (K STRING KEY, V INT, D DECIMAL(4,2), A ARRAY<STRING>) WITH (kafka_topic='t', partitions=1, value_format='F');",
                                 "CREATE STREAM OUTPUT AS SELECT K, V * 2 AS W, D, A FROM INPUT;"],
                   "inputs":[{"topic":"t","key":"a","value":{"V":1,"D":1.50,"A":["x","y"]}}],
                   "outputs":[{"topic":"OUTPUT","key":"a","value":{"W":2,"D":1.50,"A":["x","y"]}}]}"#
                .replace("'F'", &format!("'{format}'"));
            assert_eq!(run_case(&case(&json)), Verdict::pass(), "{format}");
        }
    }

    #[test]
    fn registered_schemas_drive_inference_and_schema_ids() {
        let json = r#"{"id":"inference","kind":"qtt",
               "statements":["CREATE STREAM INPUT WITH (kafka_topic='input', format='AVRO');",
                             "CREATE STREAM OUTPUT WITH (VALUE_SCHEMA_ID=5) AS SELECT * FROM INPUT;"],
               "topics":[{"name":"input","keyFormat":"AVRO","valueFormat":"AVRO",
                          "keySchema":{"type":"int"},
                          "valueSchema":{"type":"record","name":"r","fields":[{"name":"c1","type":["null","string"]},{"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}},
                         {"name":"OUTPUT","valueFormat":"AVRO","valueSchemaId":5,
                          "valueSchema":{"type":"record","name":"o","fields":[{"name":"C1","type":["null","string"]},{"name":"E","type":["null","string"]},{"name":"X","type":"int","default":7}]}}],
               "inputs":[{"topic":"input","key":3,"value":{"c1":"hi","e":"B"}}],
               "outputs":[{"topic":"OUTPUT","key":3,"value":{"C1":"hi","E":"B","X":7}}],
               "post":{"sources":[{"name":"INPUT","type":"stream","schema":"ROWKEY INT KEY, C1 STRING, E STRING"}]}}"#;
        assert_eq!(run_case(&case(json)), Verdict::pass());
    }
}
