//! ksqlDB's `ksql-test-runner` files (`eddy test -s statements.sql -i input.json -o
//! output.json`), so users can test their own queries.
//!
//! The input file is `{"inputs": [{"topic", "key", "value", "timestamp"?, ...}]}` and the
//! output file `{"outputs": [...]}` with the same record fields; the case runs and is judged
//! exactly like a corpus case.

use std::path::Path;

use crate::corpus::{Case, CaseKind, TestRecord, parse_record};
use crate::error::{ConformanceError, Result};
use crate::json::Json;

/// The case of a `ksql-test-runner` test: the statements of one SQL file, the records of an
/// optional input file, and the expected records of an output file.
pub fn load_test_runner_case(
    statements: &Path,
    input: Option<&Path>,
    output: &Path,
) -> Result<Case> {
    let sql = read(statements)?;
    let inputs = match input {
        Some(path) => read_records(path, "inputs")?,
        None => Vec::new(),
    };
    let outputs = read_records(output, "outputs")?;
    Ok(Case {
        id: statements.display().to_string(),
        kind: CaseKind::Qtt,
        needs: Vec::new(),
        statements: vec![sql],
        properties: Vec::new(),
        topics: Vec::new(),
        inputs,
        outputs,
        expected_error: None,
        post: None,
        responses: Vec::new(),
        wait_for_push_query: false,
        verify_order: false,
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ConformanceError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The records under `field` of a ksql-test-runner JSON file.
fn read_records(path: &Path, field: &str) -> Result<Vec<TestRecord>> {
    parse_records(&read(path)?, field).map_err(|reason| ConformanceError::InvalidTestFile {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse_records(text: &str, field: &str) -> Result<Vec<TestRecord>, String> {
    let document = Json::parse(text)?;
    let Some(records) = document.get(field).and_then(Json::as_array) else {
        return Err(format!("expected an object with an \"{field}\" array"));
    };
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            parse_record(record).map_err(|error| format!("{field}[{index}]: {error}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_read_from_test_runner_files() {
        let records = parse_records(
            r#"{"inputs":[{"topic":"t","key":"k","value":{"A":1},"timestamp":10},
                          {"topic":"t","value":"x"}]}"#,
            "inputs",
        )
        .expect("valid file");
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].timestamp, Some(10));
        assert_eq!(records[1].key, Json::Null);
        assert!(parse_records(r#"{"outputs":[]}"#, "inputs").is_err());
    }
}
