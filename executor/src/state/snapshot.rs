//! Consistent reads of committed state for pull queries.
//!
//! A `StateSnapshot` is a RocksDB snapshot: epochs commit in one write batch, so it sees every
//! state table at an epoch boundary. It never sees the pending writes of a `StateTable`.

use rocksdb::{ReadOptions, Snapshot};

use super::{collect_range, full_key, range_options, table_prefix, table_range};
use crate::Result;
use crate::store::{Family, Store};

/// A read view over all committed state, fixed when it was taken (`StateStore::snapshot`).
pub struct StateSnapshot<'a> {
    store: &'a Store,
    snapshot: Snapshot<'a>,
}

impl std::fmt::Debug for StateSnapshot<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSnapshot")
            .field("store", &self.store)
            .field("sequence", &self.snapshot.sequence_number())
            .finish()
    }
}

impl<'a> StateSnapshot<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        StateSnapshot {
            store,
            snapshot: store.db().snapshot(),
        }
    }

    /// The value of `key` in state table `table`.
    pub fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let key = full_key(&table_prefix(table), key);
        let value = self
            .snapshot
            .get_pinned_cf(self.store.cf(Family::State), key)?;
        Ok(value.map(|value| value.to_vec()))
    }

    /// The entries of state table `table` with a key in `[from, to)`, in key order.
    pub fn range(&self, table: &str, from: &[u8], to: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let prefix = table_prefix(table);
        let iterator = self.snapshot.raw_iterator_cf_opt(
            self.store.cf(Family::State),
            range_options(&prefix, from, to),
        );
        collect_range(iterator, prefix.len())
    }

    /// Every entry of state table `table`, in key order.
    pub fn scan(&self, table: &str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (start, end) = table_range(table);
        let prefix_len = start.len();
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(start);
        options.set_iterate_upper_bound(end);
        let iterator = self
            .snapshot
            .raw_iterator_cf_opt(self.store.cf(Family::State), options);
        collect_range(iterator, prefix_len)
    }
}
