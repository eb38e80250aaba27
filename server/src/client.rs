//! An async client of the ksqlDB REST API (as served by `eddy server` or ksqlDB itself), over
//! HTTP/1.1 or HTTP/2 cleartext with prior knowledge.
//!
//! Used by the REST conformance runner, the REPL's `--server` mode and `eddy bench pull`.
//! Streamed responses (`/query`, `/query-stream`) are parsed as their bytes arrive (see
//! `framing`), because push queries never end. Rendering results is left to the callers.

mod framing;
mod response;

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde_json::{Map, Value, json};

use self::framing::{LineSplitter, Splitter};
pub use self::response::{QueryResponse, QueryStream};

/// The content type of ksqlDB's `/ksql` and `/query` endpoints.
pub const KSQL_V1_JSON: &str = "application/vnd.ksql.v1+json";
/// The content type of `/query` rows as protobuf messages (pull queries).
pub const KSQL_V1_PROTOBUF: &str = "application/vnd.ksql.v1+protobuf";
/// The content type of `/query-stream` and `/inserts-stream` bodies: one JSON value per line.
pub const DELIMITED_V1: &str = "application/vnd.ksqlapi.delimited.v1";

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the client, sorted by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL given by the user is not usable.
    #[error("invalid server url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// The server refused the request (a 4xx/5xx status, or an error message in a stream).
    #[error("the server answered {status}: {message}")]
    Rejected {
        status: u16,
        /// The error's `message`, or the body when it has none.
        message: String,
        /// The error JSON (ksqlDB's `{"@type", "error_code", "message", ...}`).
        body: Value,
    },
    /// The server cannot be reached or the connection broke while sending.
    #[error("cannot reach the server")]
    Connect(#[source] hyper_util::client::legacy::Error),
    /// The connection broke while reading the response.
    #[error("the connection broke while reading the response")]
    Body(#[source] hyper::Error),
    /// The server sent something that is not the JSON expected.
    #[error("invalid response from the server: {0}")]
    InvalidResponse(String),
    /// A request could not be built (a bug in the client).
    #[error("internal error (this is a bug): cannot build the request")]
    Request(#[source] hyper::http::Error),
}

/// A ksqlDB REST client. Cheap to clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://host:port`, without a trailing slash.
    base: String,
    /// The `Authorization` header for basic authentication.
    authorization: Option<HeaderValue>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port`; `host:port` means http),
    /// with basic-auth `credentials` (user, password) when given. Connects lazily.
    pub fn new(
        base_url: &str,
        credentials: Option<(String, String)>,
    ) -> Result<Client, ClientError> {
        let base = normalize_base_url(base_url)?;
        let authorization = credentials
            .map(|(user, password)| {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                    ClientError::InvalidUrl {
                        url: base_url.to_string(),
                        reason: "the credentials cannot be sent in a header".to_string(),
                    }
                })
            })
            .transpose()?;
        Ok(Client {
            base,
            authorization,
            http: build_http(false),
        })
    }

    /// The same client speaking HTTP/2 with prior knowledge (h2c) instead of HTTP/1.1.
    pub fn http2(self) -> Client {
        Client {
            http: build_http(true),
            ..self
        }
    }

    /// The base URL requests go to (`http://host:port`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `POST /ksql` with `sql` (one or more statements) and `properties` as
    /// `streamsProperties`: the status and the body (an array of entities on success, an
    /// error object otherwise).
    pub async fn ksql(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
    ) -> Result<(u16, Value), ClientError> {
        let body = json!({"ksql": sql, "streamsProperties": properties});
        let response = self
            .send(Method::POST, "/ksql", KSQL_V1_JSON, KSQL_V1_JSON, body)
            .await?;
        let status = response.status().as_u16();
        Ok((status, read_json(response).await?))
    }

    /// `POST /query` (`Accept: application/vnd.ksql.v1+json`) with `sql` (one SELECT) and
    /// `properties` as `streamsProperties`. Returns once the status is known; the elements
    /// are read with `QueryResponse::next`.
    pub async fn query(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
    ) -> Result<QueryResponse, ClientError> {
        self.query_as(sql, properties, KSQL_V1_JSON).await
    }

    /// `query` with `Accept: application/vnd.ksql.v1+protobuf`: a pull query's header also
    /// gives its rows' `protoSchema`, and each row is `{"protobufBytes": <base64>}`.
    pub async fn query_protobuf(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
    ) -> Result<QueryResponse, ClientError> {
        self.query_as(sql, properties, KSQL_V1_PROTOBUF).await
    }

    async fn query_as(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
        accept: &str,
    ) -> Result<QueryResponse, ClientError> {
        let body = json!({"ksql": sql, "streamsProperties": properties});
        let response = self
            .send(Method::POST, "/query", KSQL_V1_JSON, accept, body)
            .await?;
        Ok(QueryResponse::new(
            response.status().as_u16(),
            response.into_body(),
        ))
    }

    /// `POST /query-stream` (delimited) with `sql` and `properties`. Returns once the
    /// metadata line has arrived; rows are read with `QueryStream::next_row`.
    pub async fn query_stream(
        &self,
        sql: &str,
        properties: &Map<String, Value>,
    ) -> Result<QueryStream, ClientError> {
        let body = json!({"sql": sql, "properties": properties});
        let response = self
            .send(
                Method::POST,
                "/query-stream",
                "application/json",
                DELIMITED_V1,
                body,
            )
            .await?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(rejected(status, read_json(response).await?));
        }
        QueryStream::start(status, response.into_body()).await
    }

    /// `POST /close-query`: stops the push query `query_id` started by `query_stream`.
    pub async fn close_query(&self, query_id: &str) -> Result<(), ClientError> {
        let body = json!({"queryId": query_id});
        let response = self
            .send(
                Method::POST,
                "/close-query",
                "application/json",
                "application/json",
                body,
            )
            .await?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            // The body carries nothing useful; reading it returns the connection to the pool.
            response
                .into_body()
                .collect()
                .await
                .map_err(ClientError::Body)?;
            return Ok(());
        }
        Err(rejected(status, read_json(response).await?))
    }

    /// `POST /inserts-stream`: inserts `rows` (objects of column name to value) into the stream
    /// `target` and returns the server's acks in order (`{"status":"ok","seq":N}` or
    /// `{"status":"error","seq":N,"error_code":..,"message":..}`).
    pub async fn insert_stream(
        &self,
        target: &str,
        rows: Vec<Value>,
    ) -> Result<Vec<Value>, ClientError> {
        let mut body = json!({"target": target}).to_string();
        body.push('\n');
        for row in rows {
            body.push_str(&row.to_string());
            body.push('\n');
        }
        let request = self.request(
            Method::POST,
            "/inserts-stream",
            DELIMITED_V1,
            DELIMITED_V1,
            Bytes::from(body),
        )?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(ClientError::Connect)?;
        let status = response.status().as_u16();
        if !response.status().is_success() {
            return Err(rejected(status, read_json(response).await?));
        }
        let bytes = read_bytes(response).await?;
        let mut splitter = LineSplitter::default();
        let mut acks = splitter
            .push(&bytes)
            .map_err(ClientError::InvalidResponse)?;
        acks.extend(splitter.finish().map_err(ClientError::InvalidResponse)?);
        Ok(acks)
    }

    /// `GET path` (`/info`, `/healthcheck`, `/status`...): the status and the body as JSON
    /// (a JSON string holding the text when the body is not JSON; null when empty).
    pub async fn get(&self, path: &str) -> Result<(u16, Value), ClientError> {
        let request = self.request(Method::GET, path, "", "application/json", Bytes::new())?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(ClientError::Connect)?;
        let status = response.status().as_u16();
        let bytes = read_bytes(response).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok((status, Value::Null));
        }
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, body))
    }

    /// Sends a JSON body and returns the response once its head has arrived.
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Value,
    ) -> Result<Response<Incoming>, ClientError> {
        let request = self.request(
            method,
            path,
            content_type,
            accept,
            Bytes::from(body.to_string()),
        )?;
        self.http
            .request(request)
            .await
            .map_err(ClientError::Connect)
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        accept: &str,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(ACCEPT, accept);
        if !content_type.is_empty() {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(AUTHORIZATION, authorization.clone());
        }
        builder.body(Full::new(body)).map_err(ClientError::Request)
    }
}

fn build_http(http2_only: bool) -> HyperClient<HttpConnector, Full<Bytes>> {
    let mut connector = HttpConnector::new();
    // Requests are small and latency matters (pull queries).
    connector.set_nodelay(true);
    HyperClient::builder(TokioExecutor::new())
        .http2_only(http2_only)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_timer(TokioTimer::new())
        .build(connector)
}

/// `http://host:port` from what the user typed (`host:port`, trailing slash, ...).
fn normalize_base_url(url: &str) -> Result<String, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = url.trim();
    let (scheme, rest) = trimmed.split_once("://").unwrap_or(("http", trimmed));
    let with_scheme = format!("{scheme}://{}", rest.trim_end_matches('/'));
    let uri: Uri = with_scheme
        .parse()
        .map_err(|_| invalid("expected http://host:port"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => return Err(invalid("https is not supported, use http://")),
        _ => return Err(invalid("expected http://host:port")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("the url has no host"));
    }
    if uri.query().is_some() {
        return Err(invalid("the url must not have a query string"));
    }
    Ok(with_scheme)
}

async fn read_bytes(response: Response<Incoming>) -> Result<Bytes, ClientError> {
    Ok(response
        .into_body()
        .collect()
        .await
        .map_err(ClientError::Body)?
        .to_bytes())
}

/// The whole body as JSON; an empty body is `null`.
async fn read_json(response: Response<Incoming>) -> Result<Value, ClientError> {
    let bytes = read_bytes(response).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|error| {
        ClientError::InvalidResponse(format!(
            "{error} in {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        ))
    })
}

/// A ksqlDB error message: `{"@type": "...error", "error_code": N, "message": "..."}`.
pub(crate) fn is_error_message(value: &Value) -> bool {
    value.get("error_code").is_some()
        || value
            .get("@type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.ends_with("error"))
}

pub(crate) fn rejected(status: u16, body: Value) -> ClientError {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    ClientError::Rejected {
        status,
        message,
        body,
    }
}

#[cfg(test)]
mod tests;
