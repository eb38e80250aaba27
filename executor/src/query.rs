//! Running queries: persistent queries (into a sink topic, exactly once) and transient
//! push/pull queries (rows to a channel).
//!
//! Each query runs on its own thread (a persistent query whose state is partitioned like its
//! input on one worker thread per partition, up to the core count), away from the async
//! runtime: it reads a batch of one source partition, processes it, and commits the produced
//! records together with the next source offset in one atomic `TopicLog::commit` (an epoch).
//! A restart resumes from the committed offsets, so nothing is lost or duplicated.

mod finished;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use planner::plan::DataflowPlan;
use tokio::sync::mpsc;

use crate::log::{TopicLog, Transaction};
use crate::metrics::{Counters, Metrics};
use crate::operator::sink::SinkOperator;
use crate::pipeline::{Pipeline, error_chain};
use crate::state::StateStore;
use crate::{ExecError, Result};

/// The state of a query lives in state tables `<query id>/<part>`: the last value per key
/// of a table source, the aggregates, the stream time per partition.
pub(crate) const SOURCE_STATE: &str = "source";
pub(crate) const AGGREGATE_STATE: &str = "aggregate";
pub(crate) const TIME_STATE: &str = "time";

/// The id of one part of a query's state.
pub(crate) fn query_state_table(id: &str, part: &str) -> String {
    format!("{id}/{part}")
}

/// Deletes the state of a stopped query.
pub fn delete_query_state(state: &StateStore, id: &str) -> Result<()> {
    for part in [SOURCE_STATE, AGGREGATE_STATE, TIME_STATE] {
        state.delete_table(&query_state_table(id, part))?;
    }
    Ok(())
}

/// Numbers the state of transient queries.
static TRANSIENT_IDS: AtomicU64 = AtomicU64::new(0);

/// Records read from one partition per epoch, unless the plan says (`max.poll.records`).
/// The embedded log also stops a read at 64 MiB of records.
///
/// Each epoch's state writes go to RocksDB as one batch sorted by key, and its memtable
/// inserts each key starting from where the one before ended: the more keys a batch has,
/// the closer they are. An aggregation over 10,000 groups (`eddy bench aggregate`) ran at
/// about 290k records/s with 4,096-record epochs, 380k with 16,384 and 420k with 32,768;
/// 65,536 gained nothing more. Only a backlog fills an epoch: a query that keeps up reads
/// what has arrived since its last epoch.
const BATCH_RECORDS: usize = 32_768;
/// How long an idle query sleeps before re-checking its stop flag (it is woken earlier by
/// appends and by `wake_all`).
const IDLE_WAIT: Duration = Duration::from_millis(500);

/// Where a query starts when it has no committed offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    Earliest,
    Latest,
}

impl StartPosition {
    /// From `auto.offset.reset`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "earliest" => Some(StartPosition::Earliest),
            "latest" => Some(StartPosition::Latest),
            _ => None,
        }
    }
}

/// State of a running query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    Running,
    /// Stopped by itself (a pull query or LIMIT reached, or the consumer left).
    Done,
    Error(String),
}

/// A query running on its own thread. Dropping the handle stops the query.
pub struct QueryHandle {
    stop: Arc<AtomicBool>,
    state: Arc<Mutex<QueryState>>,
    thread: Option<JoinHandle<()>>,
    log: Arc<dyn TopicLog>,
}

impl QueryHandle {
    pub fn state(&self) -> QueryState {
        self.state
            .lock()
            .expect("state lock is never poisoned")
            .clone()
    }

    /// The query's thread has ended (or it never had one): `stop` returns at once.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops the query and waits for its thread (a finished query has none to wake).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            self.log.wake_all();
            // A panicking query thread already reported nothing more we can use.
            let _ = thread.join();
        }
    }
}

impl Drop for QueryHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a persistent query: reads its source from the committed offsets of consumer
/// group `id` (or `start` when there are none) and writes into its sink.
///
/// A plan whose state is partitioned like its input (`groups_within_partitions`) runs its
/// partitions on up to one worker thread per core, each with its own pipeline, sink and
/// state caches, and each committing its own epochs; the others run on one thread.
pub fn start_persistent(
    id: &str,
    plan: &DataflowPlan,
    log: Arc<dyn TopicLog>,
    metrics: &Metrics,
    start: StartPosition,
    state: &StateStore,
) -> Result<QueryHandle> {
    let sink_plan = plan
        .sink
        .as_ref()
        .ok_or_else(|| ExecError::Internal("persistent query without a sink".into()))?;
    let source_name = &plan.root.source().name;
    let topic = plan.root.source().topic.clone();
    let group = id.to_string();

    // Pin the starting offsets now, so a restart before the first record never skips any.
    let ends = log.offsets(&topic)?;
    let committed = log.committed_offsets(&group, &topic)?;
    let mut offsets = Vec::with_capacity(ends.len());
    let mut initial = Transaction::default();
    for (partition, ((earliest, next), committed)) in ends.iter().zip(committed).enumerate() {
        let offset = committed.unwrap_or(match start {
            StartPosition::Earliest => *earliest,
            StartPosition::Latest => *next,
        });
        if committed.is_none() {
            initial
                .offsets
                .push((group.clone(), topic.clone(), partition as u32, offset));
        }
        offsets.push((partition as u32, offset));
    }
    if !initial.offsets.is_empty() {
        log.commit(initial)?;
    }

    // `EMIT FINAL` tracks the open windows of all partitions together: one thread.
    let emits_final = plan
        .root
        .aggregate()
        .is_some_and(|aggregate| aggregate.emit_final);
    let workers = if plan.root.groups_within_partitions() && !emits_final {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        offsets.len().clamp(1, cores)
    } else {
        1
    };
    let mut tasks = Vec::with_capacity(workers);
    for worker in 0..workers {
        tasks.push(PersistentTask {
            batch_records: plan.max_poll_records.unwrap_or(BATCH_RECORDS),
            pipeline: Pipeline::compile(plan, metrics.counters(source_name), Some((state, id)))?,
            sink: SinkOperator::new(sink_plan, Some(state))?,
            offsets: offsets
                .iter()
                .copied()
                .filter(|(partition, _)| *partition as usize % workers == worker)
                .collect(),
        });
    }
    let query_counters = metrics.counters(id);
    let sink_counters = metrics.counters(&sink_plan.name);
    spawn(id, Arc::clone(&log), move |stop, log| {
        let run = |mut task: PersistentTask| {
            let result = task.run(
                &stop,
                log.as_ref(),
                &topic,
                &group,
                &query_counters,
                &sink_counters,
            );
            if result.is_err() {
                // The query fails as a whole: its other workers stop too.
                stop.store(true, Ordering::SeqCst);
                log.wake_all();
            }
            result
        };
        let mut tasks = tasks.into_iter();
        let first = tasks.next().expect("at least one worker");
        std::thread::scope(|scope| {
            let others: Vec<_> = tasks
                .map(|task| {
                    std::thread::Builder::new()
                        .name(format!("query-{group}"))
                        .spawn_scoped(scope, || run(task))
                })
                .collect::<std::io::Result<_>>()?;
            let mut result = run(first);
            for other in others {
                let outcome = other
                    .join()
                    .unwrap_or_else(|_| Err(ExecError::Internal("a query worker panicked".into())));
                result = result.and(outcome);
            }
            result
        })
    })
}

/// One worker of a persistent query: some partitions of its source, with their own
/// pipeline and sink.
struct PersistentTask {
    /// Records read from one partition per epoch.
    batch_records: usize,
    pipeline: Pipeline,
    sink: SinkOperator,
    /// (partition, next offset) of the partitions this worker reads.
    offsets: Vec<(u32, u64)>,
}

impl PersistentTask {
    /// Processes the partitions until `stop`: each batch read is one epoch, committed with
    /// its records, state and next offset in one transaction.
    fn run(
        &mut self,
        stop: &AtomicBool,
        log: &dyn TopicLog,
        topic: &str,
        group: &str,
        query_counters: &Counters,
        sink_counters: &Counters,
    ) -> Result<()> {
        let PersistentTask {
            batch_records,
            pipeline,
            sink,
            offsets,
        } = self;
        run_loop(
            stop,
            log,
            topic,
            offsets,
            *batch_records,
            |partition, records, next| {
                let output = pipeline.process(records, partition)?;
                let produced = sink.encode(&output, partition)?;
                let mut state = pipeline.take_writes()?;
                state.extend(sink.take_writes());
                // In key order, RocksDB inserts each key into its memtable next to the one before
                // (it resumes the skip-list search where the last insert ended). Stable: a key
                // written twice keeps its last value.
                state.sort_by(|(a, _), (b, _)| a.cmp(b));
                query_counters.add_consumed(records.len() as u64);
                query_counters.add_produced(produced.len() as u64);
                sink_counters.add_produced(produced.len() as u64);
                let transaction = Transaction {
                    records: produced
                        .into_iter()
                        .map(|(p, record)| (sink.topic.clone(), p, record))
                        .collect(),
                    offsets: vec![(group.to_string(), topic.to_string(), partition, next)],
                    state,
                };
                log.commit(transaction)?;
                tracing::debug!(target: "eddy::epoch", query = %group, partition, next_offset = next, "committed");
                Ok(true)
            },
        )
    }
}

/// Starts a transient query sending its output batches (without `$rowtime`) to `output`.
/// A pull query (`until_end`) reads what the topic holds when it starts, then ends.
pub fn start_transient(
    plan: &DataflowPlan,
    log: Arc<dyn TopicLog>,
    metrics: &Metrics,
    start: StartPosition,
    until_end: bool,
    output: mpsc::Sender<RecordBatch>,
    state: &StateStore,
) -> Result<QueryHandle> {
    let source_name = &plan.root.source().name;
    // Transient state lives in memory only: its writes are never committed.
    let state_id = format!(
        "transient/{}",
        TRANSIENT_IDS.fetch_add(1, Ordering::Relaxed)
    );
    let mut pipeline = Pipeline::compile(
        plan,
        metrics.counters(source_name),
        Some((state, &state_id)),
    )?;
    let topic = pipeline.source.topic().to_string();
    let ends = log.offsets(&topic)?;
    let mut offsets: Vec<(u32, u64)> = ends
        .iter()
        .enumerate()
        .map(|(partition, (earliest, next))| {
            let offset = match start {
                StartPosition::Earliest => *earliest,
                StartPosition::Latest => *next,
            };
            (partition as u32, offset)
        })
        .collect();
    let stop_at: Vec<u64> = ends.iter().map(|(_, next)| *next).collect();
    let mut remaining = plan.limit;
    let batch_records = plan.max_poll_records.unwrap_or(BATCH_RECORDS);
    let visible = pipeline.visible_columns();
    spawn("transient", Arc::clone(&log), move |stop, log| {
        if until_end {
            for ((partition, offset), end) in offsets.iter_mut().zip(&stop_at) {
                while *offset < *end && !stop.load(Ordering::SeqCst) {
                    let wanted = ((end - *offset) as usize).min(batch_records);
                    let records = log.read(&topic, *partition, *offset, wanted)?;
                    let Some(last) = records.last() else { break };
                    *offset = last.offset + 1;
                    let batch = pipeline.process(&records, *partition)?;
                    if !send(&output, batch, visible, &mut remaining) {
                        return Ok(());
                    }
                }
            }
            return Ok(());
        }
        run_loop(
            &stop,
            log.as_ref(),
            &topic,
            &mut offsets,
            batch_records,
            |partition, records, _| {
                let batch = pipeline.process(records, partition)?;
                Ok(send(&output, batch, visible, &mut remaining))
            },
        )
    })
}

/// A query answered on the caller's thread (a pull query over a table): a receiver holding
/// exactly its result batches, then closed, and a handle that is already `Done`.
pub fn finished_query(
    batches: Vec<RecordBatch>,
    log: Arc<dyn TopicLog>,
) -> (mpsc::Receiver<RecordBatch>, QueryHandle) {
    let (sender, receiver) = mpsc::channel(batches.len().max(1));
    for batch in batches {
        sender
            .try_send(batch)
            .expect("the channel has room for every batch");
    }
    (receiver, QueryHandle::finished(log))
}

/// Sends the visible columns of a batch, honouring LIMIT; false when the query should end.
fn send(
    output: &mpsc::Sender<RecordBatch>,
    batch: RecordBatch,
    visible: usize,
    remaining: &mut Option<u64>,
) -> bool {
    let mut batch = match batch.project(&(0..visible).collect::<Vec<_>>()) {
        Ok(batch) => batch,
        Err(_) => return false,
    };
    if let Some(left) = remaining {
        if (batch.num_rows() as u64) >= *left {
            batch = batch.slice(0, *left as usize);
            *left = 0;
        } else {
            *left -= batch.num_rows() as u64;
        }
    }
    if batch.num_rows() > 0 && output.blocking_send(batch).is_err() {
        return false;
    }
    *remaining != Some(0)
}

/// Reads the partitions of `offsets` ((partition, next offset) pairs) in turn, up to
/// `batch_records` at a time, and hands non-empty batches to `process` with the next offset;
/// waits for appends when idle. Ends when `process` returns false or `stop` is set.
fn run_loop(
    stop: &AtomicBool,
    log: &dyn TopicLog,
    topic: &str,
    offsets: &mut [(u32, u64)],
    batch_records: usize,
    mut process: impl FnMut(u32, &[crate::log::ConsumedRecord], u64) -> Result<bool>,
) -> Result<()> {
    while !stop.load(Ordering::SeqCst) {
        let seen = log.append_sequence();
        let mut progressed = false;
        for (partition, offset) in offsets.iter_mut() {
            let records = log.read(topic, *partition, *offset, batch_records)?;
            let Some(last) = records.last() else { continue };
            let next = last.offset + 1;
            if !process(*partition, &records, next)? {
                return Ok(());
            }
            *offset = next;
            progressed = true;
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        if !progressed {
            log.wait_for_append(seen, IDLE_WAIT);
        }
    }
    Ok(())
}

fn spawn(
    name: &str,
    log: Arc<dyn TopicLog>,
    body: impl FnOnce(Arc<AtomicBool>, Arc<dyn TopicLog>) -> Result<()> + Send + 'static,
) -> Result<QueryHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let state = Arc::new(Mutex::new(QueryState::Running));
    let thread = std::thread::Builder::new()
        .name(format!("query-{name}"))
        .spawn({
            let stop = Arc::clone(&stop);
            let state = Arc::clone(&state);
            let log = Arc::clone(&log);
            move || {
                let result = body(stop, log);
                let mut state = state.lock().expect("state lock is never poisoned");
                *state = match result {
                    Ok(()) => QueryState::Done,
                    Err(error) => {
                        let message = error_chain(&error);
                        tracing::error!("query failed: {message}");
                        QueryState::Error(message)
                    }
                };
            }
        })?;
    Ok(QueryHandle {
        stop,
        state,
        thread: Some(thread),
        log,
    })
}

/// Starts a `PRINT` of `topic`: one formatted line per record (every `interval`-th record),
/// ending after `limit` lines.
pub fn start_print(
    topic: &str,
    log: Arc<dyn TopicLog>,
    from_beginning: bool,
    interval: u64,
    limit: Option<u64>,
    output: mpsc::Sender<String>,
) -> Result<QueryHandle> {
    let topic = topic.to_string();
    let ends = log.offsets(&topic)?;
    let mut offsets: Vec<(u32, u64)> = ends
        .iter()
        .enumerate()
        .map(|(partition, (earliest, next))| {
            (
                partition as u32,
                if from_beginning { *earliest } else { *next },
            )
        })
        .collect();
    let mut seen: u64 = 0;
    let mut printed: u64 = 0;
    spawn("print", Arc::clone(&log), move |stop, log| {
        run_loop(
            &stop,
            log.as_ref(),
            &topic,
            &mut offsets,
            BATCH_RECORDS,
            |_, records, _| {
                for record in records {
                    seen += 1;
                    if !(seen - 1).is_multiple_of(interval.max(1)) {
                        continue;
                    }
                    if output.blocking_send(print_line(record)).is_err() {
                        return Ok(false);
                    }
                    printed += 1;
                    if limit.is_some_and(|limit| printed >= limit) {
                        return Ok(false);
                    }
                }
                Ok(true)
            },
        )
    })
}

/// One `PRINT` line: `rowtime: ..., key: ..., value: ..., partition: N`.
fn print_line(record: &crate::log::ConsumedRecord) -> String {
    fn text(bytes: &Option<Vec<u8>>) -> String {
        match bytes {
            None => "<null>".into(),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) if !text.chars().any(|c| c.is_control()) => text.to_string(),
                _ if bytes.len() == 4 => {
                    i32::from_be_bytes(bytes[..4].try_into().expect("four bytes")).to_string()
                }
                _ if bytes.len() == 8 => {
                    i64::from_be_bytes(bytes[..8].try_into().expect("eight bytes")).to_string()
                }
                _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            },
        }
    }
    let rowtime = arrow::temporal_conversions::timestamp_ms_to_datetime(record.record.timestamp)
        .map(|time| time.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| record.record.timestamp.to_string());
    format!(
        "rowtime: {rowtime}, key: {}, value: {}, partition: {}",
        text(&record.record.key),
        text(&record.record.value),
        record.partition
    )
}
