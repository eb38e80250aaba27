//! The verdict on a case (pass, fail or error, with a reason) and the helpers that turn
//! errors into one-line reasons.

/// The verdict on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Eddy behaves as ksqlDB does.
    Pass,
    /// Eddy's behaviour differs from ksqlDB's (or needs a feature not built yet).
    Fail,
    /// The runner could not run the case.
    Error,
}

/// A verdict and its reason (empty for a pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub reason: String,
}

impl Verdict {
    /// The case passed.
    pub fn pass() -> Self {
        Self {
            status: Status::Pass,
            reason: String::new(),
        }
    }

    /// Eddy's behaviour differs from ksqlDB's.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            reason: reason.into(),
        }
    }

    /// The runner could not run the case.
    pub fn error(reason: impl Into<String>) -> Self {
        Self {
            status: Status::Error,
            reason: reason.into(),
        }
    }
}

/// An error and its causes, as one text (causes already in the text are not repeated).
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A reason on one line.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
