//! Per-source and per-query counters shown by `DESCRIBE ... EXTENDED`, `SHOW QUERIES` and
//! the server's `/metrics`.
//!
//! Operators count under their source's name within their query's scope
//! ([`Metrics::scoped`]), so that a source's figures ([`Metrics::totals`]) are the sum over
//! the queries reading it and a query's failures and late records ([`Metrics::query_totals`])
//! are its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::processing_log::{ProcessingError, ProcessingEvent, ProcessingLog, ProcessingLogSlot};

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
    /// Epochs committed (by the query's tasks, or a repartition stage's).
    pub epochs: AtomicU64,
    /// How long committing an epoch took.
    pub commit_latency: Histogram,
    /// Where failures are also written as processing-log events, once it is started.
    processing_log: ProcessingLogSlot,
    /// The processing log's logger name of these counters: `processing.<query id>.<name>`.
    logger: String,
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

    /// An epoch was committed in `took`.
    pub fn record_commit(&self, took: Duration) {
        self.epochs.fetch_add(1, Ordering::Relaxed);
        self.commit_latency.observe(took);
    }

    /// A record an expression failed on was skipped.
    pub fn record_failure(&self, message: String) {
        self.record_error(message, ProcessingError::RecordProcessing);
    }

    /// A record that could not be decoded was skipped.
    pub fn record_deserialization_failure(
        &self,
        message: String,
        target: &'static str,
        topic: &str,
        record: Option<&[u8]>,
    ) {
        let error = ProcessingError::Deserialization {
            target,
            topic: topic.to_string(),
            record: record.map(<[u8]>::to_vec),
        };
        self.record_error(message, error);
    }

    /// Counts a skipped record, keeps its message for display and writes it to the
    /// processing log.
    pub fn record_error(&self, message: String, error: ProcessingError) {
        if let Some(log) = self.processing_log.get() {
            log.log(ProcessingEvent {
                logger: self.logger.clone(),
                error,
                message: message.clone(),
            });
        }
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
    /// The query these counters are registered within, if any.
    scope: Option<Arc<str>>,
    /// The processing log every counter writes its failures to, once started.
    processing_log: ProcessingLogSlot,
}

/// Separates a name from its query scope in the registry's keys.
const SCOPE: char = '\u{1f}';

/// The sums of several [`Counters`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Totals {
    pub consumed: u64,
    pub failed: u64,
    pub produced: u64,
    pub late: u64,
    pub last_error: Option<String>,
}

impl Totals {
    fn add(&mut self, counters: &Counters) {
        let (consumed, failed, produced) = counters.snapshot();
        self.consumed += consumed;
        self.failed += failed;
        self.produced += produced;
        self.late += counters.late();
        if let Some(error) = counters.last_error() {
            self.last_error = Some(error);
        }
    }
}

impl Metrics {
    /// The same registry, registering counters within query `query`: the operators of a
    /// query count under their source's name there.
    pub fn scoped(&self, query: &str) -> Metrics {
        Metrics {
            counters: Arc::clone(&self.counters),
            scope: Some(Arc::from(query)),
            processing_log: self.processing_log.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Counters>>> {
        self.counters
            .lock()
            .expect("metrics lock is never poisoned")
    }

    /// The counters registered under `name` (within this registry's query, if scoped),
    /// created on first use.
    pub fn counters(&self, name: &str) -> Arc<Counters> {
        let key = match &self.scope {
            Some(query) => format!("{name}{SCOPE}{query}"),
            None => name.to_string(),
        };
        let logger = match &self.scope {
            Some(query) => format!("processing.{query}.{name}"),
            None => format!("processing.{name}"),
        };
        Arc::clone(self.lock().entry(key).or_insert_with(|| {
            Arc::new(Counters {
                processing_log: self.processing_log.clone(),
                logger,
                ..Counters::default()
            })
        }))
    }

    /// Processing-log entries dropped because the log's queue was full.
    pub fn processing_log_dropped(&self) -> u64 {
        self.processing_log.get().map_or(0, |log| log.dropped())
    }

    /// Writes the failures every counter of this registry records to `log` from now on.
    pub fn set_processing_log(&self, log: ProcessingLog) {
        self.processing_log.set(log);
    }

    /// The names counters have been registered under (query scopes left out).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .lock()
            .keys()
            .map(|key| key.split(SCOPE).next().unwrap_or_default().to_string())
            .collect();
        names.dedup();
        names
    }

    /// The sums of `name`'s counters over every query scope (a source's figures).
    pub fn totals(&self, name: &str) -> Totals {
        let mut totals = Totals::default();
        for (key, counters) in self.lock().iter() {
            if key.split(SCOPE).next() == Some(name) {
                totals.add(counters);
            }
        }
        totals
    }

    /// Query `query`'s figures: records consumed and produced as its commits counted them,
    /// and the failures and late records of its operators.
    pub fn query_totals(&self, query: &str) -> Totals {
        let mut totals = Totals::default();
        for (key, counters) in self.lock().iter() {
            match key.split_once(SCOPE) {
                None if key == query => {
                    let (consumed, _, produced) = counters.snapshot();
                    totals.consumed += consumed;
                    totals.produced += produced;
                }
                Some((_, scope)) if scope == query => {
                    totals.failed += counters.failed.load(Ordering::Relaxed);
                    totals.late += counters.late();
                    if let Some(error) = counters.last_error() {
                        totals.last_error = Some(error);
                    }
                }
                _ => {}
            }
        }
        totals
    }
}

/// A latency histogram with Prometheus's default buckets (seconds).
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at most each bound of [`Histogram::BOUNDS`] (not cumulative).
    buckets: [AtomicU64; 11],
    /// Observations above the last bound.
    over: AtomicU64,
    sum_micros: AtomicU64,
}

/// A [`Histogram`]'s figures: cumulative counts per upper bound, the sum and the count.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl Histogram {
    /// Upper bounds of the buckets, seconds.
    pub const BOUNDS: [f64; 11] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ];

    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        match Self::BOUNDS.iter().position(|bound| seconds <= *bound) {
            Some(index) => self.buckets[index].fetch_add(1, Ordering::Relaxed),
            None => self.over.fetch_add(1, Ordering::Relaxed),
        };
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let buckets = Self::BOUNDS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        HistogramSnapshot {
            buckets,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            count: cumulative + self.over.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_sums_its_queries_and_a_query_keeps_its_own_failures() {
        let metrics = Metrics::default();
        metrics
            .scoped("Q1")
            .counters("S")
            .record_failure("bad 1".into());
        metrics
            .scoped("Q2")
            .counters("S")
            .record_failure("bad 2".into());
        metrics.scoped("Q2").counters("S").add_late(3);
        metrics.counters("S").add_consumed(5);
        metrics.counters("Q2").add_consumed(7);
        let source = metrics.totals("S");
        assert_eq!((source.consumed, source.failed, source.late), (5, 2, 3));
        let query = metrics.query_totals("Q2");
        assert_eq!((query.consumed, query.failed, query.late), (7, 1, 3));
        assert_eq!(query.last_error.as_deref(), Some("bad 2"));
        assert_eq!(metrics.query_totals("Q1").failed, 1);
        assert_eq!(metrics.names(), vec!["Q2".to_string(), "S".to_string()]);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(500));
        histogram.observe(Duration::from_millis(20));
        histogram.observe(Duration::from_secs(5));
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count, 3);
        assert_eq!(snapshot.buckets[0], (0.001, 1));
        assert_eq!(snapshot.buckets[4], (0.025, 2));
        assert_eq!(snapshot.buckets[10], (2.5, 2));
        assert!((snapshot.sum_seconds - 5.0205).abs() < 1e-9, "{snapshot:?}");
    }
}
