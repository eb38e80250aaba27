//! Runs one case on a fresh engine from an `EngineFactory` and judges it. A qtt case follows
//! ksqlDB's `TestExecutor`: topics, config, statements, inputs, wait, outputs, `post`; a REST
//! case goes through an HTTP server (`rest`).
//!
//! Topics are created before the statements (see `topics::topics_to_create`); input records
//! go to the partition of their serialized key (`inputs`); the run waits until every
//! persistent query has consumed everything (`wait`). Schemas are registered by `schemas`.

mod inputs;
mod schemas;
mod wait;

use std::time::{Duration, Instant};

use executor::{QueryState, TopicLog};
use server::{Engine, Session};

use crate::compare::{ActualRecord, CompareOptions, compare_topic};
use crate::corpus::{Case, CaseKind, ExpectedError, TestRecord};
use crate::engine::EngineFactory;
use crate::post::check_post;
use crate::topics::topics_to_create;
use crate::verdict::{Verdict, error_text, one_line};

pub(crate) use self::inputs::produce_inputs;
pub(crate) use self::schemas::register_topic_schemas;
pub(crate) use self::schemas::topic_schemas;
pub(crate) use self::wait::wait_for_queries;

/// How long the queries of a case may take to consume their input.
pub(crate) const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// The config every case starts from (ksqlDB's harness), before the case's `properties`.
const BASE_PROPERTIES: [(&str, &str); 4] = [
    ("auto.offset.reset", "earliest"),
    ("cache.max.bytes.buffering", "0"),
    ("ksql.service.id", "some.ksql.service.id"),
    ("ksql.headers.columns.enabled", "true"),
];

/// Runs one case on a new engine from `factory` and judges it. The engine is dropped before
/// this returns.
pub fn run_case(case: &Case, factory: &dyn EngineFactory) -> Verdict {
    // ksqlDB's harness runs every case with its test functions loaded.
    crate::register_test_functions();
    let engine = match factory.create_engine() {
        Ok(engine) => engine,
        Err(error) => return Verdict::error(error_text(&error)),
    };
    match case.kind {
        CaseKind::Qtt => match run_on(case, engine.engine()) {
            Ok(()) => Verdict::pass(),
            Err(verdict) => verdict,
        },
        CaseKind::Rest => crate::rest::run_rest_case(case, engine.engine()),
    }
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

    // ksqlDB's `TestExecutor` parses the statements joined by line breaks, so the positions
    // its errors name count the lines of the statements before: each script starts on its
    // line of the joined text.
    let mut lines_before = 0;
    for (index, script) in case.statements.iter().enumerate() {
        let positioned = format!("{}{script}", "\n".repeat(lines_before));
        lines_before += script.matches('\n').count() + 1;
        if let Err(error) = engine.execute_script(&positioned, &mut session, |_, _| {}) {
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
mod tests;
