//! The embedded log: durable, partitioned topics in the store's RocksDB, no broker needed.
//!
//! Records of one `produce`/`commit` call to one partition are stored together as chunks
//! (`embedded::chunk`) under `topic id | partition | base offset` (`embedded::keys`). Offsets
//! are assigned under one writer lock and each call is one atomic `WriteBatch`, so concurrent
//! producers never interleave offsets and a crash never leaves half a commit.

mod appender;
mod chunk;
mod consumer;
mod keys;
mod topic;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use self::appender::Appender;
use self::chunk::ChunkDecoder;
use self::topic::{Topic, load_topics};
use crate::commit::Epoch;
use crate::log::{ConsumedRecord, Consumer, Record, TopicDescription, TopicLog, missing_topic};
use crate::store::{Family, Store};
use crate::{ExecError, Result};

/// Upper bound on a topic's partition count (guards against absurd allocations).
const MAX_PARTITIONS: u32 = 100_000;

/// State owned by whoever writes.
#[derive(Debug)]
struct Writer {
    next_topic_id: u32,
}

/// Tells waiting consumers that records were appended.
#[derive(Debug, Default)]
struct AppendSignal {
    /// Grows with every append to any topic.
    sequence: Mutex<u64>,
    appended: Condvar,
}

impl AppendSignal {
    /// Wakes every waiter (each re-checks what it waits for).
    fn notify(&self) {
        let _sequence = lock(&self.sequence);
        self.appended.notify_all();
    }
}

/// The default `TopicLog`: topics in the RocksDB `Store` of the data directory.
///
/// Produced records survive a crash of the process as soon as `produce`/`commit` returns.
pub struct EmbeddedLog {
    store: Arc<Store>,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Serializes every write: offset assignment, topic creation and deletion.
    writer: Mutex<Writer>,
    appends: Arc<AppendSignal>,
    /// A `read` stops once its records hold this many key and value bytes.
    read_bytes: usize,
}

/// Default of `EmbeddedLog::read_bytes`: an epoch of large records stays within memory.
const READ_BYTES: usize = 64 << 20;

impl std::fmt::Debug for EmbeddedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedLog")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl EmbeddedLog {
    /// Opens the log stored in `store`: loads every topic and each partition's offsets.
    pub fn new(store: Arc<Store>) -> Result<Self> {
        let (topics, next_topic_id) = load_topics(&store)?;
        Ok(EmbeddedLog {
            store,
            topics: RwLock::new(topics),
            writer: Mutex::new(Writer { next_topic_id }),
            appends: Arc::default(),
            read_bytes: READ_BYTES,
        })
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        read(&self.topics)
            .get(name)
            .cloned()
            .ok_or_else(|| missing_topic(name))
    }

    /// Writes `records` and `offsets` in one batch; returns the records' offsets in order.
    /// The caller holds the writer lock, which keeps topics from changing meanwhile.
    fn append_locked<'r>(
        &self,
        records: impl Iterator<Item = Result<(&'r Arc<Topic>, u32, &'r Record)>>,
        offsets: &[(&str, &Arc<Topic>, u32, u64)],
        state: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<Vec<u64>> {
        let mut appender = Appender::new(self.store.cf(Family::Log));
        self.store.add_state_writes(appender.batch_mut(), state);
        for item in records {
            let (topic, partition, record) = item?;
            appender.push(topic, partition, record)?;
        }
        let offsets_cf = self.store.cf(Family::Offsets);
        for &(group, topic, partition, offset) in offsets {
            topic.partition(partition)?;
            appender.batch_mut().put_cf(
                offsets_cf,
                keys::offset_key(group, topic.id, partition),
                offset.to_be_bytes(),
            );
        }
        let (batch, assigned, next_offsets) = appender.finish();
        if batch.is_empty() {
            return Ok(assigned);
        }
        self.store.write(batch)?;
        next_offsets.publish();
        if !assigned.is_empty() {
            let mut sequence = lock(&self.appends.sequence);
            *sequence += 1;
            self.appends.appended.notify_all();
        }
        Ok(assigned)
    }

    /// Appends the epoch's records, stores its offsets and applies its state writes in one
    /// atomic write (the embedded committer's commit).
    pub fn commit_epoch(&self, epoch: &Epoch) -> Result<()> {
        for (group, ..) in &epoch.offsets {
            check_group(group)?;
        }
        let _writer = lock(&self.writer);
        let topics = read(&self.topics);
        let find = |name: &str| topics.get(name).ok_or_else(|| missing_topic(name));
        let offsets = epoch
            .offsets
            .iter()
            .map(|(group, topic, partition, offset)| {
                Ok((group.as_str(), find(topic)?, *partition, *offset))
            })
            .collect::<Result<Vec<_>>>()?;
        let records = epoch
            .records
            .iter()
            .map(|(topic, partition, record)| Ok((find(topic)?, *partition, record)));
        self.append_locked(records, &offsets, &epoch.state)?;
        Ok(())
    }

    /// A counter that grows with every append to any topic.
    fn append_sequence(&self) -> u64 {
        *lock(&self.appends.sequence)
    }

    /// Blocks until `append_sequence()` exceeds `seen`, `timeout` passes or `woken` is set;
    /// returns the current sequence.
    fn wait_for_append(&self, seen: u64, timeout: Duration, woken: &AtomicBool) -> u64 {
        let signal = &self.appends;
        let deadline = Instant::now().checked_add(timeout);
        let mut sequence = lock(&signal.sequence);
        while *sequence <= seen && !woken.load(Ordering::SeqCst) {
            sequence = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    signal
                        .appended
                        .wait_timeout(sequence, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => signal
                    .appended
                    .wait(sequence)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        *sequence
    }
}

impl TopicLog for EmbeddedLog {
    fn create_topic(&self, name: &str, partitions: u32, replicas: u16) -> Result<()> {
        if name.is_empty() {
            return Err(ExecError::User("topic name must not be empty".into()));
        }
        if partitions == 0 || partitions > MAX_PARTITIONS {
            return Err(ExecError::User(format!(
                "topic \"{name}\" must have between 1 and {MAX_PARTITIONS} partitions, not {partitions}"
            )));
        }
        let mut writer = lock(&self.writer);
        if let Some(existing) = read(&self.topics).get(name) {
            let existing_partitions = existing.partitions.len() as u32;
            if existing_partitions == partitions {
                return Ok(());
            }
            return Err(ExecError::User(format!(
                "topic \"{name}\" already exists with {existing_partitions} partitions, not {partitions}"
            )));
        }
        let id = writer.next_topic_id;
        // `u32::MAX` is never used, so that `id + 1` bounds every key range of a topic.
        let next_topic_id = id
            .checked_add(1)
            .filter(|&next| next < u32::MAX)
            .ok_or_else(|| ExecError::Internal("embedded log ran out of topic ids".into()))?;
        let topic = Topic::new(name, id, partitions, replicas);
        let mut batch = WriteBatch::default();
        topic.save(&self.store, next_topic_id, &mut batch)?;
        self.store.write(batch)?;
        writer.next_topic_id = next_topic_id;
        write(&self.topics).insert(name.to_string(), Arc::new(topic));
        Ok(())
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let _writer = lock(&self.writer);
        let topic = self.topic(name)?;
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.store.cf(Family::Topics), keys::topic_key(name));
        let (start, end) = keys::topic_range(topic.id);
        batch.delete_range_cf(self.store.cf(Family::Log), start, end);
        let offsets_cf = self.store.cf(Family::Offsets);
        for entry in self.store.db().iterator_cf(offsets_cf, IteratorMode::Start) {
            let (key, _) = entry?;
            if keys::parse_offset_key(&key)?.0 == topic.id {
                batch.delete_cf(offsets_cf, key);
            }
        }
        self.store.write(batch)?;
        write(&self.topics).remove(name);
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicDescription>> {
        Ok(read(&self.topics)
            .get(name)
            .map(|topic| topic.description()))
    }

    fn list_topics(&self) -> Result<Vec<TopicDescription>> {
        let mut topics: Vec<TopicDescription> = read(&self.topics)
            .values()
            .map(|topic| topic.description())
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    fn produce(&self, topic: &str, records: Vec<(u32, Record)>) -> Result<Vec<u64>> {
        let _writer = lock(&self.writer);
        let topic = self.topic(topic)?;
        let records = records
            .iter()
            .map(|(partition, record)| Ok((&topic, *partition, record)));
        self.append_locked(records, &[], &[])
    }

    fn read(
        &self,
        topic: &str,
        partition: u32,
        from: u64,
        max_records: usize,
    ) -> Result<Vec<ConsumedRecord>> {
        let topic = self.topic(topic)?;
        let next = topic.partition(partition)?.next.load(Ordering::Acquire);
        if max_records == 0 || from >= next {
            return Ok(Vec::new());
        }
        let (start, end) = keys::partition_range(topic.id, partition);
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(start);
        options.set_iterate_upper_bound(end);
        // Records are read once, in order: their blocks would only push the state's filter
        // and index blocks out of the shared block cache (a query catching up on a backlog
        // then paid a filter-block read for every state lookup).
        options.fill_cache(false);
        let mut iterator = self
            .store
            .db()
            .raw_iterator_cf_opt(self.store.cf(Family::Log), options);
        iterator.seek_for_prev(keys::chunk_key(topic.id, partition, from));
        if !iterator.valid() {
            iterator.status()?;
            // `from` is before the first chunk.
            iterator.seek_to_first();
        }
        let capacity = usize::try_from(next - from).map_or(max_records, |n| n.min(max_records));
        let mut consumed = Vec::with_capacity(capacity);
        let mut bytes = 0;
        while consumed.len() < max_records && bytes < self.read_bytes {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            let mut offset = keys::chunk_base_offset(key)?;
            let mut decoder = ChunkDecoder::new(value)?;
            if from > offset {
                let skip = (from - offset).min(u64::from(decoder.remaining())) as u32;
                decoder.skip(skip)?;
                offset += u64::from(skip);
            }
            while consumed.len() < max_records && bytes < self.read_bytes {
                let Some(record) = decoder.next_record()? else {
                    break;
                };
                bytes += record.key.as_ref().map_or(0, Vec::len)
                    + record.value.as_ref().map_or(0, Vec::len);
                consumed.push(ConsumedRecord {
                    partition,
                    offset,
                    record,
                });
                offset += 1;
            }
            iterator.next();
        }
        iterator.status()?;
        Ok(consumed)
    }

    fn offsets(&self, topic: &str) -> Result<Vec<(u64, u64)>> {
        let topic = self.topic(topic)?;
        Ok(topic
            .partitions
            .iter()
            .map(|offsets| (offsets.earliest, offsets.next.load(Ordering::Acquire)))
            .collect())
    }

    fn committed_offsets(&self, group: &str, topic: &str) -> Result<Vec<Option<u64>>> {
        check_group(group)?;
        let topic = self.topic(topic)?;
        let mut committed = vec![None; topic.partitions.len()];
        let start = keys::offset_key(group, topic.id, 0);
        let end = keys::offset_key(group, topic.id + 1, 0);
        let mut options = ReadOptions::default();
        options.set_iterate_upper_bound(end);
        let iterator = self.store.db().iterator_cf_opt(
            self.store.cf(Family::Offsets),
            options,
            IteratorMode::From(&start, Direction::Forward),
        );
        for entry in iterator {
            let (key, value) = entry?;
            let (_, partition) = keys::parse_offset_key(&key)?;
            if let Some(slot) = committed.get_mut(partition as usize) {
                *slot = Some(keys::parse_u64(&value)?);
            }
        }
        Ok(committed)
    }

    fn delete_group(&self, group: &str) -> Result<()> {
        check_group(group)?;
        let _writer = lock(&self.writer);
        let start = keys::group_prefix(group);
        let mut end = start.clone();
        *end.last_mut().expect("a group prefix ends with 0") = 1;
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.store.cf(Family::Offsets), start, end);
        self.store.write(batch)
    }

    fn consumer(self: Arc<Self>) -> Result<Box<dyn Consumer>> {
        Ok(Box::new(consumer::EmbeddedConsumer::new(self)))
    }
}

/// Group names end at the 0 separator of `offsets` keys, so they cannot contain one.
fn check_group(group: &str) -> Result<()> {
    if group.contains('\0') {
        return Err(ExecError::User(format!(
            "consumer group \"{}\" must not contain NUL characters",
            group.escape_default()
        )));
    }
    Ok(())
}

// A panic while holding one of these locks leaves consistent data behind (the in-memory
// offsets only advance after a successful write), so poisoning is ignored.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
