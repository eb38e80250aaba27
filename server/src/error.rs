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
    /// The external schema registry failed or refused a request (with its Confluent
    /// `error_code` when it answered one).
    #[error("{message}")]
    SchemaRegistry {
        message: String,
        error_code: Option<u32>,
    },
    /// The executor failed (storage, formats).
    #[error(transparent)]
    Exec(#[from] executor::ExecError),
    /// A broken invariant: a bug in Eddy.
    #[error("internal error (this is a bug): {0}")]
    Internal(String),
}

/// The server's result type.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// A failure of the external schema registry that it gave no error code for.
pub(crate) fn registry_error(message: impl Into<String>) -> ServerError {
    ServerError::SchemaRegistry {
        message: message.into(),
        error_code: None,
    }
}

/// A user error.
pub fn user_error<T>(message: impl Into<String>) -> Result<T> {
    Err(ServerError::User(message.into()))
}
