//! Waiting until the persistent queries of a case have consumed their input. The only user
//! of the topic log's append notifications (`append_sequence`, `wait_for_append`).

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
    loop {
        let before = log.append_sequence();
        let caught_up = engine.queries_caught_up().map_err(|error| {
            Verdict::error(format!(
                "cannot read query progress: {}",
                error_text(&error)
            ))
        })?;
        if caught_up && log.append_sequence() == before {
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
        log.wait_for_append(before, POLL_INTERVAL);
    }
}
