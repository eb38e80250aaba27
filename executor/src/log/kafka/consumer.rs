//! A `Consumer` over librdkafka: partitions assigned by the task (no group membership),
//! read with `isolation.level=read_committed`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message as _;
use rdkafka::{Offset, TopicPartitionList};

use super::{KafkaConfig, consumed, kafka_error};
use crate::Result;
use crate::log::{Consumer, ConsumerWaker, Polled};

/// A poll waits in slices this long, so that a `ConsumerWaker` takes effect quickly.
const SLICE: Duration = Duration::from_millis(20);

/// Reads assigned partitions of a Kafka cluster.
pub struct KafkaConsumer {
    consumer: BaseConsumer,
    /// `(topic, partition)` of each assignment, in assignment order.
    assignments: Vec<(String, u32)>,
    /// The next offset to return of each assignment.
    positions: Vec<u64>,
    paused: Vec<bool>,
    index: HashMap<(String, u32), Vec<usize>>,
    /// Whether librdkafka fetches every assignment (`start`).
    started: bool,
    /// The partitions librdkafka fetches.
    fetching: HashSet<(String, u32)>,
    woken: Arc<AtomicBool>,
    /// Prepended to topic names on the cluster (`KafkaConfig::topic_prefix`).
    prefix: String,
}

impl KafkaConsumer {
    pub fn new(config: &KafkaConfig) -> Result<Self> {
        let consumer: BaseConsumer = config
            .consumer_config()
            // Offsets are committed by the committer, never by the consumer. A group id is
            // still needed by librdkafka for some calls; nothing joins it.
            .set("group.id", format!("{}-reader", config.group("")))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("isolation.level", "read_committed")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .create()
            .map_err(kafka_error)?;
        Ok(KafkaConsumer {
            consumer,
            assignments: Vec::new(),
            positions: Vec::new(),
            paused: Vec::new(),
            index: HashMap::new(),
            started: false,
            fetching: HashSet::new(),
            woken: Arc::new(AtomicBool::new(false)),
            prefix: config.topic_prefix.clone(),
        })
    }

    /// The assignment's next offset: past the last record returned, and past transaction
    /// markers and aborted records the consumer skipped.
    pub fn position(&self, assignment: usize) -> u64 {
        let (topic, partition) = &self.assignments[assignment];
        let returned = self.positions[assignment];
        let skipped = self
            .consumer
            .position()
            .ok()
            .and_then(|list| {
                list.find_partition(topic, *partition as i32)
                    .and_then(|element| match element.offset() {
                        Offset::Offset(offset) => u64::try_from(offset).ok(),
                        _ => None,
                    })
            })
            .unwrap_or(0);
        returned.max(skipped)
    }

    /// Assigns every new partition to librdkafka, each from the lowest position of its inputs,
    /// and pauses those whose inputs are all paused.
    fn start(&mut self) -> Result<()> {
        let mut list = TopicPartitionList::new();
        for ((topic, partition), assignments) in &self.index {
            if self.fetching.contains(&(topic.clone(), *partition)) {
                continue;
            }
            let from = assignments
                .iter()
                .map(|&assignment| self.positions[assignment])
                .min()
                .unwrap_or(0);
            list.add_partition_offset(topic, *partition as i32, Offset::Offset(from as i64))
                .map_err(kafka_error)?;
        }
        // Added to what is fetched, never replacing it: librdkafka asserts when a replaced
        // partition is still stopping.
        self.consumer
            .incremental_assign(&list)
            .map_err(kafka_error)?;
        self.fetching.extend(self.index.keys().cloned());
        self.started = true;
        for assignment in 0..self.assignments.len() {
            self.apply_pause(assignment);
        }
        Ok(())
    }

    /// Pauses or resumes an assignment's partition: paused only when every input reading
    /// it is.
    fn apply_pause(&self, assignment: usize) {
        let key = &self.assignments[assignment];
        let all_paused = self.index[key].iter().all(|&other| self.paused[other]);
        let list = self.partition_list(|index| index == assignment);
        let outcome = if all_paused {
            self.consumer.pause(&list)
        } else {
            self.consumer.resume(&list)
        };
        if let Err(error) = outcome {
            tracing::warn!("cannot (un)pause a Kafka partition: {error}");
        }
    }

    fn partition_list(&self, which: impl Fn(usize) -> bool) -> TopicPartitionList {
        let mut list = TopicPartitionList::new();
        for (assignment, (topic, partition)) in self.assignments.iter().enumerate() {
            if which(assignment) {
                list.add_partition(topic, *partition as i32);
            }
        }
        list
    }
}

impl Consumer for KafkaConsumer {
    fn assign(&mut self, topic: &str, partition: u32, offset: u64) -> Result<usize> {
        let topic = format!("{}{topic}", self.prefix);
        let assignment = self.assignments.len();
        self.assignments.push((topic.clone(), partition));
        self.positions.push(offset);
        self.paused.push(false);
        self.index
            .entry((topic, partition))
            .or_default()
            .push(assignment);
        // Fetching starts at the next poll, once every input is known.
        self.started = false;
        Ok(assignment)
    }

    fn pause(&mut self, assignment: usize, paused: bool) {
        if self.paused.get(assignment) == Some(&paused) {
            return;
        }
        self.paused[assignment] = paused;
        if self.started {
            self.apply_pause(assignment);
        }
    }
    fn poll(&mut self, max_records: usize, timeout: Duration) -> Result<Vec<Polled>> {
        if !self.started {
            self.start()?;
        }
        let deadline = Instant::now() + timeout;
        let mut polled: Vec<Polled> = Vec::new();
        let mut total = 0;
        let budget = max_records.max(1) * self.assignments.len().max(1);
        while total < budget {
            if self.woken.swap(false, Ordering::SeqCst) {
                break;
            }
            // Once something arrived, take only what is already buffered.
            let wait = if total > 0 {
                Duration::ZERO
            } else {
                deadline
                    .saturating_duration_since(Instant::now())
                    .min(SLICE)
            };
            let Some(message) = self.consumer.poll(wait) else {
                if total > 0 || Instant::now() >= deadline {
                    break;
                }
                continue;
            };
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    // A broker that is down or moving: librdkafka reconnects by itself.
                    tracing::warn!("Kafka consumer: {error}");
                    continue;
                }
            };
            let key = (message.topic().to_string(), message.partition() as u32);
            let Some(assignments) = self.index.get(&key) else {
                continue;
            };
            let record = consumed(&message);
            // A partition read by several inputs (a self-join) feeds each from its own
            // position, a paused one too: librdkafka fetches the partition once, so a record
            // held back from a paused input would never come again.
            for &assignment in assignments {
                if record.offset < self.positions[assignment] {
                    continue;
                }
                self.positions[assignment] = record.offset + 1;
                total += 1;
                match polled.iter_mut().find(|p| p.assignment == assignment) {
                    Some(entry) => entry.records.push(record.clone()),
                    None => polled.push(Polled {
                        assignment,
                        records: vec![record.clone()],
                    }),
                }
            }
        }
        Ok(polled)
    }

    fn waker(&self) -> ConsumerWaker {
        let woken = Arc::clone(&self.woken);
        ConsumerWaker::new(move || woken.store(true, Ordering::SeqCst))
    }

    fn position(&self, assignment: usize) -> Option<u64> {
        (assignment < self.assignments.len()).then(|| KafkaConsumer::position(self, assignment))
    }
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer")
            .field("assignments", &self.assignments)
            .finish_non_exhaustive()
    }
}
