//! The planner's error type.

/// Errors of planning, sorted by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The statement is wrong: unknown source, type mismatch, unsupported clause.
    #[error("{0}")]
    User(String),
    /// The statement is wrong at a known position.
    #[error("Line: {line}, Col: {column}: {message}")]
    UserAt {
        line: u64,
        column: u64,
        message: String,
    },
    /// A column reference is wrong at a known position, found while resolving the statement's
    /// references (ksqlDB's statement preparation).
    #[error("Exception while preparing statement: Line: {line}, Col: {column}: {message}")]
    PrepareAt {
        line: u64,
        column: u64,
        message: String,
    },
    /// DataFusion rejected an expression.
    #[error("{0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A broken invariant: a bug in Eddy.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

/// The planner's result type.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

/// A user error.
pub fn user_error<T>(message: impl Into<String>) -> Result<T> {
    Err(PlanError::User(message.into()))
}
