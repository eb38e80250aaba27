//! The Kafka committer: an epoch's output records, its state writes (as records of the
//! query's compacted changelog topic) and its consumer offsets go to Kafka together, then
//! the state writes are applied to the local RocksDB state.
//!
//! With `exactly_once_v2` the three are one Kafka transaction of the task's transactional
//! producer (`transactional.id` = the query's group, the server's id and the task's name,
//! so a restarted task fences its earlier incarnation and aborts what it left open), with
//! the offsets under the query's group consumer's metadata (a member that lost its
//! partitions to a rebalance is fenced by the group's generation). With `at_least_once`
//! records are flushed first and offsets committed after: a crash in between repeats the
//! epoch's output.
//!
//! Local state is a cache of the changelog: each partition's applied position is kept with
//! the state in one write batch (`changelog/<query>/<partition>` in the meta family), and
//! `Committer::prepare` replays the changelog from there before a query's tasks start, so
//! state lost with the data directory, or not applied before a crash, is restored.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::Producer as _;
use rdkafka::{Offset, TopicPartitionList};
use rocksdb::WriteBatch;

use super::{Committer, Epoch, StateWrite};
use crate::log::kafka::{
    Deliveries, DeliveringProducer, GroupConsumer, Guarantee, KafkaConsumer, KafkaLog,
    REQUEST_TIMEOUT, kafka_error,
};
use crate::log::{ConsumedRecord, Consumer as _, Record, TopicLog as _, now_millis};
use crate::store::{Family, Store};
use crate::{ExecError, Result};

/// How long a transaction may stay open: a task killed with one open blocks readers of its
/// partitions (read_committed) at most this long if no new incarnation fences it.
const TRANSACTION_TIMEOUT_MS: &str = "10000";

/// Where a server keeps its id.
const SERVER_ID_KEY: &[u8] = b"server/id";

/// How long an epoch's commit is retried while the cluster fails in ways that go away.
const COMMIT_PATIENCE: Duration = Duration::from_secs(300);

/// How one attempt at committing an epoch failed.
enum Attempt {
    /// Nothing of the epoch is visible; it can be tried again.
    Retry(ExecError),
    /// The producer was fenced or failed for good.
    Fatal(ExecError),
}

/// Commits epochs to Kafka and applies their state to the local store.
pub struct KafkaCommitter {
    log: Arc<KafkaLog>,
    store: Arc<Store>,
    /// This server's id (kept in its data directory): part of its transactional ids, so
    /// that servers running the same task over different partitions never fence each other
    /// while a restarted server fences its earlier incarnation.
    server: String,
    /// One producer per task (transactional with exactly-once).
    producers: Mutex<HashMap<String, Arc<DeliveringProducer>>>,
    /// Per query: its changelog's partition count and whether the changelog exists yet
    /// (it is created by the first epoch with state: queries without state have none).
    changelogs: Mutex<HashMap<String, (u32, bool)>>,
    /// Per query: the consumer following the changelog partitions other servers write, and
    /// the input partitions this server owned when it was made.
    standbys: Mutex<HashMap<String, Standby>>,
}

/// Follows the changelog partitions of a query that other servers own.
struct Standby {
    owned: BTreeSet<u32>,
    consumer: KafkaConsumer,
    /// The changelog partition of each of the consumer's assignments.
    partitions: Vec<u32>,
}

impl std::fmt::Debug for KafkaCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaCommitter").finish_non_exhaustive()
    }
}

impl KafkaCommitter {
    /// A committer for the server whose data directory holds `store`.
    pub fn new(log: Arc<KafkaLog>, store: Arc<Store>) -> Result<Self> {
        let server = match store.meta_get(SERVER_ID_KEY)? {
            Some(id) => String::from_utf8_lossy(&id).into_owned(),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |elapsed| elapsed.as_nanos());
                let id = format!("{:x}{:x}", nanos, std::process::id());
                store.meta_put(SERVER_ID_KEY, id.as_bytes())?;
                id
            }
        };
        Ok(KafkaCommitter {
            log,
            store,
            server,
            producers: Mutex::default(),
            changelogs: Mutex::default(),
            standbys: Mutex::default(),
        })
    }

    fn exactly_once(&self) -> bool {
        self.log.config().guarantee == Guarantee::ExactlyOnce
    }

    /// The task's producer, created (and with exactly-once, its transactions initialized,
    /// fencing an earlier incarnation) on first use.
    fn producer(&self, group: &str, task: &str) -> Result<Arc<DeliveringProducer>> {
        let mut producers = self
            .producers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(producer) = producers.get(task) {
            return Ok(Arc::clone(producer));
        }
        let mut config = self.log.config().producer_config();
        config.set("acks", "all").set("enable.idempotence", "true");
        if self.exactly_once() {
            config
                .set(
                    "transactional.id",
                    format!("{}-{}-{task}", self.log.config().group(group), self.server),
                )
                .set("transaction.timeout.ms", TRANSACTION_TIMEOUT_MS);
        }
        let producer = DeliveringProducer::new(&mut config)?;
        if self.exactly_once() {
            producer
                .inner
                .init_transactions(REQUEST_TIMEOUT)
                .map_err(kafka_error)?;
        }
        let producer = Arc::new(producer);
        producers.insert(task.to_string(), Arc::clone(&producer));
        Ok(producer)
    }

    /// Sends the epoch's records and changelog records; returns the deliveries and the
    /// index of the first changelog record among them.
    fn send(
        &self,
        producer: &DeliveringProducer,
        changelog: &str,
        partition: u32,
        epoch: &Epoch,
    ) -> Result<(Deliveries, usize)> {
        let deliveries = Deliveries::new(epoch.records.len() + epoch.state.len());
        let config = self.log.config();
        for (index, (topic, partition, record)) in epoch.records.iter().enumerate() {
            producer.send(
                &config.topic(topic),
                *partition,
                record,
                deliveries.slot(index),
            )?;
        }
        let changelog = config.topic(changelog);
        let now = now_millis();
        for (index, (key, value)) in epoch.state.iter().enumerate() {
            let record = Record {
                key: Some(key.clone()),
                value: value.clone(),
                timestamp: now,
                headers: Vec::new(),
            };
            let slot = deliveries.slot(epoch.records.len() + index);
            producer.send(&changelog, partition, &record, slot)?;
        }
        Ok((deliveries, epoch.records.len()))
    }

    /// The changelog partition an epoch of input partition `partition` writes, creating
    /// the changelog on first use.
    fn changelog_partition(&self, group: &str, changelog: &str, partition: u32) -> Result<u32> {
        let mut changelogs = self
            .changelogs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = changelogs
            .entry(group.to_string())
            .or_insert((partition + 1, false));
        if !entry.1 {
            self.log.create_compacted_topic(changelog, entry.0.max(1))?;
            entry.1 = true;
        }
        Ok(partition % entry.0.max(1))
    }

    /// Applies state writes and the changelog position they reach in one local batch.
    fn apply(&self, group: &str, partition: u32, state: &[StateWrite], next: u64) -> Result<()> {
        let mut batch = WriteBatch::default();
        self.store.add_state_writes(&mut batch, state);
        batch.put_cf(
            self.store.cf(Family::Meta),
            checkpoint_key(group, partition),
            next.to_be_bytes(),
        );
        self.store.write(batch)
    }

    fn checkpoint(&self, group: &str, partition: u32) -> Result<Option<u64>> {
        Ok(self
            .store
            .meta_get(&checkpoint_key(group, partition))?
            .and_then(|bytes| Some(u64::from_be_bytes(bytes.try_into().ok()?))))
    }
}

impl Committer for KafkaCommitter {
    fn commit(&self, task: &str, epoch: Epoch) -> Result<()> {
        let Some(group) = epoch.offsets.first().map(|(group, ..)| group.clone()) else {
            if epoch.is_empty() {
                return Ok(());
            }
            return Err(ExecError::Internal(
                "an epoch with records or state but no offsets".into(),
            ));
        };
        let changelog = self.log.config().changelog_topic(&group);
        let partition = if epoch.state.is_empty() {
            0
        } else {
            self.changelog_partition(&group, &changelog, epoch.partition)?
        };
        let producer = self.producer(&group, task)?;
        let consumer = self.log.group_consumer(&group)?;
        let mut offsets = TopicPartitionList::new();
        for (_, topic, partition, next) in &epoch.offsets {
            offsets
                .add_partition_offset(
                    &self.log.config().topic(topic),
                    *partition as i32,
                    Offset::Offset(*next as i64),
                )
                .map_err(kafka_error)?;
        }
        // A broker that is down or moving makes a commit fail in ways that go away: the
        // epoch is retried (after an abort, with transactions) until `COMMIT_PATIENCE`.
        let deadline = Instant::now() + COMMIT_PATIENCE;
        let deliveries = loop {
            let attempt = if self.exactly_once() {
                self.commit_transaction(
                    &producer, &consumer, &changelog, partition, &epoch, &offsets,
                )
            } else {
                self.send(&producer, &changelog, partition, &epoch)
                    .and_then(|sent| {
                        producer.flush()?;
                        consumer
                            .commit(&offsets, CommitMode::Sync)
                            .map_err(kafka_error)?;
                        Ok(sent)
                    })
                    .map_err(Attempt::Retry)
            };
            match attempt {
                Ok(sent) => break sent,
                Err(Attempt::Retry(error)) if Instant::now() < deadline => {
                    tracing::warn!(
                        task,
                        "committing an epoch to Kafka failed, retrying: {error}"
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(Attempt::Retry(error) | Attempt::Fatal(error)) => return Err(error),
            }
        };
        if epoch.state.is_empty() {
            return Ok(());
        }
        let (deliveries, first_changelog) = deliveries;
        let delivered = deliveries.offsets()?;
        let next = delivered[first_changelog..]
            .iter()
            .max()
            .map_or(0, |last| last + 1);
        self.apply(&group, partition, &epoch.state, next)
    }

    fn follow(&self, group: &str, owned: &BTreeSet<u32>) -> Result<()> {
        self.follow_changelog(group, owned)
    }

    fn prepare(&self, group: &str, tasks: &[String], partitions: u32) -> Result<()> {
        let changelog = self.log.config().changelog_topic(group);
        let existing = self.log.describe_topic(&changelog)?;
        self.changelogs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                group.to_string(),
                match &existing {
                    Some(existing) => (existing.partitions, true),
                    None => (partitions.max(1), false),
                },
            );
        if existing.is_none() {
            // Nothing to restore; fencing happens when the tasks' producers start.
            return Ok(());
        }
        // Fence the tasks' earlier incarnations first: their open transactions end, so the
        // changelog reads below reach its end.
        for task in tasks {
            self.producer(group, task)?;
        }
        let started = Instant::now();
        let mut restored = 0_usize;
        for (partition, (earliest, end)) in self.log.offsets(&changelog)?.into_iter().enumerate() {
            let partition = partition as u32;
            let from = self
                .checkpoint(group, partition)?
                .unwrap_or(0)
                .max(earliest);
            if from >= end {
                continue;
            }
            restored += self.restore(group, &changelog, partition, from, end)?;
        }
        if restored > 0 {
            let elapsed = started.elapsed();
            tracing::info!(
                query = group,
                entries = restored,
                millis = elapsed.as_millis() as u64,
                per_million_entries_secs = elapsed.as_secs_f64() * 1e6 / restored as f64,
                "restored state from the changelog"
            );
        }
        Ok(())
    }
}

impl KafkaCommitter {
    /// Applies what the changelog partitions other servers own received since the last
    /// call (without waiting for more).
    fn follow_changelog(&self, group: &str, owned: &BTreeSet<u32>) -> Result<()> {
        let changelog = self.log.config().changelog_topic(group);
        let known = self
            .changelogs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(group)
            .copied();
        let count = match known {
            Some((count, true)) => count,
            // Written by another server since, perhaps.
            _ => match self.log.describe_topic(&changelog)? {
                Some(description) => {
                    self.changelogs
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(group.to_string(), (description.partitions, true));
                    description.partitions
                }
                None => return Ok(()),
            },
        };
        let mut standbys = self.standbys.lock().unwrap_or_else(PoisonError::into_inner);
        if standbys
            .get(group)
            .is_none_or(|standby| &standby.owned != owned)
        {
            // The owned partitions changed (a rebalance): the old consumer, which may hold
            // records of a partition this server now writes itself, is dropped.
            standbys.remove(group);
            let mut consumer = KafkaConsumer::new(self.log.config())?;
            let mut partitions = Vec::new();
            for partition in 0..count {
                if owned.iter().any(|input| input % count == partition) {
                    continue;
                }
                let from = self.checkpoint(group, partition)?.unwrap_or(0);
                consumer.assign(&changelog, partition, from)?;
                partitions.push(partition);
            }
            standbys.insert(
                group.to_string(),
                Standby {
                    owned: owned.clone(),
                    consumer,
                    partitions,
                },
            );
        }
        let standby = standbys.get_mut(group).expect("inserted above");
        if standby.partitions.is_empty() {
            return Ok(());
        }
        for polled in standby.consumer.poll(10_000, Duration::ZERO)? {
            let writes = state_writes(polled.records);
            let partition = standby.partitions[polled.assignment];
            let position = standby.consumer.position(polled.assignment);
            self.apply(group, partition, &writes, position)?;
        }
        Ok(())
    }

    /// One transaction holding the epoch's records, changelog records and offsets.
    fn commit_transaction(
        &self,
        producer: &DeliveringProducer,
        consumer: &GroupConsumer,
        changelog: &str,
        partition: u32,
        epoch: &Epoch,
        offsets: &TopicPartitionList,
    ) -> std::result::Result<(Deliveries, usize), Attempt> {
        let inner = &producer.inner;
        // A fenced producer, or a topic that was deleted, does not come back by waiting.
        let classify = |error: KafkaError| match &error {
            KafkaError::Transaction(inner) if inner.is_fatal() => {
                Attempt::Fatal(kafka_error(error))
            }
            _ if error.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) => {
                Attempt::Fatal(kafka_error(error))
            }
            _ => Attempt::Retry(kafka_error(error)),
        };
        inner.begin_transaction().map_err(classify)?;
        let sent = self
            .send(producer, changelog, partition, epoch)
            .map_err(Attempt::Retry)
            .and_then(|sent| {
                let metadata = consumer.group_metadata().ok_or_else(|| {
                    Attempt::Fatal(ExecError::Internal(
                        "a consumer group without metadata".into(),
                    ))
                })?;
                retry_call(|| {
                    inner.send_offsets_to_transaction(offsets, &metadata, REQUEST_TIMEOUT)
                })
                .map_err(classify)?;
                retry_call(|| inner.commit_transaction(REQUEST_TIMEOUT)).map_err(classify)?;
                Ok(sent)
            });
        if sent.is_err()
            && let Err(abort) = retry_call(|| inner.abort_transaction(REQUEST_TIMEOUT))
        {
            tracing::warn!("aborting a Kafka transaction failed: {abort}");
            return Err(classify(abort));
        }
        sent
    }

    /// Replays `partition` of the changelog from `from` up to `end` into the local state;
    /// returns the number of records applied.
    fn restore(
        &self,
        group: &str,
        changelog: &str,
        partition: u32,
        from: u64,
        end: u64,
    ) -> Result<usize> {
        let mut consumer = KafkaConsumer::new(self.log.config())?;
        consumer.assign(changelog, partition, from)?;
        let mut restored = 0;
        let mut last_progress = Instant::now();
        while consumer.position(0) < end {
            let mut writes = Vec::new();
            for polled in consumer.poll(10_000, Duration::from_millis(100))? {
                writes.extend(state_writes(polled.records));
            }
            if writes.is_empty() {
                if last_progress.elapsed() > REQUEST_TIMEOUT * 2 {
                    return Err(ExecError::Kafka(format!(
                        "restoring {changelog}/{partition} stalled at offset {}",
                        consumer.position(0)
                    )));
                }
                continue;
            }
            last_progress = Instant::now();
            restored += writes.len();
            self.apply(group, partition, &writes, consumer.position(0))?;
        }
        Ok(restored)
    }
}

/// The state writes that changelog records hold (a record without a key is none).
fn state_writes(records: Vec<ConsumedRecord>) -> Vec<StateWrite> {
    records
        .into_iter()
        .filter_map(|consumed| Some((consumed.record.key?, consumed.record.value)))
        .collect()
}

/// Calls `call` again while it fails with an error librdkafka calls retriable (a timeout
/// while the broker is away), for up to `COMMIT_PATIENCE`.
fn retry_call(
    mut call: impl FnMut() -> rdkafka::error::KafkaResult<()>,
) -> rdkafka::error::KafkaResult<()> {
    let deadline = Instant::now() + COMMIT_PATIENCE;
    loop {
        match call() {
            Err(KafkaError::Transaction(error))
                if error.is_retriable()
                    && error.code() != RDKafkaErrorCode::UnknownTopicOrPartition
                    && Instant::now() < deadline =>
            {
                tracing::warn!("a Kafka transaction call failed, retrying: {error}");
            }
            other => return other,
        }
    }
}

/// Where the local state of `group`'s changelog partition is up to.
fn checkpoint_key(group: &str, partition: u32) -> Vec<u8> {
    format!("changelog/{group}/{partition}").into_bytes()
}
