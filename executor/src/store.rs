//! The RocksDB store shared by the embedded log, the command log and (later) query state.
//!
//! One database per data directory, split into column families (`Family`). Every write goes
//! through the write-ahead log without an fsync: a write that returned `Ok` survives a crash of
//! the process (kill -9) but not a power loss. Key layouts belong to the store's users.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rocksdb::statistics::{StatsLevel, Ticker};
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DB,
    DBCompressionType, Direction, IteratorMode, Options, WriteBatch, WriteOptions,
};

use crate::commit::StateWrite;
use crate::{ExecError, Result};

/// Shared block cache of all column families.
const BLOCK_CACHE_BYTES: usize = 128 << 20;
/// Memtable size of the write-heavy families (`log`, `state`).
const LARGE_WRITE_BUFFER_BYTES: usize = 64 << 20;
/// Memtable size of the small families.
const SMALL_WRITE_BUFFER_BYTES: usize = 8 << 20;
/// Log chunks at least this large are kept in blob files.
const LOG_MIN_BLOB_BYTES: u64 = 1 << 10;
/// Once the WAL grows past this, the oldest memtables are flushed so it can be recycled.
const MAX_TOTAL_WAL_BYTES: u64 = 512 << 20;

/// The column families of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Topic metadata of the embedded log.
    Topics,
    /// Records of the embedded log.
    Log,
    /// Consumer group offsets of the embedded log.
    Offsets,
    /// Command log and other engine metadata (see `Store::meta_put`).
    Meta,
    /// Query state (reserved).
    State,
}

impl Family {
    const ALL: [Family; 5] = [
        Family::Topics,
        Family::Log,
        Family::Offsets,
        Family::Meta,
        Family::State,
    ];

    /// The column family's name in RocksDB.
    pub fn name(self) -> &'static str {
        match self {
            Family::Topics => "topics",
            Family::Log => "log",
            Family::Offsets => "offsets",
            Family::Meta => "meta",
            Family::State => "state",
        }
    }
}

/// The RocksDB database of one data directory.
pub struct Store {
    db: DB,
    path: PathBuf,
    write_options: WriteOptions,
    /// The database options; they hold the statistics read by `bytes_written`.
    options: Options,
    /// Set for a read-only secondary instance (`Store::open_secondary`): the directory of
    /// its own info log, removed when it closes.
    secondary: Option<PathBuf>,
}

impl Drop for Store {
    /// A clean close writes the memtables to files, so that the next open does not replay
    /// the write-ahead log (up to a few hundred MiB after heavy writing). A crash skips
    /// this and the next open replays the log as ever.
    fn drop(&mut self) {
        if let Some(secondary) = &self.secondary {
            // A secondary instance writes nothing; only its info log directory is left.
            if let Err(error) = std::fs::remove_dir_all(secondary) {
                tracing::debug!("removing {} failed: {error}", secondary.display());
            }
            return;
        }
        let families: Vec<&ColumnFamily> = Family::ALL.iter().map(|f| self.cf(*f)).collect();
        if let Err(error) = self
            .db
            .flush_cfs_opt(&families, &rocksdb::FlushOptions::default())
        {
            tracing::warn!("flushing the store at close failed: {error}");
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens the database in `path`, creating the directory and the column families if needed.
    ///
    /// Fails if another process (or another `Store` of this process) has it open.
    pub fn open(path: &Path) -> Result<Arc<Store>> {
        let (options, descriptors) = Store::options(path);
        let db = DB::open_cf_descriptors(&options, path, descriptors).map_err(|error| {
            if error.kind() == rocksdb::ErrorKind::IOError && error.to_string().contains("LOCK") {
                ExecError::User(format!(
                    "the data directory {} is in use by another process (an eddy server, REPL \
                     or command): stop it, or use another --data-dir",
                    path.display()
                ))
            } else {
                ExecError::Storage(error)
            }
        })?;

        let mut write_options = WriteOptions::default();
        write_options.disable_wal(false);
        write_options.set_sync(false);
        Ok(Arc::new(Store {
            db,
            path: path.to_path_buf(),
            write_options,
            options,
            secondary: None,
        }))
    }

    /// Opens the database in `path` read-only, as a RocksDB secondary instance: it takes no
    /// lock, so it works while another process (a server, a REPL) has the store open, and
    /// sees that process's writes up to the last `catch_up`. Writing through it fails.
    pub fn open_secondary(path: &Path) -> Result<Arc<Store>> {
        if !path.join("CURRENT").exists() {
            return Err(ExecError::User(format!(
                "no data directory at {}: it is created by the first eddy command that \
                 writes to it (a server, the REPL, `eddy topic create`)",
                path.display()
            )));
        }
        static INSTANCES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        remove_stale_secondaries();
        let secondary = std::env::temp_dir().join(format!(
            "{SECONDARY_PREFIX}{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let (mut options, descriptors) = Store::options(path);
        options.create_if_missing(false);
        options.create_missing_column_families(false);
        // RocksDB's advice for secondaries: keep every file open so that files the primary
        // deletes after a compaction stay readable until the next catch-up.
        options.set_max_open_files(-1);
        let db =
            DB::open_cf_descriptors_as_secondary(&options, path, secondary.as_path(), descriptors)?;
        Ok(Arc::new(Store {
            db,
            path: path.to_path_buf(),
            write_options: WriteOptions::default(),
            options,
            secondary: Some(secondary),
        }))
    }

    /// Makes a secondary instance see what the primary has written since (a no-op on a
    /// primary).
    pub fn catch_up(&self) -> Result<()> {
        if self.secondary.is_some() {
            self.db.try_catch_up_with_primary()?;
        }
        Ok(())
    }

    /// The options and column families to open the database in `path` with.
    fn options(path: &Path) -> (Options, Vec<ColumnFamilyDescriptor>) {
        let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.increase_parallelism(2);
        options.set_max_background_jobs(2);
        options.set_max_total_wal_size(MAX_TOTAL_WAL_BYTES);
        options.set_keep_log_file_num(4);
        options.set_max_log_file_size(16 << 20);
        options.set_bytes_per_sync(1 << 20);
        // Counters only (no histograms, no timers): cheap enough to keep on in production.
        options.enable_statistics();
        options.set_statistics_level(StatsLevel::ExceptHistogramOrTimers);

        let mut descriptors: Vec<ColumnFamilyDescriptor> = Family::ALL
            .iter()
            .map(|&family| {
                ColumnFamilyDescriptor::new(family.name(), family_options(family, &cache))
            })
            .collect();
        // Column families written by a newer version are opened as they are, so that opening
        // never fails (RocksDB insists on every existing family being named).
        if let Ok(existing) = DB::list_cf(&options, path) {
            for name in existing {
                let known = name == rocksdb::DEFAULT_COLUMN_FAMILY_NAME
                    || Family::ALL.iter().any(|family| family.name() == name);
                if !known {
                    descriptors.push(ColumnFamilyDescriptor::new(name, Options::default()));
                }
            }
        }
        (options, descriptors)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database itself, for snapshots and iterators.
    pub fn db(&self) -> &DB {
        &self.db
    }

    /// The handle of a column family, to build a `WriteBatch` or read.
    pub fn cf(&self, family: Family) -> &ColumnFamily {
        self.db
            .cf_handle(family.name())
            .expect("every family is opened by Store::open")
    }

    /// Bytes written to the database by this process since it was opened: keys and values of
    /// every write batch (RocksDB's `rocksdb.bytes.written` ticker), before compression and
    /// without flush or compaction rewrites.
    pub fn bytes_written(&self) -> u64 {
        self.options.get_ticker_count(Ticker::BytesWritten)
    }

    /// Applies `batch` atomically and durably (WAL, no fsync).
    pub fn write(&self, batch: WriteBatch) -> Result<()> {
        self.db.write_opt(batch, &self.write_options)?;
        Ok(())
    }

    /// Adds state writes (full keys in the `state` family; `None` deletes) to `batch`.
    pub fn add_state_writes(&self, batch: &mut WriteBatch, writes: &[StateWrite]) {
        let family = self.cf(Family::State);
        for (key, value) in writes {
            match value {
                Some(value) => batch.put_cf(family, key, value),
                None => batch.delete_cf(family, key),
            }
        }
    }

    /// Stores `value` under `key` in the `meta` family.
    pub fn meta_put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(Family::Meta), key, value);
        self.write(batch)
    }

    /// The value under `key` in the `meta` family.
    pub fn meta_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get_cf(self.cf(Family::Meta), key)?)
    }

    /// Removes `key` from the `meta` family; removing a missing key is not an error.
    pub fn meta_delete(&self, key: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(Family::Meta), key);
        self.write(batch)
    }

    /// Every `(key, value)` of the `meta` family whose key starts with `prefix`, sorted by key.
    pub fn meta_scan_prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let iterator = self.db.iterator_cf(
            self.cf(Family::Meta),
            IteratorMode::From(prefix, Direction::Forward),
        );
        let mut entries = Vec::new();
        for entry in iterator {
            let (key, value) = entry?;
            if !key.starts_with(prefix) {
                break;
            }
            entries.push((key.into_vec(), value.into_vec()));
        }
        Ok(entries)
    }
}

/// The start of the names of secondary instances' directories in the temporary directory:
/// `eddy-secondary-PID-N`.
const SECONDARY_PREFIX: &str = "eddy-secondary-";

/// Removes the directories of secondary instances whose process is gone (killed before it
/// could remove its own), where `/proc` tells.
fn remove_stale_secondaries() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(SECONDARY_PREFIX))
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        let proc = Path::new("/proc");
        if proc.is_dir() && !proc.join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Tuning of one column family: lz4 everywhere, large memtables and blocks for the log.
fn family_options(family: Family, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_format_version(5);
    let mut options = Options::default();
    options.set_compression_type(DBCompressionType::Lz4);
    options.set_bottommost_compression_type(DBCompressionType::Lz4);
    options.set_level_compaction_dynamic_level_bytes(true);
    match family {
        Family::Log => {
            // Chunks are read sequentially: bigger blocks, no filter.
            table.set_block_size(64 << 10);
            options.set_write_buffer_size(LARGE_WRITE_BUFFER_BYTES);
            options.set_max_write_buffer_number(4);
            options.set_target_file_size_base(64 << 20);
            // Chunk values (up to 128 KiB of records) go to blob files when flushed, so
            // compactions rewrite only their keys: records are written once more, not once
            // per level. Garbage collection moves what is left of old blob files.
            options.set_enable_blob_files(true);
            options.set_min_blob_size(LOG_MIN_BLOB_BYTES);
            options.set_blob_file_size(256 << 20);
            options.set_blob_compression_type(DBCompressionType::Lz4);
            options.set_enable_blob_gc(true);
        }
        Family::State => {
            table.set_block_size(16 << 10);
            table.set_bloom_filter(10.0, false);
            // Partitioned filters and indexes: a lookup loads a small partition of a file's
            // filter into the block cache, not the whole filter of a 64 MiB file (about 1 MiB,
            // which evicted the other filters from its cache shard, so that each lookup of
            // a new group read a whole filter from disk once state outgrew memory).
            table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
            table.set_partition_filters(true);
            table.set_metadata_block_size(4 << 10);
            table.set_cache_index_and_filter_blocks(true);
            table.set_cache_index_and_filter_blocks_with_high_priority(true);
            table.set_pin_top_level_index_and_filter(true);
            table.set_pin_l0_filter_and_index_blocks_in_cache(true);
            // Most lookups of new groups and windows miss: a memtable bloom filter answers
            // them without walking the skip list.
            options.set_memtable_whole_key_filtering(true);
            options.set_memtable_prefix_bloom_ratio(0.1);
            options.set_write_buffer_size(LARGE_WRITE_BUFFER_BYTES);
            options.set_max_write_buffer_number(4);
            options.set_target_file_size_base(64 << 20);
        }
        Family::Topics | Family::Offsets | Family::Meta => {
            table.set_bloom_filter(10.0, false);
            options.set_write_buffer_size(SMALL_WRITE_BUFFER_BYTES);
        }
    }
    options.set_block_based_table_factory(&table);
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of the write-ahead log files in `directory`.
    fn wal_bytes(directory: &Path) -> u64 {
        std::fs::read_dir(directory)
            .expect("lists")
            .map(|entry| entry.expect("entry"))
            .filter(|entry| entry.file_name().to_string_lossy().ends_with(".log"))
            .map(|entry| entry.metadata().expect("metadata").len())
            .sum()
    }

    #[test]
    fn a_second_open_says_the_directory_is_in_use_and_a_secondary_reads_beside_it() {
        let directory = tempfile::tempdir().expect("temp dir");
        let missing = directory.path().join("missing");
        match Store::open_secondary(&missing) {
            Err(ExecError::User(message)) => assert!(message.contains("no data directory at")),
            other => panic!("expected a user error, got {other:?}"),
        }
        let store = Store::open(directory.path()).expect("open");
        match Store::open(directory.path()) {
            Err(ExecError::User(message)) => assert!(
                message.contains("is in use by another process"),
                "{message}"
            ),
            other => panic!("expected a user error, got {other:?}"),
        }
        store.meta_put(b"a", b"1").expect("write");
        let secondary = Store::open_secondary(directory.path()).expect("open a secondary");
        assert_eq!(secondary.meta_get(b"a").expect("read"), Some(b"1".to_vec()));
        store.meta_put(b"b", b"2").expect("write");
        assert_eq!(secondary.meta_get(b"b").expect("read"), None);
        secondary.catch_up().expect("catch up");
        assert_eq!(secondary.meta_get(b"b").expect("read"), Some(b"2".to_vec()));
        assert!(
            secondary.meta_put(b"c", b"3").is_err(),
            "a secondary is read-only"
        );
        let own = secondary
            .secondary
            .clone()
            .expect("a secondary has its directory");
        assert!(own.exists());
        drop(secondary);
        assert!(!own.exists(), "closing a secondary removes its directory");
    }

    #[test]
    fn a_clean_close_leaves_no_write_ahead_log_to_replay() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let mut batch = WriteBatch::default();
        for n in 0..1000u32 {
            batch.put_cf(store.cf(Family::Log), n.to_be_bytes(), vec![7u8; 1000]);
        }
        store.write(batch).expect("write");
        assert!(wal_bytes(directory.path()) > 1_000_000);
        drop(store);
        assert!(wal_bytes(directory.path()) < 10_000);
        let store = Store::open(directory.path()).expect("reopen");
        let value = store
            .db()
            .get_cf(store.cf(Family::Log), 999u32.to_be_bytes());
        assert_eq!(value.expect("get"), Some(vec![7u8; 1000]));
    }

    #[test]
    fn meta_survives_reopen() {
        let directory = tempfile::tempdir().expect("temp dir");
        {
            let store = Store::open(directory.path()).expect("open");
            store
                .meta_put(b"cmd/0001", b"CREATE STREAM a")
                .expect("put");
            store
                .meta_put(b"cmd/0002", b"CREATE STREAM b")
                .expect("put");
            store.meta_put(b"cmd/0003", b"gone").expect("put");
            store.meta_put(b"other", b"x").expect("put");
            store.meta_delete(b"cmd/0003").expect("delete");
        }
        let store = Store::open(directory.path()).expect("reopen");
        assert_eq!(
            store.meta_get(b"cmd/0001").expect("get"),
            Some(b"CREATE STREAM a".to_vec())
        );
        assert_eq!(store.meta_get(b"cmd/0003").expect("get"), None);
        let cases: [(&[u8], Vec<&[u8]>); 4] = [
            (b"cmd/", vec![b"cmd/0001", b"cmd/0002"]),
            (b"", vec![b"cmd/0001", b"cmd/0002", b"other"]),
            (b"o", vec![b"other"]),
            (b"zzz", vec![]),
        ];
        for (prefix, expected) in cases {
            let keys: Vec<Vec<u8>> = store
                .meta_scan_prefix(prefix)
                .expect("scan")
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            let expected: Vec<Vec<u8>> = expected.into_iter().map(<[u8]>::to_vec).collect();
            assert_eq!(keys, expected, "prefix {prefix:?}");
        }
    }

    #[test]
    fn batch_spans_families_atomically() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let mut batch = WriteBatch::default();
        batch.put_cf(store.cf(Family::State), b"k", b"v");
        batch.put_cf(store.cf(Family::Meta), b"m", b"w");
        store.write(batch).expect("write");
        assert_eq!(
            store
                .db()
                .get_cf(store.cf(Family::State), b"k")
                .expect("get"),
            Some(b"v".to_vec())
        );
        assert_eq!(store.meta_get(b"m").expect("get"), Some(b"w".to_vec()));
    }

    #[test]
    fn bytes_written_counts_every_write() {
        let directory = tempfile::tempdir().expect("temp dir");
        let store = Store::open(directory.path()).expect("open");
        let before = store.bytes_written();
        store.meta_put(b"key", &[7u8; 1000]).expect("put");
        let after = store.bytes_written();
        assert!(
            after >= before + 1000,
            "bytes written went from {before} to {after} for a 1000-byte value"
        );
    }

    #[test]
    fn second_open_of_same_directory_fails() {
        let directory = tempfile::tempdir().expect("temp dir");
        let _store = Store::open(directory.path()).expect("open");
        assert!(Store::open(directory.path()).is_err());
    }
}
