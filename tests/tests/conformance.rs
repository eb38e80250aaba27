//! The conformance ratchet: every ksqlDB corpus case listed in `tests/conformance/passing.txt`
//! must still pass. Runs `eddy test --only LIST --fail-on-regression LIST`, so only the listed
//! cases run. The list's header says how to regenerate it.

use std::path::Path;
use std::time::Duration;

/// Generous: the listed cases run on a debug build.
const TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn listed_conformance_cases_still_pass() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace");
    let corpus = workspace.join("../shared/conformance/ksqldb");
    if !corpus.join("qtt").is_dir() {
        eprintln!(
            "\n!!!!!!!! conformance corpus not found at {}: the conformance ratchet did NOT run !!!!!!!!\n",
            corpus.display()
        );
        return;
    }
    let passing = workspace.join("tests/conformance/passing.txt");
    let data_dir = tempfile::tempdir().expect("temporary directory");
    let corpus_arg = corpus.display().to_string();
    let passing_arg = passing.display().to_string();
    let output = tests::run_eddy(
        data_dir.path(),
        &[
            "test",
            "--corpus",
            &corpus_arg,
            "--only",
            &passing_arg,
            "--fail-on-regression",
            &passing_arg,
        ],
        TIMEOUT,
    )
    .expect("eddy test runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "conformance cases listed in {} no longer pass\nstdout:\n{stdout}\nstderr:\n{stderr}",
        passing.display()
    );
    assert!(
        stdout.lines().any(|line| line.ends_with(" failed")),
        "no closing line in:\n{stdout}"
    );
}
