//! `eddy test`: runs ksqlDB's own functional tests (the conformance corpus) against Eddy, or
//! one test in ksqlDB's `ksql-test-runner` file format.
//!
//! Every case runs on a fresh engine in a temporary directory, on a pool of worker threads.
//! Loading is in `corpus`, running and judging one case in `run` (with `codec`, `compare`,
//! `topics` and `post`; REST cases through an HTTP server in `rest`), output in `report`.

mod base64;
mod codec;
mod compare;
mod corpus;
mod json;
mod ksql_test_runner;
mod post;
mod report;
mod rest;
mod run;
mod topics;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use regex::Regex;

use self::corpus::Case;
use self::report::CaseResult;
use self::run::{Status, Verdict};

/// A case that runs longer than this is abandoned and reported as an error.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// At most this many listed cases that failed are run again before the ratchet fails (more
/// failures than this are a regression, not load).
const MAX_RETRIED: usize = 10;
/// Stack of the thread that runs a case (planning recurses over expressions).
const CASE_STACK_BYTES: usize = 16 << 20;

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
pub fn run(args: &TestArgs) -> Result<()> {
    match (&args.corpus, &args.sql_file, &args.output_file) {
        (Some(_), _, _) => run_corpus(args),
        (None, Some(sql), Some(output)) => {
            ksql_test_runner::run(sql, args.input_file.as_deref(), output)
        }
        _ => bail!(
            "use `eddy test --corpus DIR` or `eddy test -s statements.sql -i input.json -o output.json`"
        ),
    }
}

fn run_corpus(args: &TestArgs) -> Result<()> {
    let directory = args.corpus.as_ref().context("--corpus is required")?;
    let mut cases = corpus::load_corpus(directory).map_err(anyhow::Error::msg)?;
    let all_ids: BTreeSet<String> = cases.iter().map(|case| case.id.clone()).collect();
    if let Some(pattern) = &args.filter {
        let regex = Regex::new(pattern).with_context(|| format!("invalid --filter {pattern:?}"))?;
        cases.retain(|case| regex.is_match(&case.id));
    }
    if let Some(path) = &args.only {
        let listed: BTreeSet<String> = report::read_id_list(path)?.into_iter().collect();
        cases.retain(|case| listed.contains(&case.id));
    }
    let listed = match &args.fail_on_regression {
        Some(path) => {
            let listed = report::read_id_list(path)?;
            let unknown: Vec<&String> = listed.iter().filter(|id| !all_ids.contains(*id)).collect();
            if !unknown.is_empty() {
                bail!(
                    "{} ids listed in {} are not in the corpus, such as {:?}",
                    unknown.len(),
                    path.display(),
                    unknown[0]
                );
            }
            Some(listed)
        }
        None => None,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);

    let started = Instant::now();
    let stdout = std::io::stdout();
    let by_id: BTreeMap<String, Case> = match &listed {
        Some(_) => cases
            .iter()
            .map(|case| (case.id.clone(), case.clone()))
            .collect(),
        None => BTreeMap::new(),
    };
    let results = run_cases(cases, jobs, |result| {
        let mut out = stdout.lock();
        // A closed stdout (e.g. `| head`) must not stop the run or the reports.
        let _ = writeln!(out, "{}", report::case_line(result));
        let _ = out.flush();
    });
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
    if let Some(listed) = listed {
        let mut regressions: Vec<String> = report::regressions(&listed, &results)
            .into_iter()
            .map(report::case_line)
            .collect();
        if !regressions.is_empty() && regressions.len() <= MAX_RETRIED {
            // A listed case that failed under the load of a parallel run gets one more run on
            // its own; only a second failure counts. Each flaky pass is reported.
            let retry: Vec<Case> = report::regressions(&listed, &results)
                .into_iter()
                .filter_map(|result| by_id.get(&result.id).cloned())
                .collect();
            let retried = run_cases(retry, 1, |result| {
                if result.verdict.status == Status::Pass {
                    println!("FLAKY {}: passed when run again alone", result.id);
                }
            });
            regressions = report::regressions(&listed, &retried)
                .into_iter()
                .map(report::case_line)
                .collect();
        }
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

/// Runs the cases on `jobs` workers and hands each result to `on_result` in case order.
fn run_cases(
    cases: Vec<Case>,
    jobs: usize,
    mut on_result: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel::<(usize, Verdict)>();
    let workers: Vec<_> = (0..jobs.min(cases.len()))
        .map(|_| {
            let cases = Arc::clone(&cases);
            let next = Arc::clone(&next);
            let sender = sender.clone();
            std::thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= cases.len() {
                        return;
                    }
                    let verdict = run_isolated(&cases, index);
                    if sender.send((index, verdict)).is_err() {
                        return;
                    }
                }
            })
        })
        .collect();
    drop(sender);

    let mut done: BTreeMap<usize, Verdict> = BTreeMap::new();
    let mut results: Vec<CaseResult> = Vec::with_capacity(cases.len());
    for (index, verdict) in receiver {
        done.insert(index, verdict);
        while let Some(verdict) = done.remove(&results.len()) {
            let case = &cases[results.len()];
            let result = CaseResult {
                id: case.id.clone(),
                needs: case.needs.clone(),
                verdict,
            };
            on_result(&result);
            results.push(result);
        }
    }
    for worker in workers {
        // Workers only end after sending everything; a panic there was already reported.
        let _ = worker.join();
    }
    results
}

/// Runs one case on its own thread, so that a panic or a hang is reported as an error of
/// that case (a hung case's thread is abandoned).
fn run_isolated(cases: &Arc<Vec<Case>>, index: usize) -> Verdict {
    let (sender, receiver) = mpsc::channel();
    let thread_cases = Arc::clone(cases);
    let spawned = std::thread::Builder::new()
        .name(format!("case-{index}"))
        .stack_size(CASE_STACK_BYTES)
        .spawn(move || {
            let verdict = run::run_case(&thread_cases[index]);
            // The receiver is gone only when the case timed out.
            let _ = sender.send(verdict);
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(error) => return Verdict::error(format!("cannot start a thread: {error}")),
    };
    match receiver.recv_timeout(CASE_TIMEOUT) {
        Ok(verdict) => {
            let _ = handle.join();
            verdict
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            Verdict::error(format!("did not finish within {CASE_TIMEOUT:?}"))
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                    .unwrap_or_else(|| "unknown panic".to_string());
                Verdict::error(format!("panicked: {message}"))
            }
            Ok(()) => Verdict::error("the case thread ended without a verdict"),
        },
    }
}
