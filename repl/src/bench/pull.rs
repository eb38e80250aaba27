//! `eddy bench pull`: key-lookup pull queries over HTTP against a materialized table.
//!
//! Loads a stream with one record per key, materializes it with a CTAS (timed until the query
//! caught up), serves the engine with `server::http::HttpServer` on 127.0.0.1:0 in this process,
//! then keeps `--connections` HTTP/1.1 keep-alive connections (one hyper connection each)
//! sending `POST /query` lookups of random keys back-to-back for `--seconds`: once over the
//! freshly materialized table (its latest writes still in RocksDB's memtables), then again
//! after the state is flushed to SST files.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use executor::{BackendKind, StateStorage};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use server::http::{HttpConfig, HttpServer};

use super::{Bench, peak_memory_kib, print_peak_memory};

#[derive(clap::Args)]
pub struct PullArgs {
    /// pull: concurrent HTTP/1.1 keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// pull: how long the connections send queries.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// What one connection measured.
#[derive(Default)]
struct ConnectionRun {
    /// Latency of every answered query, in microseconds.
    latencies_micros: Vec<u32>,
    errors: u64,
    /// The first error, shown in the report.
    first_error: Option<String>,
}

/// What all connections of one measurement measured.
struct PullRun {
    runs: Vec<ConnectionRun>,
    elapsed: Duration,
}

/// Loads `rows` keys, materializes them, and runs the HTTP pull-query load twice: over the
/// table as materialized, and after flushing the state's memtables.
pub fn run(rows: u64, args: &PullArgs) -> Result<()> {
    if rows == 0 || args.connections == 0 || args.seconds == 0 {
        bail!("--rows, --connections and --seconds must be positive");
    }
    let mut bench = Bench::open(
        &BackendKind::Embedded,
        "CREATE STREAM s (id VARCHAR KEY, v BIGINT) \
         WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=2);",
    )?;
    bench.load("s", rows, |n| {
        (format!("k{n}"), format!(r#"{{"V":{n}}}"#), n as i64)
    })?;
    let materialized = bench.run_query(
        "CREATE TABLE t AS SELECT id, LATEST_BY_OFFSET(v) AS v, COUNT(*) AS n \
         FROM s GROUP BY id EMIT CHANGES;",
        "CTAS_T_0",
        &["s"],
    )?;
    let seconds = materialized.elapsed.as_secs_f64();
    println!(
        "materialized {rows} keys with CREATE TABLE AS SELECT in {seconds:.2}s = {:.0} keys/s",
        rows as f64 / seconds
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let engine = Arc::clone(&bench.engine);
    let server = runtime.block_on(async move {
        let address: SocketAddr = "127.0.0.1:0".parse().expect("a valid socket address");
        HttpServer::start(engine, address, HttpConfig::default())
            .await
            .context("cannot start the HTTP server")
    })?;
    let address = server.local_addr();
    runtime.block_on(probe(address, rows))?;
    let state = bench.engine.state_store();
    report_storage(state.storage()?);
    let fresh = runtime.block_on(measure(address, rows, args, 0))?;
    fresh.report("pull (as materialized)", args.connections);
    let started = Instant::now();
    state.flush()?;
    println!(
        "flushed the state's memtables to SST files in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    report_storage(state.storage()?);
    // Other keys than the first measurement's, so that it warmed no cache for this one.
    let other_seeds = args.connections as u64;
    let flushed = runtime.block_on(measure(address, rows, args, other_seeds))?;
    flushed.report("pull (flushed to SST)", args.connections);
    runtime.block_on(server.stop());
    print_peak_memory(peak_memory_kib());
    Ok(())
}

/// Prints where the state is: entries and bytes in memtables, bytes in SST files.
fn report_storage(storage: StateStorage) {
    println!(
        "state: {} entries ({}) in memtables, {} in SST files",
        storage.memtable_entries,
        format_bytes(storage.memtable_bytes),
        format_bytes(storage.sst_bytes)
    );
}

/// `bytes` in B, KiB, MiB or GiB, whichever keeps the number below 1024.
fn format_bytes(bytes: u64) -> String {
    let units = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

/// Runs `args.connections` connections sending lookups for `args.seconds`; connection `i`
/// draws its keys from seed `first_seed + i`.
async fn measure(
    address: SocketAddr,
    rows: u64,
    args: &PullArgs,
    first_seed: u64,
) -> Result<PullRun> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let tasks: Vec<_> = (0..args.connections)
        .map(|connection| {
            tokio::spawn(run_connection(
                address,
                rows,
                first_seed + connection as u64,
                deadline,
            ))
        })
        .collect();
    let mut runs = Vec::with_capacity(tasks.len());
    for task in tasks {
        runs.push(task.await.context("a connection task panicked")?);
    }
    Ok(PullRun {
        runs,
        elapsed: started.elapsed(),
    })
}

/// Checks one lookup before the timed run, so a broken setup fails instead of being timed.
async fn probe(address: SocketAddr, rows: u64) -> Result<()> {
    let mut sender = connect(address).await?;
    let key = rows / 2;
    lookup(&mut sender, address, key)
        .await
        .with_context(|| format!("the probe lookup of key k{key} failed"))
}

/// Sends lookups of random keys on one connection until `deadline`; reconnects after a
/// transport error.
async fn run_connection(
    address: SocketAddr,
    rows: u64,
    seed: u64,
    deadline: Instant,
) -> ConnectionRun {
    let mut run = ConnectionRun::default();
    let mut random = SmallRng::seed_from_u64(seed);
    let mut sender = None;
    while Instant::now() < deadline {
        let connection = match sender.as_mut() {
            Some(connection) => connection,
            None => match connect(address).await {
                Ok(connection) => sender.insert(connection),
                Err(error) => {
                    run.record_error(format!("{error:#}"));
                    break;
                }
            },
        };
        let key = random.random_range(0..rows);
        let started = Instant::now();
        match lookup(connection, address, key).await {
            Ok(()) => {
                let micros = started.elapsed().as_micros();
                run.latencies_micros
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Err(error) => {
                if connection.is_closed() {
                    sender = None;
                }
                run.record_error(format!("{error:#}"));
            }
        }
    }
    run
}

impl ConnectionRun {
    fn record_error(&mut self, error: String) {
        self.errors += 1;
        self.first_error.get_or_insert(error);
    }
}

/// Opens one HTTP/1.1 connection; its driver runs on a task of its own.
async fn connect(address: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .with_context(|| format!("cannot connect to {address}"))?;
    stream.set_nodelay(true).context("cannot set TCP_NODELAY")?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP/1.1 handshake failed")?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!("bench connection ended: {error}");
        }
    });
    Ok(sender)
}

/// `POST /query` for key `k{key}`; checks the response holds exactly that key's row.
async fn lookup(
    sender: &mut SendRequest<Full<Bytes>>,
    address: SocketAddr,
    key: u64,
) -> Result<()> {
    let body =
        format!(r#"{{"ksql":"SELECT * FROM T WHERE ID='k{key}';","streamsProperties":{{}}}}"#);
    let request = hyper::Request::post("/query")
        .header(hyper::header::HOST, address.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/vnd.ksql.v1+json")
        .header(hyper::header::ACCEPT, "application/vnd.ksql.v1+json")
        .body(Full::new(Bytes::from(body)))
        .context("cannot build the request")?;
    sender.ready().await.context("the connection closed")?;
    let response = sender
        .send_request(request)
        .await
        .context("the request failed")?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("the response body failed")?
        .to_bytes();
    if !status.is_success() {
        bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    check_single_row(&body, &format!("k{key}"))
}

/// A `/query` response is `[{"header":..},{"row":{"columns":[KEY,..]}}]` for a hit.
fn check_single_row(body: &[u8], key: &str) -> Result<()> {
    let elements: Vec<serde_json::Value> =
        serde_json::from_slice(body).context("the response is not a JSON array")?;
    let rows: Vec<&serde_json::Value> = elements
        .iter()
        .filter_map(|element| element.get("row"))
        .collect();
    let [row] = rows.as_slice() else {
        bail!(
            "expected 1 row, got {}: {}",
            rows.len(),
            String::from_utf8_lossy(body)
        );
    };
    let first = row.get("columns").and_then(|columns| columns.get(0));
    if first.and_then(serde_json::Value::as_str) != Some(key) {
        bail!("expected the row of {key}, got {row}");
    }
    Ok(())
}

impl PullRun {
    /// Prints queries/s, latency percentiles and errors over all connections.
    fn report(&self, name: &str, connections: usize) {
        let PullRun { runs, elapsed } = self;
        let mut latencies: Vec<u32> = runs
            .iter()
            .flat_map(|run| run.latencies_micros.iter().copied())
            .collect();
        latencies.sort_unstable();
        let errors: u64 = runs.iter().map(|run| run.errors).sum();
        let seconds = elapsed.as_secs_f64();
        println!(
            "{name}: {} queries over {connections} connections in {seconds:.2}s = {:.0} queries/s",
            latencies.len(),
            latencies.len() as f64 / seconds
        );
        println!(
            "latency: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
            percentile_millis(&latencies, 0.50),
            percentile_millis(&latencies, 0.99),
            percentile_millis(&latencies, 0.999),
            percentile_millis(&latencies, 1.0),
        );
        println!("errors: {errors}");
        if let Some(error) = runs.iter().find_map(|run| run.first_error.as_ref()) {
            println!("first error: {error}");
        }
    }
}

/// The `fraction` percentile of sorted microsecond latencies, in milliseconds (nearest rank).
fn percentile_millis(sorted_micros: &[u32], fraction: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = (fraction * sorted_micros.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted_micros.len()) - 1;
    f64::from(sorted_micros[index]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_formatted_in_the_largest_unit_below_1024() {
        let cases = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (5 << 20, "5.0 MiB"),
            (3 << 30, "3.0 GiB"),
            (4096 << 30, "4096.0 GiB"),
        ];
        for (bytes, expected) in cases {
            assert_eq!(format_bytes(bytes), expected, "{bytes}");
        }
    }

    #[test]
    fn percentile_uses_the_nearest_rank() {
        let latencies: Vec<u32> = (1..=1000).collect();
        let cases = [
            (0.5, 0.5),
            (0.99, 0.99),
            (0.999, 0.999),
            (1.0, 1.0),
            (0.0, 0.001),
        ];
        for (fraction, expected) in cases {
            assert_eq!(
                percentile_millis(&latencies, fraction),
                expected,
                "{fraction}"
            );
        }
        assert_eq!(percentile_millis(&[], 0.5), 0.0);
    }

    #[test]
    fn single_row_check_accepts_only_the_requested_key() {
        let cases = [
            (
                r#"[{"header":{}},{"row":{"columns":["k1",1,1]}}]"#,
                "k1",
                true,
            ),
            (
                r#"[{"header":{}},{"row":{"columns":["k2",1,1]}}]"#,
                "k1",
                false,
            ),
            (r#"[{"header":{}}]"#, "k1", false),
            (
                r#"[{"header":{}},{"row":{"columns":["k1"]}},{"row":{"columns":["k1"]}}]"#,
                "k1",
                false,
            ),
            (r#"{"@type":"generic_error"}"#, "k1", false),
        ];
        for (body, key, ok) in cases {
            assert_eq!(check_single_row(body.as_bytes(), key).is_ok(), ok, "{body}");
        }
    }
}
