//! Running queries: persistent queries (into a sink topic, exactly once) and transient
//! push/pull queries (rows to a channel), and the handles that stop them.
//!
//! A query compiles its plan into one `OperatorGraph` per task and runs each `Task` on a
//! thread of its own, away from the async runtime (a persistent query whose state is
//! partitioned like its input runs one task per worker, up to the core count, each with
//! some of the partitions). A persistent query with repartitions (a join's sides, an
//! aggregation's groups) runs as stages cut at them: the tasks of a stage below one write
//! its internal topic, the stage above reads it. A
//! persistent task commits every epoch (records produced, source offsets, state writes)
//! through the backend's `Committer`; a restart resumes from the committed offsets, so
//! nothing is lost or duplicated.

mod finished;
mod group;
mod print;
mod transient;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use planner::catalog::OP_COLUMN;
use planner::plan::{DataflowNode, DataflowPlan, StageInput};
use tokio::sync::mpsc;

use crate::backend::Backend;
use crate::commit::Epoch;
use crate::error::error_chain;
use crate::graph::{OperatorGraph, StatePrefix};
use crate::log::{ConsumerWaker, TopicLog};
use crate::metrics::{Counters, Metrics};
use crate::state::StateStore;
use crate::task::{InputSpec, Task, TaskCommit, TaskConfig};
use crate::{ExecError, Result};

pub use print::start_print;

/// The state table of a persistent query's tasks: each input's stream time. Plan state
/// tables are named by the planner (`DataflowNode::assign_state_tables`), never like this.
const TASK_TIME_STATE: &str = "task-time";

/// Deletes the state of a stopped query: every state table under its prefix.
pub fn delete_query_state(state: &StateStore, id: &str) -> Result<()> {
    state.delete_prefix(&format!("{id}/"))
}

/// Whether `topic` is an internal topic of a query (ksqlDB's `_confluent-ksql-` prefix):
/// SHOW TOPICS lists it only with ALL.
pub fn is_internal_topic(topic: &str) -> bool {
    topic.starts_with("_confluent-ksql-")
}

/// Key and value bytes of the committed state of a persistent query: every state table
/// under its prefix (joins, aggregations, tables whose rows are retracted, its tasks' times).
pub fn query_state_bytes(state: &StateStore, id: &str) -> Result<u64> {
    state.prefix_bytes(&format!("{id}/"))
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
/// How long an idle query waits for records before re-checking its stop flag (it is woken
/// earlier by appends and when stopped).
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
    /// End the waiting polls of the query's consumers.
    wakers: Vec<ConsumerWaker>,
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
            for waker in &self.wakers {
                waker.wake();
            }
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

/// Starts a persistent query: reads its sources from the committed offsets of consumer
/// group `id` (or `start` when there are none), writes into its sink and commits each epoch
/// through the backend's committer.
///
/// A plan whose state is partitioned like its input (`groups_within_partitions`) runs its
/// partitions on up to one task per core, each with its own operators and state caches and
/// each committing its own epochs; the others run one task over every partition. Each
/// repartition (`DataflowNode::repartitions`) is the root of a stage of its own, with its
/// own tasks, whose epochs write its internal topic (created here if missing); the stage
/// above reads that topic from its start.
pub fn start_persistent(
    id: &str,
    plan: &DataflowPlan,
    backend: &Backend,
    metrics: &Metrics,
    start: StartPosition,
    state: &StateStore,
) -> Result<QueryHandle> {
    // The repartition topics exist before any stage writes or reads them (a restart finds
    // them with the records not yet read).
    let log = &backend.log;
    for repartition in plan.root.repartitions() {
        if log.describe_topic(&repartition.topic)?.is_none() {
            log.create_topic(&repartition.topic, repartition.partitions, 1)?;
        }
    }
    let query = PersistentQuery {
        id: id.to_string(),
        plan: plan.clone(),
        backend: backend.clone(),
        metrics: metrics.clone(),
        start,
        state: state.clone(),
    };
    match backend.groups.clone() {
        // Servers of one service split the partitions through the query's consumer group.
        Some(groups) => spawn(id, Vec::new(), move |stop| {
            group::run_in_group(Arc::new(query), groups.as_ref(), &stop)
        }),
        None => {
            let tasks = query.tasks(None)?;
            let wakers: Vec<ConsumerWaker> = tasks.iter().map(Task::waker).collect();
            let group = query.id.clone();
            spawn(id, wakers.clone(), move |stop| {
                run_tasks(tasks, &stop, &wakers, &group)
            })
        }
    }
}

/// What a persistent query's tasks are built from.
struct PersistentQuery {
    id: String,
    plan: DataflowPlan,
    backend: Backend,
    metrics: Metrics,
    start: StartPosition,
    state: StateStore,
}

impl PersistentQuery {
    /// The topics each stage reads, with where it starts when the query has no committed
    /// offsets: the top stage first, then the stage below each repartition, in
    /// `repartitions` order. A repartition topic is read from its start: this query wrote
    /// all of it.
    fn stage_topics(&self) -> Vec<Vec<(String, StartPosition)>> {
        let topics = |node: &DataflowNode| -> Vec<(String, StartPosition)> {
            node.stage_inputs()
                .iter()
                .map(|input| match input {
                    StageInput::Source(source) => (source.topic.clone(), self.start),
                    StageInput::Repartition(repartition) => {
                        (repartition.topic.clone(), StartPosition::Earliest)
                    }
                })
                .collect()
        };
        std::iter::once(topics(&self.plan.root))
            .chain(
                self.plan
                    .root
                    .repartitions()
                    .iter()
                    .map(|repartition| topics(&repartition.input)),
            )
            .collect()
    }

    /// The query's tasks over every partition of its inputs, or those of `owned` (`(topic,
    /// partition)` pairs the server owns in the query's consumer group). The committer
    /// brings the state up to date before they are built.
    fn tasks(&self, owned: Option<&BTreeSet<(String, u32)>>) -> Result<Vec<Task>> {
        let (id, plan, backend, metrics, state) = (
            self.id.as_str(),
            &self.plan,
            &self.backend,
            &self.metrics,
            &self.state,
        );
        let sink_plan = plan
            .sink
            .as_ref()
            .ok_or_else(|| ExecError::Internal("persistent query without a sink".into()))?;
        let log = &backend.log;
        let group = id.to_string();
        let repartitions = plan.root.repartitions();

        // Pin the starting offsets now, so a restart before the first record never skips any.
        let mut initial = Epoch::default();
        let mut stage_inputs = self
            .stage_topics()
            .iter()
            .map(|topics| pin_inputs(log.as_ref(), &group, topics, owned, &mut initial))
            .collect::<Result<Vec<_>>>()?;
        let top_inputs = stage_inputs.remove(0);
        if !initial.is_empty() {
            backend.committer.commit(id, initial)?;
        }

        let prefix = StatePrefix {
            store: state.clone(),
            prefix: id.to_string(),
        };
        let config = task_config(plan);
        // The stages: the top one, then one below each repartition.
        let top_parallel = plan.root.groups_within_partitions();
        let mut stages = vec![(id.to_string(), &top_inputs, top_parallel)];
        for (repartition, inputs) in repartitions.iter().zip(&stage_inputs) {
            stages.push((
                format!("{id}/{}", repartition.name),
                inputs,
                repartition.input.groups_within_partitions(),
            ));
        }
        // The committer brings the query's state up to date before any task reads it.
        let task_names: Vec<String> = stages
            .iter()
            .flat_map(|(name, inputs, parallel)| {
                (0..workers(inputs, *parallel)).map(move |worker| format!("{name}/{worker}"))
            })
            .collect();
        // The changelog has a partition per input partition number of every stage, not only
        // of those this server owns: servers sharing the query map input partitions to
        // changelog partitions alike, and each follows those it does not own.
        let mut partitions = 1;
        for (topic, _) in self.stage_topics().iter().flatten() {
            partitions = partitions.max(log.offsets(topic)?.len() as u32);
        }
        backend.committer.prepare(id, &task_names, partitions)?;
        let stage = |name: String,
                     inputs: &[InputSpec],
                     parallel: bool,
                     compile: &dyn Fn() -> Result<OperatorGraph>,
                     counters: (Arc<Counters>, Arc<Counters>)|
         -> Result<Vec<Task>> {
            let workers = workers(inputs, parallel);
            let mut tasks = Vec::with_capacity(workers);
            for worker in 0..workers {
                let commit = TaskCommit {
                    committer: Arc::clone(&backend.committer),
                    group: group.clone(),
                    times: prefix.table(TASK_TIME_STATE),
                    query_counters: Arc::clone(&counters.0),
                    sink_counters: Arc::clone(&counters.1),
                };
                let assigned = inputs
                    .iter()
                    .filter(|input| input.partition as usize % workers == worker)
                    .cloned()
                    .collect();
                tasks.push(Task::new(
                    format!("{name}/{worker}"),
                    compile()?,
                    Arc::clone(log).consumer()?,
                    assigned,
                    config,
                    Some(commit),
                )?);
            }
            Ok(tasks)
        };
        // Operators count within the query's scope; commits count under its id.
        let scoped = metrics.scoped(id);
        let mut tasks = stage(
            id.to_string(),
            &top_inputs,
            top_parallel,
            &|| OperatorGraph::compile(plan, &scoped, Some(&prefix), true),
            (metrics.counters(id), metrics.counters(&sink_plan.name)),
        )?;
        // Each stage below a repartition writes its topic; its records are counted there.
        for (repartition, inputs) in repartitions.iter().zip(&stage_inputs) {
            let counters = metrics.counters(&repartition.topic);
            tasks.extend(stage(
                format!("{id}/{}", repartition.name),
                inputs,
                repartition.input.groups_within_partitions(),
                &|| OperatorGraph::compile_repartition(repartition, &scoped, Some(&prefix)),
                (Arc::clone(&counters), counters),
            )?);
        }
        Ok(tasks)
    }
}

/// Runs a query's tasks, each on its own thread, until `stop` is set or one fails (then
/// the others stop too and the error is returned).
fn run_tasks(
    tasks: Vec<Task>,
    stop: &AtomicBool,
    wakers: &[ConsumerWaker],
    group: &str,
) -> Result<()> {
    let run = |mut task: Task| {
        let result = task.run(stop, &mut |_| Ok(true));
        if result.is_err() {
            // The query fails as a whole: its other tasks stop too.
            stop.store(true, Ordering::SeqCst);
            for waker in wakers {
                waker.wake();
            }
        }
        result
    };
    let mut tasks = tasks.into_iter();
    let Some(first) = tasks.next() else {
        return Ok(());
    };
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
                .unwrap_or_else(|_| Err(ExecError::Internal("a query task panicked".into())));
            result = result.and(outcome);
        }
        result
    })
}

/// How many tasks a stage over `inputs` runs: one per partition up to one per core when
/// its state is partitioned like its input (`parallel`), else one.
fn workers(inputs: &[InputSpec], parallel: bool) -> usize {
    if !parallel {
        return 1;
    }
    let partitions = inputs.iter().map(|input| input.partition + 1).max();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (partitions.unwrap_or(1) as usize).clamp(1, cores)
}

/// The inputs of a stage reading `topics` (each with where it starts when the query has no
/// committed offsets) for consumer group `group`: every partition, from its committed
/// offset; the offsets pinned for the first time are added to `initial`.
fn pin_inputs(
    log: &dyn TopicLog,
    group: &str,
    topics: &[(String, StartPosition)],
    owned: Option<&BTreeSet<(String, u32)>>,
    initial: &mut Epoch,
) -> Result<Vec<InputSpec>> {
    let mut inputs = Vec::new();
    for (source, (topic, start)) in topics.iter().enumerate() {
        let ends = log.offsets(topic)?;
        let committed = log.committed_offsets(group, topic)?;
        for (partition, ((earliest, next), committed)) in ends.iter().zip(committed).enumerate() {
            if owned.is_some_and(|owned| !owned.contains(&(topic.clone(), partition as u32))) {
                continue;
            }
            let offset = committed.unwrap_or(match start {
                StartPosition::Earliest => *earliest,
                StartPosition::Latest => *next,
            });
            if committed.is_none() {
                initial
                    .offsets
                    .push((group.to_string(), topic.clone(), partition as u32, offset));
            }
            inputs.push(InputSpec {
                source,
                topic: topic.clone(),
                partition: partition as u32,
                offset,
                end: None,
            });
        }
    }
    Ok(inputs)
}

/// Starts a transient query sending its output batches (without `$rowtime`, with a last
/// `$op` column for a changelog) to `output`.
/// A pull query (`until_end`) reads what the topics hold when it starts, then ends.
pub fn start_transient(
    plan: &DataflowPlan,
    log: Arc<dyn TopicLog>,
    metrics: &Metrics,
    start: StartPosition,
    until_end: bool,
    output: mpsc::Sender<RecordBatch>,
    state: &StateStore,
) -> Result<QueryHandle> {
    // Transient state lives in memory only (its writes are never committed), but for the
    // stages below its repartitions (`transient`), deleted when it ends.
    let number = TRANSIENT_IDS.fetch_add(1, Ordering::Relaxed);
    let prefix = StatePrefix {
        store: state.clone(),
        prefix: format!("transient/{number}"),
    };
    let mut plan = plan.clone();
    let topics = transient::create_topics(&mut plan, number, log.as_ref())?;
    if !topics.is_empty() {
        // What a crashed run of the same number left.
        state.delete_prefix(&format!("{}/", prefix.prefix))?;
    }
    let graph = OperatorGraph::compile(&plan, metrics, Some(&prefix), false)?;
    // The visible columns, and `$op` when the rows are a changelog: a client shows deletes
    // as tombstones.
    let mut visible: Vec<usize> = (0..graph.visible_columns()).collect();
    visible.extend(graph.output_schema().index_of(OP_COLUMN).ok());
    let inputs = transient::stage_inputs(&plan.root, log.as_ref(), start, until_end)?;
    let config = task_config(&plan);
    let mut task = Task::new(
        "transient".into(),
        graph,
        Arc::clone(&log).consumer()?,
        inputs,
        config,
        None,
    )?;
    let stages = transient::stage_tasks(&plan, &log, metrics, start, &prefix)?;
    let mut remaining = plan.limit;
    let wakers: Vec<ConsumerWaker> = std::iter::once(task.waker())
        .chain(stages.iter().map(Task::waker))
        .collect();
    let stage_wakers = wakers.clone();
    spawn("transient", wakers, move |stop| {
        let result = std::thread::scope(|scope| {
            let stages: Vec<_> = stages
                .into_iter()
                .map(|mut stage| {
                    let stop = &stop;
                    std::thread::Builder::new()
                        .name("query-transient-stage".into())
                        .spawn_scoped(scope, move || stage.run(stop, &mut |_| Ok(true)))
                })
                .collect::<std::io::Result<_>>()?;
            let mut result = task.run(&stop, &mut |batches| {
                for batch in batches {
                    if !send(&output, batch.project(&visible)?, &mut remaining) {
                        return Ok(false);
                    }
                }
                Ok(true)
            });
            // The query ended (LIMIT, its client left, or stopped): so do its stages.
            stop.store(true, Ordering::SeqCst);
            for waker in &stage_wakers {
                waker.wake();
            }
            for stage in stages {
                let outcome: Result<()> = stage
                    .join()
                    .unwrap_or_else(|_| Err(ExecError::Internal("a query stage panicked".into())));
                result = result.and(outcome);
            }
            result
        });
        if topics.is_empty() {
            return result;
        }
        result.and(transient::clean_up(log.as_ref(), &prefix, &topics))
    })
}

/// How a query's tasks read: `max.poll.records` of the plan (or `BATCH_RECORDS`), no
/// idle wait, and a stop check every `IDLE_WAIT` when idle.
fn task_config(plan: &DataflowPlan) -> TaskConfig {
    TaskConfig {
        max_records: plan.max_poll_records.unwrap_or(BATCH_RECORDS),
        idle_timeout: Duration::ZERO,
        poll_timeout: IDLE_WAIT,
    }
}

/// A query answered on the caller's thread (a pull query over a table): a receiver holding
/// exactly its result batches, then closed, and a handle that is already `Done`.
pub fn finished_query(batches: Vec<RecordBatch>) -> (mpsc::Receiver<RecordBatch>, QueryHandle) {
    let (sender, receiver) = mpsc::channel(batches.len().max(1));
    for batch in batches {
        sender
            .try_send(batch)
            .expect("the channel has room for every batch");
    }
    (receiver, QueryHandle::finished())
}

/// Sends a batch of visible columns, honouring LIMIT; false when the query should end.
fn send(
    output: &mpsc::Sender<RecordBatch>,
    mut batch: RecordBatch,
    remaining: &mut Option<u64>,
) -> bool {
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

/// Runs `body` on a thread of its own; the handle stops it through `stop` and `wakers`.
fn spawn(
    name: &str,
    wakers: Vec<ConsumerWaker>,
    body: impl FnOnce(Arc<AtomicBool>) -> Result<()> + Send + 'static,
) -> Result<QueryHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let state = Arc::new(Mutex::new(QueryState::Running));
    let thread = std::thread::Builder::new()
        .name(format!("query-{name}"))
        .spawn({
            let stop = Arc::clone(&stop);
            let state = Arc::clone(&state);
            move || {
                let result = body(stop);
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
        wakers,
    })
}
