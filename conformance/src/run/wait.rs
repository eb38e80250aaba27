//! Waiting until the persistent queries of a case have consumed their input: the log's end
//! offsets unchanged around a check of every query's committed offsets, and a consumer over
//! every partition to wait for appends.

use std::time::{Duration, Instant};

use executor::TopicLog;
use server::Engine;

use super::CATCH_UP_TIMEOUT;
use crate::verdict::{Verdict, error_text};

/// How long one wait for new records lasts before the queries are checked again.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

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
