//! The `eddy` REPL as a user meets it: at a terminal (a pseudo-terminal of tmux, whose screen
//! the tests read back: completion, multi-line statements, history, tables that fit the
//! width, highlighting) and with statements piped in (`eddy < file`, `cat file | eddy
//! --server URL`), which run as `--file` does.
//!
//! The terminal tests need tmux (`./dev test` installs it): under `CI=true` they fail without
//! it, elsewhere they skip with a notice. Each runs its own tmux server on a socket in its
//! temporary directory and kills it at the end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tests::eddy_server::EddyServer;
use tests::{describe_output, eddy_binary, run_command, run_eddy};

/// How long one `eddy` run, or one screen change, may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A stream with two rows, the second with a URL too long for half of an 80-column terminal.
const SETUP: &str = "\
CREATE STREAM pageviews (user_id VARCHAR KEY, url VARCHAR, duration_ms BIGINT)
  WITH (kafka_topic='pageviews', value_format='JSON', partitions=1);
INSERT INTO pageviews (user_id, url, duration_ms) VALUES ('u1', '/home', 10);
INSERT INTO pageviews (user_id, url, duration_ms) VALUES ('u2', \
'/search/results/page/with/a/rather/long/path/that/cannot/fit/in/one/column', 20);
";

fn script_file(directory: &Path, name: &str, sql: &str) -> Result<PathBuf> {
    let path = directory.join(name);
    std::fs::write(&path, sql)?;
    Ok(path)
}

/// Runs `eddy ARGS...` with `stdin` piped in.
fn run_piped(args: &[&str], stdin: &[u8]) -> Result<Output> {
    run_command(Command::new(eddy_binary()).args(args), stdin, TIMEOUT)
}

const SCRIPT: &str = "\
SET 'auto.offset.reset' = 'earliest';
SELECT user_id, duration_ms FROM pageviews EMIT CHANGES LIMIT 2;
SHOW STREAMS;
";

#[test]
fn statements_piped_in_run_as_a_script_file_does() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let script = script_file(workspace.path(), "script.sql", &format!("{SETUP}{SCRIPT}"))?;
    let script = script.to_str().context("utf-8 path")?;
    let from_file = run_eddy(&workspace.path().join("a"), &["--file", script], TIMEOUT)?;
    let data = workspace.path().join("b");
    let data = data.to_str().context("utf-8 path")?;
    let piped = run_piped(&["--data-dir", data], format!("{SETUP}{SCRIPT}").as_bytes())?;
    assert!(
        from_file.status.success(),
        "{}",
        describe_output(&from_file)
    );
    assert!(piped.status.success(), "{}", describe_output(&piped));
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert_eq!(stdout, String::from_utf8_lossy(&from_file.stdout));
    assert!(
        stdout.contains(
            "|u2          |20          |\n+------------+------------+\nQuery terminated\n"
        ),
        "piped output keeps the script layout:\n{stdout}"
    );
    assert!(
        piped.stderr.is_empty(),
        "no error and no progress line when stderr is not a terminal\n{}",
        describe_output(&piped)
    );

    // An error stops the script with a non-zero exit, as with --file.
    let failing = "SHOW STREAMS;\nSELECT * FROM nope EMIT CHANGES;\nSHOW TOPICS;\n";
    let bad = script_file(workspace.path(), "bad.sql", failing)?;
    let from_file = run_eddy(
        &workspace.path().join("c"),
        &["--file", bad.to_str().context("utf-8 path")?],
        TIMEOUT,
    )?;
    let c = workspace.path().join("d");
    let piped = run_piped(
        &["--data-dir", c.to_str().context("utf-8 path")?],
        failing.as_bytes(),
    )?;
    for output in [&from_file, &piped] {
        assert_eq!(output.status.code(), Some(1), "{}", describe_output(output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("NOPE"),
            "the error names the unknown stream\n{}",
            describe_output(output)
        );
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("Kafka Topic | Partitions"),
            "statements after the error do not run\n{}",
            describe_output(output)
        );
    }
    assert_eq!(piped.stdout, from_file.stdout);
    assert_eq!(piped.stderr, from_file.stderr);
    Ok(())
}

#[test]
fn statements_piped_to_a_server_run_as_a_script_file_does() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let sql = format!("{SETUP}{SCRIPT}");
    let script = script_file(workspace.path(), "script.sql", &sql)?;
    let first = EddyServer::start(&workspace.path().join("first"), &[])?;
    let from_file = run_piped(
        &[
            "--server",
            &first.url(),
            "--file",
            script.to_str().context("utf-8 path")?,
        ],
        b"",
    )?;
    let second = EddyServer::start(&workspace.path().join("second"), &[])?;
    let piped = run_piped(&["--server", &second.url()], sql.as_bytes())?;
    assert!(
        from_file.status.success(),
        "{}",
        describe_output(&from_file)
    );
    assert!(piped.status.success(), "{}", describe_output(&piped));
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert_eq!(stdout, String::from_utf8_lossy(&from_file.stdout));
    assert!(stdout.contains("|u1          |10          |"), "{stdout}");

    let failing = run_piped(
        &["--server", &second.url()],
        b"SHOW STREAMS;\nDROP STREAM nope;\nSHOW TOPICS;\n",
    )?;
    assert_eq!(
        failing.status.code(),
        Some(1),
        "{}",
        describe_output(&failing)
    );
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert!(
        stdout.contains(" PAGEVIEWS "),
        "{}",
        describe_output(&failing)
    );
    assert!(
        !stdout.contains("Partition Replicas"),
        "{}",
        describe_output(&failing)
    );
    assert!(
        String::from_utf8_lossy(&failing.stderr).contains("NOPE"),
        "{}",
        describe_output(&failing)
    );
    Ok(())
}

/// A tmux server of our own (socket in a temporary directory) running one command in a
/// detached session of a known size; killed on drop.
struct Terminal {
    socket: PathBuf,
}

impl Terminal {
    /// Starts `command` (with `env` set) in an 80x40 terminal, or None when tmux is missing
    /// outside CI.
    fn start(directory: &Path, command: &[String], env: &[(&str, &str)]) -> Result<Option<Self>> {
        if Command::new("tmux").arg("-V").output().is_err() {
            if std::env::var("CI").is_ok_and(|value| value == "true") {
                bail!("tmux is missing: ./dev test installs it");
            }
            eprintln!("SKIPPED: tmux is missing (./dev test installs it)");
            return Ok(None);
        }
        let terminal = Terminal {
            socket: directory.join("tmux.socket"),
        };
        let mut arguments: Vec<String> =
            ["new-session", "-d", "-s", "repl", "-x", "80", "-y", "40"]
                .iter()
                .map(|argument| argument.to_string())
                .collect();
        for (name, value) in env {
            arguments.extend(["-e".to_string(), format!("{name}={value}")]);
        }
        arguments.extend(command.iter().cloned());
        terminal.tmux(&arguments)?;
        Ok(Some(terminal))
    }

    fn tmux(&self, arguments: &[String]) -> Result<String> {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(arguments)
            .output()
            .context("cannot run tmux")?;
        if !output.status.success() {
            bail!("tmux {arguments:?} failed\n{}", describe_output(&output));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Types `text` as it is. (tmux would read a `;` ending an argument as its command
    /// separator: semicolons are sent by their code.)
    fn type_text(&self, text: &str) -> Result<()> {
        for (index, part) in text.split(';').enumerate() {
            if index > 0 {
                self.tmux(&[
                    "send-keys".into(),
                    "-t".into(),
                    "repl".into(),
                    "-H".into(),
                    "3b".into(),
                ])?;
            }
            if !part.is_empty() {
                self.tmux(&[
                    "send-keys".into(),
                    "-t".into(),
                    "repl".into(),
                    "-l".into(),
                    part.into(),
                ])?;
            }
        }
        Ok(())
    }

    /// Presses keys by name (`Tab`, `Enter`, `Up`).
    fn press(&self, key: &str) -> Result<()> {
        self.tmux(&["send-keys".into(), "-t".into(), "repl".into(), key.into()])
            .map(drop)
    }

    /// The screen and its scrollback as text (`-e`: with the escape codes of its colors).
    fn screen(&self, escapes: bool) -> Result<String> {
        let mut arguments: Vec<String> = ["capture-pane", "-p", "-t", "repl", "-S", "-200"]
            .iter()
            .map(|argument| argument.to_string())
            .collect();
        if escapes {
            arguments.push("-e".into());
        }
        self.tmux(&arguments)
    }

    /// Waits until the screen satisfies `ready`, returning it; fails with the screen after
    /// `TIMEOUT`.
    fn wait_for(&self, what: &str, escapes: bool, ready: impl Fn(&str) -> bool) -> Result<String> {
        let started = Instant::now();
        loop {
            let screen = self.screen(escapes)?;
            if ready(&screen) {
                return Ok(screen);
            }
            if started.elapsed() > TIMEOUT {
                bail!("the terminal never showed {what}; it shows:\n{screen}");
            }
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }

    /// The last line of the screen that is not empty (where the cursor is).
    fn wait_for_input_line(&self, expected: &str) -> Result<String> {
        self.wait_for(&format!("the input line {expected:?}"), false, |screen| {
            screen
                .lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .is_some_and(|line| line.trim_end().ends_with(expected))
        })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server".into()]);
    }
}

/// Drives the REPL of `command` (after `SETUP` ran on its engine) through completion of a
/// keyword, a source, a column and a function, a multi-line push query whose wide cell
/// wraps, a statement that creates a stream (whose name then completes) and history.
fn drive_the_repl(workspace: &Path, command: &[String]) -> Result<()> {
    let home = workspace.join("home");
    std::fs::create_dir_all(&home)?;
    let home_text = home.to_str().context("utf-8 path")?;
    let Some(terminal) = Terminal::start(
        workspace,
        command,
        &[("HOME", home_text), ("TERM", "xterm-256color")],
    )?
    else {
        return Ok(());
    };
    terminal.wait_for("the banner", false, |screen| {
        screen.contains("'exit' to quit")
    })?;

    terminal.type_text("set 'auto.offset.reset' = 'earliest';")?;
    terminal.press("Enter")?;
    terminal.wait_for("the property set", false, |screen| {
        screen.contains("Successfully changed local property")
    })?;

    // A keyword, a column and a function complete, in the case they were typed.
    terminal.type_text("sel")?;
    terminal.press("Tab")?;
    terminal.wait_for_input_line("select")?;
    terminal.type_text("user_i")?;
    terminal.press("Tab")?;
    terminal.wait_for_input_line("select user_id")?;
    terminal.type_text(", lcas")?;
    terminal.press("Tab")?;
    terminal.wait_for_input_line("select user_id, lcase")?;
    terminal.type_text("(url) AS url")?;
    // Enter before the `;` continues the statement on the next line.
    terminal.press("Enter")?;
    terminal.type_text("FROM pagev")?;
    terminal.press("Tab")?;
    terminal.wait_for_input_line("FROM pageviews")?;
    terminal.type_text("EMIT CHANGES LIMIT 2;")?;
    // The keyword is highlighted as the user types.
    let colored = terminal.wait_for("a highlighted keyword", true, |screen| {
        screen.contains("EMIT") && screen.contains("\x1b[1m")
    })?;
    assert!(
        colored.contains("\x1b[94m") || colored.contains(";94m"),
        "keywords are light blue:\n{colored:?}"
    );
    terminal.press("Enter")?;
    let screen = terminal.wait_for("the query's end", false, |screen| {
        screen.contains("Query terminated")
    })?;
    // The table fits the 80 columns: the long URL wraps within its column (how wide the
    // columns are depends on whether the query ended before its rows printed).
    let table: Vec<&str> = screen
        .lines()
        .skip_while(|line| !line.starts_with("+-"))
        .take_while(|line| !line.starts_with("Query terminated"))
        .collect();
    assert!(
        table
            .iter()
            .all(|line| line.trim_end().chars().count() <= 80),
        "{screen}"
    );
    let url_row = table
        .iter()
        .position(|line| line.starts_with("|u2 "))
        .with_context(|| format!("no row of u2:\n{screen}"))?;
    let first = table[url_row].split('|').nth(2).context("a second cell")?;
    let second = table[url_row + 1]
        .split('|')
        .nth(2)
        .context("a second cell")?;
    assert!(table[url_row + 1].starts_with("|  "), "{screen}");
    assert_eq!(
        format!("{}{}", first.trim_end(), second.trim_end()),
        "/search/results/page/with/a/rather/long/path/that/cannot/fit/in/one/column",
        "{screen}"
    );

    // The rows of a push query that goes on print as they arrive, under a header that
    // shares the width between the columns.
    terminal.type_text("SELECT user_id, url FROM pageviews EMIT CHANGES;")?;
    terminal.press("Enter")?;
    terminal.wait_for("the rows as they arrive", false, |screen| {
        screen.contains(&format!("|{:<38}|{:<38}|", "u1", "/home"))
            && screen.contains(&format!(
                "|{:<38}|{:<38}|",
                "u2", "/search/results/page/with/a/rather/lon"
            ))
            && screen.contains(&format!(
                "|{:<38}|{:<38}|",
                "", "g/path/that/cannot/fit/in/one/column"
            ))
    })?;
    terminal.press("C-c")?;
    terminal.wait_for("the push query closed", false, |screen| {
        screen.matches("Query terminated").count() == 2
    })?;

    // A stream created at the prompt completes right after.
    terminal.type_text("CREATE STREAM clicks_by_user AS SELECT * FROM pageviews;")?;
    terminal.press("Enter")?;
    terminal.wait_for("the query created", false, |screen| {
        screen.contains("Created query with ID")
    })?;
    terminal.type_text("DESCRIBE CLICKS_")?;
    terminal.press("Tab")?;
    terminal.wait_for_input_line("DESCRIBE CLICKS_BY_USER")?;
    terminal.press("C-c")?;

    // Up brings back the last statement.
    terminal.wait_for_input_line("eddy>")?;
    terminal.press("Up")?;
    terminal.wait_for_input_line("CREATE STREAM clicks_by_user AS SELECT * FROM pageviews;")?;
    terminal.press("C-c")?;
    terminal.type_text("exit")?;
    terminal.press("Enter")?;
    let history_file = home.join(".eddy_history");
    let started = Instant::now();
    loop {
        let history = std::fs::read_to_string(&history_file).unwrap_or_default();
        if history.contains("FROM pageviews EMIT CHANGES LIMIT 2;") {
            break;
        }
        if started.elapsed() > TIMEOUT {
            bail!("the history file has no multi-line statement:\n{history}");
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
    Ok(())
}

fn eddy_command(args: &[&str]) -> Result<Vec<String>> {
    let binary = eddy_binary();
    let mut command = vec![binary.to_str().context("utf-8 path")?.to_string()];
    command.extend(args.iter().map(|arg| arg.to_string()));
    Ok(command)
}

#[test]
fn repl_at_a_terminal_completes_wraps_highlights_and_remembers() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let data = workspace.path().join("data");
    let setup = run_eddy(&data, &["--execute", SETUP], TIMEOUT)?;
    assert!(setup.status.success(), "{}", describe_output(&setup));
    let data = data.to_str().context("utf-8 path")?;
    drive_the_repl(workspace.path(), &eddy_command(&["--data-dir", data])?)
}

#[test]
fn repl_against_a_server_completes_from_the_rest_api() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let server = EddyServer::start(&workspace.path().join("data"), &[])?;
    let setup = run_piped(&["--server", &server.url()], SETUP.as_bytes())?;
    assert!(setup.status.success(), "{}", describe_output(&setup));
    drive_the_repl(
        workspace.path(),
        &eddy_command(&["--server", &server.url()])?,
    )
}

#[test]
fn progress_line_shows_on_a_terminal_only() -> Result<()> {
    let workspace = tempfile::tempdir()?;
    let data = workspace.path().join("data");
    let data = data.to_str().context("utf-8 path")?;
    // 3,000 records at 1,000 a second: three seconds, the progress redrawn each second.
    let args = [
        "--data-dir",
        data,
        "datagen",
        "--quickstart",
        "pageviews",
        "--rate",
        "1000",
        "--iterations",
        "3000",
    ];
    let Some(terminal) = Terminal::start(workspace.path(), &eddy_command(&args)?, &[])? else {
        return Ok(());
    };
    terminal.wait_for("the progress line", false, |screen| {
        screen.contains("records written: 1000/3000")
            || screen.contains("records written: 2000/3000")
    })?;
    drop(terminal);

    let other = workspace.path().join("other");
    let mut args = args;
    args[1] = other.to_str().context("utf-8 path")?;
    let piped = run_piped(&args, b"")?;
    assert!(piped.status.success(), "{}", describe_output(&piped));
    assert!(piped.stderr.is_empty(), "{}", describe_output(&piped));
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout),
        "created topic pageviews with 1 partition\nwrote 3000 pageviews records to topic pageviews\n"
    );
    Ok(())
}
