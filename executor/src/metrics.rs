//! Per-source and per-query counters shown by `DESCRIBE ... EXTENDED` and `SHOW QUERIES`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters of one source (as read by queries) or one query.
#[derive(Debug, Default)]
pub struct Counters {
    /// Records read.
    pub consumed: AtomicU64,
    /// Records that could not be decoded or processed, and were skipped.
    pub failed: AtomicU64,
    /// Records written.
    pub produced: AtomicU64,
    /// Records dropped because their window had closed (later than the grace period).
    pub late: AtomicU64,
    /// The last failure, for display.
    pub last_error: Mutex<Option<String>>,
}

impl Counters {
    pub fn add_consumed(&self, count: u64) {
        self.consumed.fetch_add(count, Ordering::Relaxed);
    }

    pub fn add_produced(&self, count: u64) {
        self.produced.fetch_add(count, Ordering::Relaxed);
    }

    pub fn add_late(&self, count: u64) {
        self.late.fetch_add(count, Ordering::Relaxed);
    }

    pub fn record_failure(&self, message: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self
            .last_error
            .lock()
            .expect("metrics lock is never poisoned") = Some(message);
    }

    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.consumed.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.produced.load(Ordering::Relaxed),
        )
    }

    /// Records that came later than their window's grace period (dropped by aggregations,
    /// not stored by stream-stream joins).
    pub fn late(&self) -> u64 {
        self.late.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .expect("metrics lock is never poisoned")
            .clone()
    }
}

/// Counters by name (source names and query ids). Clones share the counters.
#[derive(Debug, Default, Clone)]
pub struct Metrics {
    counters: Arc<Mutex<BTreeMap<String, Arc<Counters>>>>,
}

impl Metrics {
    /// The counters registered under `name`, created on first use.
    pub fn counters(&self, name: &str) -> Arc<Counters> {
        let mut counters = self
            .counters
            .lock()
            .expect("metrics lock is never poisoned");
        Arc::clone(counters.entry(name.to_string()).or_default())
    }

    /// The names counters have been registered under.
    pub fn names(&self) -> Vec<String> {
        self.counters
            .lock()
            .expect("metrics lock is never poisoned")
            .keys()
            .cloned()
            .collect()
    }
}
