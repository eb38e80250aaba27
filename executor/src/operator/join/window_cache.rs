//! An in-memory copy of the recent part of a stream-stream join's window store, for one
//! source partition and side.
//!
//! The window store (a `StateTable`) stays the record of the state: every write goes to it
//! and is committed with the epoch, and it keeps records for the whole retention (the
//! window plus the grace period, 24 hours by default). Almost every read, though, asks for
//! the records of one key around the current stream time, and from the store each such
//! read opens a RocksDB iterator. The copy holds every record of the store with a time at
//! or after its `floor`, which follows the stream time a few windows behind; a read that
//! starts at or after the floor is answered from the copy, an older one (a record far out
//! of order) from the store. A copy that would push the join past its budget is dropped for
//! good (until the query restarts), and its side's reads all go to the store.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes the window copies of one join may hold together.
pub(super) const BUDGET_BYTES: usize = 64 << 20;

/// What an entry costs beyond its key and row bytes (vectors, time, sequence).
const ENTRY_OVERHEAD: usize = 96;

/// The bytes the window copies of one join hold, shared by its copies.
#[derive(Debug, Clone)]
pub(super) struct Budget {
    used: Arc<AtomicUsize>,
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Budget {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Takes `bytes` from the budget; false (and nothing taken) when they do not fit.
    fn take(&self, bytes: usize) -> bool {
        let used = self.used.load(Ordering::Relaxed);
        if used + bytes > self.limit {
            return false;
        }
        self.used.store(used + bytes, Ordering::Relaxed);
        true
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// One record of a side: its time and row bytes.
struct Entry {
    time: i64,
    row: Vec<u8>,
}

/// The records of one partition's window store of one side with a time at or after
/// `floor`, by join key, each key's in time (then arrival) order.
pub(super) struct WindowCache {
    by_key: HashMap<Vec<u8>, VecDeque<Entry>>,
    /// The (time, key) of each entry in insertion order, to forget them as the floor rises.
    inserted: VecDeque<(i64, Vec<u8>)>,
    floor: i64,
    bytes: usize,
    budget: Budget,
}

impl WindowCache {
    /// An empty copy holding the records from `floor` on: a store with no record at or
    /// after `floor`.
    pub fn new(floor: i64, budget: &Budget) -> Self {
        WindowCache {
            by_key: HashMap::new(),
            inserted: VecDeque::new(),
            floor,
            bytes: 0,
            budget: budget.clone(),
        }
    }

    /// Whether the copy holds every record of the store at or after `from`.
    pub fn covers(&self, from: i64) -> bool {
        from >= self.floor
    }

    /// Adds a record just put into the store (nothing to do before the floor); false when
    /// it does not fit in the budget (the caller drops the copy).
    pub fn insert(&mut self, key: &[u8], time: i64, row: &[u8]) -> bool {
        if time < self.floor {
            return true;
        }
        let bytes = 2 * key.len() + row.len() + ENTRY_OVERHEAD;
        if !self.budget.take(bytes) {
            return false;
        }
        self.bytes += bytes;
        let entries = self.by_key.entry(key.to_vec()).or_default();
        let entry = Entry {
            time,
            row: row.to_vec(),
        };
        // Records of one time keep their arrival order.
        match entries.back() {
            Some(last) if last.time > time => {
                let at = entries.partition_point(|entry| entry.time <= time);
                entries.insert(at, entry);
            }
            _ => entries.push_back(entry),
        }
        self.inserted.push_back((time, key.to_vec()));
        true
    }

    /// The rows of `key` with a time in `[from, to]`, in time (then arrival) order.
    pub fn fetch(&self, key: &[u8], from: i64, to: i64) -> impl Iterator<Item = (i64, &[u8])> {
        let entries = self.by_key.get(key);
        let start = entries.map_or(0, |entries| entries.partition_point(|e| e.time < from));
        entries
            .into_iter()
            .flat_map(move |entries| entries.range(start..))
            .take_while(move |entry| entry.time <= to)
            .map(|entry| (entry.time, entry.row.as_slice()))
    }

    /// Raises the floor to `floor` (if higher) and forgets the records before it.
    pub fn raise_floor(&mut self, floor: i64) {
        if floor <= self.floor {
            return;
        }
        self.floor = floor;
        while let Some((time, _)) = self.inserted.front() {
            if *time >= floor {
                break;
            }
            let (_, key) = self.inserted.pop_front().expect("a front");
            let Some(entries) = self.by_key.get_mut(&key) else {
                continue;
            };
            let mut freed = 0;
            while entries.front().is_some_and(|entry| entry.time < floor) {
                let entry = entries.pop_front().expect("a front");
                freed += 2 * key.len() + entry.row.len() + ENTRY_OVERHEAD;
            }
            if entries.is_empty() {
                self.by_key.remove(&key);
            }
            self.bytes -= freed;
            self.budget.give_back(freed);
        }
    }
}

impl Drop for WindowCache {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(cache: &WindowCache, key: &[u8], from: i64, to: i64) -> Vec<(i64, String)> {
        cache
            .fetch(key, from, to)
            .map(|(time, row)| (time, String::from_utf8_lossy(row).into_owned()))
            .collect()
    }

    #[test]
    fn a_copy_answers_in_time_order_and_forgets_records_below_its_floor() {
        let budget = Budget::new(usize::MAX / 2);
        let mut cache = WindowCache::new(10, &budget);
        assert!(cache.insert(b"k", 5, b"too old"));
        assert!(cache.insert(b"k", 20, b"b"));
        assert!(cache.insert(b"k", 12, b"a"));
        assert!(cache.insert(b"k", 20, b"c"));
        assert!(cache.insert(b"j", 15, b"j"));
        assert!(cache.covers(10) && !cache.covers(9));
        assert_eq!(
            fetched(&cache, b"k", 0, 100),
            vec![(12, "a".into()), (20, "b".into()), (20, "c".into())]
        );
        assert_eq!(fetched(&cache, b"k", 13, 19), vec![]);
        cache.raise_floor(16);
        assert!(!cache.covers(15));
        // Records are forgotten in insertion order: 12 and 15 once the 20 before them is.
        assert_eq!(fetched(&cache, b"k", 16, 100).len(), 2);
        assert_eq!(fetched(&cache, b"j", 16, 100), vec![]);
        cache.raise_floor(30);
        assert!(cache.by_key.is_empty());
        assert_eq!(cache.bytes, 0);
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_copy_refuses_what_does_not_fit_and_gives_its_bytes_back() {
        let budget = Budget::new(2 * (ENTRY_OVERHEAD + 3));
        let mut cache = WindowCache::new(i64::MIN, &budget);
        assert!(cache.insert(b"k", 1, b"a"));
        assert!(cache.insert(b"k", 2, b"b"));
        assert!(!cache.insert(b"k", 3, b"c"));
        drop(cache);
        assert_eq!(budget.used.load(Ordering::Relaxed), 0);
    }
}
