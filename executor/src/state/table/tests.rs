//! Tests of `StateTable`: reads through the cache, pending writes, commits and eviction.

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
    let expected: [Option<&[u8]>; 6] = [Some(b"r"), None, Some(b"c"), Some(b"p"), Some(b"r"), None];
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
