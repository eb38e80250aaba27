//! The rows of one running query as a response sees them, and the registry of running push
//! queries (ids for `/close-query` and `SHOW QUERIES`).
//!
//! Query threads are joined on the blocking pool, never on the async runtime.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;
use executor::{QueryHandle, QueryState};
use tokio::sync::{oneshot, watch};

use crate::http::shutdown_requested;
use crate::{LineStream, RowStream};

/// Running push queries by id.
pub(crate) struct PushQueries {
    running: Mutex<HashMap<String, PushQuery>>,
    /// Numbers behind query ids; starts at a time-based value so ids differ across restarts.
    next_number: AtomicU64,
}

struct PushQuery {
    sql: String,
    close: oneshot::Sender<()>,
}

impl Default for PushQueries {
    fn default() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0);
        Self {
            running: Mutex::new(HashMap::new()),
            next_number: AtomicU64::new(seed),
        }
    }
}

impl PushQueries {
    /// A new query id as ksqlDB names them: `transient_<SOURCE>_<n>` for push queries,
    /// `SCALABLE_PUSH_QUERY_<n>` for scalable ones, `query_<n>` for pull queries.
    pub(crate) fn new_id(&self, source: &str, is_pull: bool, scalable_push: bool) -> String {
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        if is_pull {
            format!("query_{number}")
        } else if scalable_push {
            format!("SCALABLE_PUSH_QUERY_{number}")
        } else {
            format!("transient_{source}_{number}")
        }
    }

    /// Registers a running push query; it stays listed until the registration drops, and
    /// `close` signals the returned receiver.
    pub(crate) fn register(
        self: &Arc<Self>,
        id: String,
        sql: String,
    ) -> (Registration, oneshot::Receiver<()>) {
        let (close, closed) = oneshot::channel();
        self.lock().insert(id.clone(), PushQuery { sql, close });
        let registration = Registration {
            queries: Arc::clone(self),
            id,
        };
        (registration, closed)
    }

    /// Asks push query `id` to end; false when no such query runs.
    pub(crate) fn close(&self, id: &str) -> bool {
        match self.lock().remove(id) {
            Some(query) => {
                // The response may have ended on its own meanwhile; nothing left to close.
                let _ = query.close.send(());
                true
            }
            None => false,
        }
    }

    /// Like `close`, with `id` compared ignoring case (`TERMINATE` upper-cases it); the id
    /// of the query closed.
    pub(crate) fn close_ignoring_case(&self, id: &str) -> Option<String> {
        let found = self
            .lock()
            .keys()
            .find(|running| running.eq_ignore_ascii_case(id))
            .cloned()?;
        self.close(&found).then_some(found)
    }

    /// Ids and statements of the running push queries, sorted by id.
    pub(crate) fn list(&self) -> Vec<(String, String)> {
        let mut queries: Vec<(String, String)> = self
            .lock()
            .iter()
            .map(|(id, query)| (id.clone(), query.sql.clone()))
            .collect();
        queries.sort();
        queries
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PushQuery>> {
        self.running
            .lock()
            .expect("push query registry lock is never poisoned")
    }
}

/// Keeps a push query listed; dropping it unlists the query.
pub(crate) struct Registration {
    queries: Arc<PushQueries>,
    id: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.queries.lock().remove(&self.id);
    }
}

/// What the next step of a query is.
pub(crate) enum Next {
    Batch(RecordBatch),
    End(Ending),
}

/// Why a query's rows ended.
pub(crate) enum Ending {
    /// The query ended by itself (LIMIT reached, pull query done).
    Completed,
    /// The query failed.
    Failed(String),
    /// Closed by `/close-query` or by the server stopping.
    Closed,
}

/// The rows of a running query; dropping it stops the query.
pub(crate) struct QueryRows {
    stream: Option<RowStream>,
    closed: Option<oneshot::Receiver<()>>,
    shutdown: watch::Receiver<bool>,
    _registration: Option<Registration>,
}

impl QueryRows {
    /// Rows of `stream`; `push` is the registration of a push query and its close signal.
    pub(crate) fn new(
        stream: RowStream,
        push: Option<(Registration, oneshot::Receiver<()>)>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let (registration, closed) = match push {
            Some((registration, closed)) => (Some(registration), Some(closed)),
            None => (None, None),
        };
        Self {
            stream: Some(stream),
            closed,
            shutdown,
            _registration: registration,
        }
    }

    /// Waits for the next batch, or for the end of the query.
    pub(crate) async fn next(&mut self) -> Next {
        enum Outcome {
            Batch(RecordBatch),
            Drained,
            Closed,
        }
        let Self {
            stream,
            closed,
            shutdown,
            ..
        } = self;
        let Some(stream) = stream.as_mut() else {
            return Next::End(Ending::Closed);
        };
        let closed = async move {
            match closed.as_mut() {
                Some(closed) => {
                    // A dropped sender (the registry let go) also means closed.
                    let _ = closed.await;
                }
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            batch = stream.receiver.recv() => match batch {
                Some(batch) => Outcome::Batch(batch),
                None => Outcome::Drained,
            },
            () = closed => Outcome::Closed,
            () = shutdown_requested(shutdown.clone()) => Outcome::Closed,
        };
        match outcome {
            Outcome::Batch(batch) => Next::Batch(batch),
            Outcome::Closed => {
                self.closed = None;
                if let Some(stream) = self.stream.take() {
                    dispose_rows(stream);
                }
                Next::End(Ending::Closed)
            }
            Outcome::Drained => {
                let state = match self.stream.take() {
                    Some(stream) => final_state(stream).await,
                    None => QueryState::Done,
                };
                Next::End(match state {
                    QueryState::Error(message) => Ending::Failed(message),
                    _ => Ending::Completed,
                })
            }
        }
    }
}

impl Drop for QueryRows {
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            dispose_rows(stream);
        }
    }
}

/// The state of a query whose channel is drained: waits (on the blocking pool) for its
/// thread to record how it ended.
async fn final_state(stream: RowStream) -> QueryState {
    let RowStream {
        receiver,
        mut handle,
        ..
    } = stream;
    drop(receiver);
    if handle.is_finished() {
        // Most pull queries: nothing to wait for, so no trip to the blocking pool.
        handle.stop();
        return handle.state();
    }
    tokio::task::spawn_blocking(move || {
        handle.stop();
        handle.state()
    })
    .await
    .unwrap_or_else(|error| QueryState::Error(format!("the query thread failed: {error}")))
}

/// Stops a query without blocking the async runtime: the receiver goes first, so a query
/// thread blocked on a full channel wakes up, then the thread is joined on the blocking pool.
pub(crate) fn dispose_rows(stream: RowStream) {
    let RowStream {
        receiver, handle, ..
    } = stream;
    drop(receiver);
    join_later(handle);
}

/// Stops a PRINT like [`dispose_rows`].
pub(crate) fn dispose_lines(stream: LineStream) {
    let LineStream { receiver, handle } = stream;
    drop(receiver);
    join_later(handle);
}

fn join_later(handle: QueryHandle) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if !handle.is_finished() => {
            runtime.spawn_blocking(move || drop(handle));
        }
        _ => drop(handle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_closes_and_forgets_queries() {
        let queries = Arc::new(PushQueries::default());
        let id = queries.new_id("PAGEVIEWS", false, false);
        assert!(id.starts_with("transient_PAGEVIEWS_"), "{id}");
        assert!(queries.new_id("X", true, false).starts_with("query_"));
        assert!(
            queries
                .new_id("X", false, true)
                .starts_with("SCALABLE_PUSH_QUERY_")
        );
        let (registration, mut closed) = queries.register(id.clone(), "SELECT 1;".into());
        assert_eq!(queries.list(), vec![(id.clone(), "SELECT 1;".to_string())]);
        assert!(closed.try_recv().is_err(), "not closed yet");
        assert!(queries.close(&id));
        assert!(closed.try_recv().is_ok(), "close signals the query");
        assert!(!queries.close(&id), "already closed");
        let (_kept, _closed) = queries.register("transient_S_1".into(), "SELECT 3;".into());
        assert_eq!(
            queries.close_ignoring_case("TRANSIENT_S_1").as_deref(),
            Some("transient_S_1")
        );
        drop(registration);
        assert!(queries.list().is_empty());
        let (registration, _closed) = queries.register("other".into(), "SELECT 2;".into());
        drop(registration);
        assert!(
            queries.list().is_empty(),
            "dropping the registration unlists"
        );
    }
}
