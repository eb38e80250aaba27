//! The server's error type.

/// Errors of statement execution, sorted by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The SQL does not parse.
    #[error(transparent)]
    Parse(#[from] parser::ParseError),
    /// The statement is invalid for the current catalog.
    #[error(transparent)]
    Plan(#[from] planner::PlanError),
    /// The statement is invalid for another reason (a running query, a missing topic).
    #[error("{0}")]
    User(String),
    /// The external schema registry failed or refused a request.
    #[error("{0}")]
    SchemaRegistry(String),
    /// The executor failed (storage, formats).
    #[error(transparent)]
    Exec(#[from] executor::ExecError),
    /// A broken invariant: a bug in Eddy.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

/// The server's result type.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// A user error.
pub fn user_error<T>(message: impl Into<String>) -> Result<T> {
    Err(ServerError::User(message.into()))
}
