//! The input records of a case: serialized with the topic's schemas and produced to the
//! partition of their serialized key (murmur2; null keys to partition 0).

use std::collections::BTreeMap;
use std::time::Instant;

use executor::log::partitioner::partition_for_key;
use executor::{Header, Record, TopicLog};
use server::Engine;

use super::schemas::topic_schemas;
use super::wait::wait_for_queries;
use crate::codec::windowed_key;
use crate::compare::TopicSchemas;
use crate::corpus::{Case, TestRecord};
use crate::verdict::Verdict;

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
