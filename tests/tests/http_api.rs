//! The REST API end to end over real HTTP: an in-process `server::http::HttpServer` on
//! 127.0.0.1:0 over a temporary engine, driven by hyper's client (HTTP/1.1 and HTTP/2).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::{HeaderMap, Method, Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use server::Engine;
use server::credential::Credential;
use server::http::{HttpConfig, HttpServer};
use tests::wait_until;
use tokio::sync::mpsc;

const TIMEOUT: Duration = Duration::from_secs(5);
const STREAM: &str = "CREATE STREAM riders (id STRING KEY, n INT) \
                      WITH (kafka_topic='riders', value_format='JSON', partitions=1);";

/// A request body: all at once, or chunk by chunk from a channel.
type TestBody = Either<Full<Bytes>, ChannelBody>;

struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(context)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A complete response.
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }
}

/// Reads a streamed response line by line.
struct Lines {
    body: Incoming,
    buffer: Vec<u8>,
}

impl Lines {
    fn new(response: Response<Incoming>) -> Self {
        Self {
            body: response.into_body(),
            buffer: Vec::new(),
        }
    }

    /// The next line (without its newline), or None at the end of the body.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                return Some(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            let frame = tokio::time::timeout(TIMEOUT, self.body.frame())
                .await
                .expect("the next line arrives in time");
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.extend_from_slice(&data);
                    }
                }
                Some(Err(error)) => panic!("body failed: {error}"),
                None if self.buffer.is_empty() => return None,
                None => {
                    let rest = std::mem::take(&mut self.buffer);
                    return Some(String::from_utf8_lossy(&rest).into_owned());
                }
            }
        }
    }
}

/// A server over a fresh engine, and HTTP/1.1 and HTTP/2 clients.
struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: Option<HttpServer>,
    engine: Arc<Engine>,
    base: String,
    http1: Client<HttpConnector, TestBody>,
    http2: Client<HttpConnector, TestBody>,
    _directory: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Self::with_config(HttpConfig::default())
    }

    fn with_config(config: HttpConfig) -> Self {
        let directory = tempfile::tempdir().expect("temp dir");
        let engine = Engine::open(directory.path()).expect("engine opens");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime
            .block_on(HttpServer::start(
                Arc::clone(&engine),
                "127.0.0.1:0".parse().expect("address"),
                config,
            ))
            .expect("server starts");
        let base = format!("http://{}", server.local_addr());
        let http1 = Client::builder(TokioExecutor::new()).build_http();
        let http2 = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build_http();
        Self {
            runtime,
            server: Some(server),
            engine,
            base,
            http1,
            http2,
            _directory: directory,
        }
    }

    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }

    /// Starts a request; the response head is returned as soon as it arrives.
    async fn send(
        &self,
        client: &Client<HttpConnector, TestBody>,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: TestBody,
    ) -> Response<Incoming> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(body).expect("valid request");
        tokio::time::timeout(TIMEOUT, client.request(request))
            .await
            .expect("response in time")
            .expect("request succeeds")
    }

    async fn reply(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let body = Either::Left(Full::new(Bytes::from(body.to_string())));
        let response = self.send(&self.http1, method, path, headers, body).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = tokio::time::timeout(TIMEOUT, response.into_body().collect())
            .await
            .expect("body in time")
            .expect("body reads")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.block_on(self.reply(Method::POST, path, &[], &body.to_string()))
    }

    fn get(&self, path: &str) -> Reply {
        self.block_on(self.reply(Method::GET, path, &[], ""))
    }

    /// POST /ksql; panics unless it answers 200.
    fn ksql(&self, sql: &str) -> Value {
        let reply = self.post("/ksql", &json!({"ksql": sql, "streamsProperties": {}}));
        assert_eq!(reply.status, 200, "{sql}: {}", reply.body);
        reply.json()
    }

    fn push_query_ids(&self) -> Vec<String> {
        let entities = self.ksql("SHOW QUERIES;");
        entities[0]["queries"]
            .as_array()
            .expect("a query list")
            .iter()
            .filter(|query| query["queryType"] == "PUSH")
            .map(|query| query["id"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
    }
}

fn earliest() -> Value {
    json!({"ksql.streams.auto.offset.reset": "earliest"})
}

#[test]
fn ksql_creates_a_stream_and_answers_current_status() {
    let fixture = Fixture::new();
    let entities = fixture.ksql(STREAM);
    let status = &entities[0];
    assert_eq!(status["@type"], "currentStatus", "{entities}");
    assert_eq!(status["commandId"], "stream/`RIDERS`/create");
    assert_eq!(status["commandStatus"]["status"], "SUCCESS");
    assert_eq!(status["commandStatus"]["message"], "Stream created");
    assert_eq!(status["statementText"], STREAM);

    let entities = fixture.ksql("SHOW STREAMS; DESCRIBE riders;");
    assert_eq!(entities[0]["@type"], "streams", "{entities}");
    assert_eq!(entities[0]["streams"][0]["name"], "RIDERS");
    assert_eq!(entities[0]["streams"][0]["type"], "STREAM");
    assert_eq!(entities[0]["streams"][0]["valueFormat"], "JSON");
    let description = &entities[1]["sourceDescription"];
    assert_eq!(entities[1]["@type"], "sourceDescription");
    assert_eq!(description["fields"][0]["name"], "ID");
    assert_eq!(description["fields"][0]["fieldType"], "KEY");
    assert_eq!(description["fields"][1]["schema"]["type"], "INTEGER");

    let statuses = fixture.get("/status").json();
    assert_eq!(
        statuses["commandStatuses"]["stream/`RIDERS`/create"],
        "SUCCESS"
    );
    let status = fixture.get("/status/stream/%60RIDERS%60/create");
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json()["message"], "Stream created");
}

#[test]
fn create_if_not_exists_of_an_existing_source_answers_a_warning_entity() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    let statement = STREAM.replacen("CREATE STREAM", "CREATE STREAM IF NOT EXISTS", 1);
    let entities = fixture.ksql(&statement);
    assert_eq!(
        entities,
        json!([{
            "@type": "warning_entity",
            "statementText": statement,
            "message": "Cannot add stream `RIDERS`: A stream with the same name already exists.",
            "warnings": [],
        }])
    );
}

#[test]
fn inserts_stream_over_http2_acks_each_row() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    let (sender, receiver) = mpsc::channel::<Bytes>(4);
    fixture.block_on(async {
        sender
            .send(Bytes::from(
                "{\"target\":\"riders\"}\n{\"id\":\"a\",\"n\":1}\n",
            ))
            .await
            .expect("send");
        let response = fixture
            .send(
                &fixture.http2,
                Method::POST,
                "/inserts-stream",
                &[],
                Either::Right(ChannelBody(receiver)),
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        let mut acks = Lines::new(response);
        let ack: Value = serde_json::from_str(&acks.next().await.expect("ack 0")).expect("JSON");
        assert_eq!(ack, json!({"status": "ok", "seq": 0}));
        // The next row goes out only after the first ack came back: a full-duplex stream.
        sender
            .send(Bytes::from(
                "{\"ID\":\"b\",\"N\":\"not a number\"}\n{\"`ID`\":\"c\",\"N\":3}\n",
            ))
            .await
            .expect("send");
        let ack: Value = serde_json::from_str(&acks.next().await.expect("ack 1")).expect("JSON");
        assert_eq!(ack["status"], "error", "{ack}");
        assert_eq!(ack["seq"], 1);
        assert_eq!(ack["error_code"], 40000);
        let ack: Value = serde_json::from_str(&acks.next().await.expect("ack 2")).expect("JSON");
        assert_eq!(ack, json!({"status": "ok", "seq": 2}));
        drop(sender);
        assert_eq!(
            acks.next().await,
            None,
            "the response ends with the request"
        );
    });
    let reply = fixture.post(
        "/query",
        &json!({
            "ksql": "SELECT * FROM riders EMIT CHANGES LIMIT 2;",
            "streamsProperties": earliest(),
        }),
    );
    let elements = reply.json();
    assert_eq!(elements[1]["row"]["columns"], json!(["a", 1]), "{elements}");
    assert_eq!(elements[2]["row"]["columns"], json!(["c", 3]), "{elements}");

    let unknown = fixture.post("/inserts-stream", &json!({"target": "nope"}));
    assert_eq!(unknown.status, 400, "{}", unknown.body);
}

#[test]
fn query_stream_push_query_reads_rows_until_close_query() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.ksql(
        "INSERT INTO riders (id, n) VALUES ('a', 1); INSERT INTO riders (id, n) VALUES ('b', 2);",
    );
    let arguments = json!({
        "sql": "SELECT id, n FROM riders EMIT CHANGES;",
        "properties": {"auto.offset.reset": "earliest"},
    });
    let (mut lines, query_id) = fixture.block_on(async {
        let body = Either::Left(Full::new(Bytes::from(arguments.to_string())));
        let response = fixture
            .send(&fixture.http2, Method::POST, "/query-stream", &[], body)
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.ksqlapi.delimited.v1"
        );
        let mut lines = Lines::new(response);
        let metadata: Value =
            serde_json::from_str(&lines.next().await.expect("metadata")).expect("JSON");
        assert_eq!(metadata["columnNames"], json!(["ID", "N"]), "{metadata}");
        assert_eq!(metadata["columnTypes"], json!(["STRING", "INTEGER"]));
        let mut rows = vec![
            lines.next().await.expect("row 1"),
            lines.next().await.expect("row 2"),
        ];
        rows.sort();
        assert_eq!(rows, vec!["[\"a\",1]", "[\"b\",2]"]);
        let query_id = metadata["queryId"].as_str().expect("an id").to_string();
        (lines, query_id)
    });
    assert!(query_id.starts_with("transient_RIDERS_"), "{query_id}");
    assert_eq!(fixture.push_query_ids(), vec![query_id.clone()]);

    let closed = fixture.post("/close-query", &json!({"queryId": query_id}));
    assert_eq!(closed.status, 200, "{}", closed.body);
    fixture.block_on(async {
        assert_eq!(lines.next().await, None, "close-query ends the response");
    });
    wait_until(TIMEOUT, "the push query to be gone", || {
        Ok(fixture.push_query_ids().is_empty())
    })
    .expect("closed");
    let again = fixture.post("/close-query", &json!({"queryId": query_id}));
    assert_eq!(again.status, 400);
    assert_eq!(
        again.json()["message"],
        format!("No query with id {query_id}")
    );

    // TERMINATE ends a /query push query, which then sends its final message.
    let mut lines = fixture.block_on(async {
        let body = Either::Left(Full::new(Bytes::from(
            json!({"ksql": "SELECT * FROM riders EMIT CHANGES;"}).to_string(),
        )));
        let response = fixture
            .send(&fixture.http1, Method::POST, "/query", &[], body)
            .await;
        let mut lines = Lines::new(response);
        let header = lines
            .next()
            .await
            .expect("the header arrives before any row");
        assert!(header.starts_with("[{\"header\""), "{header}");
        lines
    });
    let ids = fixture.push_query_ids();
    assert_eq!(ids.len(), 1);
    let terminated = fixture.ksql(&format!("TERMINATE {};", ids[0].to_lowercase()));
    assert_eq!(
        terminated[0],
        json!({
            "@type": "terminate_query",
            "statementText": format!("TERMINATE {};", ids[0].to_lowercase()),
            "queryId": ids[0],
            "wasTerminated": true,
            "warnings": [],
        })
    );
    fixture.block_on(async {
        assert_eq!(
            lines.next().await.as_deref(),
            Some("{\"finalMessage\":\"Query Completed\"}]")
        );
    });
}

/// `DESCRIBE ... EXTENDED` of an aggregation's sink and of a join's sink shows the bytes of
/// the query's state in ksqlDB's `statistics` line and in `statisticsMap`; a source no
/// stateful query writes shows neither.
#[test]
fn describe_extended_shows_the_state_size_of_stateful_queries() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.ksql(
        "CREATE TABLE names (id STRING PRIMARY KEY, name STRING)
           WITH (kafka_topic='names', value_format='JSON', partitions=1);
         INSERT INTO names (id, name) VALUES ('a', 'ann');
         INSERT INTO riders (id, n) VALUES ('a', 1);",
    );
    let mut query_ids = Vec::new();
    for sql in [
        "CREATE TABLE totals AS SELECT id, COUNT(*) AS c FROM riders GROUP BY id;",
        "CREATE STREAM named AS SELECT r.id, n, name FROM riders r JOIN names t ON r.id = t.id;",
    ] {
        let created = fixture.ksql(sql);
        let id = created[0]["commandStatus"]["queryId"].as_str();
        query_ids.push(id.expect("the persistent query's id").to_string());
    }
    wait_until(TIMEOUT, "the queries to catch up", || {
        Ok(fixture.engine.queries_caught_up()?)
    })
    .expect("caught up");
    for (sink, id) in ["TOTALS", "NAMED"].into_iter().zip(&query_ids) {
        let bytes = executor::query::query_state_bytes(fixture.engine.state_store(), id)
            .expect("state readable");
        assert!(bytes > 0, "{id} keeps state");
        let entities = fixture.ksql(&format!("DESCRIBE {sink} EXTENDED;"));
        let description = &entities[0]["sourceDescription"];
        assert_eq!(
            description["statisticsMap"],
            json!({"state-bytes": bytes}),
            "{entities}"
        );
        let statistics = description["statistics"].as_str().unwrap_or_default();
        assert!(
            statistics.ends_with(&format!("   state-bytes: {bytes}")),
            "{statistics}"
        );
    }
    let entities = fixture.ksql("DESCRIBE riders EXTENDED;");
    let description = &entities[0]["sourceDescription"];
    assert_eq!(description["statisticsMap"], json!({}), "{entities}");
    let statistics = description["statistics"].as_str().unwrap_or_default();
    assert!(!statistics.contains("state-bytes"), "{statistics}");
}

#[test]
fn query_pull_over_a_table_marks_key_columns_in_the_header() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.ksql(
        "INSERT INTO riders (id, n) VALUES ('a', 1);
         INSERT INTO riders (id, n) VALUES ('b', 2);
         INSERT INTO riders (id, n) VALUES ('a', 3);",
    );
    let created = fixture.ksql(
        "CREATE TABLE totals AS SELECT id, COUNT(*) AS c, SUM(n) AS s FROM riders GROUP BY id;",
    );
    let query_id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .expect("the persistent query's id");
    assert!(query_id.starts_with("CTAS_TOTALS"), "{created}");
    wait_until(TIMEOUT, "the table to catch up", || {
        Ok(fixture.engine.queries_caught_up()?)
    })
    .expect("caught up");
    let reply = fixture.block_on(fixture.reply(
        Method::POST,
        "/query",
        &[("accept", "application/vnd.ksql.v1+json")],
        &json!({"ksql": "SELECT * FROM totals;"}).to_string(),
    ));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/vnd.ksql.v1+json");
    let elements = reply.json();
    assert_eq!(
        elements[0]["header"]["schema"], "`ID` STRING KEY, `C` BIGINT, `S` INTEGER",
        "{elements}"
    );
    let mut rows: Vec<String> = elements
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|element| element.get("row"))
        .map(|row| row["columns"].to_string())
        .collect();
    rows.sort();
    assert_eq!(rows, vec!["[\"a\",2,4]", "[\"b\",1,2]"], "{elements}");
}

#[test]
fn query_push_with_limit_ends_with_limit_reached() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.ksql(
        "INSERT INTO riders (id, n) VALUES ('a', 1);
         INSERT INTO riders (id, n) VALUES ('b', 2);
         INSERT INTO riders (id, n) VALUES ('c', 3);",
    );
    let reply = fixture.post(
        "/query",
        &json!({
            "ksql": "SELECT n FROM riders EMIT CHANGES LIMIT 2;",
            "streamsProperties": earliest(),
        }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    assert!(
        reply.body.contains("}},\n{\"row\""),
        "one element per line: {}",
        reply.body
    );
    let elements = reply.json();
    assert_eq!(elements[0]["header"]["schema"], "`N` INTEGER", "{elements}");
    assert!(
        elements[0]["header"]["queryId"]
            .as_str()
            .is_some_and(|id| id.starts_with("transient_RIDERS_")),
        "{elements}"
    );
    assert_eq!(elements[1], json!({"row": {"columns": [1]}}));
    assert_eq!(elements[2], json!({"row": {"columns": [2]}}));
    assert_eq!(elements[3], json!({"finalMessage": "Limit Reached"}));
    assert_eq!(elements.as_array().map(Vec::len), Some(4));

    // The same over /query-stream, HTTP/1.1, as one JSON array.
    let reply = fixture.block_on(
        fixture.reply(
            Method::POST,
            "/query-stream",
            &[("accept", "application/json")],
            &json!({
                "sql": "SELECT id, n FROM riders EMIT CHANGES LIMIT 2;",
                "properties": {"auto.offset.reset": "earliest"},
            })
            .to_string(),
        ),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), "application/json");
    let elements = reply.json();
    assert_eq!(elements[0]["columnNames"], json!(["ID", "N"]), "{elements}");
    assert_eq!(elements[1], json!(["a", 1]));
    assert_eq!(elements[2], json!(["b", 2]));
    assert_eq!(elements.as_array().map(Vec::len), Some(3));
}

/// Every non-empty DATA frame (HTTP/2) or chunk (HTTP/1.1) of a response, in order, as
/// text. (HTTP/2 ends a response with an empty frame, as ksqlDB's server does too.)
async fn frames(response: Response<Incoming>) -> Vec<String> {
    let mut body = response.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = tokio::time::timeout(TIMEOUT, body.frame())
        .await
        .expect("the next frame arrives in time")
    {
        if let Ok(data) = frame.expect("body reads").into_data()
            && !data.is_empty()
        {
            frames.push(String::from_utf8_lossy(&data).into_owned());
        }
    }
    frames
}

/// Several third-party ksqlDB clients parse each frame of `/query-stream` as one JSON value,
/// as ksqlDB writes them: the metadata, each row and the end are separate writes, also for a
/// backlog that is ready all at once and for pull queries.
#[test]
fn query_responses_write_each_row_in_its_own_frame() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.ksql(
        "INSERT INTO riders (id, n) VALUES ('a', 1);
         INSERT INTO riders (id, n) VALUES ('b', 2);
         INSERT INTO riders (id, n) VALUES ('c', 3);",
    );
    fixture.ksql("CREATE TABLE totals AS SELECT id, SUM(n) AS s FROM riders GROUP BY id;");
    wait_until(TIMEOUT, "the table to catch up", || {
        Ok(fixture.engine.queries_caught_up()?)
    })
    .expect("caught up");
    let delimited = [
        ("SELECT id, n FROM riders EMIT CHANGES LIMIT 3;", 3),
        ("SELECT * FROM totals;", 3),
        ("SELECT * FROM totals WHERE id = 'b';", 1),
    ];
    for (client, version) in [(&fixture.http2, "HTTP/2"), (&fixture.http1, "HTTP/1.1")] {
        for (sql, rows) in delimited {
            let frames = fixture.block_on(async {
                let body = json!({"sql": sql, "properties": {"auto.offset.reset": "earliest"}});
                let body = Either::Left(Full::new(Bytes::from(body.to_string())));
                frames(
                    fixture
                        .send(client, Method::POST, "/query-stream", &[], body)
                        .await,
                )
                .await
            });
            assert_eq!(frames.len(), 1 + rows, "{version} {sql}: {frames:?}");
            let values: Vec<Value> = frames
                .iter()
                .map(|frame| {
                    assert!(frame.ends_with('\n'), "{version} {sql}: {frame:?}");
                    serde_json::from_str(frame).unwrap_or_else(|error| {
                        panic!("{version} {sql}: frame {frame:?} is not one JSON value: {error}")
                    })
                })
                .collect();
            assert!(
                values[0]["queryId"].is_string(),
                "{version} {sql}: {values:?}"
            );
            assert!(
                values[1..].iter().all(Value::is_array),
                "{version} {sql}: {values:?}"
            );
        }
        // `/query`: the header, each row and the final message are written one at a time.
        let frames = fixture.block_on(async {
            let body = json!({
                "ksql": "SELECT n FROM riders EMIT CHANGES LIMIT 3;",
                "streamsProperties": earliest(),
            });
            let body = Either::Left(Full::new(Bytes::from(body.to_string())));
            frames(
                fixture
                    .send(client, Method::POST, "/query", &[], body)
                    .await,
            )
            .await
        });
        assert_eq!(frames.len(), 5, "{version}: {frames:?}");
        assert!(frames[0].starts_with("[{\"header\""), "{frames:?}");
        for (frame, n) in frames[1..4].iter().zip(1..) {
            assert_eq!(frame, &format!("{{\"row\":{{\"columns\":[{n}]}}}},\n"));
        }
        assert_eq!(frames[4], "{\"finalMessage\":\"Limit Reached\"}]");
    }
}

#[test]
fn a_vanished_client_stops_its_push_query() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    fixture.block_on(async {
        let body = Either::Left(Full::new(Bytes::from(
            json!({"ksql": "SELECT * FROM riders EMIT CHANGES;"}).to_string(),
        )));
        let response = fixture
            .send(&fixture.http1, Method::POST, "/query", &[], body)
            .await;
        let mut lines = Lines::new(response);
        let header = lines.next().await.expect("the header");
        assert!(header.starts_with("[{\"header\""), "{header}");
        // Dropping the response closes the connection.
    });
    // Dropping an unfinished response makes the client close its connection.
    wait_until(TIMEOUT, "the push query to stop", || {
        Ok(fixture.push_query_ids().is_empty())
    })
    .expect("stopped");
}

#[test]
fn errors_are_ksqldb_error_json() {
    let fixture = Fixture::new();
    // A failing statement reports the entities of the statements before it.
    let reply = fixture.post(
        "/ksql",
        &json!({"ksql": format!("{STREAM}\nDROP STREAM nope;")}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = reply.json();
    assert_eq!(error["@type"], "statement_error", "{error}");
    assert_eq!(error["error_code"], 40001);
    assert_eq!(error["statementText"], "DROP STREAM nope;");
    assert_eq!(error["entities"][0]["@type"], "currentStatus");

    // Parse errors keep their line:column.
    let reply = fixture.post("/ksql", &json!({"ksql": "SHOW STREAMS;\nSHOW STREEMS;"}));
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = reply.json();
    assert_eq!(error["@type"], "statement_error");
    let message = error["message"].as_str().expect("a message");
    assert!(message.starts_with("line 2:"), "{message}");

    // Queries belong to /query.
    let reply = fixture.post(
        "/ksql",
        &json!({"ksql": "SELECT * FROM riders EMIT CHANGES;"}),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error_code"], 40002);

    let cases = [
        (Method::POST, "/ksql", "{not json", 400, 40000),
        (
            Method::POST,
            "/ksql",
            "{\"sql\": \"SHOW STREAMS;\"}",
            400,
            40000,
        ),
        (Method::POST, "/ksql", "[]", 400, 40000),
        (Method::POST, "/query-stream", "{\"sql\": 1}", 400, 40000),
        (Method::POST, "/close-query", "{}", 400, 40000),
        (Method::GET, "/ksql", "", 405, 40500),
        (Method::GET, "/nowhere", "", 404, 40400),
    ];
    for (method, path, body, status, code) in cases {
        let reply = fixture.block_on(fixture.reply(method.clone(), path, &[], body));
        assert_eq!(
            reply.status, status,
            "{method} {path} {body}: {}",
            reply.body
        );
        let error = reply.json();
        assert_eq!(error["@type"], "generic_error", "{method} {path}: {error}");
        assert_eq!(error["error_code"], code, "{method} {path}: {error}");
        assert_eq!(reply.header("content-type"), "application/json");
    }
}

#[test]
fn basic_auth_refuses_requests_without_valid_credentials() {
    let fixture = Fixture::with_config(HttpConfig {
        users: Some(BTreeMap::from([(
            "alice".to_string(),
            Credential::Plain("s3cret".to_string()),
        )])),
        ..HttpConfig::default()
    });
    let anonymous = fixture.get("/info");
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.header("www-authenticate"), "Basic realm=\"Eddy\"");
    assert_eq!(
        anonymous.json(),
        json!({"@type": "generic_error", "error_code": 40100, "message": "Unauthorized"})
    );
    // "alice:wrong" and "alice:s3cret" in base64.
    let wrong = fixture.block_on(fixture.reply(
        Method::GET,
        "/info",
        &[("authorization", "Basic YWxpY2U6d3Jvbmc=")],
        "",
    ));
    assert_eq!(wrong.status, 401);
    let right = fixture.block_on(fixture.reply(
        Method::POST,
        "/ksql",
        &[("authorization", "Basic YWxpY2U6czNjcmV0")],
        &json!({"ksql": "SHOW STREAMS;"}).to_string(),
    ));
    assert_eq!(right.status, 200, "{}", right.body);
}

#[test]
fn oversized_bodies_are_refused_with_413() {
    let fixture = Fixture::with_config(HttpConfig {
        max_body_bytes: 1024,
        ..HttpConfig::default()
    });
    let sql = format!("SHOW STREAMS; -- {}", "x".repeat(2000));
    let reply = fixture.post("/ksql", &json!({ "ksql": sql }));
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.json()["error_code"], 41300);
    let small = fixture.post("/ksql", &json!({"ksql": "SHOW STREAMS;"}));
    assert_eq!(small.status, 200, "{}", small.body);
}

#[test]
fn info_and_healthcheck_answer_like_ksqldb() {
    let fixture = Fixture::new();
    let info = fixture.get("/info");
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["KsqlServerInfo"]["version"], "0.29.0", "{info}");
    assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING");
    assert_eq!(info["KsqlServerInfo"]["ksqlServiceId"], "default_");
    assert!(info["KsqlServerInfo"]["kafkaClusterId"].is_string());
    let health = fixture.get("/healthcheck").json();
    assert_eq!(health["isHealthy"], true, "{health}");
    assert_eq!(health["details"]["kafka"]["isHealthy"], true);
}

#[test]
fn stopping_the_server_ends_push_queries() {
    let mut fixture = Fixture::new();
    fixture.ksql(STREAM);
    let mut lines = fixture.block_on(async {
        let body = Either::Left(Full::new(Bytes::from(
            json!({"sql": "SELECT * FROM riders EMIT CHANGES;"}).to_string(),
        )));
        let response = fixture
            .send(&fixture.http2, Method::POST, "/query-stream", &[], body)
            .await;
        let mut lines = Lines::new(response);
        lines.next().await.expect("metadata");
        lines
    });
    let server = fixture.server.take().expect("running");
    fixture.block_on(async {
        tokio::time::timeout(TIMEOUT, server.stop())
            .await
            .expect("stop finishes");
        assert_eq!(lines.next().await, None, "the response ended");
    });
}

/// `/metrics` read by Prometheus's reference parser (PyPI `prometheus-client`, which
/// `./dev test` installs): [(name, labels, value)].
fn scrape(fixture: &Fixture) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let reply = fixture.get("/metrics");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .starts_with("text/plain; version=0.0.4"),
        "{}",
        reply.header("content-type")
    );
    let script = tests::manifest_dir().join("python/parse_prometheus.py");
    let output = tests::run_command(
        std::process::Command::new("python3").arg(script),
        reply.body.as_bytes(),
        TIMEOUT,
    )
    .expect("python3 runs");
    assert!(
        output.status.success(),
        "the prometheus-client parser refused /metrics (is the package installed? \
         `python3 -m pip install prometheus-client==0.26.0`, as ./dev test does)\n{}\n{}",
        tests::describe_output(&output),
        reply.body
    );
    serde_json::from_slice(&output.stdout).expect("the parser's samples as JSON")
}

/// The value of the sample `name` whose labels include `labels`.
fn metric(
    samples: &[(String, BTreeMap<String, String>, f64)],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    samples
        .iter()
        .find(|(sample, sample_labels, _)| {
            sample == name
                && labels.iter().all(|(label, value)| {
                    sample_labels.get(*label).map(String::as_str) == Some(*value)
                })
        })
        .map(|(_, _, value)| *value)
}

#[test]
fn metrics_are_prometheus_text_and_move_as_records_flow() {
    let fixture = Fixture::new();
    fixture.ksql(STREAM);
    let created = fixture.ksql("CREATE STREAM big AS SELECT id, n FROM riders WHERE n > 1;");
    let query_id = created[0]["commandStatus"]["queryId"]
        .as_str()
        .expect("the persistent query's id")
        .to_string();
    let query = [("query_id", query_id.as_str())];
    let before = scrape(&fixture);
    assert_eq!(
        metric(&before, "eddy_query_records_consumed_total", &query),
        Some(0.0)
    );

    fixture.ksql(
        "INSERT INTO riders (id, n) VALUES ('a', 1);
         INSERT INTO riders (id, n) VALUES ('b', 2);
         INSERT INTO riders (id, n) VALUES ('c', 3);",
    );
    // A record the query cannot deserialize is counted and skipped.
    fixture
        .engine
        .topic_log()
        .produce(
            "riders",
            vec![(
                0,
                executor::Record {
                    key: Some(b"d".to_vec()),
                    value: Some(b"{not json".to_vec()),
                    timestamp: 1,
                    headers: vec![],
                },
            )],
        )
        .expect("a raw record is written");
    wait_until(TIMEOUT, "the query to catch up", || {
        Ok(fixture.engine.queries_caught_up()?)
    })
    .expect("caught up");
    // Pull and push queries are counted by the server.
    let pull = fixture.post("/query", &json!({"ksql": "SELECT * FROM big;"}));
    assert_eq!(pull.status, 200, "{}", pull.body);
    let refused = fixture.post("/query", &json!({"ksql": "SELECT * FROM nowhere;"}));
    assert_eq!(refused.status, 400, "{}", refused.body);
    fixture.ksql("CREATE TABLE totals AS SELECT id, COUNT(*) AS c FROM riders GROUP BY id;");
    wait_until(TIMEOUT, "the table to catch up", || {
        Ok(fixture.engine.queries_caught_up()?)
    })
    .expect("caught up");
    let pull = fixture.post("/query", &json!({"ksql": "SELECT * FROM totals;"}));
    assert_eq!(pull.status, 200, "{}", pull.body);
    let push = fixture.post(
        "/query",
        &json!({"ksql": "SELECT * FROM riders EMIT CHANGES LIMIT 1;", "streamsProperties": earliest()}),
    );
    assert_eq!(push.status, 200, "{}", push.body);

    let after = scrape(&fixture);
    let value = |name: &str, labels: &[(&str, &str)]| {
        metric(&after, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in {after:?}"))
    };
    // Consumed: every record read, the one that failed included.
    assert_eq!(value("eddy_query_records_consumed_total", &query), 4.0);
    assert_eq!(value("eddy_query_records_produced_total", &query), 2.0);
    assert_eq!(
        value("eddy_query_deserialization_errors_total", &query),
        1.0
    );
    assert_eq!(value("eddy_query_late_records_dropped_total", &query), 0.0);
    let epochs = value("eddy_query_epochs_committed_total", &query);
    assert!(epochs >= 1.0, "{epochs}");
    assert_eq!(
        value("eddy_query_commit_latency_seconds_count", &query),
        epochs
    );
    let lag = [
        ("query_id", query_id.as_str()),
        ("topic", "riders"),
        ("partition", "0"),
    ];
    assert_eq!(value("eddy_query_consumer_lag", &lag), 0.0);
    assert!(value("eddy_query_state_bytes", &[]) >= 0.0);
    assert_eq!(value("eddy_pull_queries_total", &[]), 2.0);
    assert_eq!(value("eddy_pull_query_latency_seconds_count", &[]), 2.0);
    assert_eq!(value("eddy_push_queries_total", &[]), 1.0);
    assert_eq!(value("eddy_push_queries_running", &[]), 0.0);
    let requests = |endpoint: &str, status: &str| {
        metric(
            &after,
            "eddy_http_requests_total",
            &[
                ("endpoint", endpoint),
                ("method", "POST"),
                ("status", status),
            ],
        )
    };
    assert_eq!(requests("/query", "400"), Some(1.0));
    assert_eq!(requests("/query", "200"), Some(3.0));
    assert!(requests("/ksql", "200").is_some_and(|count| count >= 4.0));
}
