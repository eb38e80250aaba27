//! What a conformance run prints and writes (`eddy test`, the ratchet test): one line per
//! case, the closing `N passed, M failed` line, the JSON report (with counts per `needs` tag),
//! the list of passing ids for the ratchet, and the regressions against such a list.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use crate::error::{ConformanceError, Result};
use crate::verdict::{Status, Verdict, one_line};

/// The verdict on one case, with what the report groups it by.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub id: String,
    pub needs: Vec<String>,
    pub verdict: Verdict,
}

/// `PASS id`, `FAIL id: reason` or `ERROR id: reason`, on one line.
pub fn case_line(result: &CaseResult) -> String {
    let reason = one_line(&result.verdict.reason);
    match result.verdict.status {
        Status::Pass => format!("PASS {}", result.id),
        Status::Fail => format!("FAIL {}: {reason}", result.id),
        Status::Error => format!("ERROR {}: {reason}", result.id),
    }
}

/// `(passed, failed)`; errors count as failed.
fn counts(results: &[CaseResult]) -> (usize, usize) {
    let passed = results
        .iter()
        .filter(|result| result.verdict.status == Status::Pass)
        .count();
    (passed, results.len() - passed)
}

/// The closing line.
pub fn summary_line(results: &[CaseResult]) -> String {
    let (passed, failed) = counts(results);
    format!("{passed} passed, {failed} failed")
}

/// The JSON report: totals, every case, and pass/fail counts per `needs` tag.
fn json_report(results: &[CaseResult]) -> serde_json::Value {
    let (passed, failed) = counts(results);
    let mut by_need: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for result in results {
        for need in &result.needs {
            let entry = by_need.entry(need).or_default();
            if result.verdict.status == Status::Pass {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    let cases: Vec<serde_json::Value> = results
        .iter()
        .map(|result| {
            json!({
                "id": result.id,
                "status": match result.verdict.status {
                    Status::Pass => "pass",
                    Status::Fail => "fail",
                    Status::Error => "error",
                },
                "reason": result.verdict.reason,
            })
        })
        .collect();
    let by_need: serde_json::Map<String, serde_json::Value> = by_need
        .into_iter()
        .map(|(need, (passed, failed))| {
            (
                need.to_string(),
                json!({"passed": passed, "failed": failed}),
            )
        })
        .collect();
    json!({"passed": passed, "failed": failed, "cases": cases, "by_need": by_need})
}

/// Writes the JSON report to `path`.
pub fn write_json_report(path: &Path, results: &[CaseResult]) -> Result<()> {
    let text = serde_json::to_string_pretty(&json_report(results))
        .expect("a JSON value with string keys always renders");
    write_file(path, text + "\n")
}

/// The header of a passing list (the ratchet file).
const PASSING_HEADER: &str = "\
# Conformance ratchet: ids of the ksqlDB corpus cases that Eddy passes, one per line.
# The default test suite (tests/tests/conformance.rs) fails if any of them stops passing.
# Regenerate (release build, from the workspace root) after making more cases pass:
#   cargo build --release -p repl
#   $CARGO_TARGET_DIR/release/eddy test --corpus ../shared/conformance/ksqldb \\
#       --write-passing tests/conformance/passing.txt
# Lines starting with # are comments. Ids are written exactly (some end with a space).
";

/// Writes the ids of the passing cases to `path`, in run order, under `PASSING_HEADER`.
pub fn write_passing(path: &Path, results: &[CaseResult]) -> Result<()> {
    let mut text = PASSING_HEADER.to_string();
    for result in results {
        if result.verdict.status == Status::Pass {
            text.push_str(&result.id);
            text.push('\n');
        }
    }
    write_file(path, text)
}

fn write_file(path: &Path, text: String) -> Result<()> {
    std::fs::write(path, text).map_err(|source| ConformanceError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a list of case ids: one per line, exact (only the line break is removed); empty
/// lines and lines starting with `#` are skipped.
pub fn read_id_list(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|source| ConformanceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_id_list(&text))
}

fn parse_id_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The listed ids that ran and did not pass, with their lines.
pub(crate) fn regressions<'a>(listed: &[String], results: &'a [CaseResult]) -> Vec<&'a CaseResult> {
    let by_id: BTreeMap<&str, &CaseResult> = results
        .iter()
        .map(|result| (result.id.as_str(), result))
        .collect();
    listed
        .iter()
        .filter_map(|id| by_id.get(id.as_str()))
        .filter(|result| result.verdict.status != Status::Pass)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, needs: &[&str], verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.to_string(),
            needs: needs.iter().map(|need| need.to_string()).collect(),
            verdict,
        }
    }

    #[test]
    fn lines_counts_and_report() {
        let results = vec![
            result("a/one", &["join"], Verdict::pass()),
            result("a/two", &["join", "rest"], Verdict::error("needs server")),
            result(
                "a/three ",
                &[],
                Verdict::fail("topic T: record 0\nsecond line"),
            ),
        ];
        let lines: Vec<String> = results.iter().map(case_line).collect();
        assert_eq!(
            lines,
            vec![
                "PASS a/one",
                "ERROR a/two: needs server",
                "FAIL a/three : topic T: record 0 second line"
            ]
        );
        assert_eq!(summary_line(&results), "1 passed, 2 failed");
        let report = json_report(&results);
        assert_eq!(report["passed"], 1);
        assert_eq!(report["failed"], 2);
        assert_eq!(report["cases"][1]["status"], "error");
        assert_eq!(report["by_need"]["join"], json!({"passed": 1, "failed": 1}));
        assert_eq!(report["by_need"]["rest"], json!({"passed": 0, "failed": 1}));
    }

    #[test]
    fn id_lists_keep_ids_exact_and_find_regressions() {
        let listed = parse_id_list("# header\n\na/one\r\na/three \nmissing/case\n");
        assert_eq!(listed, vec!["a/one", "a/three ", "missing/case"]);
        let results = vec![
            result("a/one", &[], Verdict::pass()),
            result("a/three ", &[], Verdict::fail("boom")),
        ];
        let lines: Vec<String> = regressions(&listed, &results)
            .into_iter()
            .map(case_line)
            .collect();
        assert_eq!(lines, vec!["FAIL a/three : boom"]);
    }
}
