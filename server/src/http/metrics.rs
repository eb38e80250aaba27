//! `GET /metrics`: the server's figures in Prometheus's text exposition format (version
//! 0.0.4), and the per-request counting behind them.
//!
//! Per persistent query (label `query_id`): records consumed and produced (as committed),
//! consumer lag per input partition, epochs committed and their commit latency, late
//! records dropped, records that failed (could not be deserialized or processed) and the
//! bytes of its state. Per server: push queries running and started, pull queries served
//! with their latency, HTTP requests by endpoint and status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use executor::metrics::{Histogram, HistogramSnapshot};

use super::AppState;
use super::error::ApiError;

/// The content type of the text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the server counts itself (the engine counts the queries).
#[derive(Debug, Default)]
pub(crate) struct ServerMetrics {
    /// (endpoint, method, status) → requests answered.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    pull_queries: AtomicU64,
    pull_latency: Histogram,
    push_queries: AtomicU64,
}

impl ServerMetrics {
    /// A pull query was answered in `took` (from its request to its last row).
    pub(crate) fn pull_query_served(&self, took: Duration) {
        self.pull_queries.fetch_add(1, Ordering::Relaxed);
        self.pull_latency.observe(took);
    }

    pub(crate) fn push_query_started(&self) {
        self.push_queries.fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts each request by its route (not its path: `/status/...` is one endpoint, and an
/// unknown path is `other`), method and response status.
pub(crate) async fn count_requests(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("other", MatchedPath::as_str)
        .to_string();
    let method = request.method().as_str().to_string();
    let response = next.run(request).await;
    let key = (endpoint, method, response.status().as_u16());
    *state
        .server_metrics
        .requests
        .lock()
        .expect("metrics lock is never poisoned")
        .entry(key)
        .or_default() += 1;
    response
}

/// `GET /metrics`.
pub(crate) async fn handle(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let engine = Arc::clone(&state.engine);
    // Lags and state sizes read the log and the state store: off the async workers.
    let queries = tokio::task::spawn_blocking(move || query_figures(&engine))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut out = String::with_capacity(4096);
    write_queries(&mut out, &queries);
    write_server(&mut out, &state);
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
    Ok(response)
}

/// The figures of the persistent queries, read at one moment.
struct QueryFigures {
    /// (query id, totals, epochs, commit latency, state bytes)
    queries: Vec<(
        String,
        executor::metrics::Totals,
        u64,
        HistogramSnapshot,
        u64,
    )>,
    /// (query id, topic, partition, lag)
    lags: Vec<(String, String, u32, u64)>,
}

fn query_figures(engine: &crate::Engine) -> crate::Result<QueryFigures> {
    let mut queries = Vec::new();
    for (id, _) in engine.query_states() {
        let counters = engine.metrics.counters(&id);
        let state_bytes =
            executor::query::query_state_bytes(engine.state_store(), &id).unwrap_or(0);
        queries.push((
            id.clone(),
            engine.metrics.query_totals(&id),
            counters.epochs.load(Ordering::Relaxed),
            counters.commit_latency.snapshot(),
            state_bytes,
        ));
    }
    Ok(QueryFigures {
        queries,
        lags: engine.query_lags()?,
    })
}

fn write_queries(out: &mut String, figures: &QueryFigures) {
    type Field = fn(&executor::metrics::Totals) -> u64;
    let counters: [(&str, &str, Field); 4] = [
        (
            "eddy_query_records_consumed_total",
            "Records a persistent query has read (counted once committed).",
            |totals| totals.consumed,
        ),
        (
            "eddy_query_records_produced_total",
            "Records a persistent query has written (counted once committed).",
            |totals| totals.produced,
        ),
        (
            "eddy_query_deserialization_errors_total",
            "Records a persistent query could not deserialize or process, and skipped.",
            |totals| totals.failed,
        ),
        (
            "eddy_query_late_records_dropped_total",
            "Records a persistent query dropped because their window had closed.",
            |totals| totals.late,
        ),
    ];
    for (name, help, field) in counters {
        header(out, name, help, "counter");
        for (id, totals, ..) in &figures.queries {
            sample(out, name, &[("query_id", id)], field(totals) as f64);
        }
    }
    let name = "eddy_query_epochs_committed_total";
    header(
        out,
        name,
        "Epochs a persistent query has committed.",
        "counter",
    );
    for (id, _, epochs, ..) in &figures.queries {
        sample(out, name, &[("query_id", id)], *epochs as f64);
    }
    let name = "eddy_query_commit_latency_seconds";
    header(
        out,
        name,
        "How long committing an epoch (output, offsets and state in one write) took.",
        "histogram",
    );
    for (id, _, _, latency, _) in &figures.queries {
        histogram(out, name, &[("query_id", id)], latency);
    }
    let name = "eddy_query_state_bytes";
    header(
        out,
        name,
        "Approximate bytes of a persistent query's state.",
        "gauge",
    );
    for (id, .., bytes) in &figures.queries {
        sample(out, name, &[("query_id", id)], *bytes as f64);
    }
    let name = "eddy_query_consumer_lag";
    header(
        out,
        name,
        "Records of an input partition a persistent query has not consumed yet.",
        "gauge",
    );
    for (id, topic, partition, lag) in &figures.lags {
        let partition = partition.to_string();
        let labels = [
            ("query_id", id.as_str()),
            ("topic", topic),
            ("partition", &partition),
        ];
        sample(out, name, &labels, *lag as f64);
    }
}

fn write_server(out: &mut String, state: &AppState) {
    let metrics = &state.server_metrics;
    single(
        out,
        "eddy_push_queries_running",
        "Push queries running now.",
        "gauge",
        state.push_queries.list().len() as u64,
    );
    single(
        out,
        "eddy_push_queries_total",
        "Push queries started.",
        "counter",
        metrics.push_queries.load(Ordering::Relaxed),
    );
    single(
        out,
        "eddy_processing_log_events_dropped_total",
        "Processing-log entries dropped because the log's queue was full.",
        "counter",
        state.engine.metrics.processing_log_dropped(),
    );
    single(
        out,
        "eddy_pull_queries_total",
        "Pull queries answered.",
        "counter",
        metrics.pull_queries.load(Ordering::Relaxed),
    );
    let name = "eddy_pull_query_latency_seconds";
    header(
        out,
        name,
        "Time from a pull query's request to its last row.",
        "histogram",
    );
    histogram(out, name, &[], &metrics.pull_latency.snapshot());
    let name = "eddy_http_requests_total";
    header(
        out,
        name,
        "HTTP requests answered, by endpoint, method and status.",
        "counter",
    );
    let requests = metrics
        .requests
        .lock()
        .expect("metrics lock is never poisoned")
        .clone();
    for ((endpoint, method, status), count) in requests {
        let status = status.to_string();
        let labels = [
            ("endpoint", endpoint.as_str()),
            ("method", &method),
            ("status", &status),
        ];
        sample(out, name, &labels, count as f64);
    }
}

/// A metric of one sample without labels.
fn single(out: &mut String, name: &str, help: &str, kind: &str, value: u64) {
    header(out, name, help, kind);
    sample(out, name, &[], value as f64);
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (label, value)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn histogram(out: &mut String, name: &str, labels: &[(&str, &str)], snapshot: &HistogramSnapshot) {
    let bucket = format!("{name}_bucket");
    for (bound, count) in &snapshot.buckets {
        let bound = bound.to_string();
        let mut with_bound = labels.to_vec();
        with_bound.push(("le", &bound));
        sample(out, &bucket, &with_bound, *count as f64);
    }
    let mut with_bound = labels.to_vec();
    with_bound.push(("le", "+Inf"));
    sample(out, &bucket, &with_bound, snapshot.count as f64);
    sample(out, &format!("{name}_sum"), labels, snapshot.sum_seconds);
    sample(out, &format!("{name}_count"), labels, snapshot.count as f64);
}

/// A label value as the text format writes it: backslash, double quote and newline escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_and_histograms_follow_the_text_format() {
        let mut out = String::new();
        sample(&mut out, "m", &[("a", "x\"y\\z\nw")], 2.0);
        sample(&mut out, "n", &[], 0.5);
        let latency = Histogram::default();
        latency.observe(Duration::from_millis(3));
        histogram(&mut out, "h", &[("q", "Q")], &latency.snapshot());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], r#"m{a="x\"y\\z\nw"} 2"#);
        assert_eq!(lines[1], "n 0.5");
        assert_eq!(lines[2], r#"h_bucket{q="Q",le="0.001"} 0"#);
        assert_eq!(lines[4], r#"h_bucket{q="Q",le="0.005"} 1"#);
        assert_eq!(lines[13], r#"h_bucket{q="Q",le="+Inf"} 1"#);
        assert_eq!(lines[14], r#"h_sum{q="Q"} 0.003"#);
        assert_eq!(lines[15], r#"h_count{q="Q"} 1"#);
    }
}
