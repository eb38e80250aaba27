//! The Schema Registry API of `eddy server` over real HTTP (every endpoint and its error
//! codes, persistence, authentication), and an engine using another registry through
//! `ksql.schema.registry.url`: a second in-process server whose ids differ from the first
//! engine's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use server::credential::Credential;
use server::http::{HttpConfig, HttpServer};
use server::{Engine, Session};
use tests::{execute, wait_until};

const TIMEOUT: Duration = Duration::from_secs(10);
const V1_JSON: &str = "application/vnd.schemaregistry.v1+json";

const USER_V1: &str = r#"{"type": "record", "name": "User", "fields": [{"name": "ID", "type": "long"}, {"name": "NAME", "type": "string"}]}"#;
/// V1 plus a field with a default: BACKWARD compatible.
const USER_V2: &str = r#"{"type":"record","name":"User","fields":[{"name":"ID","type":"long"},{"name":"NAME","type":"string"},{"name":"AGE","type":["null","int"],"default":null}]}"#;
/// V2 plus a field without a default: not BACKWARD compatible.
const USER_V3: &str = r#"{"type":"record","name":"User","fields":[{"name":"ID","type":"long"},{"name":"NAME","type":"string"},{"name":"AGE","type":["null","int"],"default":null},{"name":"EMAIL","type":"string"}]}"#;

/// A complete response.
struct Reply {
    status: u16,
    content_type: String,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    /// Asserts a Confluent error: status and `error_code`.
    fn assert_error(&self, status: u16, error_code: u64) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.json()["error_code"],
            json!(error_code),
            "{}",
            self.body
        );
        assert!(self.json()["message"].is_string(), "{}", self.body);
    }
}

/// An engine served over HTTP on 127.0.0.1:0.
struct Served {
    runtime: tokio::runtime::Runtime,
    server: Option<HttpServer>,
    engine: Arc<Engine>,
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    /// `Authorization` sent with every request.
    authorization: Option<String>,
    directory: tempfile::TempDir,
}

impl Served {
    fn start(config: HttpConfig) -> Self {
        Self::start_with_properties(config, BTreeMap::new())
    }

    /// A server with default session properties, as `eddy server --config FILE` gives them.
    fn start_with_properties(config: HttpConfig, properties: BTreeMap<String, String>) -> Self {
        let directory = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut served = Self {
            runtime,
            server: None,
            engine: Engine::open(&directory.path().join("data")).expect("engine opens"),
            base: String::new(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            authorization: None,
            directory,
        };
        served.serve(config, properties);
        served
    }

    fn serve(&mut self, config: HttpConfig, properties: BTreeMap<String, String>) {
        let server = self
            .runtime
            .block_on(HttpServer::start_with_properties(
                Arc::clone(&self.engine),
                "127.0.0.1:0".parse().expect("address"),
                config,
                properties,
            ))
            .expect("server starts");
        self.base = format!("http://{}", server.local_addr());
        self.server = Some(server);
    }

    /// Stops the server, reopens the engine on the same directory and serves it again.
    fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.stop());
        }
        // The old engine must be gone (its store unlocked) before the directory reopens: a
        // throwaway engine takes its place meanwhile.
        let throwaway = self.directory.path().join("throwaway");
        self.engine = Engine::open(&throwaway).expect("throwaway engine");
        self.engine = Engine::open(&self.directory.path().join("data")).expect("engine reopens");
        self.serve(HttpConfig::default(), BTreeMap::new());
    }

    fn request(&self, method: Method, path: &str, body: Option<&str>, content_type: &str) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("accept", V1_JSON);
        if body.is_some() && !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
            .expect("valid request");
        self.runtime.block_on(async {
            let response = tokio::time::timeout(TIMEOUT, self.http.request(request))
                .await
                .expect("response in time")
                .expect("request succeeds");
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
                .await
                .expect("body in time")
                .expect("body reads")
                .to_bytes();
            Reply {
                status,
                content_type,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }

    fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, "")
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(&body.to_string()), V1_JSON)
    }

    fn put(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(&body.to_string()), V1_JSON)
    }

    fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None, "")
    }
}

/// The compact form the registry stores.
fn compact(text: &str) -> String {
    planner::schema_registry::json_tree::JsonTree::parse(text)
        .expect("JSON")
        .to_string()
}

#[test]
fn registry_endpoints_answer_as_confluent_schema_registry_does() {
    let served = Served::start(HttpConfig::default());
    let empty = served.get("/subjects");
    assert_eq!((empty.status, empty.json()), (200, json!([])));
    assert_eq!(empty.content_type, V1_JSON);
    assert_eq!(
        served.get("/config").json(),
        json!({"compatibilityLevel": "BACKWARD"})
    );
    assert_eq!(
        served.get("/schemas/types").json(),
        json!(["JSON", "PROTOBUF", "AVRO"])
    );

    // Register, then register the same schema again (spaced otherwise, as plain JSON).
    let registered = served.post(
        "/subjects/users-value/versions",
        &json!({"schema": USER_V1}),
    );
    assert_eq!(
        (registered.status, registered.json()),
        (200, json!({"id": 1}))
    );
    let again = served.request(
        Method::POST,
        "/subjects/users-value/versions",
        Some(&json!({"schema": compact(USER_V1), "schemaType": "AVRO"}).to_string()),
        "application/json",
    );
    assert_eq!(again.json(), json!({"id": 1}));

    let v1 = compact(USER_V1);
    let reads = [
        ("/subjects", json!(["users-value"])),
        ("/subjects/users-value/versions", json!([1])),
        (
            "/subjects/users-value/versions/latest",
            json!({"subject": "users-value", "version": 1, "id": 1, "schema": v1}),
        ),
        (
            "/subjects/users-value/versions/1",
            json!({"subject": "users-value", "version": 1, "id": 1, "schema": v1}),
        ),
        ("/schemas/ids/1", json!({"schema": v1})),
        (
            "/schemas/ids/1/versions",
            json!([{"subject": "users-value", "version": 1}]),
        ),
    ];
    for (path, expected) in reads {
        let reply = served.get(path);
        assert_eq!((reply.status, reply.json()), (200, expected), "{path}");
    }
    for path in [
        "/subjects/users-value/versions/1/schema",
        "/subjects/users-value/versions/latest/schema",
        "/schemas/ids/1/schema",
    ] {
        let reply = served.get(path);
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, v1.as_str()),
            "{path}"
        );
    }

    // Compatibility checks under BACKWARD.
    let check = |schema: &str, path: &str| served.post(path, &json!({"schema": schema}));
    let latest = "/compatibility/subjects/users-value/versions/latest";
    assert_eq!(
        check(USER_V2, latest).json(),
        json!({"is_compatible": true})
    );
    assert_eq!(
        check(USER_V3, latest).json(),
        json!({"is_compatible": false})
    );
    let verbose = check(USER_V3, &format!("{latest}?verbose=true")).json();
    assert_eq!(verbose["is_compatible"], json!(false));
    assert!(
        verbose["messages"][0]
            .as_str()
            .is_some_and(|message| message.contains("EMAIL")),
        "{verbose}"
    );
    assert_eq!(
        check(USER_V2, "/compatibility/subjects/users-value/versions").json(),
        json!({"is_compatible": true})
    );
    check(USER_V2, "/compatibility/subjects/nope/versions/latest").assert_error(404, 40401);
    check(USER_V2, "/compatibility/subjects/users-value/versions/9").assert_error(404, 40402);

    // An incompatible version is refused; a compatible one gets the next id.
    check(USER_V3, "/subjects/users-value/versions").assert_error(409, 409);
    assert_eq!(
        check(USER_V2, "/subjects/users-value/versions").json(),
        json!({"id": 2})
    );

    // Lookup.
    let found = check(USER_V1, "/subjects/users-value");
    assert_eq!(
        found.json(),
        json!({"subject": "users-value", "version": 1, "id": 1, "schema": v1})
    );
    check("\"string\"", "/subjects/users-value").assert_error(404, 40403);
    check(USER_V1, "/subjects/nope").assert_error(404, 40401);

    // Errors of reads and of bad requests.
    served
        .get("/subjects/nope/versions")
        .assert_error(404, 40401);
    served
        .get("/subjects/nope/versions/latest")
        .assert_error(404, 40401);
    served
        .get("/subjects/users-value/versions/7")
        .assert_error(404, 40402);
    served
        .get("/subjects/users-value/versions/zero")
        .assert_error(422, 42202);
    served.get("/schemas/ids/99").assert_error(404, 40403);
    served
        .get("/schemas/ids/99/schema")
        .assert_error(404, 40403);
    check("{bad", "/subjects/x-value/versions").assert_error(422, 42201);
    check(r#"{"type": "nope"}"#, "/subjects/x-value/versions").assert_error(422, 42201);
    served
        .post(
            "/subjects/x-value/versions",
            &json!({"schema": "message {", "schemaType": "PROTOBUF"}),
        )
        .assert_error(422, 42201);
    served
        .request(
            Method::POST,
            "/subjects/x-value/versions",
            Some("not json"),
            V1_JSON,
        )
        .assert_error(400, 400);

    // Compatibility levels: the registry's and a subject's.
    assert_eq!(
        served
            .put("/config", &json!({"compatibility": "NONE"}))
            .json(),
        json!({"compatibility": "NONE"})
    );
    assert_eq!(
        served.get("/config").json(),
        json!({"compatibilityLevel": "NONE"})
    );
    served
        .put("/config", &json!({"compatibility": "SIDEWAYS"}))
        .assert_error(422, 42203);
    served.get("/config/users-value").assert_error(404, 40408);
    assert_eq!(
        served
            .get("/config/users-value?defaultToGlobal=true")
            .json(),
        json!({"compatibilityLevel": "NONE"})
    );
    served.put("/config/users-value", &json!({"compatibility": "FULL"}));
    assert_eq!(
        served.get("/config/users-value").json(),
        json!({"compatibilityLevel": "FULL"})
    );
    check(USER_V3, "/subjects/users-value/versions").assert_error(409, 409);
    served.put("/config/users-value", &json!({"compatibility": "none"}));
    assert_eq!(
        check(USER_V3, "/subjects/users-value/versions").json(),
        json!({"id": 3})
    );

    // Other schema types, and references.
    let json_schema = r#"{"type":"object","properties":{"A":{"type":"integer"}}}"#;
    let registered = served.post(
        "/subjects/other-value/versions",
        &json!({"schema": json_schema, "schemaType": "JSON"}),
    );
    assert_eq!(registered.json(), json!({"id": 4}));
    assert_eq!(
        served.get("/schemas/ids/4").json(),
        json!({"schema": json_schema, "schemaType": "JSON"})
    );
    let dependency = "syntax = \"proto3\"; message D { string s = 1; }";
    served.post(
        "/subjects/d.proto/versions",
        &json!({"schema": dependency, "schemaType": "PROTOBUF"}),
    );
    let importing = "syntax = \"proto3\"; import \"d.proto\"; message M { D d = 1; }";
    let reference = json!([{"name": "d.proto", "subject": "d.proto", "version": 1}]);
    let id = served.post(
        "/subjects/m-value/versions",
        &json!({"schema": importing, "schemaType": "PROTOBUF", "references": reference}),
    );
    assert_eq!(id.json(), json!({"id": 6}));
    assert_eq!(
        served.get("/subjects/m-value/versions/1").json(),
        json!({"subject": "m-value", "version": 1, "id": 6, "schema": importing,
               "schemaType": "PROTOBUF", "references": reference})
    );

    // Deletion: the subject goes, its schemas keep their ids.
    assert_eq!(
        served.delete("/subjects/users-value").json(),
        json!([1, 2, 3])
    );
    served
        .get("/subjects/users-value/versions")
        .assert_error(404, 40401);
    served
        .delete("/subjects/users-value")
        .assert_error(404, 40401);
    assert_eq!(served.get("/schemas/ids/1").status, 200);
    assert_eq!(
        served.get("/subjects").json(),
        json!(["d.proto", "m-value", "other-value"])
    );
}

#[test]
fn registrations_through_the_api_persist_and_feed_schema_inference() {
    let mut served = Served::start(HttpConfig::default());
    served.post(
        "/subjects/users-value/versions",
        &json!({"schema": USER_V1}),
    );
    served.post(
        "/subjects/gone-value/versions",
        &json!({"schema": "\"int\""}),
    );
    served.delete("/subjects/gone-value");
    served.put("/config", &json!({"compatibility": "FORWARD"}));
    served.restart();
    assert_eq!(served.get("/subjects").json(), json!(["users-value"]));
    assert_eq!(
        served.get("/config").json(),
        json!({"compatibilityLevel": "FORWARD"})
    );
    let mut session = Session::default();
    execute(
        &served.engine,
        &mut session,
        "CREATE STREAM users WITH (kafka_topic='users', value_format='AVRO', partitions=1);",
    );
    let catalog = served.engine.catalog();
    let users = catalog.source("USERS").expect("the stream exists");
    let columns: Vec<&str> = users.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(columns, ["ID", "NAME"]);
    let binding = users
        .value_format
        .schema
        .as_ref()
        .expect("bound to a schema");
    assert_eq!(binding.schema.id, 1);
    // A stream with columns registers its generated schema: the API shows it.
    execute(
        &served.engine,
        &mut session,
        "CREATE STREAM orders (ID STRING KEY, AMOUNT DOUBLE) \
         WITH (kafka_topic='orders', value_format='AVRO', partitions=1);",
    );
    let latest = served.get("/subjects/orders-value/versions/latest").json();
    assert_eq!(latest["id"], json!(2), "{latest}");
    assert!(
        latest["schema"]
            .as_str()
            .is_some_and(|s| s.contains("AMOUNT")),
        "{latest}"
    );
}

#[test]
fn registry_endpoints_need_credentials_when_users_are_configured() {
    let users = BTreeMap::from([("alice".to_string(), Credential::Plain("secret".to_string()))]);
    let mut served = Served::start(HttpConfig {
        users: Some(users),
        ..HttpConfig::default()
    });
    for path in ["/subjects", "/schemas/ids/1", "/config"] {
        assert_eq!(served.get(path).status, 401, "{path}");
    }
    served.authorization = Some(basic("alice:secret"));
    assert_eq!(served.get("/subjects").json(), json!([]));
}

fn basic(user_info: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_info)
    )
}

/// `ksql.schema.registry.*` properties naming `url` with `user_info`.
fn registry_properties(url: &str, user_info: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ksql.schema.registry.url".to_string(), url.to_string()),
        (
            "ksql.schema.registry.basic.auth.credentials.source".to_string(),
            "USER_INFO".to_string(),
        ),
        (
            "ksql.schema.registry.basic.auth.user.info".to_string(),
            user_info.to_string(),
        ),
    ])
}

/// The schema id in a Confluent wire-format payload.
fn payload_schema_id(payload: &[u8]) -> u32 {
    assert_eq!(payload.first(), Some(&0), "magic byte");
    u32::from_be_bytes(payload[1..5].try_into().expect("4 bytes"))
}

#[test]
fn an_engine_with_an_external_registry_registers_and_reads_schemas_there() {
    // The registry: another engine's server, with basic auth and ids 1-3 taken already.
    let users = BTreeMap::from([("sr".to_string(), Credential::Plain("pw".to_string()))]);
    let mut registry = Served::start(HttpConfig {
        users: Some(users),
        ..HttpConfig::default()
    });
    registry.authorization = Some(basic("sr:pw"));
    for (index, type_name) in ["int", "long", "string"].iter().enumerate() {
        let reply = registry.post(
            &format!("/subjects/filler{index}/versions"),
            &json!({"schema": format!("\"{type_name}\"")}),
        );
        assert_eq!(reply.json(), json!({"id": index + 1}));
    }
    let inferred_id = registry
        .post(
            "/subjects/inferred-value/versions",
            &json!({"schema": USER_V1}),
        )
        .json()["id"]
        .clone();
    let by_id = registry
        .post("/subjects/elsewhere/versions", &json!({"schema": USER_V2}))
        .json()["id"]
        .as_u64()
        .expect("an id");

    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    assert!(
        engine
            .connect_schema_registry(&registry_properties(&registry.base, "sr:pw"))
            .expect("valid properties")
    );
    let mut session = Session::default();
    session
        .properties
        .insert("auto.offset.reset".into(), "earliest".into());

    // Schema inference reads the registry's subjects.
    execute(
        &engine,
        &mut session,
        "CREATE STREAM inferred WITH (kafka_topic='inferred', value_format='AVRO', partitions=1);",
    );
    let catalog = engine.catalog();
    let inferred = catalog.source("INFERRED").expect("created");
    let names: Vec<&str> = inferred.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ID", "NAME"]);
    assert_eq!(
        json!(
            inferred
                .value_format
                .schema
                .as_ref()
                .expect("bound")
                .schema
                .id
        ),
        inferred_id
    );

    // ... and schema ids (VALUE_SCHEMA_ID) it holds.
    execute(
        &engine,
        &mut session,
        &format!(
            "CREATE STREAM byid WITH (kafka_topic='byid', value_format='AVRO', \
             VALUE_SCHEMA_ID={by_id}, partitions=1);"
        ),
    );
    let catalog = engine.catalog();
    let names: Vec<&str> = catalog
        .source("BYID")
        .expect("created")
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["ID", "NAME", "AGE"]);

    // Schemas of statements are registered there, with the registry's ids (which differ
    // from the ones the engine would pick: the registry has one the engine has not seen).
    registry.post(
        "/subjects/filler3/versions",
        &json!({"schema": "\"double\""}),
    );
    execute(
        &engine,
        &mut session,
        "CREATE STREAM declared (ID STRING KEY, AMOUNT DOUBLE) \
         WITH (kafka_topic='declared', value_format='AVRO', partitions=1);
         CREATE STREAM doubled AS SELECT ID, AMOUNT * 2 AS TWICE FROM declared;
         INSERT INTO declared (ID, AMOUNT) VALUES ('a', 1.5);",
    );
    let declared = registry
        .get("/subjects/declared-value/versions/latest")
        .json();
    let sink = registry
        .get("/subjects/DOUBLED-value/versions/latest")
        .json();
    assert!(
        sink["schema"].as_str().is_some_and(|s| s.contains("TWICE")),
        "{sink}"
    );
    let catalog = engine.catalog();
    let bound = |name: &str| {
        catalog
            .source(name)
            .and_then(|source| source.value_format.schema.as_ref())
            .map(|binding| binding.schema.id)
    };
    assert_eq!(json!(bound("DECLARED")), declared["id"]);
    assert_eq!(json!(bound("DOUBLED")), sink["id"]);
    assert!(sink["id"].as_u64().is_some_and(|id| id > by_id), "{sink}");

    // The records written carry the registry's ids.
    let log = engine.topic_log();
    wait_until(TIMEOUT, "the sink's record", || {
        Ok(log.offsets("DOUBLED")?.iter().any(|(_, end)| *end > 0))
    })
    .expect("the query writes");
    let records = log.read("DOUBLED", 0, 0, 10).expect("reads");
    let payload = records[0].record.value.as_ref().expect("a value");
    assert_eq!(json!(payload_schema_id(payload)), sink["id"]);
    let written = log.read("declared", 0, 0, 10).expect("reads");
    let payload = written[0].record.value.as_ref().expect("a value");
    assert_eq!(json!(payload_schema_id(payload)), declared["id"]);

    // Wrong credentials: the statement fails with the registry's answer.
    let refused = Engine::open(&directory.path().join("other")).expect("engine opens");
    refused
        .connect_schema_registry(&registry_properties(&registry.base, "sr:wrong"))
        .expect("valid properties");
    let error = refused
        .execute_script(
            "CREATE STREAM s (A INT) WITH (kafka_topic='s', value_format='AVRO', partitions=1);",
            &mut Session::default(),
            |_, _| {},
        )
        .expect_err("the registry refuses");
    assert!(error.to_string().contains("401"), "{error}");
}

#[test]
fn a_server_configured_with_a_registry_url_registers_statement_schemas_there() {
    let registry = Served::start(HttpConfig::default());
    let properties = BTreeMap::from([(
        "ksql.schema.registry.url".to_string(),
        registry.base.clone(),
    )]);
    let served = Served::start_with_properties(HttpConfig::default(), properties);
    assert_eq!(
        served.engine.schema_registry_url(),
        Some(registry.base.as_str())
    );
    let sql = "CREATE STREAM s (A INT) WITH (kafka_topic='s', value_format='AVRO', partitions=1);";
    let reply = served.post("/ksql", &json!({"ksql": sql, "streamsProperties": {}}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let latest = registry.get("/subjects/s-value/versions/latest").json();
    assert!(
        latest["schema"]
            .as_str()
            .is_some_and(|s| s.contains("\"A\"")),
        "{latest}"
    );
    // What the registry refuses is refused with its error code.
    registry.post("/subjects/x-value/versions", &json!({"schema": USER_V1}));
    served
        .post(
            "/subjects/x-value/versions",
            &json!({"schema": "\"string\""}),
        )
        .assert_error(409, 409);
    // Registrations through the server's own registry paths go there.
    let id = served.post("/subjects/y-value/versions", &json!({"schema": USER_V2}));
    assert_eq!(
        registry.get("/subjects/y-value/versions/latest").json()["id"],
        id.json()["id"]
    );
    // An invalid registry url stops the server from starting.
    let invalid = BTreeMap::from([(
        "ksql.schema.registry.url".to_string(),
        "https://registry".to_string(),
    )]);
    let directory = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(directory.path()).expect("engine opens");
    let started = served.runtime.block_on(HttpServer::start_with_properties(
        engine,
        "127.0.0.1:0".parse().expect("address"),
        HttpConfig::default(),
        invalid,
    ));
    assert!(started.is_err());
}
