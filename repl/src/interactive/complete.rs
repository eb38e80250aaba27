//! Tab completion at the `eddy>` prompt: keywords, stream and table names, their columns
//! (`source.column` too, by name or alias), function names, and topic names after
//! `KAFKA_TOPIC=` and `PRINT`. Suggestions follow the case the user typed.
//!
//! The names come from the engine or the server as statement results (`Vocabulary`); the
//! REPL reads them again after statements that may change them.

use std::sync::Arc;

use reedline::{Completer, CompletionResult, Span, Suggestion};
use server::StatementResult;

/// The names the REPL completes and highlights, besides the keywords.
#[derive(Default, Debug)]
pub struct Vocabulary {
    /// Streams and tables with their column names.
    pub sources: Vec<(String, Vec<String>)>,
    pub functions: Vec<String>,
    pub topics: Vec<String>,
}

impl Vocabulary {
    /// Takes the names a SHOW STREAMS/TABLES/FUNCTIONS/TOPICS or DESCRIBE result lists.
    pub fn add_result(&mut self, result: &StatementResult) {
        match result {
            StatementResult::Sources { sources, .. } => {
                for source in sources {
                    self.add_source(&source.name, Vec::new());
                }
            }
            StatementResult::SourceDescription(source) => self.add_source(
                &source.name,
                source
                    .fields
                    .iter()
                    .map(|field| field.name.clone())
                    .collect(),
            ),
            StatementResult::SourceDescriptions(sources) => {
                for source in sources {
                    self.add_result(&StatementResult::SourceDescription(Box::new(
                        source.clone(),
                    )));
                }
            }
            StatementResult::Functions(functions) => self
                .functions
                .extend(functions.iter().map(|function| function.name.clone())),
            StatementResult::Topics { topics, .. } => self
                .topics
                .extend(topics.iter().map(|topic| topic.name.clone())),
            _ => {}
        }
    }

    /// Adds a source, or its columns to the source of that name.
    pub fn add_source(&mut self, name: &str, columns: Vec<String>) {
        match self.sources.iter_mut().find(|(known, _)| known == name) {
            Some((_, known_columns)) => {
                for column in columns {
                    if !known_columns.contains(&column) {
                        known_columns.push(column);
                    }
                }
            }
            None => self.sources.push((name.to_string(), columns)),
        }
    }

    /// Whether `word` names a stream or table (unquoted names compare case-insensitively).
    pub fn is_source(&self, word: &str) -> bool {
        self.sources
            .iter()
            .any(|(name, _)| name == word || name.eq_ignore_ascii_case(word))
    }

    /// Whether `word` names a function.
    pub fn is_function(&self, word: &str) -> bool {
        self.functions
            .iter()
            .any(|name| name.eq_ignore_ascii_case(word))
    }

    fn columns_of(&self, source: &str) -> Option<&[String]> {
        self.sources
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(source))
            .map(|(_, columns)| columns.as_slice())
    }
}

/// Whether a statement that starts like `sql` may change the names the REPL completes.
pub fn may_change_vocabulary(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    !matches!(
        first.as_str(),
        "SELECT" | "SHOW" | "LIST" | "DESCRIBE" | "EXPLAIN" | "PRINT" | "INSERT" | "SET" | "UNSET"
    )
}

/// The completer the REPL gives reedline.
pub struct SqlCompleter {
    vocabulary: Arc<Vocabulary>,
}

impl SqlCompleter {
    pub fn new(vocabulary: Arc<Vocabulary>) -> SqlCompleter {
        SqlCompleter { vocabulary }
    }

    /// The completions of the word that ends at `pos`: (start of the replaced text, values).
    fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<(String, bool)>) {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_word_char(*c))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let word = &before[start..];
        let context = before[..start].trim_end();
        let previous = context
            .rsplit(|c: char| !is_word_char(c))
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let vocabulary = &*self.vocabulary;
        let mut candidates: Vec<(String, bool)> = Vec::new();
        let mut add = |names: &mut dyn Iterator<Item = &String>, space: bool, typed: &str| {
            for name in names {
                if starts_with_ignoring_case(name, typed) {
                    let value = follow_case(name, typed);
                    if !candidates.iter().any(|(known, _)| *known == value) {
                        candidates.push((value, space));
                    }
                }
            }
        };

        if is_topic_position(context) || previous == "PRINT" {
            add(&mut vocabulary.topics.iter(), false, word);
            return (start, candidates);
        }
        if let Some((qualifier, column)) = word.rsplit_once('.') {
            let source = resolve_alias(line, qualifier, vocabulary);
            if let Some(columns) = source.and_then(|source| vocabulary.columns_of(&source)) {
                add(&mut columns.iter(), false, column);
            }
            return (start + qualifier.len() + 1, candidates);
        }
        if word.is_empty() && previous.is_empty() {
            return (start, candidates);
        }
        let source_position = matches!(
            previous.as_str(),
            "FROM" | "JOIN" | "INTO" | "STREAM" | "TABLE" | "DESCRIBE" | "EXISTS"
        );
        let mentioned: Vec<&(String, Vec<String>)> = vocabulary
            .sources
            .iter()
            .filter(|(name, _)| mentions(line, name))
            .collect();
        let mut sources = vocabulary.sources.iter().map(|(name, _)| name);
        // Columns of the sources the statement names, else of all sources.
        let columns: Vec<&String> = if mentioned.is_empty() {
            vocabulary.sources.iter().flat_map(|(_, c)| c).collect()
        } else {
            mentioned.iter().flat_map(|(_, c)| c).collect()
        };
        // Where a source name goes, neither columns nor functions do.
        if !word.is_empty() && !source_position {
            add(&mut columns.into_iter(), false, word);
            add(&mut vocabulary.functions.iter(), false, word);
        }
        add(&mut sources, true, word);
        let keywords: Vec<String> = parser::keywords()
            .iter()
            .map(|keyword| keyword.to_string())
            .collect();
        if !word.is_empty() {
            add(&mut keywords.iter(), true, word);
        }
        (start, candidates)
    }
}

impl Completer for SqlCompleter {
    fn complete(&mut self, line: &str, pos: usize) -> CompletionResult {
        let pos = pos.min(line.len());
        let (start, candidates) = self.candidates(line, pos);
        let suggestions: Vec<Suggestion> = candidates
            .into_iter()
            .map(|(value, append_whitespace)| Suggestion {
                value,
                span: Span::new(start, pos),
                append_whitespace,
                ..Suggestion::default()
            })
            .collect();
        CompletionResult::fresh(suggestions)
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn starts_with_ignoring_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.is_char_boundary(prefix.len())
        && name[..prefix.len()].eq_ignore_ascii_case(prefix)
        && name.len() > prefix.len()
}

/// `name` in the case of `typed`: lower case if the user typed lower case, upper case if
/// upper case. Names that are not all upper case (quoted identifiers, topics) stay as they are.
fn follow_case(name: &str, typed: &str) -> String {
    let has_lower = typed.chars().any(char::is_lowercase);
    let has_upper = typed.chars().any(char::is_uppercase);
    if name.chars().any(char::is_lowercase) {
        return name.to_string();
    }
    match (has_lower, has_upper) {
        (true, false) => name.to_lowercase(),
        _ => name.to_string(),
    }
}

/// Whether the cursor is where a topic name goes: after `KAFKA_TOPIC=` or `KAFKA_TOPIC='`.
fn is_topic_position(context: &str) -> bool {
    let context = context.trim_end_matches('\'').trim_end();
    let Some(context) = context.strip_suffix('=') else {
        return false;
    };
    let context = context.trim_end();
    context.len() >= "KAFKA_TOPIC".len()
        && context.is_char_boundary(context.len() - "KAFKA_TOPIC".len())
        && context[context.len() - "KAFKA_TOPIC".len()..].eq_ignore_ascii_case("KAFKA_TOPIC")
}

/// Whether `line` names the source `name` as a word.
fn mentions(line: &str, name: &str) -> bool {
    line.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == name || word.eq_ignore_ascii_case(name))
}

/// The source `qualifier` stands for in `line`: a source of that name, or the source it
/// aliases (`FROM pageviews p`, `JOIN users AS u`).
fn resolve_alias(line: &str, qualifier: &str, vocabulary: &Vocabulary) -> Option<String> {
    if vocabulary.is_source(qualifier) {
        return Some(qualifier.to_string());
    }
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .collect();
    words.iter().enumerate().find_map(|(index, word)| {
        let alias = match words.get(index + 1) {
            Some(next) if next.eq_ignore_ascii_case("AS") => words.get(index + 2),
            next => next,
        };
        (vocabulary.is_source(word)
            && alias.is_some_and(|alias| alias.eq_ignore_ascii_case(qualifier)))
        .then(|| word.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completer() -> SqlCompleter {
        let mut vocabulary = Vocabulary::default();
        vocabulary.add_source("PAGEVIEWS", vec!["USER_ID".into(), "PAGE_ID".into()]);
        vocabulary.add_source("USERS", vec!["USER_ID".into(), "REGION".into()]);
        vocabulary.functions = vec!["UCASE".into(), "LCASE".into(), "COUNT".into()];
        vocabulary.topics = vec!["pageviews".into(), "users".into()];
        SqlCompleter::new(Arc::new(vocabulary))
    }

    #[test]
    fn completions_depend_on_the_position_and_follow_the_case_typed() {
        let cases: &[(&str, &[&str])] = &[
            ("SELECT * FROM PAGE", &["PAGEVIEWS"]),
            ("SELECT * FROM u", &["users"]),
            ("select * from page", &["pageviews"]),
            ("sel", &["select"]),
            ("SEL", &["SELECT"]),
            ("SELECT ucas", &["ucase"]),
            ("SELECT REG", &["REGION"]),
            ("SELECT u", &["user_id", "ucase", "users"]),
            ("SELECT * FROM pageviews p WHERE p.pa", &["page_id"]),
            (
                "SELECT * FROM pageviews p WHERE p.",
                &["USER_ID", "PAGE_ID"],
            ),
            ("SELECT q.", &[]),
            (
                "SELECT * FROM pageviews p JOIN users AS u ON u.reg",
                &["region"],
            ),
            ("SELECT pageviews.user", &["user_id"]),
            ("CREATE STREAM s WITH (kafka_topic='pa", &["pageviews"]),
            ("CREATE STREAM s WITH (KAFKA_TOPIC=u", &["users"]),
            ("PRINT ", &["pageviews", "users"]),
            ("", &[]),
            ("SELECT * FROM pageviews", &[]),
        ];
        let mut completer = completer();
        for (line, expected) in cases {
            let got: Vec<String> = completer
                .complete(line, line.len())
                .suggestions()
                .iter()
                .map(|suggestion| suggestion.value.clone())
                .collect();
            let got: Vec<&str> = got.iter().map(String::as_str).collect();
            // The keywords that also match come after the names.
            if expected.is_empty() {
                assert!(got.is_empty(), "{line:?}: {got:?}");
            }
            assert_eq!(
                &got[..expected.len().min(got.len())],
                *expected,
                "{line:?}: {got:?}"
            );
        }
    }

    #[test]
    fn a_qualified_column_replaces_only_the_text_after_the_dot() {
        let line = "SELECT * FROM pageviews AS p WHERE p.pa";
        let result = completer().complete(line, line.len());
        let suggestion = &result.suggestions()[0];
        assert_eq!(suggestion.value, "page_id");
        assert_eq!(suggestion.span, Span::new(line.len() - 2, line.len()));
    }
}
