//! Parses every statement of ksqlDB's own functional tests (the conformance corpus).
//!
//! Cases whose `expected_error` is null must parse, and each parsed statement must print as
//! SQL that parses back to the same AST. The corpus lives outside the repository (see
//! `tests::conformance_corpus`): without it the tests fail under `CI=true`, and otherwise do not run and
//! leave a marker that `./dev test` reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parser::ast::{Explain, Statement, StatementKind};
use parser::parse_statements;

/// Minimal JSON, enough to read the corpus (no dependency on a JSON crate).
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

struct JsonReader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    position: usize,
}

impl JsonReader<'_> {
    fn skip_whitespace(&mut self) {
        while self.position < self.bytes.len() && self.bytes[self.position].is_ascii_whitespace() {
            self.position += 1;
        }
    }

    fn expect(&mut self, byte: u8) {
        self.skip_whitespace();
        assert_eq!(self.bytes[self.position], byte, "at {}", self.position);
        self.position += 1;
    }

    fn value(&mut self) -> Json {
        self.skip_whitespace();
        match self.bytes[self.position] {
            b'n' => {
                self.position += 4;
                Json::Null
            }
            b't' => {
                self.position += 4;
                Json::Bool
            }
            b'f' => {
                self.position += 5;
                Json::Bool
            }
            b'"' => Json::String(self.string()),
            b'[' => {
                self.position += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.bytes[self.position] == b']' {
                    self.position += 1;
                    return Json::Array(items);
                }
                loop {
                    items.push(self.value());
                    self.skip_whitespace();
                    self.position += 1;
                    if self.bytes[self.position - 1] == b']' {
                        return Json::Array(items);
                    }
                }
            }
            b'{' => {
                self.position += 1;
                let mut members = BTreeMap::new();
                self.skip_whitespace();
                if self.bytes[self.position] == b'}' {
                    self.position += 1;
                    return Json::Object(members);
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string();
                    self.expect(b':');
                    members.insert(key, self.value());
                    self.skip_whitespace();
                    self.position += 1;
                    if self.bytes[self.position - 1] == b'}' {
                        return Json::Object(members);
                    }
                }
            }
            _ => {
                while self.position < self.bytes.len()
                    && matches!(
                        self.bytes[self.position],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.position += 1;
                }
                Json::Number
            }
        }
    }

    fn string(&mut self) -> String {
        self.expect(b'"');
        let mut out = String::new();
        loop {
            let rest = &self.text[self.position..];
            let ch = rest.chars().next().expect("unterminated string");
            self.position += ch.len_utf8();
            match ch {
                '"' => return out,
                '\\' => {
                    let escape = self.bytes[self.position];
                    self.position += 1;
                    match escape {
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'u' => {
                            let code = u32::from_str_radix(
                                &self.text[self.position..self.position + 4],
                                16,
                            )
                            .expect("hex escape");
                            self.position += 4;
                            let code = if (0xD800..0xDC00).contains(&code) {
                                self.position += 2;
                                let low = u32::from_str_radix(
                                    &self.text[self.position..self.position + 4],
                                    16,
                                )
                                .expect("hex escape");
                                self.position += 4;
                                0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                code
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        }
                        other => out.push(other as char),
                    }
                }
                ch => out.push(ch),
            }
        }
    }
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).expect("corpus file is readable");
    JsonReader {
        bytes: text.as_bytes(),
        text: &text,
        position: 0,
    }
    .value()
}

/// A corpus case: id, statements and the expected error's type and message, if any.
struct Case {
    id: String,
    statements: Vec<String>,
    error: Option<(String, String)>,
}

fn text_member(object: &BTreeMap<String, Json>, key: &str) -> String {
    match object.get(key) {
        Some(Json::String(text)) => text.clone(),
        _ => String::new(),
    }
}

/// Every case of every file in `folder`.
fn read_cases(folder: &Path) -> Vec<Case> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("corpus folder is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    let mut cases = Vec::new();
    for path in paths {
        let Json::Object(file) = read_json(&path) else {
            panic!("{} is not an object", path.display());
        };
        let Some(Json::Array(file_cases)) = file.get("cases") else {
            continue;
        };
        for case in file_cases {
            let Json::Object(case) = case else { continue };
            let error = match case.get("expected_error") {
                Some(Json::Object(error)) => {
                    Some((text_member(error, "type"), text_member(error, "message")))
                }
                _ => None,
            };
            let statements = match case.get("statements") {
                Some(Json::Array(statements)) => statements
                    .iter()
                    .filter_map(|statement| match statement {
                        Json::String(text) => Some(text.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            cases.push(Case {
                id: text_member(case, "id"),
                statements,
                error,
            });
        }
    }
    cases
}

/// The statement kind with source positions cleared, for comparing re-parsed statements.
fn without_positions(statement: &Statement) -> StatementKind {
    let mut kind = statement.kind.clone();
    match &mut kind {
        StatementKind::CreateSource(create) => {
            for element in &mut create.elements {
                element.line = 0;
                element.column = 0;
            }
        }
        StatementKind::AlterSource(alter) => {
            for column in &mut alter.columns {
                column.line = 0;
                column.column = 0;
            }
        }
        StatementKind::Explain(Explain::Statement(inner)) => {
            **inner = Statement {
                kind: without_positions(inner),
                text: String::new(),
                line: 0,
                column: 0,
            };
        }
        _ => {}
    }
    kind
}

/// Parses every statement, then re-parses its display; returns `(statements, failures)`.
fn check_folder(folder: &Path) -> (usize, Vec<String>) {
    let mut total = 0;
    let mut failures = Vec::new();
    for Case { id, statements, .. } in read_cases(folder)
        .into_iter()
        .filter(|case| case.error.is_none())
    {
        for text in statements {
            total += 1;
            let parsed = match parse_statements(&text) {
                Ok(parsed) => parsed,
                Err(error) => {
                    failures.push(format!("{id}\n  {text}\n  {error}"));
                    continue;
                }
            };
            for statement in parsed {
                let printed = statement.to_string();
                let reparsed = parse_statements(&printed);
                let same = matches!(&reparsed, Ok(again) if again.len() == 1
                    && without_positions(&again[0]) == without_positions(&statement));
                if !same {
                    failures.push(format!(
                        "{id} (round trip)\n  {text}\n  printed: {printed}\n  {reparsed:?}"
                    ));
                }
                if let StatementKind::CreateSource(create) = &statement.kind {
                    for element in &create.elements {
                        assert!(element.line > 0 && element.column > 0, "{text}");
                    }
                }
            }
        }
    }
    (total, failures)
}

#[test]
fn corpus_statements_parse_and_round_trip() {
    let Some(root) = tests::conformance_corpus("corpus_statements_parse_and_round_trip") else {
        return;
    };
    for folder in ["qtt", "rest"] {
        let (total, failures) = check_folder(&root.join(folder));
        for failure in &failures {
            eprintln!("{failure}");
        }
        eprintln!(
            "corpus {folder}: {} of {total} statements parse and round-trip",
            total - failures.len()
        );
        assert!(total > 0, "no statements found in {folder}");
        assert!(
            failures.len() * 100 < total * 3,
            "{} of {total} statements in {folder} failed",
            failures.len()
        );
    }
}

/// Cases expecting a syntax or literal error must fail to parse with ksqlDB's message (and
/// position); cases
/// expecting any other error must parse (their error comes from later stages).
#[test]
fn corpus_error_cases_fail_only_for_syntax() {
    let Some(root) = tests::conformance_corpus("corpus_error_cases_fail_only_for_syntax") else {
        return;
    };
    let root = root.join("qtt");
    let mut mismatches = Vec::new();
    let mut syntax_cases = 0;
    for case in read_cases(&root) {
        let Some((kind, message)) = &case.error else {
            continue;
        };
        let result = parse_statements(&case.statements.join("\n"));
        let syntax = kind.ends_with("ParseFailedException")
            && !message.contains("Col: ")
            && !message.contains("Illegal argument");
        if !syntax {
            if let Err(error) = result {
                mismatches.push(format!("{}: unexpected parse error\n  {error}", case.id));
            }
            continue;
        }
        syntax_cases += 1;
        match result {
            Ok(_) => mismatches.push(format!("{}: parsed, expected {message}", case.id)),
            Err(error) => {
                let expected = message.trim_start_matches("Failed to prepare statement: ");
                // ANTLR's own wording (`missing ')' at ','`, `Expecting {...}`) is not
                // reproduced; its `line L:C: Syntax Error` header is.
                let checked = match expected.split_once("Syntax Error\n") {
                    Some((header, _)) => format!("{header}Syntax Error"),
                    None => expected.to_string(),
                };
                if !error.to_string().contains(&checked) {
                    mismatches.push(format!(
                        "{}: message differs\n  expected: {expected}\n  got: {error}",
                        case.id
                    ));
                }
            }
        }
    }
    for mismatch in &mismatches {
        eprintln!("{mismatch}");
    }
    assert!(syntax_cases > 0);
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}
