//! Runs many cases on a pool of worker threads. Each case runs on a thread of its own, so
//! that a panic or a hang is reported as an error of that case instead of ending the run.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::corpus::Case;
use crate::engine::EngineFactory;
use crate::report::CaseResult;
use crate::run::run_case;
use crate::verdict::Verdict;

/// A case that runs longer than this is abandoned and reported as an error.
const CASE_TIMEOUT: Duration = Duration::from_secs(60);
/// Stack of the thread that runs a case (planning recurses over expressions).
const CASE_STACK_BYTES: usize = 16 << 20;

/// Runs the cases on `jobs` workers, each on a new engine from `factory`, and hands each
/// result to `on_result` in case order (on the calling thread).
pub fn run_cases(
    cases: &[Case],
    jobs: usize,
    factory: &Arc<dyn EngineFactory>,
    mut on_result: impl FnMut(&CaseResult),
) -> Vec<CaseResult> {
    // Shared with the case threads, which a hung case outlives.
    let cases: Arc<Vec<Case>> = Arc::new(cases.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (sender, receiver) = mpsc::channel::<(usize, Verdict)>();
    let workers: Vec<_> = (0..jobs.max(1).min(cases.len()))
        .map(|_| {
            let cases = Arc::clone(&cases);
            let next = Arc::clone(&next);
            let factory = Arc::clone(factory);
            let sender = sender.clone();
            std::thread::spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= cases.len() {
                        return;
                    }
                    let verdict = run_isolated(&cases, index, &factory);
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
fn run_isolated(cases: &Arc<Vec<Case>>, index: usize, factory: &Arc<dyn EngineFactory>) -> Verdict {
    let (sender, receiver) = mpsc::channel();
    let thread_cases = Arc::clone(cases);
    let thread_factory = Arc::clone(factory);
    let spawned = std::thread::Builder::new()
        .name(format!("case-{index}"))
        .stack_size(CASE_STACK_BYTES)
        .spawn(move || {
            let verdict = run_case(&thread_cases[index], thread_factory.as_ref());
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
