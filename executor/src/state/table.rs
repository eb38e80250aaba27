//! One state table of a query: committed state in RocksDB behind a bounded cache, plus the
//! pending writes of the current epoch.
//!
//! Cache policy: every key read or written stays in a hash map (misses too, as "no value")
//! until the table's byte budget is exceeded; then clean entries are evicted with a clock
//! (an entry read or written since the last pass survives one pass) down to 3/4 of the budget.
//! Pending writes are never evicted. Committing them is the caller's job (`take_writes`).

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use datafusion::common::HashMap;
use datafusion::common::hash_map::EntryRef;

use super::{collect_range, full_key, range_options, table_prefix};
use crate::Result;
use crate::store::{Family, Store};

/// Bytes charged per cache entry on top of its key and value (map slot, `Vec` headers).
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// A cached key.
#[derive(Debug)]
struct Entry {
    /// The value, or `None`: the key has no value (a cached miss or a pending delete).
    value: Option<Vec<u8>>,
    /// A pending write, not yet handed out by `take_writes`.
    dirty: bool,
    /// Read or written since the last eviction pass looked at it (the clock bit).
    referenced: bool,
}

/// The state table of one query (`StateStore::table`), used by one thread at a time.
///
/// Reads see the committed state plus this table's pending writes. Writes stay pending until
/// `take_writes` hands them to the epoch (`commit::Epoch`); once that commits they are committed
/// state (and stay cached). Between `take_writes` and the end of the commit, do not read: the
/// cache already counts the taken writes as committed. If the commit fails, call `reset`.
pub struct StateTable {
    store: Arc<Store>,
    /// `table id | 0x00`.
    prefix: Vec<u8>,
    /// Keys (without prefix) -> cached entry.
    cache: HashMap<Vec<u8>, Entry>,
    /// Full keys of the dirty entries, in the order they became dirty.
    pending: Vec<Vec<u8>>,
    /// Keys (without prefix) of the dirty entries in key order; kept from the first `range`
    /// of an epoch to its end, so that tables (and epochs) without range reads pay nothing
    /// for it.
    ordered_pending: Option<BTreeSet<Vec<u8>>>,
    /// Bytes charged for the cache entries (`charge`).
    bytes: usize,
    /// Cache budget in bytes.
    budget: usize,
    /// Eviction runs once `bytes` exceeds this.
    evict_at: usize,
    /// Reused buffer holding `prefix | key` for single-key reads.
    key_buffer: Vec<u8>,
    /// Keep written entries cached once they are taken for commit; `false` for tables that
    /// are mostly written (a sink's materialized rows): the cache then holds one epoch only.
    cache_committed: bool,
}

impl std::fmt::Debug for StateTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateTable")
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("cached", &self.cache.len())
            .field("pending", &self.pending.len())
            .field("bytes", &self.bytes)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl StateTable {
    pub(super) fn new(store: Arc<Store>, id: &str, budget: usize) -> Self {
        let prefix = table_prefix(id);
        StateTable {
            cache_committed: true,
            store,
            key_buffer: prefix.clone(),
            prefix,
            cache: HashMap::default(),
            pending: Vec::new(),
            ordered_pending: None,
            bytes: 0,
            budget,
            evict_at: budget,
        }
    }

    /// The value of `key`: pending if written this epoch, else committed.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<&[u8]>> {
        self.evict_if_over_budget();
        let entry = match self.cache.entry_ref(key) {
            EntryRef::Occupied(occupied) => {
                let entry = occupied.into_mut();
                entry.referenced = true;
                entry
            }
            EntryRef::Vacant(vacant) => {
                self.key_buffer.truncate(self.prefix.len());
                self.key_buffer.extend_from_slice(key);
                let value = self
                    .store
                    .db()
                    .get_pinned_cf(self.store.cf(Family::State), &self.key_buffer)?
                    .map(|value| value.to_vec());
                self.bytes += charge(key, value.as_deref());
                vacant.insert(Entry {
                    value,
                    dirty: false,
                    referenced: false,
                })
            }
        };
        Ok(entry.value.as_deref())
    }

    /// The values of `keys`, in order (like `get` for each); the keys not cached are read
    /// from RocksDB in one batched multi-get. Also a cheap way to prefetch a batch's keys.
    pub fn multi_get(&mut self, keys: &[&[u8]]) -> Result<Vec<Option<&[u8]>>> {
        self.evict_if_over_budget();
        let mut missing = Vec::new();
        for &key in keys {
            match self.cache.get_mut(key) {
                Some(entry) => entry.referenced = true,
                None => missing.push(full_key(&self.prefix, key)),
            }
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            let values =
                self.store
                    .db()
                    .batched_multi_get_cf(self.store.cf(Family::State), &missing, true);
            for (mut key, value) in missing.into_iter().zip(values) {
                let value = value?.map(|value| value.to_vec());
                key.drain(..self.prefix.len());
                self.bytes += charge(&key, value.as_deref());
                self.cache.insert(
                    key,
                    Entry {
                        value,
                        dirty: false,
                        referenced: false,
                    },
                );
            }
        }
        Ok(keys
            .iter()
            .map(|&key| self.cache.get(key).and_then(|entry| entry.value.as_deref()))
            .collect())
    }

    /// Sets `key` to `value` (pending until committed).
    pub fn put(&mut self, key: &[u8], value: Vec<u8>) {
        self.write(key, Some(value));
    }

    /// Deletes `key` (pending until committed); deleting a missing key is not an error.
    pub fn delete(&mut self, key: &[u8]) {
        self.write(key, None);
    }

    /// Entries with a key in `[from, to)` in key order: the committed ones overlaid with the
    /// pending writes (pending deletes excluded). Used for session windows (all sessions of a
    /// group key) and expiry.
    pub fn range(&mut self, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let iterator = self.store.db().raw_iterator_cf_opt(
            self.store.cf(Family::State),
            range_options(&self.prefix, from, to),
        );
        let committed = collect_range(iterator, self.prefix.len())?;
        let prefix_len = self.prefix.len();
        let ordered_pending = self.ordered_pending.get_or_insert_with(|| {
            self.pending
                .iter()
                .map(|key| key[prefix_len..].to_vec())
                .collect()
        });
        let mut overlay = ordered_pending
            .range::<[u8], _>((Bound::Included(from), Bound::Excluded(to)))
            .peekable();
        if overlay.peek().is_none() {
            return Ok(committed);
        }
        let mut merged = Vec::with_capacity(committed.len());
        let mut committed = committed.into_iter().peekable();
        for key in overlay {
            while let Some(entry) = committed.next_if(|(committed, _)| committed < key) {
                merged.push(entry);
            }
            // The pending write replaces the committed value.
            committed.next_if(|(committed, _)| committed == key);
            let value = self
                .cache
                .get(key.as_slice())
                .and_then(|entry| entry.value.as_ref());
            if let Some(value) = value {
                merged.push((key.clone(), value.clone()));
            }
        }
        merged.extend(committed);
        Ok(merged)
    }

    /// This table without a cache of committed state (`StateStore::write_table`): reads of
    /// keys not written this epoch go to RocksDB.
    pub(super) fn without_committed_cache(mut self) -> Self {
        self.cache_committed = false;
        self
    }

    /// Drains the pending writes as `(full RocksDB key, value or None to delete)`, in the order
    /// the keys were first written, for `Epoch::state`. Once the caller has committed
    /// them they are committed state (they stay cached unless `without_committed_cache`).
    pub fn take_writes(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let prefix_len = self.prefix.len();
        self.ordered_pending = None;
        if !self.cache_committed {
            let cache = &mut self.cache;
            let writes = self
                .pending
                .drain(..)
                .map(|key| {
                    let entry = cache
                        .remove(&key[prefix_len..])
                        .expect("pending writes are never evicted");
                    (key, entry.value)
                })
                .collect();
            // This epoch's cached reads go too; the map keeps its allocation for the next.
            self.cache.clear();
            self.bytes = 0;
            return writes;
        }
        // The written entries may now be evicted: let the next access shrink the cache.
        self.evict_at = self.budget;
        let cache = &mut self.cache;
        self.pending
            .drain(..)
            .map(|key| {
                let entry = cache
                    .get_mut(&key[prefix_len..])
                    .expect("pending writes are never evicted");
                entry.dirty = false;
                let value = entry.value.clone();
                (key, value)
            })
            .collect()
    }

    /// Forgets the pending writes and the whole cache (after a failed commit): later reads
    /// see the committed state only.
    pub fn reset(&mut self) {
        self.cache.clear();
        self.pending.clear();
        self.ordered_pending = None;
        self.bytes = 0;
        self.evict_at = self.budget;
    }

    fn write(&mut self, key: &[u8], value: Option<Vec<u8>>) {
        self.evict_if_over_budget();
        let value_len = value.as_ref().map_or(0, Vec::len);
        let newly_dirty = match self.cache.entry_ref(key) {
            EntryRef::Occupied(occupied) => {
                let entry = occupied.into_mut();
                self.bytes -= entry.value.as_ref().map_or(0, Vec::len);
                self.bytes += value_len;
                entry.value = value;
                entry.referenced = true;
                !std::mem::replace(&mut entry.dirty, true)
            }
            EntryRef::Vacant(vacant) => {
                self.bytes += ENTRY_OVERHEAD_BYTES + key.len() + value_len;
                vacant.insert(Entry {
                    value,
                    dirty: true,
                    referenced: true,
                });
                true
            }
        };
        if newly_dirty {
            self.pending.push(full_key(&self.prefix, key));
            if let Some(ordered_pending) = &mut self.ordered_pending {
                ordered_pending.insert(key.to_vec());
            }
        }
    }

    /// Evicts clean entries down to 3/4 of the budget once the cache is over `evict_at`.
    ///
    /// Runs before a read or write, never during one, so that entries a call has just
    /// loaded are still there when it returns references to them.
    fn evict_if_over_budget(&mut self) {
        if self.bytes <= self.evict_at {
            return;
        }
        let target = self.budget / 4 * 3;
        let mut bytes = self.bytes;
        // The first pass may only clear clock bits; the second then finds victims.
        for _ in 0..2 {
            self.cache.retain(|key, entry| {
                if bytes <= target || entry.dirty {
                    true
                } else if entry.referenced {
                    entry.referenced = false;
                    true
                } else {
                    bytes -= charge(key, entry.value.as_deref());
                    false
                }
            });
            if bytes <= target {
                break;
            }
        }
        self.bytes = bytes;
        // Over budget with pending writes only: let the cache grow a quarter before the next
        // pass, so that a large epoch does not scan the cache on every write.
        self.evict_at = self.budget.max(bytes + self.budget / 4);
    }
}

/// Bytes charged for a cache entry.
fn charge(key: &[u8], value: Option<&[u8]>) -> usize {
    ENTRY_OVERHEAD_BYTES + key.len() + value.map_or(0, <[u8]>::len)
}

#[cfg(test)]
mod tests;
