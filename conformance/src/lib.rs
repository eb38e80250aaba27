//! Conformance: runs ksqlDB's own functional tests (the corpus in
//! `../shared/conformance/ksqldb`, see its `CORPUS_FORMAT.md`) against an engine and judges
//! each case, as ksqlDB's test harness would. Used by `eddy test` and by the ratchet test in
//! `tests/`.
//!
//! [`load_corpus`] reads the cases; [`run_case`] runs one on a fresh engine from an
//! [`EngineFactory`] and returns its [`Verdict`]; [`run_cases`] runs many on worker threads;
//! [`Ratchet`] checks that listed cases still pass; [`report`] prints and writes the results.
//! The engine under test is `server::Engine` ([`EmbeddedEngineFactory`] opens one on the
//! embedded log); REST cases reach it through `server::http`.

mod base64;
mod codec;
mod compare;
mod corpus;
mod engine;
mod error;
mod json;
mod ksql_test_runner;
mod pool;
mod post;
mod ratchet;
pub mod report;
mod rest;
mod run;
mod test_functions;
mod topics;
mod verdict;

pub use corpus::{Case, load_corpus};
pub use engine::{EmbeddedEngineFactory, EngineFactory, KafkaEngineFactory, TestEngine};
pub use error::{ConformanceError, Result};
pub use ksql_test_runner::load_test_runner_case;
pub use pool::run_cases;
pub use ratchet::Ratchet;
pub use run::run_case;
pub use test_functions::register_test_functions;
pub use verdict::{Status, Verdict};
