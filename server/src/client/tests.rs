//! Tests of the REST client against a local server.

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
                        let stream =
                            futures_util::stream::unfold(canned.chunks, |mut chunks| async move {
                                let chunk = chunks.recv().await?;
                                Some((Ok::<_, Infallible>(Frame::data(chunk)), chunks))
                            });
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
    let error =
        r#"{"@type":"statement_error","error_code":40001,"message":"boom","statementText":"X;"}"#;
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
