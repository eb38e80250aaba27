//! The executor's error type.

/// Errors of the executor, sorted by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The user asked for something that cannot be done (unknown topic, bad value).
    #[error("{0}")]
    User(String),
    /// A record could not be decoded or encoded.
    #[error("{0}")]
    Format(String),
    /// The storage engine failed.
    #[error("storage error")]
    Storage(#[from] rocksdb::Error),
    /// An I/O operation failed.
    #[error("i/o error")]
    Io(#[from] std::io::Error),
    /// Evaluating an expression failed.
    #[error("expression evaluation failed")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// Arrow failed.
    #[error("arrow error")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The Kafka cluster refused or failed a request.
    #[error("Kafka: {0}")]
    Kafka(String),
    /// A broken invariant: a bug in Eddy.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

/// The executor's result type.
pub type Result<T, E = ExecError> = std::result::Result<T, E>;

/// An error and its causes on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
