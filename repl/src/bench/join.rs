//! `eddy bench join`: a stream-table LEFT JOIN and a stream-stream INNER JOIN WITHIN 10
//! SECONDS over JSON records, each on a fresh data directory.
//!
//! The stream-table query first consumes the whole table; the engine is then closed, the
//! stream written, and the run timed from reopening the engine (the query resumes with the
//! table as its state) until it has consumed the stream. Each join reports records/s, peak
//! memory, records written and the bytes (keys and values) of its join state afterwards.

use anyhow::{Result, bail};
use executor::{BackendKind, EmbeddedLog, Store, TopicLog};

use super::{Bench, FIRST_TIMESTAMP, QueryRun, RunStart, load};

/// Stream-table: every this many stream records, one has a key the table does not hold.
const MISS_EVERY: u64 = 10;
/// Stream-stream: distinct keys of both streams. Record `i` of a stream has key `i % KEYS`,
/// so it shares its key with the other stream's records `i ± KEYS`, `i ± 2 KEYS`, ...
const STREAM_STREAM_KEYS: u64 = 4_000;
/// Stream-stream: the join window (`WITHIN 10 SECONDS`), in milliseconds.
const WITHIN_MS: i64 = 10_000;
/// Records read back from a sink per `read` call.
const READ_CHUNK: usize = 10_000;

/// What one join benchmark measured.
struct JoinRun {
    query: QueryRun,
    /// The timed input records (stream-table: the stream's; stream-stream: both streams').
    inputs: u64,
    /// Records the query wrote to its sink.
    written: u64,
    /// Records written that joined a row of the other side.
    matched: u64,
    /// Key and value bytes of the query's join state after the run.
    state_bytes: u64,
}

/// Runs both joins: the stream-table join over `records` stream records and a table of a
/// tenth as many rows, the stream-stream join over two streams of `records / 2` each.
pub fn run(records: u64) -> Result<()> {
    if records < MISS_EVERY {
        bail!("--records must be at least {MISS_EVERY}");
    }
    let run = stream_table(records)?;
    let hits = records - records / MISS_EVERY;
    run.report(
        "join stream-table",
        &format!(
            "{} written, {} with a table row; expected {records} and {hits}",
            run.written, run.matched
        ),
    );
    let per_stream = records / 2;
    let run = stream_stream(per_stream)?;
    run.report(
        "join stream-stream",
        &format!(
            "{} written; expected {}",
            run.written,
            stream_stream_matches(per_stream)
        ),
    );
    Ok(())
}

/// `orders` LEFT JOIN `customers` (a table of `records / 10` rows) on the order's key;
/// every tenth order's key is missing from the table.
fn stream_table(records: u64) -> Result<JoinRun> {
    let table_rows = records / MISS_EVERY;
    let mut bench = Bench::open(
        &BackendKind::Embedded,
        "CREATE STREAM orders (k VARCHAR KEY, amount DOUBLE, item VARCHAR, quantity INT) \
         WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=2); \
         CREATE TABLE customers (id VARCHAR PRIMARY KEY, name VARCHAR, region VARCHAR, score BIGINT) \
         WITH (KAFKA_TOPIC='customers', VALUE_FORMAT='JSON', PARTITIONS=2);",
    )?;
    let regions = ["eu", "us", "apac", "latam"];
    // Table rows are older than every order.
    bench.load("customers", table_rows, |n| {
        let value = format!(
            r#"{{"NAME":"customer_{n}","REGION":"{}","SCORE":{}}}"#,
            regions[(n % 4) as usize],
            n % 1000
        );
        (
            format!("k{n}"),
            value,
            FIRST_TIMESTAMP - (table_rows - n) as i64,
        )
    })?;
    let query_id = "CSAS_ENRICHED_0";
    let loaded = bench.run_query(
        "CREATE STREAM enriched AS SELECT o.k AS k, o.amount AS amount, o.quantity AS quantity, \
         c.name AS name, c.region AS region, c.score AS score \
         FROM orders o LEFT JOIN customers c ON o.k = c.id EMIT CHANGES;",
        query_id,
        &["customers"],
    )?;
    println!(
        "the join consumed the {table_rows}-row table in {:.2}s",
        loaded.elapsed.as_secs_f64()
    );
    // Written with no engine running, so the query sees the whole stream at once, after
    // the whole table.
    let directory = bench.close()?;
    {
        let log = EmbeddedLog::new(Store::open(directory.path())?)?;
        load(&log, "orders", records, |n| {
            let id = n % table_rows;
            let key = if n % MISS_EVERY == MISS_EVERY - 1 {
                format!("missing{id}")
            } else {
                format!("k{id}")
            };
            let value = format!(
                r#"{{"AMOUNT":{}.5,"ITEM":"item_{}","QUANTITY":{}}}"#,
                n % 100,
                n % 1000,
                n % 10
            );
            (key, value, FIRST_TIMESTAMP + n as i64)
        })?;
    }
    let start = RunStart::now(directory.path());
    let bench = Bench::reopen(directory, &BackendKind::Embedded)?;
    let query = bench.wait_for(query_id, &["orders"], start)?;
    let (written, matched) = count_non_null(bench.log.as_ref(), "ENRICHED", "NAME")?;
    Ok(JoinRun {
        query,
        inputs: records,
        written,
        matched,
        state_bytes: state_bytes(&bench, query_id)?,
    })
}

/// `lefts` JOIN `rights` WITHIN 10 SECONDS on their keys, `per_stream` records each: record
/// `i` of `lefts` at `2i` ms, of `rights` at `2i + 1` ms (after `FIRST_TIMESTAMP`), both with
/// key `i % STREAM_STREAM_KEYS`.
fn stream_stream(per_stream: u64) -> Result<JoinRun> {
    let mut bench = Bench::open(
        &BackendKind::Embedded,
        "CREATE STREAM lefts (k VARCHAR KEY, v BIGINT, tag VARCHAR) \
         WITH (KAFKA_TOPIC='lefts', VALUE_FORMAT='JSON', PARTITIONS=2); \
         CREATE STREAM rights (k VARCHAR KEY, v BIGINT, tag VARCHAR) \
         WITH (KAFKA_TOPIC='rights', VALUE_FORMAT='JSON', PARTITIONS=2);",
    )?;
    for (topic, offset) in [("lefts", 0), ("rights", 1)] {
        bench.load(topic, per_stream, |n| {
            let key = format!("k{}", n % STREAM_STREAM_KEYS);
            let value = format!(r#"{{"V":{n},"TAG":"{topic}_{}"}}"#, n % 100);
            (key, value, FIRST_TIMESTAMP + 2 * n as i64 + offset)
        })?;
    }
    let query_id = "CSAS_MATCHED_0";
    let query = bench.run_query(
        "CREATE STREAM matched AS SELECT l.k AS k, l.v AS left_v, r.v AS right_v, r.tag AS tag \
         FROM lefts l JOIN rights r WITHIN 10 SECONDS ON l.k = r.k EMIT CHANGES;",
        query_id,
        &["lefts", "rights"],
    )?;
    let written = bench.records_in("MATCHED")?;
    Ok(JoinRun {
        query,
        inputs: 2 * per_stream,
        written,
        matched: written,
        state_bytes: state_bytes(&bench, query_id)?,
    })
}

/// The pairs `stream_stream` joins: record `i` of `lefts` and `j` of `rights` share a key
/// when `j - i` is a multiple of `STREAM_STREAM_KEYS`, and are within the window when
/// `|2 (j - i) + 1| <= WITHIN_MS` ms.
fn stream_stream_matches(per_stream: u64) -> u64 {
    let keys = STREAM_STREAM_KEYS as i64;
    let per_stream = per_stream as i64;
    // The multiples `d` of `keys` with `-WITHIN_MS <= 2d + 1 <= WITHIN_MS`; each pairs the
    // `per_stream - |d|` records `i` whose `i + d` is a record too.
    let reach = WITHIN_MS / keys + 1;
    (-reach..=reach)
        .map(|multiple| multiple * keys)
        .filter(|d| (2 * d + 1).abs() <= WITHIN_MS)
        .map(|d| (per_stream - d.abs()).max(0) as u64)
        .sum()
}

/// The records of `topic`, and how many of them have a non-null `column` in their JSON
/// value.
fn count_non_null(log: &dyn TopicLog, topic: &str, column: &str) -> Result<(u64, u64)> {
    let (mut records, mut non_null) = (0, 0);
    for (partition, (start, end)) in log.offsets(topic)?.into_iter().enumerate() {
        let mut next = start;
        while next < end {
            let chunk = log.read(topic, partition as u32, next, READ_CHUNK)?;
            let Some(last) = chunk.last() else {
                bail!("{topic} partition {partition} ends at {next}, not {end}");
            };
            next = last.offset + 1;
            for consumed in &chunk {
                records += 1;
                let Some(value) = &consumed.record.value else {
                    continue;
                };
                let value: serde_json::Value = serde_json::from_slice(value)?;
                if value.get(column).is_some_and(|value| !value.is_null()) {
                    non_null += 1;
                }
            }
        }
    }
    Ok((records, non_null))
}

/// Key and value bytes of the committed state of query `query_id`: its join state (and its
/// inputs' stream times), as `DESCRIBE EXTENDED` shows it.
fn state_bytes(bench: &Bench, query_id: &str) -> Result<u64> {
    Ok(executor::query::query_state_bytes(
        bench.engine.state_store(),
        query_id,
    )?)
}

impl JoinRun {
    fn report(&self, name: &str, detail: &str) {
        self.query.report(name, self.inputs, detail);
        println!(
            "join state: {} bytes = {:.1} bytes per input record",
            self.state_bytes,
            self.state_bytes as f64 / self.inputs.max(1) as f64
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_stream_matches_counts_every_pair_within_the_window() {
        for per_stream in [0, 1, 3_999, 4_000, 4_001, 5_000, 9_000, 12_345] {
            let mut pairs = 0;
            for i in 0..per_stream as i64 {
                // The `rights` records with the key of `lefts` record `i`.
                let same_key = (i % STREAM_STREAM_KEYS as i64..per_stream as i64)
                    .step_by(STREAM_STREAM_KEYS as usize);
                pairs += same_key
                    .filter(|j| (2 * (j - i) + 1).abs() <= WITHIN_MS)
                    .count() as u64;
            }
            assert_eq!(stream_stream_matches(per_stream), pairs, "{per_stream}");
        }
    }

    #[test]
    fn join_bench_writes_every_stream_record_and_every_window_match() {
        let run = stream_table(2_000).expect("the stream-table join runs");
        assert_eq!(
            (run.inputs, run.written, run.matched),
            (2_000, 2_000, 1_800)
        );
        assert!(run.state_bytes > 0, "the table rows are join state");

        let run = stream_stream(6_000).expect("the stream-stream join runs");
        let expected = stream_stream_matches(6_000);
        assert_eq!(expected, 6_000 + 2 * 2_000);
        assert_eq!((run.inputs, run.written), (12_000, expected));
        assert!(run.state_bytes > 0, "the stream records are join state");
    }
}
