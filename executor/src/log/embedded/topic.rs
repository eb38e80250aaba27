//! Topics of the embedded log: their metadata in the `topics` family and, in memory, each
//! partition's earliest and next offset (recovered from the first and last chunk at start).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};
use serde::{Deserialize, Serialize};

use super::chunk::chunk_count;
use super::keys;
use crate::log::TopicDescription;
use crate::store::{Family, Store};
use crate::{ExecError, Result};

/// What the `topics` family stores per topic (the name is the key).
#[derive(Debug, Serialize, Deserialize)]
struct TopicMetadata {
    id: u32,
    partitions: u32,
    replicas: u16,
}

/// An existing topic.
#[derive(Debug)]
pub(super) struct Topic {
    pub(super) name: String,
    /// Allocated once, never reused: deleted topics leave no records behind for a new one.
    pub(super) id: u32,
    pub(super) replicas: u16,
    pub(super) partitions: Vec<PartitionOffsets>,
}

#[derive(Debug)]
pub(super) struct PartitionOffsets {
    /// The first offset still stored.
    pub(super) earliest: u64,
    /// The offset the next record gets; only advanced under the writer lock, after the write.
    pub(super) next: AtomicU64,
}

impl PartitionOffsets {
    fn empty() -> Self {
        PartitionOffsets {
            earliest: 0,
            next: AtomicU64::new(0),
        }
    }
}

impl Topic {
    /// A topic with no records yet.
    pub(super) fn new(name: &str, id: u32, partitions: u32, replicas: u16) -> Self {
        Topic {
            name: name.to_string(),
            id,
            replicas,
            partitions: (0..partitions).map(|_| PartitionOffsets::empty()).collect(),
        }
    }

    pub(super) fn description(&self) -> TopicDescription {
        TopicDescription {
            name: self.name.clone(),
            partitions: self.partitions.len() as u32,
            replicas: self.replicas,
        }
    }

    pub(super) fn partition(&self, partition: u32) -> Result<&PartitionOffsets> {
        self.partitions.get(partition as usize).ok_or_else(|| {
            ExecError::User(format!(
                "partition {partition} of topic \"{}\" does not exist",
                self.name
            ))
        })
    }

    /// Adds the topic's metadata and the next free topic id to `batch`.
    pub(super) fn save(
        &self,
        store: &Store,
        next_topic_id: u32,
        batch: &mut WriteBatch,
    ) -> Result<()> {
        let metadata = TopicMetadata {
            id: self.id,
            partitions: self.partitions.len() as u32,
            replicas: self.replicas,
        };
        let metadata = serde_json::to_vec(&metadata).map_err(|error| {
            ExecError::Internal(format!(
                "cannot encode metadata of topic \"{}\": {error}",
                self.name
            ))
        })?;
        let topics_cf = store.cf(Family::Topics);
        batch.put_cf(
            topics_cf,
            keys::NEXT_TOPIC_ID_KEY,
            next_topic_id.to_be_bytes(),
        );
        batch.put_cf(topics_cf, keys::topic_key(&self.name), metadata);
        Ok(())
    }
}

/// Every stored topic by name, and the next free topic id.
pub(super) fn load_topics(store: &Store) -> Result<(HashMap<String, Arc<Topic>>, u32)> {
    let db = store.db();
    let topics_cf = store.cf(Family::Topics);
    let mut next_topic_id = match db.get_cf(topics_cf, keys::NEXT_TOPIC_ID_KEY)? {
        Some(bytes) => {
            let bytes: [u8; 4] = bytes.as_slice().try_into().map_err(|_| {
                ExecError::Internal(format!("bad embedded log topic id counter {bytes:?}"))
            })?;
            u32::from_be_bytes(bytes)
        }
        None => 0,
    };
    let mut topics = HashMap::new();
    let iterator = db.iterator_cf(
        topics_cf,
        IteratorMode::From(&[keys::TOPIC_PREFIX], Direction::Forward),
    );
    for entry in iterator {
        let (key, value) = entry?;
        let Some((&keys::TOPIC_PREFIX, name)) = key.split_first() else {
            break;
        };
        let name = String::from_utf8(name.to_vec()).map_err(|_| {
            ExecError::Internal(format!("embedded log topic name {name:?} is not utf-8"))
        })?;
        let metadata: TopicMetadata = serde_json::from_slice(&value).map_err(|error| {
            ExecError::Internal(format!("bad metadata of topic \"{name}\": {error}"))
        })?;
        next_topic_id = next_topic_id.max(metadata.id.saturating_add(1));
        let partitions = (0..metadata.partitions)
            .map(|partition| load_partition(store, metadata.id, partition))
            .collect::<Result<Vec<_>>>()?;
        let topic = Topic {
            name: name.clone(),
            id: metadata.id,
            replicas: metadata.replicas,
            partitions,
        };
        topics.insert(name, Arc::new(topic));
    }
    Ok((topics, next_topic_id))
}

/// Reads where a partition starts and ends from its first and last chunk.
fn load_partition(store: &Store, topic_id: u32, partition: u32) -> Result<PartitionOffsets> {
    let (start, end) = keys::partition_range(topic_id, partition);
    let mut options = ReadOptions::default();
    options.set_iterate_lower_bound(start);
    options.set_iterate_upper_bound(end);
    let mut iterator = store
        .db()
        .raw_iterator_cf_opt(store.cf(Family::Log), options);
    iterator.seek_to_first();
    let Some(first_key) = iterator.key() else {
        iterator.status()?;
        return Ok(PartitionOffsets {
            earliest: 0,
            next: AtomicU64::new(0),
        });
    };
    let earliest = keys::chunk_base_offset(first_key)?;
    iterator.seek_to_last();
    let (Some(last_key), Some(last_chunk)) = (iterator.key(), iterator.value()) else {
        iterator.status()?;
        return Err(ExecError::Internal(format!(
            "partition {partition} of topic id {topic_id} lost its last chunk"
        )));
    };
    let next = keys::chunk_base_offset(last_key)? + u64::from(chunk_count(last_chunk)?);
    Ok(PartitionOffsets {
        earliest,
        next: AtomicU64::new(next),
    })
}
