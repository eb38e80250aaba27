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
    /// Keys (without prefix) of the dirty entries in key order; kept only once `range` is
    /// used, so that tables without range reads pay nothing for it.
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
        if let Some(ordered_pending) = &mut self.ordered_pending {
            ordered_pending.clear();
        }
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
        if let Some(ordered_pending) = &mut self.ordered_pending {
            ordered_pending.clear();
        }
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
mod tests {
    use rocksdb::WriteBatch;

    use super::*;

    fn open() -> (tempfile::TempDir, Arc<Store>) {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        (directory, store)
    }

    /// Commits the table's pending writes the way the embedded log does.
    fn commit(store: &Store, table: &mut StateTable) {
        write_behind_the_cache(store, table.take_writes());
    }

    fn write_behind_the_cache(store: &Store, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        let mut batch = WriteBatch::default();
        for (key, value) in writes {
            match value {
                Some(value) => batch.put_cf(store.cf(Family::State), key, value),
                None => batch.delete_cf(store.cf(Family::State), key),
            }
        }
        store.write(batch).expect("write");
    }

    fn committed(store: &Store, full_key: &[u8]) -> Option<Vec<u8>> {
        store
            .db()
            .get_cf(store.cf(Family::State), full_key)
            .expect("get")
    }

    fn get(table: &mut StateTable, key: &[u8]) -> Option<Vec<u8>> {
        table.get(key).expect("get").map(<[u8]>::to_vec)
    }

    fn owned(entries: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
        entries
            .iter()
            .map(|(key, value)| (key.to_vec(), value.to_vec()))
            .collect()
    }

    /// `(from, to, expected entries)`.
    type RangeCase = (
        &'static [u8],
        &'static [u8],
        Vec<(&'static [u8], &'static [u8])>,
    );

    #[derive(Debug)]
    enum Step {
        Put(&'static [u8], &'static [u8]),
        Delete(&'static [u8]),
        Commit,
        Reset,
        Get(&'static [u8], Option<&'static [u8]>),
    }

    #[test]
    fn reads_see_pending_then_committed_writes() {
        use Step::*;
        let (_directory, store) = open();
        let mut table = StateTable::new(Arc::clone(&store), "t", 1 << 20);
        let steps = [
            Get(b"a", None),
            Put(b"a", b"1"),
            Get(b"a", Some(b"1")),
            Commit,
            Get(b"a", Some(b"1")),
            Put(b"a", b"2"),
            Delete(b"a"),
            Get(b"a", None),
            Reset,
            Get(b"a", Some(b"1")),
            Delete(b"a"),
            Put(b"b", b""),
            Commit,
            Get(b"a", None),
            Get(b"b", Some(b"")),
            Delete(b"missing"),
            Commit,
            Get(b"missing", None),
        ];
        for (index, step) in steps.into_iter().enumerate() {
            match step {
                Put(key, value) => table.put(key, value.to_vec()),
                Delete(key) => table.delete(key),
                Commit => commit(&store, &mut table),
                Reset => table.reset(),
                Get(key, expected) => {
                    assert_eq!(
                        get(&mut table, key),
                        expected.map(<[u8]>::to_vec),
                        "step {index}: get {key:?}"
                    );
                }
            }
        }
        let mut fresh = StateTable::new(store, "t", 1 << 20);
        assert_eq!(get(&mut fresh, b"a"), None);
        assert_eq!(get(&mut fresh, b"b"), Some(Vec::new()));
    }

    #[test]
    fn take_writes_drains_full_keys_once() {
        let (_directory, store) = open();
        let mut table = StateTable::new(Arc::clone(&store), "q/source", 1 << 20);
        table.put(b"k1", b"v1".to_vec());
        table.put(b"k2", b"v2".to_vec());
        table.put(b"k1", b"v1b".to_vec());
        table.delete(b"k3");
        assert_eq!(committed(&store, b"q/source\0k1"), None);
        let writes = table.take_writes();
        let expected: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (b"q/source\0k1".to_vec(), Some(b"v1b".to_vec())),
            (b"q/source\0k2".to_vec(), Some(b"v2".to_vec())),
            (b"q/source\0k3".to_vec(), None),
        ];
        assert_eq!(writes, expected);
        assert_eq!(table.take_writes(), Vec::new());
    }

    #[test]
    fn cache_answers_hits_and_misses_without_rocksdb() {
        let (_directory, store) = open();
        write_behind_the_cache(&store, vec![(b"t\0hit".to_vec(), Some(b"old".to_vec()))]);
        let mut table = StateTable::new(Arc::clone(&store), "t", 1 << 20);
        assert_eq!(get(&mut table, b"hit"), Some(b"old".to_vec()));
        assert_eq!(get(&mut table, b"miss"), None);
        // Nobody else writes a table's keys; if they do, the cache does not notice...
        write_behind_the_cache(
            &store,
            vec![
                (b"t\0hit".to_vec(), Some(b"new".to_vec())),
                (b"t\0miss".to_vec(), Some(b"new".to_vec())),
            ],
        );
        assert_eq!(get(&mut table, b"hit"), Some(b"old".to_vec()));
        assert_eq!(get(&mut table, b"miss"), None);
        // ...until `reset` drops it.
        table.reset();
        assert_eq!(get(&mut table, b"hit"), Some(b"new".to_vec()));
        assert_eq!(get(&mut table, b"miss"), Some(b"new".to_vec()));
    }

    #[test]
    fn without_committed_cache_keeps_only_the_epoch_cached() {
        let (_directory, store) = open();
        let mut table = StateTable::new(Arc::clone(&store), "t", 1 << 20).without_committed_cache();
        table.put(b"a", b"1".to_vec());
        table.put(b"b", b"1".to_vec());
        table.put(b"a", b"2".to_vec());
        table.delete(b"b");
        assert_eq!(get(&mut table, b"a"), Some(b"2".to_vec()));
        assert_eq!(get(&mut table, b"b"), None);
        let expected: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (b"t\0a".to_vec(), Some(b"2".to_vec())),
            (b"t\0b".to_vec(), None),
        ];
        let writes = table.take_writes();
        assert_eq!(writes, expected);
        write_behind_the_cache(&store, writes);
        // Committed entries are not cached: a later write behind the table is seen at once.
        write_behind_the_cache(
            &store,
            vec![
                (b"t\0a".to_vec(), Some(b"behind".to_vec())),
                (b"t\0b".to_vec(), Some(b"behind".to_vec())),
            ],
        );
        assert_eq!(get(&mut table, b"a"), Some(b"behind".to_vec()));
        assert_eq!(get(&mut table, b"b"), Some(b"behind".to_vec()));
        assert_eq!(table.take_writes(), Vec::new());
    }

    #[test]
    fn multi_get_mixes_cached_pending_committed_and_missing_keys() {
        let (_directory, store) = open();
        write_behind_the_cache(
            &store,
            vec![
                (b"t\0cached".to_vec(), Some(b"c".to_vec())),
                (b"t\0committed".to_vec(), Some(b"r".to_vec())),
                (b"t\0deleted".to_vec(), Some(b"gone".to_vec())),
            ],
        );
        let mut table = StateTable::new(Arc::clone(&store), "t", 1 << 20);
        assert_eq!(get(&mut table, b"cached"), Some(b"c".to_vec()));
        table.put(b"pending", b"p".to_vec());
        table.delete(b"deleted");
        let keys: [&[u8]; 6] = [
            b"committed",
            b"missing",
            b"cached",
            b"pending",
            b"committed",
            b"deleted",
        ];
        let values = table.multi_get(&keys).expect("multi get");
        let expected: [Option<&[u8]>; 6] =
            [Some(b"r"), None, Some(b"c"), Some(b"p"), Some(b"r"), None];
        assert_eq!(values, expected);
        assert_eq!(
            table.multi_get(&[]).expect("multi get"),
            Vec::<Option<&[u8]>>::new()
        );
    }

    #[test]
    fn range_overlays_pending_writes_in_key_order() {
        let (_directory, store) = open();
        let mut table = StateTable::new(Arc::clone(&store), "t", 1 << 20);
        for key in [b"a", b"b", b"c", b"d"] {
            table.put(key, key.to_vec());
        }
        commit(&store, &mut table);
        // Written before and after the first `range`, which starts the ordered index.
        table.delete(b"b");
        table.put(b"c", b"new c".to_vec());
        let first = table.range(b"a", b"e").expect("range");
        assert_eq!(
            first,
            owned(&[(b"a", b"a"), (b"c", b"new c"), (b"d", b"d")])
        );
        table.put(b"bb", b"bb".to_vec());
        table.put(b"e", b"outside".to_vec());
        table.put(b"b", b"back".to_vec());
        table.delete(b"a");
        let cases: [RangeCase; 5] = [
            (
                b"a",
                b"e",
                vec![
                    (b"b", b"back"),
                    (b"bb", b"bb"),
                    (b"c", b"new c"),
                    (b"d", b"d"),
                ],
            ),
            (b"b", b"c", vec![(b"b", b"back"), (b"bb", b"bb")]),
            (b"", b"b", vec![]),
            (b"c", b"c", vec![]),
            (b"d", b"\xff", vec![(b"d", b"d"), (b"e", b"outside")]),
        ];
        for (from, to, expected) in &cases {
            let entries = table.range(from, to).expect("range");
            assert_eq!(entries, owned(expected), "pending: range {from:?}..{to:?}");
        }
        // Once committed, RocksDB alone gives the same answers.
        commit(&store, &mut table);
        let mut fresh = StateTable::new(store, "t", 1 << 20);
        for (from, to, expected) in &cases {
            let entries = fresh.range(from, to).expect("range");
            assert_eq!(
                entries,
                owned(expected),
                "committed: range {from:?}..{to:?}"
            );
        }
    }

    #[test]
    fn eviction_keeps_the_budget_and_never_drops_pending_writes() {
        const KEYS: usize = 2_000;
        const BUDGET: usize = 16 << 10;
        let (_directory, store) = open();
        let mut table = StateTable::new(Arc::clone(&store), "t", BUDGET);
        let key = |index: usize| format!("key {index:05}").into_bytes();
        for index in 0..KEYS {
            table.put(&key(index), vec![1; 32]);
        }
        let writes = table.take_writes();
        assert_eq!(writes.len(), KEYS, "every pending write kept");
        write_behind_the_cache(&store, writes);
        for round in 0..2 {
            for index in 0..KEYS {
                assert_eq!(
                    get(&mut table, &key(index)),
                    Some(vec![1; 32]),
                    "round {round} key {index}"
                );
                assert!(
                    table.bytes <= BUDGET + charge(&key(index), Some(&[1; 32])),
                    "cache of {} bytes over the budget of {BUDGET}",
                    table.bytes
                );
            }
        }
        let charged: usize = table
            .cache
            .iter()
            .map(|(key, entry)| charge(key, entry.value.as_deref()))
            .sum();
        assert_eq!(table.bytes, charged, "byte accounting drifted");
        assert!(table.cache.len() < KEYS, "nothing evicted");
    }
}
