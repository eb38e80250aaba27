//! Kill -9 of an `eddy` child process at points chosen by a persistent query's progress, for
//! the crash tests: the child logs each committed epoch on stderr (`eddy::epoch`, one line
//! per input of the epoch: `query=… topic=… partition=… next_offset=…`), which is parsed to
//! follow the query; what the child committed is for each test to check.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::eddy_binary;

/// Kill `k` happens `k % KILL_PHASES` eighths of an epoch after its kill point is passed.
pub const KILL_PHASES: u32 = 8;
/// How long a child may run without committing an epoch.
const EPOCH_TIMEOUT: Duration = Duration::from_secs(120);

/// A query's progress: the next offset per input `(topic, partition)`.
pub type Progress = BTreeMap<(String, u32), u64>;

/// One epoch log line: the query, its input (the topic is missing from lines of old logs)
/// and the input's next offset after the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochLine {
    pub query: String,
    pub topic: Option<String>,
    pub partition: u32,
    pub next_offset: u64,
}

/// The epoch line `line` is, if it is one (with or without the colors of the log output).
pub fn parse_epoch_line(line: &str) -> Option<EpochLine> {
    let line = strip_ansi(line);
    let mut query = None;
    let mut topic = None;
    let mut partition = None;
    let mut next_offset = None;
    for field in line.split_whitespace() {
        match field.split_once('=') {
            Some(("query", value)) => query = Some(value.to_string()),
            Some(("topic", value)) => topic = Some(value.to_string()),
            Some(("partition", value)) => partition = value.parse().ok(),
            Some(("next_offset", value)) => next_offset = value.parse().ok(),
            _ => {}
        }
    }
    Some(EpochLine {
        query: query?,
        topic,
        partition: partition?,
        next_offset: next_offset?,
    })
}

/// Removes ANSI escape sequences (colors of the log output).
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

/// How to run the child: `eddy --data-dir data --file script`, watching the epochs of query
/// `query_id`. Each epoch logs one line per input; the time between two epochs is measured
/// on the lines of `timed_topic`.
pub struct CrashChild<'a> {
    pub data: &'a Path,
    pub script: &'a Path,
    pub query_id: &'a str,
    pub timed_topic: &'a str,
}

impl CrashChild<'_> {
    /// Starts the child with the epoch log on stderr and kills it with SIGKILL as soon as
    /// the query's summed progress (next offsets over its inputs, starting from `committed`)
    /// reaches `kill_at`, `phase / KILL_PHASES` of an epoch later, so that the kills fall in
    /// every phase of the next epoch (reading, processing, committing). `epoch` is the time
    /// between two epochs, measured here and kept from run to run. Returns the progress seen
    /// and the delay.
    pub fn run_and_kill(
        &self,
        committed: &Progress,
        kill_at: u64,
        phase: u32,
        epoch: &mut Duration,
    ) -> (u64, Duration) {
        let mut child: Child = Command::new(eddy_binary())
            .arg("--data-dir")
            .arg(self.data)
            .arg("--file")
            .arg(self.script)
            .env("EDDY_LOG", "warn,eddy::epoch=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("eddy starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut progress = committed.clone();
        let mut other_lines: VecDeque<String> = VecDeque::new();
        let mut last_epoch: Option<Instant> = None;
        loop {
            match lines.recv_timeout(EPOCH_TIMEOUT) {
                Ok(line) => match parse_epoch_line(&line)
                    .filter(|epoch_line| epoch_line.query == self.query_id)
                {
                    Some(EpochLine {
                        topic: Some(topic),
                        partition,
                        next_offset,
                        ..
                    }) => {
                        if topic == self.timed_topic {
                            let now = Instant::now();
                            if let Some(last) = last_epoch.replace(now) {
                                *epoch = now - last;
                            }
                        }
                        progress.insert((topic, partition), next_offset);
                        if progress.values().sum::<u64>() >= kill_at {
                            break;
                        }
                    }
                    _ => {
                        other_lines.push_back(line);
                        if other_lines.len() > 20 {
                            other_lines.pop_front();
                        }
                    }
                },
                Err(RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("reaped");
                    panic!(
                        "eddy ended ({status}) before its progress reached {kill_at} (at \
                         {progress:?}); its last stderr lines:\n{}",
                        Vec::from(other_lines).join("\n")
                    );
                }
                Err(RecvTimeoutError::Timeout) => {
                    child.kill().expect("SIGKILL");
                    child.wait().expect("reaped");
                    panic!(
                        "eddy committed no epoch for {EPOCH_TIMEOUT:?} (progress {progress:?}); \
                         its last stderr lines:\n{}",
                        Vec::from(other_lines).join("\n")
                    );
                }
            }
        }
        // The kill instant: chosen, not waited for.
        let delay = *epoch * phase / KILL_PHASES;
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        drop(lines);
        reader
            .join()
            .expect("the stderr reader ends with the child");
        (progress.values().sum(), delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_lines_parse_with_and_without_colors() {
        let line = |query: &str, topic: Option<&str>, partition, next_offset| {
            Some(EpochLine {
                query: query.to_string(),
                topic: topic.map(str::to_string),
                partition,
                next_offset,
            })
        };
        let cases = [
            (
                "2024-01-01T00:00:00.000000Z DEBUG eddy::epoch: committed query=CTAS_PAGE_STATS_0 partition=1 next_offset=4096",
                line("CTAS_PAGE_STATS_0", None, 1, 4096),
            ),
            (
                "\u{1b}[2m2024\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m \u{1b}[2meddy::epoch\u{1b}[0m\u{1b}[2m:\u{1b}[0m committed \u{1b}[3mquery\u{1b}[0m\u{1b}[2m=\u{1b}[0mCTAS_PAGE_STATS_0 \u{1b}[3mpartition\u{1b}[0m\u{1b}[2m=\u{1b}[0m0 \u{1b}[3mnext_offset\u{1b}[0m\u{1b}[2m=\u{1b}[0m12",
                line("CTAS_PAGE_STATS_0", None, 0, 12),
            ),
            (
                "DEBUG eddy::epoch: committed query=CSAS_JOINED_0 task=CSAS_JOINED_0-0 topic=views partition=1 next_offset=5",
                line("CSAS_JOINED_0", Some("views"), 1, 5),
            ),
            ("WARN replaying failed", None),
            (
                "DEBUG eddy::epoch: committed query=Q partition=x next_offset=5",
                None,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_epoch_line(text), expected, "{text:?}");
        }
    }
}
