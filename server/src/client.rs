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
        let body = json!({"ksql": sql, "streamsProperties": properties});
        let response = self
            .send(Method::POST, "/query", KSQL_V1_JSON, KSQL_V1_JSON, body)
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
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use http_body_util::StreamBody;
    use hyper::body::Frame;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use hyper_util::server::conn::auto;
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;

    /// What the stub server saw of one request.
    #[derive(Debug, Clone, PartialEq)]
    struct Seen {
        method: String,
        path: String,
        version: hyper::Version,
        content_type: Option<String>,
        accept: Option<String>,
        authorization: Option<String>,
        body: String,
    }

    type Chunks = mpsc::UnboundedReceiver<Bytes>;

    /// A canned answer: status and body chunks (sent as they are pushed).
    struct Canned {
        status: u16,
        chunks: Chunks,
    }

    /// A stub server on 127.0.0.1:0 (HTTP/1.1 and h2c) that records requests and answers
    /// each with the next canned response.
    async fn stub(answers: Vec<Canned>) -> (SocketAddr, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let recorded = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                let answers = Arc::clone(&answers);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let recorded = Arc::clone(&recorded);
                        let answers = Arc::clone(&answers);
                        async move {
                            let header = |name| {
                                request
                                    .headers()
                                    .get(name)
                                    .and_then(|value: &HeaderValue| value.to_str().ok())
                                    .map(str::to_string)
                            };
                            let mut seen = Seen {
                                method: request.method().to_string(),
                                path: request.uri().path().to_string(),
                                version: request.version(),
                                content_type: header(CONTENT_TYPE),
                                accept: header(ACCEPT),
                                authorization: header(AUTHORIZATION),
                                body: String::new(),
                            };
                            let body = request.into_body().collect().await.expect("body");
                            seen.body = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                            recorded.lock().expect("lock").push(seen);
                            let canned = answers.lock().expect("lock").next().expect("an answer");
                            let stream = futures_util::stream::unfold(
                                canned.chunks,
                                |mut chunks| async move {
                                    let chunk = chunks.recv().await?;
                                    Some((Ok::<_, Infallible>(Frame::data(chunk)), chunks))
                                },
                            );
                            Response::builder()
                                .status(canned.status)
                                .body(StreamBody::new(stream))
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (address, seen)
    }

    /// A canned answer whose chunks are all known up front.
    fn canned(status: u16, chunks: &[&str]) -> Canned {
        let (sender, receiver) = mpsc::unbounded_channel();
        for chunk in chunks {
            sender
                .send(Bytes::from(chunk.to_string()))
                .expect("receiver alive");
        }
        Canned {
            status,
            chunks: receiver,
        }
    }

    #[test]
    fn base_urls_are_normalized_or_rejected() {
        let cases = [
            ("http://localhost:8088", Ok("http://localhost:8088")),
            ("http://127.0.0.1:8088/", Ok("http://127.0.0.1:8088")),
            ("localhost:8088", Ok("http://localhost:8088")),
            (
                "https://host:8088",
                Err("https is not supported, use http://"),
            ),
            ("ftp://host", Err("expected http://host:port")),
            ("http://", Err("expected http://host:port")),
            (
                "http://host:8088/?a=b",
                Err("the url must not have a query string"),
            ),
        ];
        for (url, expected) in cases {
            let got = normalize_base_url(url).map_err(|error| match error {
                ClientError::InvalidUrl { reason, .. } => reason,
                other => other.to_string(),
            });
            assert_eq!(
                got,
                expected.map(str::to_string).map_err(str::to_string),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn ksql_posts_statements_and_properties_with_basic_auth() {
        let (address, seen) = stub(vec![canned(
            200,
            &[
                r#"[{"@type":"currentStatus","#,
                r#""commandStatus":{"status":"SUCCESS"}}]"#,
            ],
        )])
        .await;
        let client = Client::new(
            &format!("http://{address}"),
            Some(("alice".to_string(), "secret".to_string())),
        )
        .expect("valid url");
        let mut properties = Map::new();
        properties.insert("auto.offset.reset".to_string(), json!("earliest"));
        let (status, body) = client
            .ksql(
                "CREATE STREAM S (A INT) WITH (kafka_topic='s', value_format='JSON');",
                &properties,
            )
            .await
            .expect("answered");
        assert_eq!(status, 200);
        assert_eq!(
            body,
            json!([{"@type": "currentStatus", "commandStatus": {"status": "SUCCESS"}}])
        );
        let seen = seen.lock().expect("lock")[0].clone();
        assert_eq!(seen.method, "POST");
        assert_eq!(seen.path, "/ksql");
        assert_eq!(seen.version, hyper::Version::HTTP_11);
        assert_eq!(seen.content_type.as_deref(), Some(KSQL_V1_JSON));
        assert_eq!(seen.accept.as_deref(), Some(KSQL_V1_JSON));
        // base64("alice:secret")
        assert_eq!(
            seen.authorization.as_deref(),
            Some("Basic YWxpY2U6c2VjcmV0")
        );
        let request: Value = serde_json::from_str(&seen.body).expect("json body");
        assert_eq!(
            request,
            json!({"ksql": "CREATE STREAM S (A INT) WITH (kafka_topic='s', value_format='JSON');",
                   "streamsProperties": {"auto.offset.reset": "earliest"}})
        );
    }

    #[tokio::test]
    async fn ksql_returns_error_statuses_with_their_body() {
        let error = r#"{"@type":"statement_error","error_code":40001,"message":"boom","statementText":"X;"}"#;
        let (address, _) = stub(vec![canned(400, &[error])]).await;
        let client = Client::new(&address.to_string(), None).expect("valid url");
        let (status, body) = client.ksql("X;", &Map::new()).await.expect("answered");
        assert_eq!(status, 400);
        assert_eq!(body["message"], json!("boom"));
    }

    #[tokio::test]
    async fn query_elements_arrive_before_the_response_ends() {
        let (sender, receiver) = mpsc::unbounded_channel();
        let (address, seen) = stub(vec![Canned {
            status: 200,
            chunks: receiver,
        }])
        .await;
        let client = Client::new(&format!("http://{address}"), None).expect("valid url");
        sender
            .send(Bytes::from(
                r#"[{"header":{"queryId":"transient_1","schema":"`A` INTEGER"}},"#,
            ))
            .expect("send");
        let mut response = client
            .query("SELECT A FROM S EMIT CHANGES;", &Map::new())
            .await
            .expect("answered");
        assert_eq!(response.status, 200);
        let header = response.next().await.expect("element");
        assert_eq!(
            header,
            Some(json!({"header": {"queryId": "transient_1", "schema": "`A` INTEGER"}}))
        );
        // The push query goes on: the next row is read while the response is still open.
        sender
            .send(Bytes::from("\n{\"row\":{\"columns\":[1]}},\n{\"row\":"))
            .expect("send");
        assert_eq!(
            response.next().await.expect("element"),
            Some(json!({"row": {"columns": [1]}}))
        );
        sender
            .send(Bytes::from(
                "{\"columns\":[2]}},\n{\"finalMessage\":\"Limit Reached\"}]",
            ))
            .expect("send");
        drop(sender);
        let rest = response.collect().await.expect("rest");
        assert_eq!(
            rest,
            vec![
                json!({"row": {"columns": [2]}}),
                json!({"finalMessage": "Limit Reached"})
            ]
        );
        let seen = seen.lock().expect("lock")[0].clone();
        assert_eq!(seen.path, "/query");
        assert_eq!(seen.accept.as_deref(), Some(KSQL_V1_JSON));
    }

    #[tokio::test]
    async fn query_error_status_yields_the_error_object() {
        let (address, _) = stub(vec![canned(
            400,
            &[r#"{"@type":"statement_error","error_code":40001,"message":"no"}"#],
        )])
        .await;
        let client = Client::new(&format!("http://{address}"), None).expect("valid url");
        let response = client
            .query("SELECT 1;", &Map::new())
            .await
            .expect("answered");
        assert_eq!(response.status, 400);
        let elements = response.collect().await.expect("elements");
        assert_eq!(elements.len(), 1);
        assert_eq!(elements[0]["message"], json!("no"));
    }

    #[tokio::test]
    async fn query_stream_over_http2_reads_metadata_rows_and_closes() {
        let (address, seen) = stub(vec![
            canned(
                200,
                &[
                    "{\"queryId\":\"q7\",\"columnNames\":[\"A\"],\"columnTypes\":[\"INTEGER\"]}\n[1]\n",
                    "[2]\n",
                ],
            ),
            canned(200, &[""]),
        ])
        .await;
        let client = Client::new(&format!("http://{address}"), None)
            .expect("valid url")
            .http2();
        let mut stream = client
            .query_stream("SELECT A FROM S EMIT CHANGES;", &Map::new())
            .await
            .expect("started");
        assert_eq!(stream.query_id.as_deref(), Some("q7"));
        assert_eq!(stream.metadata["columnNames"], json!(["A"]));
        assert_eq!(stream.next_row().await.expect("row"), Some(json!([1])));
        assert_eq!(stream.next_row().await.expect("row"), Some(json!([2])));
        client.close_query("q7").await.expect("closed");
        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen[0].version, hyper::Version::HTTP_2);
        assert_eq!(seen[0].path, "/query-stream");
        assert_eq!(seen[0].accept.as_deref(), Some(DELIMITED_V1));
        assert_eq!(
            serde_json::from_str::<Value>(&seen[0].body).expect("json"),
            json!({"sql": "SELECT A FROM S EMIT CHANGES;", "properties": {}})
        );
        assert_eq!(seen[1].path, "/close-query");
        assert_eq!(
            serde_json::from_str::<Value>(&seen[1].body).expect("json"),
            json!({"queryId": "q7"})
        );
    }

    #[tokio::test]
    async fn query_stream_errors_are_rejections() {
        let (address, _) = stub(vec![
            canned(
                400,
                &[r#"{"@type":"generic_error","error_code":40000,"message":"bad sql"}"#],
            ),
            canned(
                200,
                &[
                    "{\"queryId\":null,\"columnNames\":[\"A\"]}\n",
                    "{\"@type\":\"generic_error\",\"error_code\":50000,\"message\":\"failed\"}\n",
                ],
            ),
        ])
        .await;
        let client = Client::new(&format!("http://{address}"), None).expect("valid url");
        match client.query_stream("SELECT", &Map::new()).await {
            Err(ClientError::Rejected {
                status, message, ..
            }) => assert_eq!((status, message.as_str()), (400, "bad sql")),
            other => panic!("expected a rejection, got {other:?}"),
        }
        let mut stream = client
            .query_stream("SELECT A FROM T;", &Map::new())
            .await
            .expect("started");
        assert_eq!(stream.query_id, None);
        match stream.next_row().await {
            Err(ClientError::Rejected { message, .. }) => assert_eq!(message, "failed"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn insert_stream_sends_target_then_rows_and_returns_acks() {
        let (address, seen) = stub(vec![canned(
            200,
            &[
                "{\"status\":\"ok\",\"seq\":0}\n{\"status\":\"ok\",",
                "\"seq\":1}\n",
            ],
        )])
        .await;
        let client = Client::new(&format!("http://{address}"), None)
            .expect("valid url")
            .http2();
        let acks = client
            .insert_stream("S", vec![json!({"A": 1}), json!({"A": 2})])
            .await
            .expect("inserted");
        assert_eq!(
            acks,
            vec![
                json!({"status": "ok", "seq": 0}),
                json!({"status": "ok", "seq": 1})
            ]
        );
        let seen = seen.lock().expect("lock")[0].clone();
        assert_eq!(seen.path, "/inserts-stream");
        assert_eq!(seen.body, "{\"target\":\"S\"}\n{\"A\":1}\n{\"A\":2}\n");
    }

    #[tokio::test]
    async fn get_returns_json_or_text() {
        let (address, seen) = stub(vec![
            canned(200, &[r#"{"isHealthy":true}"#]),
            canned(404, &["not found"]),
        ])
        .await;
        let client = Client::new(&format!("http://{address}"), None).expect("valid url");
        assert_eq!(
            client.get("/healthcheck").await.expect("answered"),
            (200, json!({"isHealthy": true}))
        );
        assert_eq!(
            client.get("/nope").await.expect("answered"),
            (404, json!("not found"))
        );
        assert_eq!(seen.lock().expect("lock")[0].method, "GET");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_connect_error() {
        // Bind then drop a listener: nothing listens on that port any more.
        let address = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind")
            .local_addr()
            .expect("address");
        let client = Client::new(&format!("http://{address}"), None).expect("valid url");
        let error = client.get("/info").await.expect_err("nothing listens");
        assert!(matches!(error, ClientError::Connect(_)), "{error:?}");
    }
}
