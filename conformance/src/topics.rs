//! Topics a case needs before its statements run, found the way ksqlDB's harness finds them:
//! the `topics` entries, the `KAFKA_TOPIC` of every `CREATE STREAM/TABLE` (not `AS SELECT`),
//! and the topics of the input records.
//!
//! Statements are scanned with regular expressions rather than Eddy's parser, so that a
//! parser gap fails only the statement that hits it, with Eddy's own message.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::corpus::Case;
use crate::json::Json;

static CREATE_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?(?:SOURCE\s+)?(?:STREAM|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(`[^`]*`|"[^"]*"|[^\s(;]+)"#,
    )
    .expect("valid regex")
});
static AS_SELECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)\bAS\s+SELECT\b").expect("valid regex"));
static KAFKA_TOPIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bKAFKA_TOPIC\s*=\s*'((?:[^']|'')*)'").expect("valid regex"));
static PARTITIONS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bPARTITIONS\s*=\s*'?(\d+)").expect("valid regex"));

/// The partition count ksqlDB's harness gives a topic whose count the case does not give
/// (`KsqlConstants.legacyDefaultSinkPartitionCount`).
const KSQL_DEFAULT_PARTITIONS: u32 = 4;

/// A topic declared by a `CREATE STREAM/TABLE` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredTopic {
    pub name: String,
    pub partitions: Option<u32>,
}

/// Splits a script into statements on `;` outside quotes and comments. Comments are kept.
pub fn split_statements(script: &str) -> Vec<&str> {
    let bytes = script.as_bytes();
    let mut statements = Vec::new();
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            quote @ (b'\'' | b'"' | b'`') => {
                index += 1;
                while index < bytes.len() && bytes[index] != quote {
                    index += 1;
                }
            }
            b'-' if bytes.get(index + 1) == Some(&b'-') => {
                while index < bytes.len() && bytes[index] != b'\n' {
                    index += 1;
                }
            }
            b'/' if bytes.get(index + 1) == Some(&b'*') => {
                index += 2;
                while index + 1 < bytes.len() && !(bytes[index] == b'*' && bytes[index + 1] == b'/')
                {
                    index += 1;
                }
                index += 1;
            }
            b';' => {
                statements.push(&script[start..=index]);
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    if !script[start.min(script.len())..].trim().is_empty() {
        statements.push(&script[start..]);
    }
    statements
}

/// The statement without leading whitespace and comments.
fn strip_leading_comments(mut statement: &str) -> &str {
    loop {
        statement = statement.trim_start();
        if let Some(rest) = statement.strip_prefix("--") {
            statement = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(rest) = statement.strip_prefix("/*") {
            statement = rest.split_once("*/").map_or("", |(_, after)| after);
        } else {
            return statement;
        }
    }
}

/// The topic a `CREATE STREAM/TABLE` (without `AS SELECT`) declares: its `KAFKA_TOPIC`, or
/// its name when only `PARTITIONS` is given.
pub fn declared_topic(statement: &str) -> Option<DeclaredTopic> {
    let statement = strip_leading_comments(statement);
    let create = CREATE_SOURCE.captures(statement)?;
    if AS_SELECT.is_match(statement) {
        return None;
    }
    let partitions = PARTITIONS
        .captures(statement)
        .and_then(|captures| captures[1].parse().ok());
    let name = match KAFKA_TOPIC.captures(statement) {
        Some(captures) => captures[1].replace("''", "'"),
        None => {
            partitions?;
            let name = &create[1];
            if name.starts_with(['`', '"']) {
                name[1..name.len() - 1].to_string()
            } else {
                name.to_uppercase()
            }
        }
    };
    Some(DeclaredTopic { name, partitions })
}

/// The topics to create before the statements run, with their partition counts: the
/// CREATE statement's `PARTITIONS`, else the `topics` entry's, else 1 (4, ksqlDB's, when the
/// case gives some topic more than one partition, and for a REST case). Topics named only in
/// expected outputs are left to the queries that write them.
pub fn topics_to_create(case: &Case) -> BTreeMap<String, u32> {
    let declared: Vec<DeclaredTopic> = case
        .statements
        .iter()
        .flat_map(|script| split_statements(script))
        .filter_map(declared_topic)
        .collect();
    // ksqlDB's harness creates a topic whose count nobody gives with 4 partitions; its
    // TopologyTestDriver then runs every partition as one, which one partition mimics. Only
    // where the case gives some topic more than one partition do the counts meet (a join
    // checks that its sides' counts match): there the unspecified ones get ksqlDB's 4.
    // The same where the post-conditions check a topic's partition count.
    let counted = declared
        .iter()
        .filter_map(|topic| topic.partitions)
        .chain(case.topics.iter().filter_map(|topic| topic.partitions))
        .chain(post_partition_counts(case))
        .any(|partitions| partitions > 1);
    // A REST case runs on a real server, whose topics have their partitions: ksqlDB's 4.
    let rest = case.kind == crate::corpus::CaseKind::Rest;
    let default = if counted || rest {
        KSQL_DEFAULT_PARTITIONS
    } else {
        1
    };
    let mut topics = BTreeMap::new();
    let names = case
        .topics
        .iter()
        .map(|topic| topic.name.clone())
        .chain(declared.iter().map(|topic| topic.name.clone()))
        .chain(case.inputs.iter().map(|record| record.topic.clone()));
    for name in names {
        if topics.contains_key(&name) {
            continue;
        }
        let from_statement = declared
            .iter()
            .find(|topic| topic.name == name)
            .and_then(|topic| topic.partitions);
        let from_entry = case
            .topics
            .iter()
            .find(|topic| topic.name == name)
            .and_then(|topic| topic.partitions);
        let partitions = from_statement.or(from_entry).unwrap_or(default).max(1);
        topics.insert(name, partitions);
    }
    topics
}

/// The partition counts the case's `post.topics.topics` entries expect.
fn post_partition_counts(case: &Case) -> Vec<u32> {
    case.post
        .as_ref()
        .and_then(|post| post.get("topics"))
        .and_then(|topics| topics.get("topics"))
        .and_then(Json::as_array)
        .unwrap_or_default()
        .iter()
        .filter_map(|topic| topic.get("partitions").and_then(Json::as_i64))
        .filter_map(|partitions| u32::try_from(partitions).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_on_semicolons_outside_quotes() {
        let script = "CREATE STREAM A (X STRING) WITH (KAFKA_TOPIC='a;b');\n-- a; comment\nSELECT ';' FROM A;  ";
        assert_eq!(
            split_statements(script),
            vec![
                "CREATE STREAM A (X STRING) WITH (KAFKA_TOPIC='a;b');",
                "\n-- a; comment\nSELECT ';' FROM A;"
            ]
        );
        assert_eq!(split_statements("SELECT 1"), vec!["SELECT 1"]);
    }

    #[test]
    fn create_statements_declare_topics() {
        let cases = [
            (
                "CREATE STREAM TEST (ID INT) WITH (kafka_topic='test_topic', value_format='JSON');",
                Some(("test_topic", None)),
            ),
            (
                "-- note\nCREATE OR REPLACE TABLE T (ID INT PRIMARY KEY) WITH (KAFKA_TOPIC='t', PARTITIONS=4);",
                Some(("t", Some(4))),
            ),
            (
                "create source stream s (id int) with (partitions=2, value_format='json');",
                Some(("S", Some(2))),
            ),
            (
                "CREATE STREAM `Quoted` (ID INT) WITH (partitions=1, value_format='json');",
                Some(("Quoted", Some(1))),
            ),
            ("CREATE STREAM S (ID INT) WITH (value_format='json');", None),
            (
                "CREATE STREAM S2 AS SELECT * FROM S WITH (KAFKA_TOPIC='x');",
                None,
            ),
            ("INSERT INTO S VALUES (1);", None),
        ];
        for (statement, expected) in cases {
            let expected = expected.map(|(name, partitions)| DeclaredTopic {
                name: name.to_string(),
                partitions,
            });
            assert_eq!(declared_topic(statement), expected, "{statement}");
        }
    }
}
