//! Handles of queries that did all their work before returning (SQL pull queries): there is
//! no thread to stop, and the state is already `Done`.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use super::{QueryHandle, QueryState};

impl QueryHandle {
    /// The handle of a query that has already ended without error.
    pub fn finished() -> QueryHandle {
        QueryHandle {
            stop: Arc::new(AtomicBool::new(true)),
            state: Arc::new(Mutex::new(QueryState::Done)),
            thread: None,
            wakers: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_handle_is_done_and_stops_at_once() {
        let mut handle = QueryHandle::finished();
        assert_eq!(handle.state(), QueryState::Done);
        handle.stop();
        assert_eq!(handle.state(), QueryState::Done);
    }

    #[test]
    fn a_handle_is_finished_once_its_thread_has_ended() {
        assert!(QueryHandle::finished().is_finished());
        let mut running = super::super::spawn("waits", Vec::new(), |stop| {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(())
        })
        .expect("spawn");
        assert!(!running.is_finished());
        running.stop();
        assert!(running.is_finished());
        assert_eq!(running.state(), QueryState::Done);
        let mut ended = super::super::spawn("ends", Vec::new(), |_| Ok(())).expect("spawn");
        while !ended.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        ended.stop();
        assert_eq!(ended.state(), QueryState::Done);
    }
}
