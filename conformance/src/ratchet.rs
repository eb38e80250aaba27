//! The ratchet: a list of case ids that must keep passing (`tests/conformance/passing.txt`).
//! A listed case that fails under the load of a parallel run gets one more run on its own;
//! only a second failure is a regression.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use crate::corpus::Case;
use crate::engine::EngineFactory;
use crate::error::{ConformanceError, Result};
use crate::pool::run_cases;
use crate::report::{CaseResult, read_id_list, regressions};
use crate::verdict::Status;

/// At most this many listed cases that failed are run again (more failures than this are a
/// regression, not load).
const MAX_RETRIED: usize = 10;

/// The case ids that must pass.
#[derive(Debug, Clone)]
pub struct Ratchet {
    /// In file order.
    listed: Vec<String>,
    ids: BTreeSet<String>,
}

impl Ratchet {
    /// Reads the list at `path` (see `report::read_id_list`); every id in it must be a case
    /// of `corpus`.
    pub fn read(path: &Path, corpus: &[Case]) -> Result<Self> {
        let listed = read_id_list(path)?;
        let known: BTreeSet<&str> = corpus.iter().map(|case| case.id.as_str()).collect();
        let unknown: Vec<&String> = listed
            .iter()
            .filter(|id| !known.contains(id.as_str()))
            .collect();
        if let Some(example) = unknown.first() {
            return Err(ConformanceError::UnknownListedIds {
                path: path.to_path_buf(),
                count: unknown.len(),
                example: example.to_string(),
            });
        }
        let ids = listed.iter().cloned().collect();
        Ok(Self { listed, ids })
    }

    /// Whether the list names the case `id`.
    pub fn lists(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// The listed cases that did not pass in `results` (of `cases`), in list order. When
    /// there are at most `MAX_RETRIED` of them, each runs again alone on an engine from
    /// `factory` and only a second failure counts; `on_flaky` gets each case that passed then.
    pub fn regressions(
        &self,
        cases: &[Case],
        results: &[CaseResult],
        factory: &Arc<dyn EngineFactory>,
        mut on_flaky: impl FnMut(&CaseResult),
    ) -> Vec<CaseResult> {
        let failed = regressions(&self.listed, results);
        if failed.is_empty() || failed.len() > MAX_RETRIED {
            return failed.into_iter().cloned().collect();
        }
        let by_id: BTreeMap<&str, &Case> =
            cases.iter().map(|case| (case.id.as_str(), case)).collect();
        let retry: Vec<Case> = failed
            .iter()
            .filter_map(|result| by_id.get(result.id.as_str()).map(|case| (*case).clone()))
            .collect();
        let retried = run_cases(&retry, 1, factory, |result| {
            if result.verdict.status == Status::Pass {
                on_flaky(result);
            }
        });
        regressions(&self.listed, &retried)
            .into_iter()
            .cloned()
            .collect()
    }
}
