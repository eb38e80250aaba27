//! The embedded log: durable, partitioned topics in the store's RocksDB, no broker needed.
//!
//! Records of one `produce`/`commit` call to one partition are stored together as chunks
//! (`embedded::chunk`) under `topic id | partition | base offset` (`embedded::keys`). Offsets
//! are assigned under one writer lock and each call is one atomic `WriteBatch`, so concurrent
//! producers never interleave offsets and a crash never leaves half a commit.

mod appender;
mod chunk;
mod keys;
mod topic;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use self::appender::Appender;
use self::chunk::ChunkDecoder;
use self::topic::{Topic, load_topics};
use crate::log::{ConsumedRecord, Record, TopicDescription, TopicLog, Transaction};
use crate::store::{Family, Store};
use crate::{ExecError, Result};

/// Upper bound on a topic's partition count (guards against absurd allocations).
const MAX_PARTITIONS: u32 = 100_000;

/// State owned by whoever writes.
#[derive(Debug)]
struct Writer {
    next_topic_id: u32,
}

#[derive(Debug)]
struct Appends {
    sequence: u64,
    /// Bumped by `wake_all`, so waiters return even when nothing was appended.
    wakeups: u64,
}

/// The default `TopicLog`: topics in the RocksDB `Store` of the data directory.
///
/// Produced records survive a crash of the process as soon as `produce`/`commit` returns.
pub struct EmbeddedLog {
    store: Arc<Store>,
    topics: RwLock<HashMap<String, Arc<Topic>>>,
    /// Serializes every write: offset assignment, topic creation and deletion.
    writer: Mutex<Writer>,
    appends: Mutex<Appends>,
    appended: Condvar,
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
            appends: Mutex::new(Appends {
                sequence: 0,
                wakeups: 0,
            }),
            appended: Condvar::new(),
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
        let state_cf = self.store.cf(Family::State);
        for (key, value) in state {
            match value {
                Some(value) => appender.batch_mut().put_cf(state_cf, key, value),
                None => appender.batch_mut().delete_cf(state_cf, key),
            }
        }
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
            let mut appends = lock(&self.appends);
            appends.sequence += 1;
            self.appended.notify_all();
        }
        Ok(assigned)
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

    fn commit(&self, transaction: Transaction) -> Result<()> {
        for (group, ..) in &transaction.offsets {
            check_group(group)?;
        }
        let _writer = lock(&self.writer);
        let topics = read(&self.topics);
        let find = |name: &str| topics.get(name).ok_or_else(|| missing_topic(name));
        let offsets = transaction
            .offsets
            .iter()
            .map(|(group, topic, partition, offset)| {
                Ok((group.as_str(), find(topic)?, *partition, *offset))
            })
            .collect::<Result<Vec<_>>>()?;
        let records = transaction
            .records
            .iter()
            .map(|(topic, partition, record)| Ok((find(topic)?, *partition, record)));
        self.append_locked(records, &offsets, &transaction.state)?;
        Ok(())
    }

    fn append_sequence(&self) -> u64 {
        lock(&self.appends).sequence
    }

    fn wait_for_append(&self, seen: u64, timeout: Duration) -> u64 {
        let deadline = Instant::now().checked_add(timeout);
        let mut appends = lock(&self.appends);
        let wakeups = appends.wakeups;
        while appends.sequence <= seen && appends.wakeups == wakeups {
            appends = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.appended
                        .wait_timeout(appends, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .appended
                    .wait(appends)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        appends.sequence
    }

    fn wake_all(&self) {
        let mut appends = lock(&self.appends);
        appends.wakeups += 1;
        self.appended.notify_all();
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

fn missing_topic(name: &str) -> ExecError {
    ExecError::User(format!("topic \"{name}\" does not exist"))
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
mod tests {
    use std::sync::mpsc;
    use std::thread;

    use super::*;
    use crate::log::Header;

    const WAIT: Duration = Duration::from_secs(10);

    fn open(directory: &tempfile::TempDir) -> EmbeddedLog {
        let store = Store::open(directory.path()).expect("open store");
        EmbeddedLog::new(store).expect("open log")
    }

    fn record(key: &str, value: &str, timestamp: i64) -> Record {
        Record {
            key: Some(key.as_bytes().to_vec()),
            value: Some(value.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        }
    }

    fn values(consumed: &[ConsumedRecord]) -> Vec<(u64, String)> {
        consumed
            .iter()
            .map(|consumed| {
                let value = consumed.record.value.as_deref().unwrap_or_default();
                (consumed.offset, String::from_utf8_lossy(value).into_owned())
            })
            .collect()
    }

    fn user_error(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(ExecError::User(message)) => message,
            other => panic!("expected a user error, got {other:?}"),
        }
    }

    #[test]
    fn produce_and_read_round_trip() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("t", 2, 1).expect("create");
        let with_headers = Record {
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            timestamp: 42,
            headers: vec![
                Header {
                    key: "h1".into(),
                    value: Some(b"x".to_vec()),
                },
                Header {
                    key: "h2".into(),
                    value: None,
                },
            ],
        };
        let tombstone = Record {
            key: Some(b"k".to_vec()),
            value: None,
            timestamp: -5,
            headers: Vec::new(),
        };
        let empty = Record::default();
        let produced = vec![
            (0, with_headers.clone()),
            (1, tombstone.clone()),
            (0, empty.clone()),
            (1, record("a", "b", i64::MAX)),
        ];
        assert_eq!(
            log.produce("t", produced).expect("produce"),
            vec![0, 0, 1, 1]
        );

        let partition0 = log.read("t", 0, 0, 100).expect("read");
        let expected0 = vec![
            ConsumedRecord {
                partition: 0,
                offset: 0,
                record: with_headers,
            },
            ConsumedRecord {
                partition: 0,
                offset: 1,
                record: empty,
            },
        ];
        assert_eq!(partition0, expected0);
        let partition1 = log.read("t", 1, 0, 100).expect("read");
        assert_eq!(partition1[0].record, tombstone);
        assert_eq!(partition1[1].record, record("a", "b", i64::MAX));
        assert_eq!(partition1[1].partition, 1);
        assert_eq!(log.offsets("t").expect("offsets"), vec![(0, 2), (0, 2)]);
    }

    #[test]
    fn offsets_are_assigned_per_partition_across_calls() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("t", 3, 1).expect("create");
        let cases: [(&[u32], &[u64]); 5] = [
            (&[0, 0, 0], &[0, 1, 2]),
            (&[1], &[0]),
            (&[0, 1, 2, 0], &[3, 1, 0, 4]),
            (&[], &[]),
            (&[2, 2, 1], &[1, 2, 2]),
        ];
        for (partitions, expected) in cases {
            let records = partitions
                .iter()
                .map(|&partition| (partition, record("k", "v", 0)))
                .collect();
            assert_eq!(
                log.produce("t", records).expect("produce"),
                expected,
                "producing to {partitions:?}"
            );
        }
        assert_eq!(
            log.offsets("t").expect("offsets"),
            vec![(0, 5), (0, 3), (0, 3)]
        );
    }

    #[test]
    fn a_read_stops_once_its_records_hold_read_bytes() {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut log = open(&directory);
        log.read_bytes = 2_500;
        log.create_topic("t", 1, 1).expect("create");
        let big = "v".repeat(999);
        let records = (0..10).map(|n| (0, record("k", &big, n))).collect();
        log.produce("t", records).expect("produce");
        // 1,000 bytes a record (key and value): the third reaches the limit.
        let offsets = |consumed: Vec<ConsumedRecord>| -> Vec<u64> {
            consumed.iter().map(|consumed| consumed.offset).collect()
        };
        assert_eq!(offsets(log.read("t", 0, 0, 100).expect("read")), [0, 1, 2]);
        assert_eq!(offsets(log.read("t", 0, 8, 100).expect("read")), [8, 9]);
        assert_eq!(offsets(log.read("t", 0, 4, 2).expect("read")), [4, 5]);
        // A record larger than the limit is still read, alone.
        log.read_bytes = 10;
        assert_eq!(offsets(log.read("t", 0, 5, 100).expect("read")), [5]);
    }

    #[test]
    fn reads_start_anywhere_in_and_across_chunks() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("t", 1, 1).expect("create");
        // One small chunk, one call split into several chunks, then single-record chunks.
        let mut next = 0u64;
        for count in [10, 2 * appender::MAX_CHUNK_RECORDS as u64 + 100, 1, 1, 1] {
            let records = (next..next + count)
                .map(|offset| (0, record("k", &offset.to_string(), offset as i64)))
                .collect();
            log.produce("t", records).expect("produce");
            next += count;
        }
        let cases: [(u64, usize); 10] = [
            (0, 3),
            (3, 4),
            (5, 10),
            (9, 2),
            (10, 1),
            (500, 2000),
            (1033, 1),
            (next - 3, 100),
            (next, 10),
            (next + 5, 10),
        ];
        for (from, max) in cases {
            let expected: Vec<(u64, String)> = (from..next)
                .take(max)
                .map(|offset| (offset, offset.to_string()))
                .collect();
            let consumed = log.read("t", 0, from, max).expect("read");
            assert_eq!(values(&consumed), expected, "read from {from}, max {max}");
            assert!(
                consumed
                    .iter()
                    .all(|consumed| consumed.record.timestamp == consumed.offset as i64)
            );
        }
        assert!(log.read("t", 0, 0, 0).expect("read").is_empty());
    }

    #[test]
    fn commit_writes_records_and_offsets_atomically() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("in", 2, 1).expect("create");
        log.create_topic("out", 1, 1).expect("create");
        assert_eq!(
            log.committed_offsets("q1", "in").expect("committed"),
            vec![None, None]
        );
        let transaction = Transaction {
            records: vec![
                ("out".into(), 0, record("a", "1", 1)),
                ("out".into(), 0, record("b", "2", 2)),
            ],
            offsets: vec![("q1".into(), "in".into(), 1, 7)],
            ..Default::default()
        };
        log.commit(transaction).expect("commit");
        assert_eq!(
            values(&log.read("out", 0, 0, 10).expect("read")),
            vec![(0, "1".to_string()), (1, "2".to_string())]
        );
        assert_eq!(
            log.committed_offsets("q1", "in").expect("committed"),
            vec![None, Some(7)]
        );
        assert_eq!(
            log.committed_offsets("q2", "in").expect("committed"),
            vec![None, None]
        );

        // A commit with one bad part writes nothing at all.
        let bad_commits = [
            (
                vec![("q1".to_string(), "nope".to_string(), 0, 9)],
                "topic \"nope\" does not exist",
            ),
            (
                vec![("q1".to_string(), "in".to_string(), 2, 9)],
                "partition 2 of topic \"in\" does not exist",
            ),
            (
                vec![("q\0".to_string(), "in".to_string(), 0, 9)],
                "consumer group \"q\\u{0}\" must not contain NUL characters",
            ),
        ];
        for (offsets, message) in bad_commits {
            let transaction = Transaction {
                records: vec![("out".into(), 0, record("c", "3", 3))],
                offsets,
                ..Default::default()
            };
            assert_eq!(user_error(log.commit(transaction)), message);
        }
        let transaction = Transaction {
            records: vec![
                ("out".into(), 0, record("c", "3", 3)),
                ("missing".into(), 0, record("c", "3", 3)),
            ],
            offsets: vec![("q1".into(), "in".into(), 0, 9)],
            ..Default::default()
        };
        assert_eq!(
            user_error(log.commit(transaction)),
            "topic \"missing\" does not exist"
        );
        assert_eq!(log.offsets("out").expect("offsets"), vec![(0, 2)]);
        assert_eq!(log.read("out", 0, 0, 10).expect("read").len(), 2);
        assert_eq!(
            log.committed_offsets("q1", "in").expect("committed"),
            vec![None, Some(7)]
        );

        log.delete_group("q1").expect("delete group");
        assert_eq!(
            log.committed_offsets("q1", "in").expect("committed"),
            vec![None, None]
        );
    }

    #[test]
    fn reopened_log_keeps_topics_records_and_offsets() {
        let directory = tempfile::tempdir().expect("temp dir");
        {
            let log = open(&directory);
            log.create_topic("a", 2, 3).expect("create");
            log.create_topic("b", 1, 1).expect("create");
            log.create_topic("gone", 1, 1).expect("create");
            log.produce("gone", vec![(0, record("x", "old", 0))])
                .expect("produce");
            log.delete_topic("gone").expect("delete");
            log.produce(
                "a",
                vec![(0, record("k", "a0", 0)), (1, record("k", "a1", 0))],
            )
            .expect("produce");
            log.produce("a", vec![(1, record("k", "a2", 0))])
                .expect("produce");
            log.commit(Transaction {
                records: vec![("b".into(), 0, record("k", "b0", 0))],
                offsets: vec![("q".into(), "a".into(), 1, 2)],
                ..Default::default()
            })
            .expect("commit");
        }
        let log = open(&directory);
        let described: Vec<(String, u32, u16)> = log
            .list_topics()
            .expect("list")
            .into_iter()
            .map(|topic| (topic.name, topic.partitions, topic.replicas))
            .collect();
        assert_eq!(
            described,
            vec![("a".to_string(), 2, 3), ("b".to_string(), 1, 1)]
        );
        assert_eq!(log.offsets("a").expect("offsets"), vec![(0, 1), (0, 2)]);
        assert_eq!(log.offsets("b").expect("offsets"), vec![(0, 1)]);
        assert_eq!(
            values(&log.read("a", 1, 0, 10).expect("read")),
            vec![(0, "a1".to_string()), (1, "a2".to_string())]
        );
        assert_eq!(
            log.committed_offsets("q", "a").expect("committed"),
            vec![None, Some(2)]
        );
        assert_eq!(
            log.produce("a", vec![(1, record("k", "a3", 0))])
                .expect("produce"),
            vec![2]
        );
        // The deleted topic's id is not reused: a new topic starts empty.
        log.create_topic("gone", 1, 1).expect("create");
        log.create_topic("c", 1, 1).expect("create");
        for topic in ["gone", "c"] {
            assert_eq!(log.offsets(topic).expect("offsets"), vec![(0, 0)]);
            assert!(log.read(topic, 0, 0, 10).expect("read").is_empty());
        }
    }

    #[test]
    fn deleted_topic_loses_records_and_committed_offsets() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("t", 1, 1).expect("create");
        log.create_topic("keep", 1, 1).expect("create");
        log.commit(Transaction {
            records: vec![
                ("t".into(), 0, record("k", "v", 0)),
                ("keep".into(), 0, record("k", "v", 0)),
            ],
            offsets: vec![
                ("q".into(), "t".into(), 0, 1),
                ("q".into(), "keep".into(), 0, 1),
            ],
            ..Default::default()
        })
        .expect("commit");
        log.delete_topic("t").expect("delete");
        assert_eq!(log.describe_topic("t").expect("describe"), None);
        assert_eq!(
            user_error(log.read("t", 0, 0, 10)),
            "topic \"t\" does not exist"
        );
        assert_eq!(
            user_error(log.delete_topic("t")),
            "topic \"t\" does not exist"
        );
        log.create_topic("t", 1, 1).expect("recreate");
        assert!(log.read("t", 0, 0, 10).expect("read").is_empty());
        assert_eq!(
            log.committed_offsets("q", "t").expect("committed"),
            vec![None]
        );
        assert_eq!(
            log.committed_offsets("q", "keep").expect("committed"),
            vec![Some(1)]
        );
        assert_eq!(log.read("keep", 0, 0, 10).expect("read").len(), 1);
    }

    #[test]
    fn topic_errors() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("t", 2, 1).expect("create");
        log.create_topic("t", 2, 1)
            .expect("same partitions is a no-op");
        let cases: [(Result<()>, &str); 6] = [
            (
                log.create_topic("t", 3, 1),
                "topic \"t\" already exists with 2 partitions, not 3",
            ),
            (
                log.create_topic("z", 0, 1),
                "topic \"z\" must have between 1 and 100000 partitions, not 0",
            ),
            (log.create_topic("", 1, 1), "topic name must not be empty"),
            (
                log.produce("T", vec![(0, Record::default())]).map(drop),
                "topic \"T\" does not exist",
            ),
            (
                log.produce("t", vec![(0, Record::default()), (2, Record::default())])
                    .map(drop),
                "partition 2 of topic \"t\" does not exist",
            ),
            (
                log.read("t", 5, 0, 1).map(drop),
                "partition 5 of topic \"t\" does not exist",
            ),
        ];
        for (result, message) in cases {
            assert_eq!(user_error(result), message);
        }
        assert_eq!(log.offsets("t").expect("offsets"), vec![(0, 0), (0, 0)]);
        assert_eq!(log.describe_topic("T").expect("describe"), None);
    }

    #[test]
    fn wait_for_append_wakes_on_produce_and_on_wake_all() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(open(&directory));
        log.create_topic("t", 1, 1).expect("create");
        let seen = log.append_sequence();
        assert_eq!(log.wait_for_append(seen, Duration::from_millis(1)), seen);

        let (sender, receiver) = mpsc::channel();
        let waiter = {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                sender
                    .send(log.wait_for_append(seen, Duration::MAX))
                    .expect("send");
            })
        };
        log.produce("t", vec![(0, Record::default())])
            .expect("produce");
        let woke_at = receiver.recv_timeout(WAIT).expect("waiter woke up");
        assert!(woke_at > seen);
        waiter.join().expect("waiter thread");

        let seen = log.append_sequence();
        let (sender, receiver) = mpsc::channel();
        let waiter = {
            let log = Arc::clone(&log);
            thread::spawn(move || {
                sender
                    .send(log.wait_for_append(seen, Duration::MAX))
                    .expect("send");
            })
        };
        // wake_all before the waiter blocks must not be lost forever: keep waking until it
        // answers (each wake_all makes any waiter return).
        let answer = loop {
            log.wake_all();
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(sequence) => break sequence,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(error) => panic!("waiter died: {error}"),
            }
        };
        assert_eq!(answer, seen);
        waiter.join().expect("waiter thread");
    }

    #[test]
    fn concurrent_producers_get_dense_unique_offsets() {
        const THREADS: usize = 4;
        const CALLS: usize = 200;
        const PER_CALL: usize = 5;
        let directory = tempfile::tempdir().expect("temp dir");
        let log = Arc::new(open(&directory));
        log.create_topic("t", 1, 1).expect("create");
        let producers: Vec<_> = (0..THREADS)
            .map(|thread_index| {
                let log = Arc::clone(&log);
                thread::spawn(move || {
                    let mut offsets = Vec::new();
                    for call in 0..CALLS {
                        let records = (0..PER_CALL)
                            .map(|i| {
                                let value = format!("{thread_index}:{}", call * PER_CALL + i);
                                (0, record("k", &value, 0))
                            })
                            .collect();
                        let produced = log.produce("t", records).expect("produce");
                        // One call's records are consecutive.
                        assert!(produced.windows(2).all(|pair| pair[1] == pair[0] + 1));
                        offsets.extend(produced);
                    }
                    offsets
                })
            })
            .collect();
        let mut all: Vec<u64> = producers
            .into_iter()
            .flat_map(|producer| producer.join().expect("producer thread"))
            .collect();
        all.sort_unstable();
        let total = (THREADS * CALLS * PER_CALL) as u64;
        assert_eq!(all, (0..total).collect::<Vec<_>>());

        // Each thread's records come back in the order it produced them.
        let consumed = log.read("t", 0, 0, usize::MAX).expect("read");
        assert_eq!(consumed.len() as u64, total);
        let mut next_per_thread = [0usize; THREADS];
        for (offset, value) in values(&consumed) {
            let (thread_index, sequence) = value.split_once(':').expect("value shape");
            let thread_index: usize = thread_index.parse().expect("thread");
            let sequence: usize = sequence.parse().expect("sequence");
            assert_eq!(
                sequence, next_per_thread[thread_index],
                "at offset {offset}"
            );
            next_per_thread[thread_index] += 1;
        }
    }

    /// Throughput of produce + read of 1M 100-byte records, in calls of 1000 records.
    /// Run with `cargo test --release -p executor -- --ignored --nocapture throughput`.
    #[test]
    #[ignore = "benchmark"]
    fn throughput_of_one_million_records() {
        const RECORDS: usize = 1_000_000;
        const BATCH: usize = 1000;
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open(&directory);
        log.create_topic("bench", 1, 1).expect("create");
        let value = vec![b'x'; 100];
        let started = Instant::now();
        for batch in 0..RECORDS / BATCH {
            let records = (0..BATCH)
                .map(|i| {
                    let record = Record {
                        key: Some(((batch * BATCH + i) as u64).to_be_bytes().to_vec()),
                        value: Some(value.clone()),
                        timestamp: 1_700_000_000_000 + i as i64,
                        headers: Vec::new(),
                    };
                    (0, record)
                })
                .collect();
            log.produce("bench", records).expect("produce");
        }
        let produced = started.elapsed();
        let started = Instant::now();
        let mut from = 0;
        while from < RECORDS as u64 {
            let consumed = log.read("bench", 0, from, BATCH).expect("read");
            assert!(!consumed.is_empty());
            from = consumed.last().expect("not empty").offset + 1;
        }
        let read = started.elapsed();
        let rate = |elapsed: Duration| RECORDS as f64 / elapsed.as_secs_f64();
        println!(
            "produce: {produced:?} ({:.0} records/s), read: {read:?} ({:.0} records/s), \
             both: {:.0} records/s",
            rate(produced),
            rate(read),
            rate(produced + read)
        );
    }
}
