//! Tasks: the loop that runs one operator graph over its partition groups.
//!
//! A task reads its inputs, `(source, topic, partition)` triples, through one consumer. The
//! inputs of one partition number form a partition group (co-partitioned sources: a join's
//! two sides). Within a group the task keeps each input's stream time (the largest record
//! time it has delivered) and their minimum, the group's stream time, and feeds the input
//! whose next record is oldest first, as Kafka Streams' tasks do: from that input, every
//! buffered record no newer than the other inputs' next records, in one batch. An input
//! with nothing buffered is waited for up to `idle_timeout` (Kafka Streams'
//! `max.task.idle.ms`, default 0: no wait). Groups are processed in partition order.
//!
//! Each processed group is one epoch: the records produced, the next offsets of its inputs
//! and the state writes (with the inputs' stream times, for a group of several inputs) go to
//! the committer together (persistent queries); a transient query commits nothing and hands
//! its output batches to the caller.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use crate::Result;
use crate::commit::{Committer, Epoch};
use crate::graph::OperatorGraph;
use crate::log::{ConsumedRecord, Consumer, ConsumerWaker};
use crate::metrics::Counters;
use crate::operator::OperatorContext;
use crate::state::StateTable;

/// How a task reads.
#[derive(Debug, Clone, Copy)]
pub struct TaskConfig {
    /// Records read from one partition per poll (`max.poll.records`).
    pub max_records: usize,
    /// How long a group with data on some inputs waits for an input that has none.
    pub idle_timeout: Duration,
    /// How long a poll waits for records before the task re-checks its stop flag.
    pub poll_timeout: Duration,
}

/// One input of a task to assign.
#[derive(Debug, Clone)]
pub struct InputSpec {
    /// The graph source it feeds (`DataflowNode::sources` order).
    pub source: usize,
    pub topic: String,
    pub partition: u32,
    /// The next offset to read.
    pub offset: u64,
    /// Stop before this offset (a pull query over a stream reads up to the end it saw).
    pub end: Option<u64>,
}

/// An input being read.
#[derive(Debug)]
struct Input {
    spec: InputSpec,
    assignment: usize,
    /// The next offset to process (records before it are in an epoch).
    next: u64,
    /// Largest record time delivered to the graph; `i64::MIN` before the first.
    time: i64,
    time_changed: bool,
    /// Records polled and not yet fed, oldest first (a deque: batches leave from the front).
    buffer: VecDeque<ConsumedRecord>,
}

impl Input {
    fn done(&self) -> bool {
        self.spec.end.is_some_and(|end| self.next >= end)
    }
}

/// The inputs of one partition number.
#[derive(Debug)]
struct PartitionGroup {
    partition: u32,
    inputs: Vec<Input>,
    /// The minimum of the inputs' times.
    time: i64,
    /// Since when the group has data on some inputs and waits for the others.
    waiting_since: Option<Instant>,
}

/// Commits the epochs of a persistent query's task.
pub struct TaskCommit {
    pub committer: Arc<dyn Committer>,
    /// The consumer group whose offsets the epochs commit: the query id.
    pub group: String,
    /// The stream times of the inputs of groups with several inputs, restored on restart.
    pub times: StateTable,
    /// Consumed and produced records of the query, and produced records of its sink.
    pub query_counters: Arc<Counters>,
    pub sink_counters: Arc<Counters>,
}

/// One operator graph, its inputs and its consumer.
pub struct Task {
    name: String,
    graph: OperatorGraph,
    consumer: Box<dyn Consumer>,
    groups: Vec<PartitionGroup>,
    config: TaskConfig,
    commit: Option<TaskCommit>,
}

impl Task {
    /// A task named `name` (the committer's task id) reading `inputs` through `consumer`;
    /// with `commit`, each epoch is committed (a persistent query), else nothing is.
    pub fn new(
        name: String,
        mut graph: OperatorGraph,
        mut consumer: Box<dyn Consumer>,
        inputs: Vec<InputSpec>,
        config: TaskConfig,
        mut commit: Option<TaskCommit>,
    ) -> Result<Self> {
        let mut groups: Vec<PartitionGroup> = Vec::new();
        for spec in inputs {
            let assignment = consumer.assign(&spec.topic, spec.partition, spec.offset)?;
            let input = Input {
                assignment,
                next: spec.offset,
                time: i64::MIN,
                time_changed: false,
                buffer: VecDeque::new(),
                spec,
            };
            match groups
                .iter_mut()
                .find(|group| group.partition == input.spec.partition)
            {
                Some(group) => group.inputs.push(input),
                None => groups.push(PartitionGroup {
                    partition: input.spec.partition,
                    inputs: vec![input],
                    time: i64::MIN,
                    waiting_since: None,
                }),
            }
        }
        groups.sort_by_key(|group| group.partition);
        if commit.is_some() {
            graph.defer_counts();
        }
        for group in &mut groups {
            // Only groups of several inputs keep their inputs' times (see `process_group`).
            if let (Some(commit), true) = (&mut commit, group.inputs.len() > 1) {
                for input in &mut group.inputs {
                    if let Some(bytes) = commit.times.get(&time_key(&input.spec))? {
                        input.time = i64::from_be_bytes(bytes.try_into().map_err(|_| {
                            crate::ExecError::Internal("a stream time is not 8 bytes".into())
                        })?);
                    }
                }
            }
            group.time = group_time(&group.inputs);
        }
        Ok(Task {
            name,
            graph,
            consumer,
            groups,
            config,
            commit,
        })
    }

    /// A handle that ends a waiting poll, so that a stop takes effect at once.
    pub fn waker(&self) -> ConsumerWaker {
        self.consumer.waker()
    }

    /// Runs until `stop` is set, every input reached its end, or `output` (given each
    /// epoch's output batches in order) returns false.
    pub fn run(
        &mut self,
        stop: &AtomicBool,
        output: &mut dyn FnMut(Vec<RecordBatch>) -> Result<bool>,
    ) -> Result<()> {
        while !stop.load(Ordering::SeqCst) && !self.finished() {
            let timeout = if self.groups.iter().any(|g| g.waiting_since.is_some()) {
                self.config.idle_timeout.min(self.config.poll_timeout)
            } else {
                self.config.poll_timeout
            };
            for polled in self.consumer.poll(self.config.max_records, timeout)? {
                self.buffer(polled.assignment, polled.records);
            }
            for group in 0..self.groups.len() {
                let outputs = self.process_group(group)?;
                if !outputs.is_empty() && !output(outputs)? {
                    return Ok(());
                }
                if stop.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Every input has an end and reached it.
    fn finished(&self) -> bool {
        self.groups.iter().all(|group| {
            group.inputs.iter().all(|input| {
                input.done()
                    || (input.buffer.is_empty()
                        && input.spec.end.is_some_and(|end| {
                            self.consumer
                                .position(input.assignment)
                                .is_some_and(|position| position >= end)
                        }))
            })
        })
    }

    fn buffer(&mut self, assignment: usize, mut records: Vec<ConsumedRecord>) {
        let Some(input) = self
            .groups
            .iter_mut()
            .flat_map(|group| group.inputs.iter_mut())
            .find(|input| input.assignment == assignment)
        else {
            return;
        };
        if let Some(end) = input.spec.end {
            records.retain(|record| record.offset < end);
        }
        if input.buffer.is_empty() {
            input.buffer = records.into();
        } else {
            input.buffer.extend(records);
        }
    }

    /// Processes what group `index` has buffered as one epoch; returns the graph's output.
    fn process_group(&mut self, index: usize) -> Result<Vec<RecordBatch>> {
        let group = &mut self.groups[index];
        if group.inputs.iter().all(|input| input.buffer.is_empty()) {
            return Ok(Vec::new());
        }
        let waits_for_input = group.inputs.len() > 1
            && group
                .inputs
                .iter()
                .any(|input| input.buffer.is_empty() && !input.done());
        if waits_for_input && !self.config.idle_timeout.is_zero() {
            let since = *group.waiting_since.get_or_insert_with(Instant::now);
            if since.elapsed() < self.config.idle_timeout {
                read_only_empty_inputs(self.consumer.as_mut(), &group.inputs);
                return Ok(Vec::new());
            }
        }
        if group.waiting_since.take().is_some() {
            for input in &group.inputs {
                self.consumer.pause(input.assignment, false);
            }
        }

        let mut produced = Vec::new();
        let mut outputs = Vec::new();
        let partition = group.partition;
        // An input with nothing buffered but records in its partition is read before the
        // others are processed past it (Kafka Streams with `max.task.idle.ms` = 0): the
        // group's records stay in time order across polls.
        let consumer = &self.consumer;
        let chunks = plan_chunks(&group.inputs, |input| consumer.has_more(input.assignment));
        let mut taken = vec![0; group.inputs.len()];
        for (position, count) in &chunks {
            taken[*position] += count;
        }
        let consumed: usize = taken.iter().sum();
        if consumed == 0 {
            // Waiting for a lagging input.
            group.waiting_since.get_or_insert_with(Instant::now);
            read_only_empty_inputs(self.consumer.as_mut(), &group.inputs);
            return Ok(Vec::new());
        }
        // The records of each input in the run, and the chunks as positions among them.
        let mut run_inputs = Vec::new();
        let mut run_position = vec![usize::MAX; group.inputs.len()];
        for (position, (input, count)) in group.inputs.iter_mut().zip(&taken).enumerate() {
            if *count == 0 {
                continue;
            }
            let records: Vec<ConsumedRecord> = if *count == input.buffer.len() {
                Vec::from(std::mem::take(&mut input.buffer))
            } else {
                input.buffer.drain(..*count).collect()
            };
            let last = records.last().expect("a chunk has records");
            input.next = last.offset + 1;
            let newest = records.iter().map(|r| r.record.timestamp).max();
            if let Some(newest) = newest.filter(|newest| *newest > input.time) {
                input.time = newest;
                input.time_changed = true;
            }
            run_position[position] = run_inputs.len();
            run_inputs.push((input.spec.source, records));
        }
        let chunks: Vec<(usize, usize)> = chunks
            .iter()
            .map(|(position, count)| (run_position[*position], *count))
            .collect();
        let mut context = OperatorContext::new(partition, &mut produced);
        outputs.extend(self.graph.push_run(&run_inputs, &chunks, &mut context)?);
        let time = group_time(&group.inputs);
        if time > group.time {
            group.time = time;
            outputs.extend(self.graph.advance_time(time, &mut context)?);
        }
        outputs.extend(self.graph.flush(&mut context)?);

        if let Some(commit) = &mut self.commit {
            let mut state = self.graph.take_writes()?;
            let several_inputs = group.inputs.len() > 1;
            let mut offsets = Vec::with_capacity(group.inputs.len());
            for input in &mut group.inputs {
                offsets.push((
                    commit.group.clone(),
                    input.spec.topic.clone(),
                    input.spec.partition,
                    input.next,
                ));
                // A single input's stream time is what its operators have seen; a group of
                // several keeps the times it chooses by across restarts.
                if std::mem::take(&mut input.time_changed) && several_inputs {
                    commit
                        .times
                        .put(&time_key(&input.spec), input.time.to_be_bytes().to_vec());
                }
            }
            state.extend(commit.times.take_writes());
            // In key order, RocksDB inserts each key into its memtable next to the one
            // before (it resumes the skip-list search where the last insert ended). Stable:
            // a key written twice keeps its last value.
            state.sort_by(|(a, _), (b, _)| a.cmp(b));
            let produced_count = produced.len() as u64;
            let epoch = Epoch {
                records: produced,
                offsets,
                state,
                partition,
            };
            let started = std::time::Instant::now();
            commit.committer.commit(&self.name, epoch)?;
            commit.query_counters.record_commit(started.elapsed());
            // Counted once durable: a count never runs ahead of the committed output.
            commit.query_counters.add_consumed(consumed as u64);
            commit.query_counters.add_produced(produced_count);
            commit.sink_counters.add_produced(produced_count);
            self.graph.publish_counts();
            for input in &group.inputs {
                tracing::debug!(
                    target: "eddy::epoch",
                    query = %commit.group,
                    task = %self.name,
                    topic = %input.spec.topic,
                    partition = input.spec.partition,
                    next_offset = input.next,
                    "committed"
                );
            }
        }
        Ok(outputs)
    }
}

/// The key of an input's stream time in the task's time table: its source, topic and
/// partition.
fn time_key(spec: &InputSpec) -> Vec<u8> {
    let mut key = (spec.source as u32).to_be_bytes().to_vec();
    key.extend_from_slice(spec.topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&spec.partition.to_be_bytes());
    key
}

/// The stream time of a group: the minimum over its inputs.
fn group_time(inputs: &[Input]) -> i64 {
    inputs
        .iter()
        .map(|input| input.time)
        .min()
        .unwrap_or(i64::MIN)
}

/// Pauses the inputs that have records buffered, so that polls read only the others until
/// they have some (the group resumes them all when it processes again).
fn read_only_empty_inputs(consumer: &mut dyn Consumer, inputs: &[Input]) {
    for input in inputs {
        consumer.pause(input.assignment, !input.buffer.is_empty());
    }
}

/// The order in which the group's buffered records are fed, as `(input, count)` chunks:
/// repeatedly, the input whose next record is oldest (the first on ties), with its records
/// up to the next record time of the others. The run stops before an input with nothing
/// left to feed that is not done and `has_more` records in its partition (of a group of
/// several inputs), so that the group's records stay in time order across polls.
fn plan_chunks(inputs: &[Input], has_more: impl Fn(&Input) -> bool) -> Vec<(usize, usize)> {
    let mut taken = vec![0; inputs.len()];
    let mut chunks = Vec::new();
    let lagging = |taken: &[usize]| {
        inputs.len() > 1
            && inputs.iter().zip(taken).any(|(input, taken)| {
                let next = match taken.checked_sub(1) {
                    Some(last) => input.buffer[last].offset + 1,
                    None => input.next,
                };
                *taken == input.buffer.len()
                    && input.spec.end.is_none_or(|end| next < end)
                    && has_more(input)
            })
    };
    loop {
        let heads: Vec<(usize, i64)> = inputs
            .iter()
            .zip(&taken)
            .enumerate()
            .filter_map(|(index, (input, taken))| {
                Some((index, input.buffer.get(*taken)?.record.timestamp))
            })
            .collect();
        let Some(&(position, _)) = heads.iter().min_by_key(|(_, time)| *time) else {
            break;
        };
        if lagging(&taken) {
            break;
        }
        let remaining = inputs[position].buffer.range(taken[position]..);
        let limit = heads
            .iter()
            .filter(|(index, _)| *index != position)
            .map(|(_, time)| *time)
            .min();
        let count = match limit {
            Some(limit) => remaining
                .take_while(|record| record.record.timestamp <= limit)
                .count()
                .max(1),
            None => remaining.len(),
        };
        taken[position] += count;
        chunks.push((position, count));
    }
    chunks
}

#[cfg(test)]
mod tests;
