//! The conformance runner's error type: what stops a run as a whole. A case that cannot run
//! is not an error here; it gets a `Verdict` with `Status::Error`.

use std::path::PathBuf;

/// Errors of the conformance runner, sorted by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The corpus cannot be read or a file in it is invalid (the text names the file).
    #[error("{0}")]
    InvalidCorpus(String),
    /// A ratchet list names cases that the corpus does not have.
    #[error("{count} ids listed in {} are not in the corpus, such as {example:?}", path.display())]
    UnknownListedIds {
        path: PathBuf,
        count: usize,
        example: String,
    },
    /// A `ksql-test-runner` input or output file is invalid.
    #[error("invalid test file {}: {reason}", path.display())]
    InvalidTestFile { path: PathBuf, reason: String },
    /// A file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be written.
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The temporary directory of an engine cannot be created.
    #[error("cannot create a temporary directory")]
    TempDir(#[source] std::io::Error),
    /// The engine under test does not open.
    #[error("cannot open an engine")]
    OpenEngine(#[source] server::ServerError),
}

/// The conformance runner's result type.
pub type Result<T, E = ConformanceError> = std::result::Result<T, E>;
