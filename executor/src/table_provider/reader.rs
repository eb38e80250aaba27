//! One consistent view of the tables of a SQL pull query: a snapshot of the state, and the
//! end offsets of the topics of the source tables read from their topic, taken together.
//!
//! DataFusion wants `'static` table providers, while a RocksDB snapshot borrows the store.
//! So the snapshot lives on a thread of its own, taken when the reader starts, and scans ask
//! that thread for entries through a channel; topic reads (blocking too) happen there as well.
//! The thread ends when the last reader is dropped.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, mpsc};

use tokio::sync::oneshot;

use crate::log::TopicLog;
use crate::state::StateStore;
use crate::state::materialized::{
    Entries, SnapshotTable, SortedEntries, StateLookup, encode_key, encode_value, read_entries,
};
use crate::{ExecError, Result};

/// Records read from a topic per call.
const TOPIC_READ_RECORDS: usize = 4096;

/// Where the rows of a table are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowSource {
    /// A state table (`table/<NAME>`).
    State(String),
    /// A topic, compacted: the last record per key up to the ends taken with the snapshot.
    Topic(String),
}

/// A read asked of the snapshot thread.
struct ReadRequest {
    source: RowSource,
    lookup: StateLookup,
    reply: oneshot::Sender<Result<Entries>>,
}

/// A handle on one snapshot of all committed state (`StateStore::snapshot`) and of the ends
/// of some topics, usable from any thread or task. Cheap to clone; the snapshot is released
/// when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SnapshotReader {
    requests: mpsc::Sender<ReadRequest>,
}

impl SnapshotReader {
    /// Takes a snapshot of `state` and the end offsets of `topics` now, on a new thread, and
    /// returns once they are taken: every epoch committed (record appended) before this call
    /// is visible to the reader, no later one is.
    pub fn spawn(state: &StateStore, log: Arc<dyn TopicLog>, topics: &[String]) -> Result<Self> {
        let (requests, incoming) = mpsc::channel::<ReadRequest>();
        let (taken, ready) = mpsc::channel::<Result<()>>();
        let state = state.clone();
        let topics = topics.to_vec();
        std::thread::Builder::new()
            .name("pull-snapshot".into())
            .spawn(move || {
                let snapshot = state.snapshot();
                let mut topics = match topic_ends(log.as_ref(), &topics) {
                    Ok(ends) => {
                        // The caller waits for this; if it went away, nobody sends requests.
                        let _ = taken.send(Ok(()));
                        ends
                    }
                    Err(error) => {
                        let _ = taken.send(Err(error));
                        return;
                    }
                };
                for request in incoming {
                    let entries = match &request.source {
                        RowSource::State(id) => {
                            let table = SnapshotTable {
                                snapshot: &snapshot,
                                id,
                            };
                            read_entries(&table, &request.lookup)
                        }
                        RowSource::Topic(topic) => match topics.get_mut(topic) {
                            Some(topic_rows) => {
                                topic_rows.rows(log.as_ref(), topic).and_then(|rows| {
                                    read_entries(&CompactedTopic(rows), &request.lookup)
                                })
                            }
                            None => Err(ExecError::Internal(format!(
                                "topic \"{topic}\" is not part of the pull query's snapshot"
                            ))),
                        },
                    };
                    // The scan that asked may have been cancelled (LIMIT reached): fine.
                    let _ = request.reply.send(entries);
                }
            })?;
        ready.recv().map_err(|_| {
            ExecError::Internal("the snapshot thread ended before starting".into())
        })??;
        Ok(SnapshotReader { requests })
    }

    /// The entries of `source` that `lookup` selects, in key order within each key range.
    pub(crate) async fn read(&self, source: &RowSource, lookup: StateLookup) -> Result<Entries> {
        let (reply, answer) = oneshot::channel();
        let request = ReadRequest {
            source: source.clone(),
            lookup,
            reply,
        };
        self.requests
            .send(request)
            .map_err(|_| ExecError::Internal("the snapshot thread has ended".into()))?;
        answer
            .await
            .map_err(|_| ExecError::Internal("the snapshot thread dropped a read".into()))?
    }
}

/// The rows of a topic table: the ends of its partitions, and once read, its last record
/// per key.
struct TopicRows {
    /// Per partition: `(earliest offset, end offset)` when the snapshot was taken.
    bounds: Vec<(u64, u64)>,
    rows: Option<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl TopicRows {
    /// The last record per key (a tombstone removes the key), read on first use.
    fn rows(&mut self, log: &dyn TopicLog, topic: &str) -> Result<&BTreeMap<Vec<u8>, Vec<u8>>> {
        if self.rows.is_none() {
            let mut rows = BTreeMap::new();
            for (partition, (earliest, end)) in self.bounds.iter().enumerate() {
                let mut offset = *earliest;
                while offset < *end {
                    let wanted = usize::try_from(end - offset)
                        .unwrap_or(usize::MAX)
                        .min(TOPIC_READ_RECORDS);
                    let records = log.read(topic, partition as u32, offset, wanted)?;
                    let Some(last) = records.last() else { break };
                    offset = last.offset + 1;
                    for consumed in records.into_iter().filter(|c| c.offset < *end) {
                        let record = consumed.record;
                        // ksqlDB drops table records without a key.
                        let Some(key) = record.key else { continue };
                        match record.value {
                            Some(value) => {
                                let stored = encode_value(record.timestamp, &value);
                                rows.insert(encode_key(Some(&key)), stored);
                            }
                            None => {
                                rows.remove(&key);
                            }
                        }
                    }
                }
            }
            self.rows = Some(rows);
        }
        Ok(self.rows.get_or_insert_default())
    }
}

/// The end offsets of every partition of `topics`.
fn topic_ends(log: &dyn TopicLog, topics: &[String]) -> Result<HashMap<String, TopicRows>> {
    topics
        .iter()
        .map(|topic| {
            let rows = TopicRows {
                bounds: log.offsets(topic)?,
                rows: None,
            };
            Ok((topic.clone(), rows))
        })
        .collect()
}

/// The last record per key of a topic, stored as a materialized table stores its rows.
struct CompactedTopic<'a>(&'a BTreeMap<Vec<u8>, Vec<u8>>);

impl SortedEntries for CompactedTopic<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key).cloned())
    }

    fn range(&self, from: &[u8], to: &[u8]) -> Result<Entries> {
        if from >= to {
            return Ok(Vec::new());
        }
        let range = self
            .0
            .range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)));
        Ok(range
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }

    fn scan(&self) -> Result<Entries> {
        Ok(self
            .0
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::Record;
    use crate::table_provider::testing::StateFixture;

    fn owned(pairs: &[(&[u8], &[u8])]) -> Entries {
        pairs
            .iter()
            .map(|(key, value)| (key.to_vec(), value.to_vec()))
            .collect()
    }

    fn record(key: &str, value: Option<&str>, timestamp: i64) -> (u32, Record) {
        let record = Record {
            key: Some(key.as_bytes().to_vec()),
            value: value.map(|value| value.as_bytes().to_vec()),
            timestamp,
            headers: Vec::new(),
        };
        (0, record)
    }

    fn stored(timestamp: i64, value: &str) -> Vec<u8> {
        encode_value(timestamp, value.as_bytes())
    }

    #[test]
    fn reader_sees_the_state_and_topics_of_when_it_started() {
        let fixture = StateFixture::new();
        fixture.commit_entries("t", &owned(&[(b"a", b"1"), (b"b", b"2")]));
        fixture
            .log
            .create_topic("topic", 1, 1)
            .expect("create topic");
        let produce = |records: Vec<(u32, Record)>| {
            fixture.log.produce("topic", records).expect("produce");
        };
        produce(vec![
            record("x", Some("1"), 10),
            record("y", Some("2"), 20),
            record("x", Some("3"), 30),
            record("z", Some("4"), 40),
            record("z", None, 50),
        ]);
        let log = Arc::clone(&fixture.log);
        let reader = SnapshotReader::spawn(&fixture.state, log, &["topic".into()]).expect("reader");
        fixture.commit_entries("t", &owned(&[(b"a", b"changed"), (b"c", b"3")]));
        produce(vec![record("y", Some("later"), 60)]);

        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let state = RowSource::State("t".into());
        let topic = RowSource::Topic("topic".into());
        let cases: Vec<(&RowSource, StateLookup, Entries)> = vec![
            (
                &state,
                StateLookup::Scan,
                owned(&[(b"a", b"1"), (b"b", b"2")]),
            ),
            (
                &state,
                StateLookup::Keys(vec![b"a".to_vec(), b"c".to_vec()]),
                owned(&[(b"a", b"1")]),
            ),
            (
                &state,
                StateLookup::Ranges(vec![(b"b".to_vec(), b"z".to_vec())]),
                owned(&[(b"b", b"2")]),
            ),
            (
                &topic,
                StateLookup::Scan,
                vec![
                    (b"x".to_vec(), stored(30, "3")),
                    (b"y".to_vec(), stored(20, "2")),
                ],
            ),
            (
                &topic,
                StateLookup::Keys(vec![b"y".to_vec(), b"z".to_vec()]),
                vec![(b"y".to_vec(), stored(20, "2"))],
            ),
            (
                &topic,
                StateLookup::Ranges(vec![(b"a".to_vec(), b"y".to_vec())]),
                vec![(b"x".to_vec(), stored(30, "3"))],
            ),
        ];
        for (source, lookup, expected) in cases {
            let entries = runtime
                .block_on(reader.read(source, lookup.clone()))
                .expect("read");
            assert_eq!(entries, expected, "{source:?} {lookup:?}");
        }
    }

    #[test]
    fn unknown_topics_fail_the_reader() {
        let fixture = StateFixture::new();
        let log = Arc::clone(&fixture.log);
        let error = SnapshotReader::spawn(&fixture.state, log, &["missing".into()])
            .expect_err("the topic does not exist");
        assert!(!error.to_string().is_empty());
    }
}
