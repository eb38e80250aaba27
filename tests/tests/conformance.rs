//! The conformance ratchet: every ksqlDB corpus case listed in `tests/conformance/passing.txt`
//! must still pass. The listed cases run in this process through the `conformance` crate, each
//! on a fresh embedded engine. The corpus is the directory named by `EDDY_CORPUS`, else
//! `../shared/conformance/ksqldb` next to the workspace (see `tests::conformance_corpus`:
//! without it the test fails under `CI=true` and otherwise is reported as not run). The
//! list's header says how to regenerate it.

use std::sync::Arc;
use std::time::Instant;

use conformance::{EmbeddedEngineFactory, EngineFactory, Ratchet, Status, report};

#[test]
fn listed_conformance_cases_still_pass() {
    let manifest = tests::manifest_dir();
    let workspace = manifest
        .parent()
        .expect("the tests crate lives inside the workspace");
    let Some(corpus) = tests::conformance_corpus("listed_conformance_cases_still_pass") else {
        return;
    };
    let passing = workspace.join("tests/conformance/passing.txt");
    let mut cases = conformance::load_corpus(&corpus).expect("the corpus loads");
    let ratchet = Ratchet::read(&passing, &cases).expect("the ratchet list is valid");
    cases.retain(|case| ratchet.lists(&case.id));
    let jobs = std::thread::available_parallelism().map_or(1, usize::from);
    let factory: Arc<dyn EngineFactory> = Arc::new(EmbeddedEngineFactory);

    let started = Instant::now();
    let results = conformance::run_cases(&cases, jobs, &factory, |result| {
        if result.verdict.status != Status::Pass {
            println!("{}", report::case_line(result));
        }
    });
    println!(
        "{} (ran {} listed cases in {:.1?} with {jobs} jobs)",
        report::summary_line(&results),
        results.len(),
        started.elapsed()
    );
    let regressions = ratchet.regressions(&cases, &results, &factory, |result| {
        println!("FLAKY {}: passed when run again alone", result.id);
    });
    let lines: Vec<String> = regressions.iter().map(report::case_line).collect();
    assert!(
        lines.is_empty(),
        "{} conformance cases listed in {} no longer pass:\n{}",
        lines.len(),
        passing.display(),
        lines.join("\n")
    );
}
