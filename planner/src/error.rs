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
    /// DataFusion rejected an expression; the message is DataFusion's without its prefixes.
    #[error("{}", datafusion_message(.0))]
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

/// The message of a DataFusion error as a user sees it: without DataFusion's prefixes
/// ("Error during planning: ", "Execution error: ") and, when a function refused its
/// arguments, that refusal alone (not the "user-defined coercion failed with" around it).
pub fn datafusion_message(error: &datafusion::error::DataFusionError) -> String {
    const PREFIXES: [&str; 3] = [
        "Error during planning: ",
        "Execution error: ",
        "This feature is not implemented: ",
    ];
    let text = error.strip_backtrace();
    let mut message = match text.rsplit_once("coercion failed with: ") {
        Some((_, inner)) => inner,
        None => text.as_str(),
    };
    while let Some(rest) = PREFIXES
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
    {
        message = rest;
    }
    message.to_string()
}
