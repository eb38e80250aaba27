//! Query state: the state tables of persistent queries in the store's `state` column family.
//!
//! Each state table owns the keys that start with its id and a NUL byte (`table id | 0x00 |
//! key`), so dropping or scanning a table is one key range, and a query's tables (`<query
//! id>/<name>`) are one key prefix. Writes reach RocksDB through the epoch's committer, in
//! the same atomic unit as the epoch's records and offsets (exactly-once).
//! The per-table cache is in `state::table`, pull-query snapshots in `state::snapshot`.

pub mod materialized;
mod snapshot;
mod table;

use std::sync::Arc;

use rocksdb::properties::{
    CUR_SIZE_ALL_MEM_TABLES, LIVE_SST_FILES_SIZE, NUM_ENTRIES_ACTIVE_MEM_TABLE,
    NUM_ENTRIES_IMM_MEM_TABLES, PropName,
};
use rocksdb::{DB, DBRawIteratorWithThreadMode, ReadOptions, WriteBatch};

use crate::Result;
use crate::commit::StateWrite;
use crate::store::{Family, Store};

pub use snapshot::StateSnapshot;
pub use table::StateTable;

/// Default cache budget of one state table: keys, values and bookkeeping.
const DEFAULT_TABLE_CACHE_BYTES: usize = 64 << 20;

/// Where the committed state of all tables is: in RocksDB's memtables (written, not yet
/// flushed) or in SST files. Counts include deletes and overwritten entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateStorage {
    /// Entries (puts and deletes) in the memtables, the active one and those being flushed.
    pub memtable_entries: u64,
    /// Bytes of the memtables.
    pub memtable_bytes: u64,
    /// Bytes of the SST files the state reads from.
    pub sst_bytes: u64,
}

/// All state tables of one engine, in one RocksDB `Store`, keys prefixed by state-table id.
///
/// Cheap to clone: clones share the store.
#[derive(Debug, Clone)]
pub struct StateStore {
    store: Arc<Store>,
    /// Cache budget of each `StateTable` handed out by `table`.
    table_cache_bytes: usize,
}

impl StateStore {
    pub fn new(store: Arc<Store>) -> Self {
        StateStore {
            store,
            table_cache_bytes: DEFAULT_TABLE_CACHE_BYTES,
        }
    }

    /// A state table of a query (`id` e.g. `CTAS_T_0` or `CTAS_T_0/source`), private to one
    /// query thread: reads see committed data plus this table's pending writes.
    ///
    /// Ids never contain a NUL byte. At most one `StateTable` per id may be in use at a time.
    pub fn table(&self, id: &str) -> StateTable {
        StateTable::new(Arc::clone(&self.store), id, self.table_cache_bytes)
    }

    /// A state table that is mostly written, like `table` but caching only the current
    /// epoch's writes (and reads), not committed state.
    pub fn write_table(&self, id: &str) -> StateTable {
        self.table(id).without_committed_cache()
    }

    /// Deletes every committed key of a state table (DROP or TERMINATE of its query) with one
    /// range delete. No `StateTable` of that id may be in use.
    pub fn delete_table(&self, id: &str) -> Result<()> {
        let (start, end) = table_range(id);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.store.cf(Family::State), start, end);
        self.store.write(batch)
    }

    /// Deletes every committed key of every state table whose id starts with `prefix`
    /// (a query's tables: `<query id>/`) with one range delete. No `StateTable` of those
    /// ids may be in use.
    pub fn delete_prefix(&self, prefix: &str) -> Result<()> {
        let start = prefix.as_bytes().to_vec();
        let Some(end) = prefix_end(&start) else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.store.cf(Family::State), start, end);
        self.store.write(batch)
    }

    /// Key and value bytes of the committed entries of every state table whose id starts
    /// with `prefix` (a query's tables: `<query id>/`), counted from a consistent snapshot.
    /// Entries still in a memtable count too, so the answer is exact, at the cost of reading
    /// every entry.
    pub fn prefix_bytes(&self, prefix: &str) -> Result<u64> {
        let start = prefix.as_bytes().to_vec();
        let end = prefix_end(&start);
        let mut bytes = 0;
        self.for_each_entry(start, end, |key, value| {
            bytes += (key.len() + value.len()) as u64;
        })?;
        Ok(bytes)
    }

    /// The committed entries of state table `id` (the rows of a materialized table), counted
    /// from a consistent snapshot one entry at a time.
    pub fn table_entries(&self, id: &str) -> Result<u64> {
        let (start, end) = table_range(id);
        let mut entries = 0;
        self.for_each_entry(start, Some(end), |_, _| entries += 1)?;
        Ok(entries)
    }

    /// Calls `visit` with every committed entry from `start` up to `end` (or the end of the
    /// state) in one snapshot, without holding them in memory.
    fn for_each_entry(
        &self,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        mut visit: impl FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        let mut options = ReadOptions::default();
        if let Some(end) = end {
            options.set_iterate_upper_bound(end);
        }
        options.set_iterate_lower_bound(start);
        let snapshot = self.store.db().snapshot();
        let mut iterator = snapshot.raw_iterator_cf_opt(self.store.cf(Family::State), options);
        iterator.seek_to_first();
        while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
            visit(key, value);
            iterator.next();
        }
        iterator.status()?;
        Ok(())
    }

    /// Applies state writes (full keys, as `StateTable::take_writes` hands them out) in one
    /// atomic write batch, outside any epoch: for committers that keep state apart from
    /// their records (Kafka) and for tests.
    pub fn apply(&self, writes: &[StateWrite]) -> Result<()> {
        let mut batch = WriteBatch::default();
        self.store.add_state_writes(&mut batch, writes);
        self.store.write(batch)
    }

    /// Writes the memtables of all state to SST files (a RocksDB flush of the `state`
    /// family) and waits until they are written. Blocks: not for the async runtime.
    pub fn flush(&self) -> Result<()> {
        self.store.db().flush_cf(self.store.cf(Family::State))?;
        Ok(())
    }

    /// How much of the committed state is in memtables and how much in SST files.
    pub fn storage(&self) -> Result<StateStorage> {
        let property = |name: &PropName| -> Result<u64> {
            let value = self
                .store
                .db()
                .property_int_value_cf(self.store.cf(Family::State), name)?;
            Ok(value.unwrap_or(0))
        };
        Ok(StateStorage {
            memtable_entries: property(NUM_ENTRIES_ACTIVE_MEM_TABLE)?
                + property(NUM_ENTRIES_IMM_MEM_TABLES)?,
            memtable_bytes: property(CUR_SIZE_ALL_MEM_TABLES)?,
            sst_bytes: property(LIVE_SST_FILES_SIZE)?,
        })
    }

    /// A consistent read view (RocksDB snapshot) over all committed state: every epoch is
    /// either wholly in it or not at all.
    ///
    /// It borrows this `StateStore`; to read from a blocking task, move a clone of the
    /// `StateStore` into the task and take the snapshot there.
    pub fn snapshot(&self) -> StateSnapshot<'_> {
        StateSnapshot::new(&self.store)
    }
}

/// `table id | 0x00`: the first bytes of every key of a state table.
fn table_prefix(id: &str) -> Vec<u8> {
    debug_assert!(
        !id.as_bytes().contains(&0),
        "state table id {id:?} contains a NUL byte"
    );
    let mut prefix = Vec::with_capacity(id.len() + 1);
    prefix.extend_from_slice(id.as_bytes());
    prefix.push(0);
    prefix
}

/// The first byte string after every string starting with `prefix`, if there is one.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// `[start, end)` of every key of a state table.
fn table_range(id: &str) -> (Vec<u8>, Vec<u8>) {
    let start = table_prefix(id);
    let mut end = start.clone();
    *end.last_mut().expect("a table prefix ends with 0") = 1;
    (start, end)
}

/// `prefix | key`: the RocksDB key of `key` in the state table with this prefix.
fn full_key(prefix: &[u8], key: &[u8]) -> Vec<u8> {
    let mut full = Vec::with_capacity(prefix.len() + key.len());
    full.extend_from_slice(prefix);
    full.extend_from_slice(key);
    full
}

/// Read options that bound an iterator to the keys of `[prefix | from, prefix | to)`.
fn range_options(prefix: &[u8], from: &[u8], to: &[u8]) -> ReadOptions {
    let mut options = ReadOptions::default();
    options.set_iterate_lower_bound(full_key(prefix, from));
    options.set_iterate_upper_bound(full_key(prefix, to));
    options
}

/// Every entry of a bounded iterator, keys stripped of the table prefix (`prefix_len` bytes).
fn collect_range(
    mut iterator: DBRawIteratorWithThreadMode<'_, DB>,
    prefix_len: usize,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut entries = Vec::new();
    iterator.seek_to_first();
    while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
        entries.push((key[prefix_len..].to_vec(), value.to_vec()));
        iterator.next();
    }
    iterator.status()?;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(from, to, expected keys)`.
    type RangeCase = (&'static [u8], &'static [u8], Vec<&'static [u8]>);

    fn commit(state: &StateStore, table: &mut StateTable) {
        state.apply(&table.take_writes()).expect("commit");
    }

    fn owned(entries: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
        entries
            .iter()
            .map(|(key, value)| (key.to_vec(), value.to_vec()))
            .collect()
    }

    #[test]
    fn table_prefixes_never_overlap() {
        let cases = [
            ("a", "a/source"),
            ("a", "ab"),
            ("CTAS_T_0", "CTAS_T_0/source"),
            ("CTAS_T_0", "CTAS_T_01"),
        ];
        for (first, second) in cases {
            let (first_start, first_end) = table_range(first);
            let (second_start, second_end) = table_range(second);
            let disjoint = first_end <= second_start || second_end <= first_start;
            assert!(disjoint, "{first:?} and {second:?} overlap");
        }
    }

    #[test]
    fn committed_state_survives_reopen() {
        let directory = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(directory.path()).expect("open");
            let state = StateStore::new(store);
            let mut table = state.table("q");
            table.put(b"k1", b"v1".to_vec());
            table.put(b"k2", b"v2".to_vec());
            commit(&state, &mut table);
            table.delete(b"k2");
            commit(&state, &mut table);
            table.put(b"k3", b"never committed".to_vec());
        }
        let store = Store::open(directory.path()).expect("reopen");
        let mut table = StateStore::new(store).table("q");
        let cases: [(&[u8], Option<&[u8]>); 3] =
            [(b"k1", Some(b"v1")), (b"k2", None), (b"k3", None)];
        for (key, expected) in cases {
            assert_eq!(table.get(key).expect("get"), expected, "key {key:?}");
        }
    }

    #[test]
    fn delete_table_removes_only_that_table() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let state = StateStore::new(store);
        for id in ["q", "q/source", "qq"] {
            let mut table = state.table(id);
            table.put(b"k", id.as_bytes().to_vec());
            table.put(b"", b"empty key".to_vec());
            commit(&state, &mut table);
        }
        state.delete_table("q").expect("delete table");
        let snapshot = state.snapshot();
        assert_eq!(snapshot.scan("q").expect("scan"), Vec::new());
        assert_eq!(
            snapshot.scan("q/source").expect("scan"),
            owned(&[(b"", b"empty key"), (b"k", b"q/source")])
        );
        assert_eq!(snapshot.get("qq", b"k").expect("get"), Some(b"qq".to_vec()));
        assert_eq!(state.table("q").get(b"k").expect("get"), None);
    }

    #[test]
    fn snapshot_ignores_later_commits_and_pending_writes() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let state = StateStore::new(store);
        let mut table = state.table("t");
        table.put(b"a", b"1".to_vec());
        table.put(b"b", b"2".to_vec());
        commit(&state, &mut table);

        let snapshot = state.snapshot();
        table.put(b"a", b"changed".to_vec());
        table.delete(b"b");
        table.put(b"c", b"3".to_vec());
        let before_commit = state.snapshot();
        commit(&state, &mut table);
        let after_commit = state.snapshot();

        let old = owned(&[(b"a", b"1"), (b"b", b"2")]);
        let new = owned(&[(b"a", b"changed"), (b"c", b"3")]);
        assert_eq!(snapshot.scan("t").expect("scan"), old);
        assert_eq!(before_commit.scan("t").expect("scan"), old);
        assert_eq!(after_commit.scan("t").expect("scan"), new);
        assert_eq!(snapshot.get("t", b"b").expect("get"), Some(b"2".to_vec()));
        assert_eq!(after_commit.get("t", b"b").expect("get"), None);
        assert_eq!(snapshot.get("other", b"a").expect("get"), None);
    }

    #[test]
    fn snapshot_range_is_half_open() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let state = StateStore::new(store);
        let mut table = state.table("t");
        for key in [b"a", b"b", b"c", b"d"] {
            table.put(key, key.to_vec());
        }
        commit(&state, &mut table);
        let snapshot = state.snapshot();
        let cases: [RangeCase; 5] = [
            (b"b", b"d", vec![b"b", b"c"]),
            (b"", b"\xff", vec![b"a", b"b", b"c", b"d"]),
            (b"c", b"c", vec![]),
            (b"d", b"a", vec![]),
            (b"e", b"z", vec![]),
        ];
        for (from, to, expected) in cases {
            let keys: Vec<Vec<u8>> = snapshot
                .range("t", from, to)
                .expect("range")
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            let expected: Vec<Vec<u8>> = expected.into_iter().map(<[u8]>::to_vec).collect();
            assert_eq!(keys, expected, "range {from:?}..{to:?}");
        }
    }

    #[test]
    fn delete_prefix_removes_every_table_of_a_query_and_nothing_else() {
        let directory = tempfile::tempdir().expect("temp dir");
        let state = StateStore::new(Store::open(directory.path()).expect("open"));
        for id in [
            "q/aggregate",
            "q/time",
            "q/source-1",
            "q",
            "qq/aggregate",
            "q0/x",
        ] {
            let mut table = state.table(id);
            table.put(b"k", id.as_bytes().to_vec());
            commit(&state, &mut table);
        }
        state.delete_prefix("q/").expect("delete prefix");
        let snapshot = state.snapshot();
        for id in ["q/aggregate", "q/time", "q/source-1"] {
            assert_eq!(snapshot.scan(id).expect("scan"), Vec::new(), "{id}");
        }
        for id in ["q", "qq/aggregate", "q0/x"] {
            assert_eq!(
                snapshot.get(id, b"k").expect("get"),
                Some(id.as_bytes().to_vec()),
                "{id}"
            );
        }
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff"), None);
    }

    #[test]
    fn prefix_bytes_counts_keys_and_values_of_the_prefix_only() {
        let directory = tempfile::tempdir().expect("temp dir");
        let state = StateStore::new(Store::open(directory.path()).expect("open"));
        for (id, value) in [
            ("q/join-left", "12345"),
            ("q/join-right", "1"),
            ("qq/aggregate", "ignored"),
            ("q0/x", "ignored"),
        ] {
            let mut table = state.table(id);
            table.put(b"k", value.as_bytes().to_vec());
            commit(&state, &mut table);
        }
        let mut uncommitted = state.table("q/join-pending");
        uncommitted.put(b"k", b"not committed".to_vec());
        // Each full key is the table id, a NUL byte and `k`.
        let expected = ("q/join-left".len() + 2 + 5) + ("q/join-right".len() + 2 + 1);
        assert_eq!(state.prefix_bytes("q/").expect("bytes"), expected as u64);
        assert_eq!(state.prefix_bytes("none/").expect("bytes"), 0);
    }

    #[test]
    fn table_entries_counts_the_committed_keys_of_one_table() {
        let directory = tempfile::tempdir().expect("temp dir");
        let state = StateStore::new(Store::open(directory.path()).expect("open"));
        for (id, keys) in [("table/T", 5u8), ("table/T/x", 2), ("table/TT", 3)] {
            let mut table = state.table(id);
            for key in 0..keys {
                table.put(&[key], vec![key]);
            }
            commit(&state, &mut table);
        }
        let mut table = state.table("table/T");
        table.delete(&[0]);
        commit(&state, &mut table);
        table.put(&[9], b"not committed".to_vec());
        let cases = [
            ("table/T", 4),
            ("table/T/x", 2),
            ("table/TT", 3),
            ("table/none", 0),
        ];
        for (id, expected) in cases {
            assert_eq!(state.table_entries(id).expect("count"), expected, "{id}");
        }
    }

    #[test]
    fn flush_moves_state_from_memtables_to_sst_files() {
        let directory = tempfile::tempdir().expect("temp dir");
        let state = StateStore::new(Store::open(directory.path()).expect("open"));
        let empty = state.storage().expect("storage");
        assert_eq!((empty.memtable_entries, empty.sst_bytes), (0, 0));
        let mut table = state.table("q");
        for key in 0..100u32 {
            table.put(&key.to_be_bytes(), vec![7; 100]);
        }
        table.delete(&0u32.to_be_bytes());
        commit(&state, &mut table);
        let written = state.storage().expect("storage");
        assert_eq!(written.memtable_entries, 100, "99 puts and a delete");
        assert_eq!(written.sst_bytes, 0, "nothing flushed yet");

        state.flush().expect("flush");
        let flushed = state.storage().expect("storage");
        assert_eq!(flushed.memtable_entries, 0, "{flushed:?}");
        assert!(flushed.sst_bytes > 0, "{flushed:?}");
        assert!(
            flushed.memtable_bytes < written.memtable_bytes,
            "{flushed:?}"
        );
        let mut table = state.table("q");
        assert_eq!(table.get(&0u32.to_be_bytes()).expect("get"), None);
        assert_eq!(
            table.get(&42u32.to_be_bytes()).expect("get"),
            Some(&[7u8; 100][..])
        );
    }
}
