//! Handles of queries that did all their work before returning (SQL pull queries): there is
//! no thread to stop, and the state is already `Done`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::{QueryHandle, QueryState};
use crate::log::TopicLog;

impl QueryHandle {
    /// The handle of a query that has already ended without error.
    pub fn finished(log: Arc<dyn TopicLog>) -> QueryHandle {
        QueryHandle {
            stop: Arc::new(AtomicBool::new(true)),
            state: Arc::new(Mutex::new(QueryState::Done)),
            thread: None,
            log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmbeddedLog, Store};

    #[test]
    fn finished_handle_is_done_and_stops_at_once() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let log: Arc<dyn TopicLog> = Arc::new(EmbeddedLog::new(store).expect("log"));
        let mut handle = QueryHandle::finished(log);
        assert_eq!(handle.state(), QueryState::Done);
        handle.stop();
        assert_eq!(handle.state(), QueryState::Done);
    }
}
