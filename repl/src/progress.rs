//! A progress line on stderr for long work (`eddy test`, `eddy datagen`, running a script),
//! redrawn in place at most ten times a second. Nothing is written when stderr is not a
//! terminal, so tests and CI read plain output.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct Progress {
    enabled: bool,
    /// When the line was last drawn, if it is on the screen.
    drawn: Option<Instant>,
}

impl Progress {
    /// A progress line, shown only if stderr is a terminal.
    pub fn on_stderr() -> Progress {
        Progress {
            enabled: std::io::stderr().is_terminal(),
            drawn: None,
        }
    }

    /// Draws `text()` in place of the previous line, unless it was drawn less than 100 ms ago.
    pub fn show(&mut self, text: impl FnOnce() -> String) {
        if !self.enabled || self.drawn.is_some_and(|at| at.elapsed() < REDRAW_EVERY) {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r\x1b[K{}", text());
        let _ = stderr.flush();
        self.drawn = Some(Instant::now());
    }

    /// Erases the line (before other output, and at the end).
    pub fn clear(&mut self) {
        if self.drawn.take().is_some() {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
