//! `eddy test -s statements.sql -i input.json -o output.json`: ksqlDB's `ksql-test-runner`
//! files, so users can test their own queries.
//!
//! The input file is `{"inputs": [{"topic", "key", "value", "timestamp"?, ...}]}` and the
//! output file `{"outputs": [...]}` with the same record fields; the case runs and is judged
//! exactly like a corpus case.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::corpus::{Case, CaseKind, TestRecord, parse_record};
use super::json::Json;
use super::run::{Status, run_case};

/// Runs the test and prints `>>> Test passed!` or `>>> Test failed: reason`; a failure is an
/// error (non-zero exit).
pub fn run(statements: &Path, input: Option<&Path>, output: &Path) -> Result<()> {
    let sql = std::fs::read_to_string(statements)
        .with_context(|| format!("cannot read {}", statements.display()))?;
    let inputs = match input {
        Some(path) => read_records(path, "inputs")?,
        None => Vec::new(),
    };
    let outputs = read_records(output, "outputs")?;
    let case = Case {
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
    };
    let verdict = run_case(&case);
    match verdict.status {
        Status::Pass => {
            println!("\t >>> Test passed!");
            Ok(())
        }
        Status::Fail | Status::Error => {
            println!("\t >>> Test failed: {}", verdict.reason);
            bail!("test failed")
        }
    }
}

/// The records under `field` of a ksql-test-runner JSON file.
fn read_records(path: &Path, field: &str) -> Result<Vec<TestRecord>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_records(&text, field).with_context(|| format!("invalid test file {}", path.display()))
}

fn parse_records(text: &str, field: &str) -> Result<Vec<TestRecord>> {
    let document = Json::parse(text).map_err(anyhow::Error::msg)?;
    let Some(records) = document.get(field).and_then(Json::as_array) else {
        bail!("expected an object with an \"{field}\" array");
    };
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            parse_record(record).map_err(|error| anyhow::anyhow!("{field}[{index}]: {error}"))
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
