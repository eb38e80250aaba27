//! The `eddy>` prompt (reedline) and the non-interactive script runner, over an embedded
//! engine or a server (`crate::remote`).
//!
//! Statements may span lines and end with `;`. Ctrl-C at the prompt clears the line;
//! during a push query it closes the query and returns to the prompt. Completion is in
//! `complete`, highlighting in `highlight`. When stdin is not a terminal (`eddy < file`),
//! its statements run as a script does.

mod complete;
mod highlight;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use reedline::{
    ColumnarMenu, DefaultPrompt, DefaultPromptSegment, Emacs, FileBackedHistory, KeyCode,
    KeyModifiers, MenuBuilder, Reedline, ReedlineEvent, ReedlineMenu, Signal, ValidationResult,
    Validator, default_emacs_keybindings,
};
use server::{Engine, Session, StatementOutput};

pub use self::complete::Vocabulary;
use self::complete::{SqlCompleter, may_change_vocabulary};
use self::highlight::SqlHighlighter;
use crate::output::{Layout, print_output};
use crate::progress::Progress;
use crate::remote::Remote;

/// Where statements run.
pub enum Target {
    /// An engine opened on this data directory, with its topics in the Kafka cluster of
    /// `bootstrap_servers` if given.
    Embedded {
        data_dir: PathBuf,
        bootstrap_servers: Option<String>,
    },
    /// A server's REST API: its base URL and basic-auth credentials.
    Remote {
        url: String,
        credentials: Option<(String, String)>,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Opens the engine of `data_dir`, on the Kafka cluster of `bootstrap_servers` if given.
pub fn open_engine(
    data_dir: &std::path::Path,
    bootstrap_servers: Option<&str>,
) -> Result<std::sync::Arc<Engine>> {
    let backend = crate::backend_kind(bootstrap_servers, &Default::default())?;
    Engine::open_with(data_dir, backend).context("cannot open the data directory")
}

/// Runs a script without a terminal: prints each output, stops at the first error.
pub fn run_script(target: &Target, sql: &str) -> Result<()> {
    let (data_dir, bootstrap_servers) = match target {
        Target::Embedded {
            data_dir,
            bootstrap_servers,
        } => (data_dir, bootstrap_servers),
        Target::Remote { url, credentials } => {
            return Remote::connect(url, credentials.clone())?.run_script_with_progress(
                sql,
                &mut std::io::stdout().lock(),
                &mut Progress::on_stderr(),
            );
        }
    };
    let runtime = runtime()?;
    let engine = open_engine(data_dir, bootstrap_servers.as_deref())?;
    let mut session = Session::default();
    let stdout = std::io::stdout();
    let mut print_error = None;
    let total = parser::parse_statements(sql).map_or(0, |statements| statements.len());
    let mut progress = Progress::on_stderr();
    let mut done = 0;
    engine
        .execute_script(sql, &mut session, |_, output| {
            progress.clear();
            if print_error.is_none()
                && let Err(error) =
                    print_output(&runtime, output, Layout::Script, &mut stdout.lock())
            {
                print_error = Some(error);
            }
            done += 1;
            progress.show(|| format!("statements: {done}/{total}"));
        })
        .map_err(|error| anyhow::anyhow!("{}", executor::error_chain(&error)))?;
    progress.clear();
    if let Some(error) = print_error {
        return Err(error.into());
    }
    Ok(())
}

/// Statements are complete when the buffer ends with `;` (outside a string, a quoted name
/// or a comment; a line comment may follow it).
struct StatementValidator;

impl Validator for StatementValidator {
    fn validate(&self, line: &str) -> ValidationResult {
        let trimmed = line.trim();
        if trimmed.is_empty() || ends_statement(trimmed) || !is_sql(trimmed) {
            ValidationResult::Complete
        } else {
            ValidationResult::Incomplete
        }
    }
}

/// Whether the last thing in `sql` other than blanks and comments is a `;` that ends a
/// statement.
fn ends_statement(sql: &str) -> bool {
    let mut last_is_semicolon = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                last_is_semicolon = false;
                // To the closing quote; a doubled quote stands for one and reopens.
                for inner in chars.by_ref() {
                    if inner == c {
                        break;
                    }
                }
                // An unclosed quote leaves the statement open.
                if chars.peek().is_none() && !sql.ends_with(c) {
                    return false;
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                let mut closed = false;
                for inner in chars.by_ref() {
                    if previous == '*' && inner == '/' {
                        closed = true;
                        break;
                    }
                    previous = inner;
                }
                if !closed {
                    return false;
                }
            }
            ';' => last_is_semicolon = true,
            c if c.is_whitespace() => {}
            _ => last_is_semicolon = false,
        }
    }
    last_is_semicolon
}

/// REPL commands (`exit`, `quit`, `help`) need no `;`.
fn is_sql(line: &str) -> bool {
    !matches!(line.to_ascii_lowercase().as_str(), "exit" | "quit" | "help")
}

/// The engine or server the interactive REPL talks to.
enum Backend {
    Embedded {
        runtime: tokio::runtime::Runtime,
        engine: Arc<Engine>,
        session: Session,
    },
    /// Boxed: a `Remote` holds its own runtime and client, much larger than the other variant.
    Remote(Box<Remote>),
}

impl Backend {
    fn open(target: &Target) -> Result<(Backend, String)> {
        Ok(match target {
            Target::Embedded {
                data_dir,
                bootstrap_servers,
            } => {
                let backend = Backend::Embedded {
                    runtime: runtime()?,
                    engine: open_engine(data_dir, bootstrap_servers.as_deref())?,
                    session: Session::default(),
                };
                (backend, format!("Data directory: {}", data_dir.display()))
            }
            Target::Remote { url, credentials } => {
                let remote = Remote::connect(url, credentials.clone())?;
                let description = remote.describe();
                (Backend::Remote(Box::new(remote)), description)
            }
        })
    }

    /// Runs the statements of one REPL entry, printing outputs and errors.
    fn execute(&mut self, sql: &str) {
        let stdout = std::io::stdout();
        match self {
            Backend::Embedded {
                runtime,
                engine,
                session,
            } => {
                let layout = Layout::of_stdout();
                let result = engine.execute_script(sql, session, |_, output| {
                    if let Err(error) = print_output(runtime, output, layout, &mut stdout.lock()) {
                        eprintln!("{error}");
                    }
                });
                if let Err(error) = result {
                    eprintln!("{}", executor::error_chain(&error));
                }
            }
            Backend::Remote(remote) => {
                if let Err(error) = remote.run_script(sql, &mut stdout.lock()) {
                    eprintln!("{error:#}");
                }
            }
        }
        let _ = std::io::stdout().flush();
    }

    /// The names to complete and highlight: sources and their columns, functions, topics.
    fn vocabulary(&self) -> Vocabulary {
        match self {
            Backend::Embedded {
                runtime, engine, ..
            } => {
                let mut vocabulary = Vocabulary::default();
                for source in engine.catalog().sources() {
                    let columns = source.columns.iter().map(|c| c.name.clone()).collect();
                    vocabulary.add_source(&source.name, columns);
                }
                let _guard = runtime.enter();
                let listing = "SHOW FUNCTIONS; SHOW TOPICS;";
                // A listing that fails leaves those names out of completion.
                let _ = engine.execute_script(listing, &mut Session::default(), |_, output| {
                    if let StatementOutput::Completed(result) = output {
                        vocabulary.add_result(&result);
                    }
                });
                vocabulary
            }
            Backend::Remote(remote) => remote.vocabulary(),
        }
    }
}

/// The interactive REPL.
pub fn run_repl(target: &Target) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        let mut sql = String::new();
        std::io::stdin()
            .read_to_string(&mut sql)
            .context("cannot read the statements from stdin")?;
        return run_script(target, &sql);
    }
    let (mut backend, description) = Backend::open(target)?;
    if let Backend::Remote(remote) = &mut backend {
        remote.set_layout(Layout::of_stdout());
    }
    let highlight = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    println!(
        "Eddy {} — ksqlDB-compatible streaming SQL. {description}\nType SQL statements ending with ';', 'help' for help, 'exit' to quit.\n",
        env!("CARGO_PKG_VERSION"),
    );
    let history_path = dirs_history();
    let history = FileBackedHistory::with_file(10_000, history_path)
        .context("cannot open the history file")?;
    let mut keybindings = default_emacs_keybindings();
    keybindings.add_binding(
        KeyModifiers::NONE,
        KeyCode::Tab,
        ReedlineEvent::UntilFound(vec![
            ReedlineEvent::Menu("completion_menu".to_string()),
            ReedlineEvent::MenuNext,
        ]),
    );
    let mut editor = Reedline::create()
        .with_history(Box::new(history))
        .with_validator(Box::new(StatementValidator))
        // Tab inserts a lone completion, or the prefix all completions share, at once.
        .with_quick_completions(true)
        .with_partial_completions(true)
        .with_edit_mode(Box::new(Emacs::new(keybindings)))
        .with_menu(ReedlineMenu::EngineCompleter(Box::new(
            ColumnarMenu::default().with_name("completion_menu"),
        )));
    let prompt = DefaultPrompt::new(
        DefaultPromptSegment::Basic("eddy".to_string()),
        DefaultPromptSegment::Empty,
    );
    let mut vocabulary = Arc::new(backend.vocabulary());
    loop {
        editor = editor.with_completer(Box::new(SqlCompleter::new(Arc::clone(&vocabulary))));
        if highlight {
            editor =
                editor.with_highlighter(Box::new(SqlHighlighter::new(Arc::clone(&vocabulary))));
        }
        match editor.read_line(&prompt) {
            Ok(Signal::Success(line)) => {
                let trimmed = line.trim();
                match trimmed.to_ascii_lowercase().as_str() {
                    "" => continue,
                    "exit" | "quit" => break,
                    "help" => {
                        println!(
                            "Statements: CREATE STREAM, CREATE STREAM AS SELECT, INSERT INTO, SELECT ... EMIT CHANGES, SHOW STREAMS|TOPICS|QUERIES|PROPERTIES, DESCRIBE [EXTENDED], DROP STREAM, TERMINATE, PRINT, SET, UNSET, EXPLAIN, RUN SCRIPT. Tab completes names, Up and Down walk the history (~/.eddy_history), Ctrl-R searches it. Ctrl-C stops a running query; Ctrl-D or 'exit' quits."
                        );
                        continue;
                    }
                    _ => {}
                }
                backend.execute(&line);
                if may_change_vocabulary(trimmed) {
                    vocabulary = Arc::new(backend.vocabulary());
                }
            }
            Ok(Signal::CtrlC) => continue,
            Ok(Signal::CtrlD) => break,
            Ok(_) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(())
}

fn dirs_history() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
        .join(".eddy_history")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_ends_at_a_semicolon_outside_strings_and_comments() {
        let cases = [
            ("SHOW STREAMS;", true),
            ("SHOW STREAMS", false),
            ("SHOW STREAMS; -- all of them", true),
            ("SHOW STREAMS; /* all */", true),
            ("SELECT 'a;", false),
            ("SELECT 'a;' FROM s", false),
            ("SELECT 'a;' FROM s;", true),
            ("SELECT 'it''s' FROM s;", true),
            ("SELECT 1 -- ends here;", false),
            ("SELECT 1 /* ; */", false),
            ("SELECT 1; /* open", false),
            ("SELECT `a;b` FROM s\n;", true),
        ];
        for (sql, expected) in cases {
            assert_eq!(ends_statement(sql), expected, "{sql:?}");
        }
    }
}
