//! The ksqlDB-compatible REST API over HTTP/1.1 and HTTP/2, cleartext or TLS (axum on hyper).
//!
//! This module owns the server's life cycle, the shared state of requests and the routes;
//! each endpoint lives in its own submodule. Statements run on the blocking pool through
//! [`Engine`]; rows stream back without holding the engine lock.

mod auth;
mod console;
pub(crate) mod error;
mod info;
mod inserts;
pub(crate) mod json;
mod ksql;
mod metrics;
pub(crate) mod query;
mod query_stream;
mod request;
mod schema_registry;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use planner::Properties;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::error::ApiError;
pub use self::ksql::read_entity;
use self::metrics::ServerMetrics;
use self::query::PushQueries;
pub use self::tls::Tls;
use crate::credential::Credential;
use crate::{Engine, Result, ServerError, Session};

/// How long `stop` waits for open connections before abandoning them.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// `application/json`, the default content type of responses.
const JSON: &str = "application/json";
/// ksqlDB's versioned JSON content type, used when the client's `Accept` asks for it.
const KSQL_V1_JSON: &str = "application/vnd.ksql.v1+json";

/// Settings of the REST server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Basic-auth users (name → stored password); None = no authentication.
    pub users: Option<BTreeMap<String, Credential>>,
    /// Serve HTTPS with this certificate and key (`listeners=https://...`); None = HTTP.
    pub tls: Option<Tls>,
    /// Largest accepted request body, bytes (default 10 MiB).
    pub max_body_bytes: usize,
    /// Where to serve the Postgres wire protocol too (`--pg-listen`); None = not at all.
    pub pg_listen: Option<SocketAddr>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            users: None,
            tls: None,
            max_body_bytes: 10 * 1024 * 1024,
            pg_listen: None,
        }
    }
}

/// A running server; dropping it (or `stop`) shuts it down.
pub struct HttpServer {
    local_addr: SocketAddr,
    /// The address of the Postgres listener, when there is one.
    pg_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    pg_task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Binds `addr` (port 0 = any) and serves `engine` on the current tokio runtime.
    pub async fn start(
        engine: Arc<Engine>,
        addr: SocketAddr,
        config: HttpConfig,
    ) -> Result<HttpServer> {
        Self::start_with_properties(engine, addr, config, Properties::new()).await
    }

    /// Like [`HttpServer::start`], with default session properties that every request
    /// starts from (`eddy server --config FILE`); a request's own properties override them.
    pub async fn start_with_properties(
        engine: Arc<Engine>,
        addr: SocketAddr,
        config: HttpConfig,
        default_properties: Properties,
    ) -> Result<HttpServer> {
        let io_error = |error| ServerError::Exec(executor::ExecError::Io(error));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(io_error)?;
        let local_addr = listener.local_addr().map_err(io_error)?;
        // `ksql.schema.registry.url`: the engine uses that registry instead of its own.
        engine.connect_schema_registry(&default_properties)?;
        let (shutdown, shutdown_receiver) = watch::channel(false);
        let state = Arc::new(AppState {
            engine,
            config,
            default_properties,
            push_queries: Arc::new(PushQueries::default()),
            commands: Mutex::new(BTreeMap::new()),
            command_sequence: AtomicI64::new(0),
            shutdown: shutdown_receiver.clone(),
            server_metrics: Arc::new(ServerMetrics::default()),
        });
        let pg = match state.config.pg_listen {
            Some(pg_listen) => Some(crate::pg::start(Arc::clone(&state), pg_listen).await?),
            None => None,
        };
        let (pg_addr, pg_task) = pg.map_or((None, None), |(addr, task)| (Some(addr), Some(task)));
        let https = state.config.tls.clone();
        let app = router(state);
        let task = tokio::spawn(async move {
            let stopping = shutdown_requested(shutdown_receiver);
            let served = match https {
                Some(certificate) => match tls::TlsListener::new(listener, certificate) {
                    Ok(listener) => {
                        axum::serve(listener, app)
                            .with_graceful_shutdown(stopping)
                            .await
                    }
                    Err(error) => Err(error),
                },
                None => {
                    let listener = listener.tap_io(|stream| {
                        // Rows and acks are small writes that must not wait for Nagle's
                        // algorithm.
                        if let Err(error) = stream.set_nodelay(true) {
                            tracing::debug!("cannot set TCP_NODELAY: {error}");
                        }
                    });
                    axum::serve(listener, app)
                        .with_graceful_shutdown(stopping)
                        .await
                }
            };
            if let Err(error) = served {
                tracing::error!("the HTTP server stopped: {error}");
            }
        });
        Ok(HttpServer {
            local_addr,
            pg_addr,
            shutdown,
            task: Some(task),
            pg_task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address Postgres clients connect to (`HttpConfig::pg_listen`).
    pub fn pg_addr(&self) -> Option<SocketAddr> {
        self.pg_addr
    }

    /// Stops accepting, closes push queries, waits for connections to end.
    pub async fn stop(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(STOP_TIMEOUT, task).await.is_err() {
                tracing::warn!("connections still open after {STOP_TIMEOUT:?}; closing them");
                abort.abort();
            }
        }
        // The Postgres listener closes its connections as soon as it sees the signal.
        if let Some(task) = self.pg_task.take()
            && let Err(error) = task.await
        {
            tracing::warn!("the Postgres listener failed: {error}");
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// What every request handler shares.
pub(crate) struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: HttpConfig,
    /// Session properties every request starts from.
    pub(crate) default_properties: Properties,
    /// Running push queries, for `/close-query` and `SHOW QUERIES`.
    pub(crate) push_queries: Arc<PushQueries>,
    /// Command id → (status, message) of the statements run through `/ksql`, for `/status`.
    pub(crate) commands: Mutex<BTreeMap<String, (String, String)>>,
    /// The next `commandSequenceNumber`.
    pub(crate) command_sequence: AtomicI64,
    /// Becomes true when the server stops; streaming responses end then.
    pub(crate) shutdown: watch::Receiver<bool>,
    /// What `/metrics` reports of the server itself.
    pub(crate) server_metrics: Arc<ServerMetrics>,
}

impl AppState {
    /// A fresh session for one request: the default properties overridden by the request's
    /// (`ksql.streams.` prefixes removed, as `SET` does), and the request's variables.
    pub(crate) fn session(
        &self,
        properties: BTreeMap<String, String>,
        variables: BTreeMap<String, String>,
    ) -> Session {
        let mut merged = self.default_properties.clone();
        for (name, value) in properties {
            let name = name
                .strip_prefix("ksql.streams.")
                .unwrap_or(&name)
                .to_string();
            merged.insert(name, value);
        }
        Session {
            properties: merged,
            variables,
        }
    }
}

/// Resolves when the server is asked to stop (or its handle is gone).
pub(crate) async fn shutdown_requested(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _stopped = shutdown.wait_for(|stop| *stop).await.is_ok();
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(console::index).fallback(method_not_allowed))
        .route(
            "/console/console.js",
            get(console::script).fallback(method_not_allowed),
        )
        .route(
            "/console/console.css",
            get(console::style).fallback(method_not_allowed),
        )
        .route("/ksql", post(ksql::handle).fallback(method_not_allowed))
        .route("/query", post(query::handle).fallback(method_not_allowed))
        .route(
            "/query-stream",
            post(query_stream::handle).fallback(method_not_allowed),
        )
        .route(
            "/close-query",
            post(query_stream::close).fallback(method_not_allowed),
        )
        .route(
            "/inserts-stream",
            post(inserts::handle).fallback(method_not_allowed),
        )
        .route("/info", get(info::server_info).fallback(method_not_allowed))
        .route(
            "/healthcheck",
            get(info::healthcheck).fallback(method_not_allowed),
        )
        .route("/status", get(info::statuses).fallback(method_not_allowed))
        .route(
            "/metrics",
            get(metrics::handle).fallback(method_not_allowed),
        )
        .route(
            "/status/{type}/{entity}/{action}",
            get(info::status).fallback(method_not_allowed),
        )
        .merge(schema_registry::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_credentials,
        ))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics::count_requests,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::generic(error::NOT_FOUND, "Resource not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::generic(error::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// The JSON content type a client accepts: ksqlDB's versioned one when asked for, else
/// `application/json`.
fn json_content_type(headers: &HeaderMap) -> &'static str {
    let accepts_v1 = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains(KSQL_V1_JSON));
    if accepts_v1 { KSQL_V1_JSON } else { JSON }
}

/// A complete JSON response.
fn json_response(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_picks_the_json_content_type() {
        let cases = [
            (None, JSON),
            (Some("*/*"), JSON),
            (Some("application/json"), JSON),
            (Some("application/vnd.ksql.v1+json"), KSQL_V1_JSON),
            (
                Some("application/vnd.ksql.v1+json, application/json;q=0.9"),
                KSQL_V1_JSON,
            ),
        ];
        for (accept, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(accept) = accept {
                headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
            }
            assert_eq!(json_content_type(&headers), expected, "{accept:?}");
        }
    }
}
