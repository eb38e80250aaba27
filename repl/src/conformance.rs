//! `eddy test`: runs ksqlDB's own functional tests (the conformance corpus) against Eddy, or
//! one test in ksqlDB's `ksql-test-runner` file format.
//!
//! Every case runs on a fresh embedded engine in a temporary directory, on a pool of worker
//! threads. Loading, running, judging and the reports are in the `conformance` crate; this
//! module reads the arguments and prints.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use conformance::{
    Case, EmbeddedEngineFactory, EngineFactory, KafkaEngineFactory, Ratchet, Status, load_corpus,
    load_test_runner_case, report, run_case, run_cases,
};
use executor::BackendKind;
use regex::Regex;

use crate::progress::Progress;

#[derive(clap::Args)]
pub struct TestArgs {
    /// Folder of a conformance corpus (`qtt/*.json`, `rest/*.json`).
    #[arg(long, conflicts_with = "sql_file")]
    corpus: Option<PathBuf>,
    /// Run only the cases whose id matches this regular expression.
    #[arg(long, requires = "corpus")]
    filter: Option<String>,
    /// Run only the case ids listed in this file (one per line, `#` comments).
    #[arg(long, requires = "corpus")]
    only: Option<PathBuf>,
    /// Worker threads (default: the available parallelism).
    #[arg(long)]
    jobs: Option<usize>,
    /// Write `{"passed", "failed", "cases": [...], "by_need": {...}}` to this file.
    #[arg(long, requires = "corpus")]
    json_report: Option<PathBuf>,
    /// Exit non-zero if a case id listed in this file ran and did not pass (the ratchet).
    #[arg(long, requires = "corpus")]
    fail_on_regression: Option<PathBuf>,
    /// Write the ids of the passing cases to this file (regenerates the ratchet).
    #[arg(long, requires = "corpus")]
    write_passing: Option<PathBuf>,
    /// ksql-test-runner: the SQL statements to test.
    #[arg(short = 's', long = "sql-file", requires = "output_file")]
    sql_file: Option<PathBuf>,
    /// ksql-test-runner: `{"inputs": [...]}` records to produce.
    #[arg(short = 'i', long = "input-file", requires = "sql_file")]
    input_file: Option<PathBuf>,
    /// ksql-test-runner: `{"outputs": [...]}` records expected.
    #[arg(short = 'o', long = "output-file", requires = "sql_file")]
    output_file: Option<PathBuf>,
}

/// Runs `eddy test`.
pub fn run(args: &TestArgs, bootstrap_servers: Option<&str>) -> Result<()> {
    match (&args.corpus, &args.sql_file, &args.output_file) {
        (Some(_), _, _) => run_corpus(args, bootstrap_servers),
        (None, Some(sql), Some(output)) => {
            run_test_runner_files(sql, args.input_file.as_deref(), output)
        }
        _ => bail!(
            "use `eddy test --corpus DIR` or `eddy test -s statements.sql -i input.json -o output.json`"
        ),
    }
}

fn run_corpus(args: &TestArgs, bootstrap_servers: Option<&str>) -> Result<()> {
    let directory = args.corpus.as_ref().context("--corpus is required")?;
    let corpus = load_corpus(directory)?;
    let filter = match &args.filter {
        Some(pattern) => {
            Some(Regex::new(pattern).with_context(|| format!("invalid --filter {pattern:?}"))?)
        }
        None => None,
    };
    let only: Option<BTreeSet<String>> = match &args.only {
        Some(path) => Some(report::read_id_list(path)?.into_iter().collect()),
        None => None,
    };
    let ratchet = match &args.fail_on_regression {
        Some(path) => Some(Ratchet::read(path, &corpus)?),
        None => None,
    };
    let cases: Vec<Case> = corpus
        .into_iter()
        .filter(|case| filter.as_ref().is_none_or(|regex| regex.is_match(&case.id)))
        .filter(|case| only.as_ref().is_none_or(|listed| listed.contains(&case.id)))
        .collect();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    // With --bootstrap-servers, every case runs on that Kafka cluster.
    let factory: Arc<dyn EngineFactory> =
        match crate::backend_kind(bootstrap_servers, &Default::default())? {
            BackendKind::Embedded => Arc::new(EmbeddedEngineFactory),
            BackendKind::Kafka(config) => Arc::new(KafkaEngineFactory::new(config)),
        };

    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut progress = Progress::on_stderr();
    let (mut done, mut passed) = (0, 0);
    let results = run_cases(&cases, jobs, &factory, |result| {
        progress.clear();
        let mut out = stdout.lock();
        // A closed stdout (e.g. `| head`) must not stop the run or the reports.
        let _ = writeln!(out, "{}", report::case_line(result));
        let _ = out.flush();
        done += 1;
        passed += usize::from(result.verdict.status == Status::Pass);
        progress.show(|| {
            format!(
                "cases: {done}/{} done, {passed} passed, {} failed",
                cases.len(),
                done - passed
            )
        });
    });
    progress.clear();
    println!("{}", report::summary_line(&results));
    eprintln!(
        "ran {} cases in {:.1?} with {jobs} jobs",
        results.len(),
        started.elapsed()
    );

    if let Some(path) = &args.json_report {
        report::write_json_report(path, &results)?;
    }
    if let Some(path) = &args.write_passing {
        report::write_passing(path, &results)?;
    }
    if let Some(ratchet) = ratchet {
        let regressions: Vec<String> = ratchet
            .regressions(&cases, &results, &factory, |result| {
                println!("FLAKY {}: passed when run again alone", result.id);
            })
            .iter()
            .map(report::case_line)
            .collect();
        if !regressions.is_empty() {
            bail!(
                "{} listed cases no longer pass:\n{}",
                regressions.len(),
                regressions.join("\n")
            );
        }
    }
    Ok(())
}

/// `eddy test -s -i -o`: runs the test and prints `>>> Test passed!` or `>>> Test failed:
/// reason`; a failure is an error (non-zero exit).
fn run_test_runner_files(statements: &Path, input: Option<&Path>, output: &Path) -> Result<()> {
    let case = load_test_runner_case(statements, input, output)?;
    let verdict = run_case(&case, &EmbeddedEngineFactory);
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
