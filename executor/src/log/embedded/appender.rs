//! Encoding the records of one `produce`/`commit` call into chunks, partition by partition,
//! assigning their offsets on the way.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rocksdb::{ColumnFamily, WriteBatch};

use super::chunk::ChunkEncoder;
use super::keys;
use super::topic::Topic;
use crate::Result;
use crate::log::Record;

/// A chunk is closed after this many records...
pub(super) const MAX_CHUNK_RECORDS: u32 = 1024;
/// ... or this many bytes, so that reading from the middle of one skips little.
const MAX_CHUNK_BYTES: usize = 128 << 10;

/// The records of one call being encoded into chunks, partition by partition.
pub(super) struct Appender<'a> {
    log_cf: &'a ColumnFamily,
    batch: WriteBatch,
    partitions: Vec<PartitionAppend>,
    /// `(topic id, partition)` -> index in `partitions`.
    index: HashMap<(u32, u32), usize>,
    /// The previous record's `(topic id, partition, index)`: most calls write to one partition.
    last: Option<(u32, u32, usize)>,
    /// Offsets of the records pushed so far, in order.
    assigned: Vec<u64>,
}

struct PartitionAppend {
    topic: Arc<Topic>,
    partition: u32,
    /// Offset of the first record of the open chunk.
    chunk_base: u64,
    /// Offset of the next record.
    next: u64,
    chunk: ChunkEncoder,
}

impl PartitionAppend {
    /// Puts the open chunk into `batch` and starts a new one.
    fn flush(&mut self, log_cf: &ColumnFamily, batch: &mut WriteBatch) {
        if self.chunk.count() == 0 {
            return;
        }
        let key = keys::chunk_key(self.topic.id, self.partition, self.chunk_base);
        batch.put_cf(log_cf, key, self.chunk.finish());
        self.chunk.clear();
        self.chunk_base = self.next;
    }
}

impl<'a> Appender<'a> {
    pub(super) fn new(log_cf: &'a ColumnFamily) -> Self {
        Appender {
            log_cf,
            batch: WriteBatch::default(),
            partitions: Vec::new(),
            index: HashMap::new(),
            last: None,
            assigned: Vec::new(),
        }
    }

    /// Assigns the next offset of `partition` to `record` and encodes it.
    pub(super) fn push(
        &mut self,
        topic: &Arc<Topic>,
        partition: u32,
        record: &Record,
    ) -> Result<()> {
        let index = match self.last {
            Some((id, last_partition, index)) if id == topic.id && last_partition == partition => {
                index
            }
            _ => {
                let index = match self.index.entry((topic.id, partition)) {
                    Entry::Occupied(entry) => *entry.get(),
                    Entry::Vacant(entry) => {
                        let next = topic.partition(partition)?.next.load(Ordering::Acquire);
                        self.partitions.push(PartitionAppend {
                            topic: Arc::clone(topic),
                            partition,
                            chunk_base: next,
                            next,
                            chunk: ChunkEncoder::new(),
                        });
                        *entry.insert(self.partitions.len() - 1)
                    }
                };
                self.last = Some((topic.id, partition, index));
                index
            }
        };
        let append = &mut self.partitions[index];
        self.assigned.push(append.next);
        append.next += 1;
        append.chunk.push(record);
        if append.chunk.count() >= MAX_CHUNK_RECORDS
            || append.chunk.encoded_bytes() >= MAX_CHUNK_BYTES
        {
            append.flush(self.log_cf, &mut self.batch);
        }
        Ok(())
    }
}

impl Appender<'_> {
    /// The batch that will hold the chunks, for the caller's own writes.
    pub(super) fn batch_mut(&mut self) -> &mut WriteBatch {
        &mut self.batch
    }

    /// Closes every open chunk; returns the batch to write, the offsets of the records in
    /// the order they were pushed, and the next offsets to publish once the batch is written.
    pub(super) fn finish(mut self) -> (WriteBatch, Vec<u64>, NextOffsets) {
        for partition in &mut self.partitions {
            partition.flush(self.log_cf, &mut self.batch);
        }
        (self.batch, self.assigned, NextOffsets(self.partitions))
    }
}

/// The partitions' next offsets after an append.
pub(super) struct NextOffsets(Vec<PartitionAppend>);

impl NextOffsets {
    /// Makes the written records visible in the partitions' next offsets.
    pub(super) fn publish(&self) {
        for partition in &self.0 {
            let offsets = &partition.topic.partitions[partition.partition as usize];
            offsets.next.store(partition.next, Ordering::Release);
        }
    }
}
