//! The conformance corpus on disk: `qtt/*.json` and `rest/*.json` files of cases, read into
//! `Case`s (see `CORPUS_FORMAT.md` next to the corpus for every field).
//!
//! Only the fields the runner uses are modelled; `post` stays raw JSON.

use std::path::{Path, PathBuf};

use crate::base64;
use crate::error::ConformanceError;
use crate::json::Json;

/// Which harness semantics apply to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// Engine-level: statements, input records, expected output records.
    Qtt,
    /// HTTP-level: needs a running server.
    Rest,
}

/// One conformance case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Unique in the corpus.
    pub id: String,
    pub(crate) kind: CaseKind,
    /// Tags of what the case exercises (`join`, `format:AVRO`, `rest`, ...).
    pub needs: Vec<String>,
    pub(crate) statements: Vec<String>,
    /// Config overrides, values as text.
    pub(crate) properties: Vec<(String, String)>,
    pub(crate) topics: Vec<TopicSpec>,
    pub(crate) inputs: Vec<TestRecord>,
    pub(crate) outputs: Vec<TestRecord>,
    pub(crate) expected_error: Option<ExpectedError>,
    pub(crate) post: Option<Json>,
    /// REST only: the expected responses, verbatim (`{"admin": ..}`, `{"query": [..]}`,
    /// `{"queryProto": [..]}`).
    pub(crate) responses: Vec<Json>,
    /// REST only: produce the inputs once the first query's header has arrived
    /// (`input_conditions.waitForActivePushQuery`).
    pub(crate) wait_for_push_query: bool,
    /// REST only: compare query rows in order (`output_conditions.verifyOrder`).
    pub(crate) verify_order: bool,
}

/// A topic to pre-create.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicSpec {
    pub name: String,
    pub key_format: Option<String>,
    pub value_format: Option<String>,
    pub partitions: Option<u32>,
    /// The entry verbatim: schemas to register (`keySchema`, `valueSchemaId`, ...).
    pub entry: Json,
}

/// The window of a windowed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    pub kind: WindowKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// TUMBLING and HOPPING: the key bytes end with the 8-byte window start.
    Time,
    /// SESSION: the key bytes end with the 8-byte end, then the 8-byte start.
    Session,
}

/// A record header: key and raw value bytes.
pub type TestHeader = (String, Option<Vec<u8>>);

/// An input record or an expected output record.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRecord {
    pub topic: String,
    pub key: Json,
    pub value: Json,
    pub timestamp: Option<i64>,
    pub window: Option<Window>,
    /// `None` when the record does not say (for outputs: must have no headers).
    pub headers: Option<Vec<TestHeader>>,
}

/// What an error case expects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedError {
    /// The Java exception class.
    pub kind: Option<String>,
    pub message: Option<String>,
    pub cause: Option<String>,
    pub cause_message: Option<String>,
    /// REST only: the HTTP status of the failing response.
    pub status: Option<u16>,
}

/// Reads every case of the corpus in `dir` (`qtt/*.json` then `rest/*.json`, files sorted
/// by name, cases in file order).
pub fn load_corpus(dir: &Path) -> crate::Result<Vec<Case>> {
    read_cases(dir).map_err(ConformanceError::InvalidCorpus)
}

fn read_cases(dir: &Path) -> Result<Vec<Case>, String> {
    let mut files: Vec<PathBuf> = Vec::new();
    for set in ["qtt", "rest"] {
        let folder = dir.join(set);
        if !folder.is_dir() {
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|error| format!("cannot list {}: {error}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        found.sort();
        files.extend(found);
    }
    if files.is_empty() {
        return Err(format!(
            "no qtt/*.json or rest/*.json files under {}",
            dir.display()
        ));
    }
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
        let document =
            Json::parse(&text).map_err(|error| format!("{}: {error}", file.display()))?;
        cases
            .extend(parse_file(&document).map_err(|error| format!("{}: {error}", file.display()))?);
    }
    Ok(cases)
}

/// The cases of one corpus file.
pub fn parse_file(document: &Json) -> Result<Vec<Case>, String> {
    let file_kind = document.get("kind").and_then(Json::as_str).unwrap_or("qtt");
    let cases = document
        .get("cases")
        .and_then(Json::as_array)
        .ok_or("missing \"cases\" array")?;
    cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            parse_case(case, file_kind).map_err(|error| format!("case {index}: {error}"))
        })
        .collect()
}

fn parse_case(case: &Json, file_kind: &str) -> Result<Case, String> {
    let id = case
        .get("id")
        .and_then(Json::as_str)
        .ok_or("missing \"id\"")?
        .to_string();
    let kind = match case.get("kind").and_then(Json::as_str).unwrap_or(file_kind) {
        "rest" => CaseKind::Rest,
        _ => CaseKind::Qtt,
    };
    let strings = |name: &str| -> Vec<String> {
        case.get(name)
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect()
    };
    let properties = case
        .get("properties")
        .and_then(Json::as_object)
        .unwrap_or_default()
        .iter()
        .map(|(name, value)| {
            let text = value.scalar_text().unwrap_or_else(|| value.to_string());
            (name.clone(), text)
        })
        .collect();
    let topics = case
        .get("topics")
        .and_then(Json::as_array)
        .unwrap_or_default()
        .iter()
        .map(parse_topic)
        .collect::<Result<_, _>>()?;
    let records = |name: &str| -> Result<Vec<TestRecord>, String> {
        case.get(name)
            .and_then(Json::as_array)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, record)| {
                parse_record(record).map_err(|error| format!("{name}[{index}]: {error}"))
            })
            .collect()
    };
    let expected_error = case.get_present("expected_error").map(|error| {
        let text = |name: &str| error.get(name).and_then(Json::as_str).map(str::to_string);
        ExpectedError {
            kind: text("type"),
            message: text("message"),
            cause: text("cause"),
            cause_message: text("cause_message"),
            status: error
                .get("status")
                .and_then(Json::as_i64)
                .and_then(|status| u16::try_from(status).ok()),
        }
    });
    let condition = |object: &str, name: &str| {
        case.get(object)
            .and_then(|conditions| conditions.get(name))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    };
    Ok(Case {
        id,
        kind,
        needs: strings("needs"),
        statements: strings("statements"),
        properties,
        topics,
        inputs: records("inputs")?,
        outputs: records("outputs")?,
        expected_error,
        post: case.get_present("post").cloned(),
        responses: case
            .get("responses")
            .and_then(Json::as_array)
            .unwrap_or_default()
            .to_vec(),
        wait_for_push_query: condition("input_conditions", "waitForActivePushQuery"),
        verify_order: condition("output_conditions", "verifyOrder"),
    })
}

fn parse_topic(topic: &Json) -> Result<TopicSpec, String> {
    let text = |name: &str| topic.get(name).and_then(Json::as_str).map(str::to_string);
    Ok(TopicSpec {
        name: text("name").ok_or("topic without \"name\"")?,
        key_format: text("keyFormat"),
        value_format: text("valueFormat"),
        partitions: topic
            .get_present("partitions")
            .map(|value| {
                value
                    .as_i64()
                    .and_then(|count| u32::try_from(count).ok())
                    .ok_or_else(|| format!("invalid partitions {value}"))
            })
            .transpose()?,
        entry: topic.clone(),
    })
}

/// Reads a record (`key` may be missing: null, as in ksql-test-runner files).
pub fn parse_record(record: &Json) -> Result<TestRecord, String> {
    let topic = record
        .get("topic")
        .and_then(Json::as_str)
        .ok_or("record without \"topic\"")?
        .to_string();
    let timestamp = record
        .get_present("timestamp")
        .map(|value| {
            value
                .as_i64()
                .ok_or_else(|| format!("invalid timestamp {value}"))
        })
        .transpose()?;
    let window = record
        .get_present("window")
        .map(|window| {
            let bound = |name: &str| {
                window
                    .get(name)
                    .and_then(Json::as_i64)
                    .ok_or_else(|| format!("window without a numeric \"{name}\""))
            };
            let kind = match window.get("type").and_then(Json::as_str) {
                Some(kind) if kind.eq_ignore_ascii_case("session") => WindowKind::Session,
                _ => WindowKind::Time,
            };
            Ok::<_, String>(Window {
                start: bound("start")?,
                end: bound("end")?,
                kind,
            })
        })
        .transpose()?;
    let headers = record
        .get_present("headers")
        .map(|headers| {
            headers
                .as_array()
                .ok_or("\"headers\" is not an array")?
                .iter()
                .map(|header| {
                    let key = header
                        .get("KEY")
                        .and_then(Json::as_str)
                        .ok_or("header without \"KEY\"")?
                        .to_string();
                    let value = match header.get_present("VALUE") {
                        None => None,
                        Some(value) => Some(base64::decode(
                            value.as_str().ok_or("header \"VALUE\" is not a string")?,
                        )?),
                    };
                    Ok::<_, String>((key, value))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(TestRecord {
        topic,
        key: record.get("key").cloned().unwrap_or(Json::Null),
        value: record.get("value").cloned().unwrap_or(Json::Null),
        timestamp,
        window,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_fields_are_read() {
        let document = Json::parse(
            r#"{"kind":"qtt","cases":[{"id":"a/b","kind":"qtt","needs":["join"],
              "statements":["CREATE STREAM S;"],"properties":{"x":true,"y":3,"z":"w"},
              "topics":[{"name":"t","partitions":4,"valueFormat":"JSON"}],
              "inputs":[{"topic":"t","key":1,"value":{"A":1.10},"timestamp":5,
                         "headers":[{"KEY":"h","VALUE":"IQ=="},{"KEY":"n","VALUE":null}]}],
              "outputs":[{"topic":"o","key":null,"value":null,
                          "window":{"start":0,"end":10,"type":"session"}}],
              "expected_error":{"type":"E","message":"m","cause":null,"cause_message":null},
              "post":null}]}"#,
        )
        .expect("valid");
        let cases = parse_file(&document).expect("parses");
        let case = &cases[0];
        assert_eq!(case.id, "a/b");
        assert_eq!(case.kind, CaseKind::Qtt);
        assert_eq!(
            case.properties,
            vec![
                ("x".to_string(), "true".to_string()),
                ("y".to_string(), "3".to_string()),
                ("z".to_string(), "w".to_string())
            ]
        );
        assert_eq!(case.topics[0].partitions, Some(4));
        let input = &case.inputs[0];
        assert_eq!(input.value.get("A"), Some(&Json::Number("1.10".into())));
        assert_eq!(input.timestamp, Some(5));
        assert_eq!(
            input.headers,
            Some(vec![
                ("h".to_string(), Some(vec![b'!'])),
                ("n".to_string(), None)
            ])
        );
        assert_eq!(
            case.outputs[0].window,
            Some(Window {
                start: 0,
                end: 10,
                kind: WindowKind::Session
            })
        );
        assert_eq!(
            case.expected_error
                .as_ref()
                .and_then(|e| e.message.as_deref()),
            Some("m")
        );
        assert!(case.post.is_none());
        assert!(case.responses.is_empty());
        assert!(!case.wait_for_push_query);
    }

    #[test]
    fn rest_fields_are_read() {
        let document = Json::parse(
            r#"{"kind":"rest","cases":[{"id":"r","statements":["SELECT 1;"],
              "responses":[{"admin":{"@type":"currentStatus"}},{"query":[]}],
              "input_conditions":{"waitForActivePushQuery":true},
              "output_conditions":{"verifyOrder":true},
              "expected_error":{"type":null,"message":"m","status":400}}]}"#,
        )
        .expect("valid");
        let case = parse_file(&document).expect("parses").remove(0);
        assert_eq!(case.kind, CaseKind::Rest);
        assert_eq!(case.responses.len(), 2);
        assert!(case.wait_for_push_query);
        assert!(case.verify_order);
        assert_eq!(
            case.expected_error.and_then(|error| error.status),
            Some(400)
        );
    }
}
