//! Entry points: scripts of statements, single expressions and data types.
//!
//! The whole input is tokenized once with the ksqlDB dialect; statements are parsed by the
//! submodules on `sqlparser`'s `Parser`, and any `sqlparser` error is translated here into a
//! [`ParseError`] naming the line, column and text of the offending token.

mod command;
pub use command::SHOW_WORDS;
mod create;
pub(crate) mod data_type;
pub(crate) mod expression;
mod query;
mod tokens;

use sqlparser::ast::Expr;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, TokenizerError};

use crate::ast::{DataType, Explain, Statement, StatementKind};
use crate::dialect::KsqlDialect;
use crate::error::{ParseError, ParseErrorKind, Result, split_message};
use tokens::{ParserExt, is_word, tokenize};

/// Words that start a statement.
const STATEMENT_STARTS: &[&str] = &[
    "ALTER",
    "ASSERT",
    "CREATE",
    "DEFINE",
    "DESCRIBE",
    "DROP",
    "EXPLAIN",
    "INSERT",
    "LIST",
    "PRINT",
    "RUN",
    "SELECT",
    "SET",
    "SHOW",
    "TERMINATE",
    "UNDEFINE",
    "UNSET",
];

/// Parses a script of zero or more statements, each ended by `;` (optional after the last).
///
/// Each statement keeps its exact text (including its `;`) and where it starts.
pub fn parse_statements(sql: &str) -> Result<Vec<Statement>> {
    let source = Source::new(sql);
    run(&source, |parser| {
        let mut statements = Vec::new();
        loop {
            while parser.consume_token(&Token::SemiColon) {}
            if parser.peek_token_ref().token == Token::EOF {
                return Ok(statements);
            }
            let start = parser.next_location();
            let kind = parse_statement_kind(parser, &source)?;
            if !parser.consume_token(&Token::SemiColon)
                && parser.peek_token_ref().token != Token::EOF
            {
                return parser.expected_next("';'");
            }
            let end = parser.get_current_token().span.end;
            statements.push(Statement {
                kind,
                text: source.slice(start, end).to_string(),
                line: start.line,
                column: start.column,
            });
        }
    })
}

/// Parses a single expression (nothing may follow it).
///
/// Expressions are `sqlparser` [`Expr`]s with identifiers as written (value and quote style;
/// normalizing is the planner's job). The ksqlDB forms become:
/// - `col->field->sub`: `Expr::BinaryOp { left, op: BinaryOperator::Arrow, right }` where
///   `right` is `Expr::Identifier(field)`; left-associative and binding tighter than every
///   other operator (`-a->b` is `-(a->b)`, `a->b + 1` is `(a->b) + 1`). `SELECT s->*` is
///   [`SelectItem::StructWildcard`](crate::ast::SelectItem::StructWildcard).
/// - `x => body`, `(x, y) => body`: `Expr::Lambda` with `LambdaSyntax::Arrow`, parameters
///   without types; they appear as `FunctionArg::Unnamed` arguments of the call.
/// - `MAP(k := v, ...)`: `Expr::Function` named `MAP` (as written) with
///   `FunctionArg::ExprNamed { name: k, arg: v, operator: FunctionArgOperator::Assignment }`
///   arguments; `STRUCT(f := v, ...)`: a `STRUCT` function with `FunctionArg::Named` arguments;
///   `MAP()` and `STRUCT()` have empty argument lists.
/// - `ARRAY[1, 2]`: `Expr::Array { elem, named: true }`.
/// - `CAST(x AS type)`: `Expr::Cast { kind: CastKind::Cast, .. }` whose `data_type` is
///   `sqlparser::ast::DataType::Custom(name, [])`, `name` being one unquoted identifier holding
///   the canonical ksqlDB type text (`ARRAY<INTEGER>`, ``STRUCT<`A` INTEGER>``, `DECIMAL(4, 2)`,
///   or a custom type name); [`DataType::from_cast`] turns it back into a [`DataType`].
/// - `arr[1]`, `m['k']`: `Expr::CompoundFieldAccess` with `AccessExpr::Subscript(Index)`
///   entries (also after `->`: `a->b[1]` indexes `a->b`; `s.arr[1]` indexes the
///   `Expr::CompoundIdentifier` `s.arr`).
/// - `SUBSTRING(...)`, `TRIM(...)`, `CEIL(...)`, `FLOOR(...)`, `EXTRACT(...)` and other words
///   `sqlparser` gives special syntax are plain `Expr::Function` calls; `COUNT(*)` has a
///   `FunctionArgExpr::Wildcard` argument.
/// - Numbers are `Value::Number(text, false)` with the text as written (`1`, `1.5`, `1.5E3`); a
///   negative literal is `UnaryOp { op: Minus, expr: Value }`. Integers beyond BIGINT and
///   doubles beyond `f64` are [`ParseErrorKind::Literal`] errors.
/// - `'a' || b` is `BinaryOperator::StringConcat`, binding looser than `+`/`-` as in ksqlDB.
/// - Row values `(a, b)`, `IN ()` and `INTERVAL` literals are syntax errors; `INTERVAL` alone is
///   a column name.
pub fn parse_expression(sql: &str) -> Result<Expr> {
    let source = Source::new(sql);
    run(&source, |parser| {
        let expr = parser.parse_expr()?;
        expect_end(parser)?;
        Ok(expr)
    })
}

/// Parses a single ksqlDB data type, e.g. `MAP<STRING, ARRAY<INT>>`.
pub fn parse_data_type(sql: &str) -> Result<DataType> {
    let source = Source::new(sql);
    run(&source, |parser| {
        let data_type = data_type::parse_data_type(parser)?;
        expect_end(parser)?;
        Ok(data_type)
    })
}

fn expect_end(parser: &mut Parser) -> Result<(), ParserError> {
    if parser.peek_token_ref().token == Token::EOF {
        Ok(())
    } else {
        parser.expected_next("end of input")
    }
}

/// Tokenizes `source`, runs `parse` on a parser over its tokens and translates errors.
fn run<T>(
    source: &Source<'_>,
    parse: impl FnOnce(&mut Parser) -> Result<T, ParserError>,
) -> Result<T> {
    let tokens = tokenize(source.text).map_err(|error| source.tokenizer_error(&error))?;
    let dialect = KsqlDialect;
    let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
    match parse(&mut parser) {
        Ok(value) => Ok(value),
        Err(error) => {
            let fallback = parser.next_location();
            Err(source.translate_error(&error, &parser.into_tokens(), fallback))
        }
    }
}

/// Whether a ksqlDB-shaped query uses subqueries in its expressions (ksqlDB has none; such a
/// query is general SQL).
fn has_subquery(query: &crate::ast::Query) -> bool {
    use sqlparser::ast::{Expr, visit_expressions};
    use std::ops::ControlFlow;
    let mut expressions: Vec<&Expr> = query.where_clause.iter().chain(&query.having).collect();
    expressions.extend(query.select.iter().filter_map(|item| match item {
        crate::ast::SelectItem::Expr { expr, .. } => Some(expr),
        _ => None,
    }));
    expressions.iter().any(|expr| {
        visit_expressions(*expr, |expr| match expr {
            Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .is_break()
    })
}

/// Succeeds when the statement ends here (`;` or the end of the input), consuming nothing.
fn expect_statement_end(parser: &mut Parser) -> Result<(), ParserError> {
    match parser.peek_token_ref().token {
        Token::SemiColon | Token::EOF => Ok(()),
        _ => parser.expected_next("';'"),
    }
}

/// Parses one statement (without its `;`).
fn parse_statement_kind(
    parser: &mut Parser,
    source: &Source<'_>,
) -> Result<StatementKind, ParserError> {
    if parser.peek_word("SELECT")
        || parser.peek_word("WITH")
        || parser.peek_token_ref().token == Token::LParen
    {
        let ksql = parser.maybe_parse(|parser| {
            let query = query::parse_query(parser)?;
            expect_statement_end(parser)?;
            if has_subquery(&query) {
                return parser.expected_next("no subquery");
            }
            Ok(query)
        })?;
        if let Some(query) = ksql {
            return Ok(StatementKind::Select(query));
        }
        // Not ksqlDB's grammar: a general SQL query if it is one, else ksqlDB's syntax error.
        let start = parser.next_location();
        let general = parser.maybe_parse(|parser| {
            parser.parse_query()?;
            expect_statement_end(parser)
        })?;
        if general.is_some() {
            let end = parser.get_current_token().span.end;
            return Ok(StatementKind::SqlQuery(
                source.slice(start, end).to_string(),
            ));
        }
        return query::parse_query(parser).map(StatementKind::Select);
    }
    let Some(word) = STATEMENT_STARTS
        .iter()
        .find(|word| parser.peek_word(word))
        .copied()
    else {
        return parser.expected_next("a statement");
    };
    parser.advance_token();
    match word {
        "ALTER" => create::parse_alter(parser),
        "ASSERT" => command::parse_assert(parser),
        "CREATE" => create::parse_create(parser),
        "DEFINE" => command::parse_define(parser),
        "DESCRIBE" => command::parse_describe(parser),
        "DROP" => command::parse_drop(parser),
        "EXPLAIN" => parse_explain(parser, source),
        "INSERT" => create::parse_insert(parser),
        "LIST" | "SHOW" => command::parse_show(parser),
        "PRINT" => command::parse_print(parser),
        "RUN" => command::parse_run_script(parser),
        "SET" => command::parse_set(parser),
        "TERMINATE" => command::parse_terminate(parser),
        "UNDEFINE" => command::parse_undefine(parser),
        _ => command::parse_unset(parser),
    }
}

/// `EXPLAIN statement` or `EXPLAIN query_id`.
fn parse_explain(parser: &mut Parser, source: &Source<'_>) -> Result<StatementKind, ParserError> {
    let token = &parser.peek_token_ref().token;
    let statement_follows = STATEMENT_STARTS.iter().any(|word| is_word(token, word))
        && !matches!(
            parser.peek_nth_token_ref(1).token,
            Token::SemiColon | Token::EOF
        );
    if !statement_follows {
        return Ok(StatementKind::Explain(Explain::Query(parser.parse_name()?)));
    }
    let start = parser.next_location();
    let kind = parse_statement_kind(parser, source)?;
    let end = parser.get_current_token().span.end;
    Ok(StatementKind::Explain(Explain::Statement(Box::new(
        Statement {
            kind,
            text: source.slice(start, end).to_string(),
            line: start.line,
            column: start.column,
        },
    ))))
}

/// The parsed text, with what is needed to turn token locations into text.
struct Source<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(index, _)| index + 1))
            .collect();
        Source { text, line_starts }
    }

    /// The byte offset of a 1-based line and character column (clamped to the text).
    fn offset(&self, location: Location) -> usize {
        let Some(&line_start) = usize::try_from(location.line)
            .ok()
            .and_then(|line| self.line_starts.get(line.checked_sub(1)?))
        else {
            return self.text.len();
        };
        let line = &self.text[line_start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        let skip = usize::try_from(location.column.saturating_sub(1)).unwrap_or(usize::MAX);
        line_start
            + line
                .char_indices()
                .nth(skip)
                .map_or(line.len(), |(index, _)| index)
    }

    /// The text from `start` (inclusive) to `end` (exclusive).
    fn slice(&self, start: Location, end: Location) -> &'a str {
        let start = self.offset(start);
        let end = self.offset(end).max(start);
        &self.text[start..end]
    }

    /// The location just after the last character.
    fn end_location(&self) -> (u64, u64) {
        let last_line = &self.text[self.line_starts.last().copied().unwrap_or(0)..];
        let line = self.line_starts.len() as u64;
        (line, last_line.chars().count() as u64 + 1)
    }

    fn tokenizer_error(&self, error: &TokenizerError) -> ParseError {
        let (line, column) = (error.location.line, error.location.column);
        let offset = self.offset(error.location);
        let near = match self.text[offset..].chars().next() {
            Some(ch) => ch.to_string(),
            None => "<EOF>".to_string(),
        };
        ParseError::syntax(line, column, &near, Some(&error.message))
    }

    /// The text of the statement around `at`: from the token after the last `;` before it
    /// to the next `;` (included) or the end.
    fn statement_at(&self, tokens: &[TokenWithSpan], at: Location) -> &str {
        let is_code =
            |token: &&TokenWithSpan| !matches!(token.token, Token::Whitespace(_) | Token::EOF);
        let before = |token: &&TokenWithSpan| {
            (token.span.start.line, token.span.start.column) < (at.line, at.column)
        };
        let start_index = tokens
            .iter()
            .rposition(|token| before(&token) && token.token == Token::SemiColon)
            .map_or(0, |index| index + 1);
        let Some(first) = tokens[start_index..].iter().find(is_code) else {
            return "";
        };
        let last = tokens[start_index..]
            .iter()
            .filter(is_code)
            .find(|token| token.token == Token::SemiColon && !before(token))
            .or_else(|| tokens[start_index..].iter().rfind(is_code))
            .unwrap_or(first);
        self.slice(first.span.start, last.span.end)
    }

    /// Turns a `sqlparser` error into a [`ParseError`] naming the token at its location.
    fn translate_error(
        &self,
        error: &ParserError,
        tokens: &[TokenWithSpan],
        fallback: Location,
    ) -> ParseError {
        let message = match error {
            ParserError::ParserError(message) | ParserError::TokenizerError(message) => {
                message.as_str()
            }
            ParserError::RecursionLimitExceeded => "expression is nested too deeply",
        };
        let parts = split_message(message);
        let at_end = parts.text.ends_with("found: EOF");
        let (line, column) = parts
            .location
            .filter(|(line, _)| *line > 0)
            .or_else(|| (!at_end && fallback.line > 0).then_some((fallback.line, fallback.column)))
            .unwrap_or_else(|| self.end_location());
        if let Some(literal) = parts.literal {
            return ParseError {
                line,
                column,
                message: literal.to_string(),
                kind: ParseErrorKind::Literal,
            };
        }
        if let Some(mismatch) = parts.mismatch {
            return ParseError {
                line,
                column,
                message: format!(
                    "{mismatch}\nStatement: {}",
                    self.statement_at(tokens, Location::new(line, column))
                ),
                kind: ParseErrorKind::Syntax,
            };
        }
        let near = tokens
            .iter()
            .find(|token| {
                token.span.start == Location::new(line, column)
                    && !matches!(token.token, Token::Whitespace(_))
            })
            .map_or("<EOF>", |token| {
                self.slice(token.span.start, token.span.end)
            });
        // A missing closing parenthesis: ANTLR's single-token insertion, `missing ')' at ','`.
        if parts.expected.map(|expected| expected.trim_matches('\'')) == Some(")") {
            return ParseError {
                line,
                column,
                message: format!(
                    "missing ')' at '{near}'\nStatement: {}",
                    self.statement_at(tokens, Location::new(line, column))
                ),
                kind: ParseErrorKind::Syntax,
            };
        }
        let detail = match parts.expected {
            Some(expected) if expected.chars().any(|ch| ch.is_ascii_alphabetic()) => {
                format!("expecting {expected}")
            }
            Some(expected) => format!("expecting '{}'", expected.trim_matches('\'')),
            None => parts.text.to_string(),
        };
        ParseError::syntax(line, column, near, Some(&detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::{
        AlterSource, Assert, ColumnConstraint, CreateAsSelect, CreateSource, Describe, DropSource,
        Duration, Emit, InsertInto, InsertValues, Join, JoinKind, Literal, Print, Query, Relation,
        SelectItem, Show, SourceKind, TableElement, Terminate, TimeUnit, WindowExpr,
        WithProperties, Within,
    };

    fn expr(text: &str) -> Expr {
        parse_expression(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn parse_one(sql: &str) -> Statement {
        let mut statements = parse_statements(sql).unwrap_or_else(|error| panic!("{sql}\n{error}"));
        assert_eq!(statements.len(), 1, "{sql}");
        statements.remove(0)
    }

    fn seconds(value: u64) -> Duration {
        Duration {
            value,
            unit: TimeUnit::Seconds,
        }
    }

    fn element(
        name: &str,
        data_type: DataType,
        constraint: ColumnConstraint,
        column: u64,
    ) -> TableElement {
        TableElement {
            name: name.to_string(),
            data_type,
            constraint,
            line: 1,
            column,
        }
    }

    fn properties(pairs: &[(&str, Literal)]) -> WithProperties {
        WithProperties(
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.clone()))
                .collect(),
        )
    }

    fn topic(name: &str) -> WithProperties {
        properties(&[("KAFKA_TOPIC", Literal::String(name.to_string()))])
    }

    fn source(name: &str, alias: Option<&str>) -> Relation {
        Relation::Source {
            name: name.to_string(),
            alias: alias.map(str::to_string),
        }
    }

    /// `SELECT * FROM name` with the given changes.
    fn select_all(name: &str) -> Query {
        Query {
            select: vec![SelectItem::Wildcard],
            from: source(name, None),
            window: None,
            where_clause: None,
            group_by: vec![],
            partition_by: vec![],
            having: None,
            emit: None,
            limit: None,
        }
    }

    fn column(name: &str, alias: Option<&str>) -> SelectItem {
        SelectItem::Expr {
            expr: expr(name),
            alias: alias.map(str::to_string),
        }
    }

    /// The statement kind with element positions cleared, to compare re-parsed statements.
    fn without_positions(statement: &Statement) -> StatementKind {
        let mut kind = statement.kind.clone();
        match &mut kind {
            StatementKind::CreateSource(create) => {
                for element in &mut create.elements {
                    (element.line, element.column) = (0, 0);
                }
            }
            StatementKind::AlterSource(alter) => {
                for element in &mut alter.columns {
                    (element.line, element.column) = (0, 0);
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

    #[test]
    fn create_statements_parse_to_expected_ast() {
        let cases = vec![
            (
                "CREATE STREAM s (id INT KEY, `Name` STRING, h BYTES HEADER('k'), hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS) WITH (kafka_topic='t', value_format='JSON', partitions=4);",
                StatementKind::CreateSource(CreateSource {
                    kind: SourceKind::Stream,
                    or_replace: false,
                    if_not_exists: false,
                    is_source: false,
                    name: "S".to_string(),
                    elements: vec![
                        element("ID", DataType::Int, ColumnConstraint::Key, 18),
                        element("Name", DataType::String, ColumnConstraint::None, 30),
                        element(
                            "H",
                            DataType::Bytes,
                            ColumnConstraint::Header("k".to_string()),
                            45,
                        ),
                        element(
                            "HS",
                            DataType::Array(Box::new(DataType::Struct(vec![
                                ("KEY".to_string(), DataType::String),
                                ("VALUE".to_string(), DataType::Bytes),
                            ]))),
                            ColumnConstraint::Headers,
                            66,
                        ),
                    ],
                    properties: properties(&[
                        ("KAFKA_TOPIC", Literal::String("t".to_string())),
                        ("VALUE_FORMAT", Literal::String("JSON".to_string())),
                        ("PARTITIONS", Literal::Number("4".to_string())),
                    ]),
                }),
            ),
            (
                "create or replace source table if not exists t (id bigint primary key, d decimal(4, 2)) with (kafka_topic='t', 'Wrap_Single_Value'=false, replicas=-1, x=null);",
                StatementKind::CreateSource(CreateSource {
                    kind: SourceKind::Table,
                    or_replace: true,
                    if_not_exists: true,
                    is_source: true,
                    name: "T".to_string(),
                    elements: vec![
                        element("ID", DataType::Bigint, ColumnConstraint::PrimaryKey, 49),
                        element(
                            "D",
                            DataType::Decimal {
                                precision: 4,
                                scale: 2,
                            },
                            ColumnConstraint::None,
                            72,
                        ),
                    ],
                    properties: properties(&[
                        ("KAFKA_TOPIC", Literal::String("t".to_string())),
                        ("WRAP_SINGLE_VALUE", Literal::Boolean(false)),
                        ("REPLICAS", Literal::Number("-1".to_string())),
                        ("X", Literal::Null),
                    ]),
                }),
            ),
            (
                "CREATE TABLE t WITH (kafka_topic='t');",
                StatementKind::CreateSource(CreateSource {
                    kind: SourceKind::Table,
                    or_replace: false,
                    if_not_exists: false,
                    is_source: false,
                    name: "T".to_string(),
                    elements: vec![],
                    properties: topic("t"),
                }),
            ),
            (
                "CREATE STREAM out WITH (kafka_topic='o') AS SELECT * FROM s EMIT CHANGES;",
                StatementKind::CreateAsSelect(CreateAsSelect {
                    kind: SourceKind::Stream,
                    or_replace: false,
                    if_not_exists: false,
                    name: "OUT".to_string(),
                    properties: topic("o"),
                    query: Query {
                        emit: Some(Emit::Changes),
                        ..select_all("S")
                    },
                }),
            ),
            (
                "CREATE OR REPLACE TABLE IF NOT EXISTS agg AS SELECT id, COUNT(*) AS c FROM s GROUP BY id;",
                StatementKind::CreateAsSelect(CreateAsSelect {
                    kind: SourceKind::Table,
                    or_replace: true,
                    if_not_exists: true,
                    name: "AGG".to_string(),
                    properties: WithProperties::default(),
                    query: Query {
                        select: vec![column("id", None), column("COUNT(*)", Some("C"))],
                        group_by: vec![expr("id")],
                        ..select_all("S")
                    },
                }),
            ),
            (
                "CREATE TYPE IF NOT EXISTS address AS STRUCT<street STRING, zip INT>;",
                StatementKind::CreateType {
                    name: "ADDRESS".to_string(),
                    if_not_exists: true,
                    data_type: DataType::Struct(vec![
                        ("STREET".to_string(), DataType::String),
                        ("ZIP".to_string(), DataType::Int),
                    ]),
                },
            ),
            (
                "ALTER STREAM s ADD COLUMN c1 INT, ADD c2 STRING;",
                StatementKind::AlterSource(AlterSource {
                    kind: SourceKind::Stream,
                    name: "S".to_string(),
                    columns: vec![
                        element("C1", DataType::Int, ColumnConstraint::None, 27),
                        element("C2", DataType::String, ColumnConstraint::None, 39),
                    ],
                }),
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(parse_one(sql).kind, expected, "{sql}");
        }
    }

    #[test]
    fn insert_and_query_statements_parse_to_expected_ast() {
        let cases = vec![
            (
                "INSERT INTO out WITH (query_id='q') SELECT * FROM s;",
                StatementKind::InsertInto(InsertInto {
                    target: "OUT".to_string(),
                    properties: properties(&[("QUERY_ID", Literal::String("q".to_string()))]),
                    query: select_all("S"),
                }),
            ),
            (
                "INSERT INTO s (id, `v`) VALUES (1, 'a' || 'b');",
                StatementKind::InsertValues(InsertValues {
                    target: "S".to_string(),
                    columns: Some(vec!["ID".to_string(), "v".to_string()]),
                    values: vec![expr("1"), expr("'a' || 'b'")],
                }),
            ),
            (
                "INSERT INTO s VALUES ();",
                StatementKind::InsertValues(InsertValues {
                    target: "S".to_string(),
                    columns: None,
                    values: vec![],
                }),
            ),
            (
                "SELECT s.*, t.v AS tv, t.s->f->* FROM s1 s LEFT OUTER JOIN t1 AS t WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 3 SECONDS ON s.id = t.id FULL JOIN u ON u.id = s.id WHERE s.x > 1 PARTITION BY s.id EMIT CHANGES LIMIT 5;",
                StatementKind::Select(Query {
                    select: vec![
                        SelectItem::QualifiedWildcard("S".to_string()),
                        column("t.v", Some("TV")),
                        SelectItem::StructWildcard(expr("t.s->f")),
                    ],
                    from: Relation::Join(Box::new(Join {
                        left: Relation::Join(Box::new(Join {
                            left: source("S1", Some("S")),
                            right: source("T1", Some("T")),
                            kind: JoinKind::Left,
                            within: Some(Within {
                                before: seconds(1),
                                after: seconds(2),
                                grace: Some(seconds(3)),
                            }),
                            on: expr("s.id = t.id"),
                        })),
                        right: source("U", None),
                        kind: JoinKind::Full,
                        within: None,
                        on: expr("u.id = s.id"),
                    })),
                    where_clause: Some(expr("s.x > 1")),
                    partition_by: vec![expr("s.id")],
                    emit: Some(Emit::Changes),
                    limit: Some(5),
                    ..select_all("S")
                }),
            ),
            (
                "SELECT a, SUM(b) total FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 HOURS, GRACE PERIOD 10 MILLISECONDS) GROUP BY (a, b) HAVING SUM(b) > 2 EMIT FINAL;",
                StatementKind::Select(Query {
                    select: vec![column("a", None), column("SUM(b)", Some("TOTAL"))],
                    window: Some(WindowExpr::Tumbling {
                        size: Duration {
                            value: 1,
                            unit: TimeUnit::Minutes,
                        },
                        retention: Some(Duration {
                            value: 2,
                            unit: TimeUnit::Hours,
                        }),
                        grace: Some(Duration {
                            value: 10,
                            unit: TimeUnit::Milliseconds,
                        }),
                    }),
                    group_by: vec![expr("a"), expr("b")],
                    having: Some(expr("SUM(b) > 2")),
                    emit: Some(Emit::Final),
                    ..select_all("S")
                }),
            ),
            (
                "SELECT * FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY (a + 1), b;",
                StatementKind::Select(Query {
                    window: Some(WindowExpr::Hopping {
                        size: seconds(10),
                        advance: seconds(5),
                        retention: None,
                        grace: None,
                    }),
                    group_by: vec![expr("(a + 1)"), expr("b")],
                    ..select_all("S")
                }),
            ),
            (
                "SELECT * FROM s WINDOW w SESSION (30 DAYS, GRACE PERIOD 1 DAY) GROUP BY a;",
                StatementKind::Select(Query {
                    window: Some(WindowExpr::Session {
                        gap: Duration {
                            value: 30,
                            unit: TimeUnit::Days,
                        },
                        retention: None,
                        grace: Some(Duration {
                            value: 1,
                            unit: TimeUnit::Days,
                        }),
                    }),
                    group_by: vec![expr("a")],
                    ..select_all("S")
                }),
            ),
            (
                "SELECT * FROM a JOIN b WITHIN 1 HOUR ON a.k = b.k;",
                StatementKind::Select(Query {
                    from: Relation::Join(Box::new(Join {
                        left: source("A", None),
                        right: source("B", None),
                        kind: JoinKind::Inner,
                        within: Some(Within {
                            before: Duration {
                                value: 1,
                                unit: TimeUnit::Hours,
                            },
                            after: Duration {
                                value: 1,
                                unit: TimeUnit::Hours,
                            },
                            grace: None,
                        }),
                        on: expr("a.k = b.k"),
                    })),
                    ..select_all("A")
                }),
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(parse_one(sql).kind, expected, "{sql}");
        }
    }

    #[test]
    fn command_statements_parse_to_expected_ast() {
        let describe = |name: &str, extended| {
            StatementKind::Describe(Describe::Source {
                name: name.to_string(),
                extended,
            })
        };
        let cases = vec![
            (
                "SHOW STREAMS;",
                StatementKind::Show(Show::Streams { extended: false }),
            ),
            (
                "list streams extended;",
                StatementKind::Show(Show::Streams { extended: true }),
            ),
            (
                "SHOW TABLES EXTENDED;",
                StatementKind::Show(Show::Tables { extended: true }),
            ),
            (
                "SHOW ALL TOPICS EXTENDED;",
                StatementKind::Show(Show::Topics {
                    all: true,
                    extended: true,
                }),
            ),
            (
                "LIST TOPICS;",
                StatementKind::Show(Show::Topics {
                    all: false,
                    extended: false,
                }),
            ),
            (
                "SHOW QUERIES;",
                StatementKind::Show(Show::Queries { extended: false }),
            ),
            ("SHOW PROPERTIES;", StatementKind::Show(Show::Properties)),
            ("SHOW FUNCTIONS;", StatementKind::Show(Show::Functions)),
            ("SHOW TYPES;", StatementKind::Show(Show::Types)),
            ("SHOW VARIABLES;", StatementKind::Show(Show::Variables)),
            ("DESCRIBE s;", describe("S", false)),
            ("DESCRIBE s EXTENDED;", describe("S", true)),
            ("DESCRIBE EXTENDED `s`;", describe("s", true)),
            (
                "DESCRIBE STREAMS EXTENDED;",
                StatementKind::Describe(Describe::Streams { extended: true }),
            ),
            (
                "DESCRIBE TABLES;",
                StatementKind::Describe(Describe::Tables { extended: false }),
            ),
            (
                "DESCRIBE FUNCTION substring;",
                StatementKind::Describe(Describe::Function {
                    name: "SUBSTRING".to_string(),
                }),
            ),
            (
                "DROP TABLE IF EXISTS t DELETE TOPIC;",
                StatementKind::DropSource(DropSource {
                    kind: SourceKind::Table,
                    if_exists: true,
                    name: "T".to_string(),
                    delete_topic: true,
                }),
            ),
            (
                "DROP STREAM s;",
                StatementKind::DropSource(DropSource {
                    kind: SourceKind::Stream,
                    if_exists: false,
                    name: "S".to_string(),
                    delete_topic: false,
                }),
            ),
            (
                "DROP TYPE IF EXISTS address;",
                StatementKind::DropType {
                    name: "ADDRESS".to_string(),
                    if_exists: true,
                },
            ),
            ("TERMINATE ALL;", StatementKind::Terminate(Terminate::All)),
            (
                "TERMINATE csas_out_0;",
                StatementKind::Terminate(Terminate::Query("CSAS_OUT_0".to_string())),
            ),
            (
                "PRINT 'my-topic' FROM BEGINNING INTERVAL 2 LIMIT 10;",
                StatementKind::Print(Print {
                    topic: "my-topic".to_string(),
                    from_beginning: true,
                    interval: Some(2),
                    limit: Some(10),
                }),
            ),
            (
                "PRINT pageViews SAMPLE 3;",
                StatementKind::Print(Print {
                    topic: "pageViews".to_string(),
                    from_beginning: false,
                    interval: Some(3),
                    limit: None,
                }),
            ),
            (
                "SET 'auto.offset.reset'='earliest';",
                StatementKind::SetProperty {
                    name: "auto.offset.reset".to_string(),
                    value: "earliest".to_string(),
                },
            ),
            (
                "UNSET 'auto.offset.reset';",
                StatementKind::UnsetProperty {
                    name: "auto.offset.reset".to_string(),
                },
            ),
            (
                "DEFINE topicName = '''my_topic''';",
                StatementKind::DefineVariable {
                    name: "topicName".to_string(),
                    value: "'my_topic'".to_string(),
                },
            ),
            (
                "UNDEFINE topicName;",
                StatementKind::UndefineVariable {
                    name: "topicName".to_string(),
                },
            ),
            (
                "RUN SCRIPT '/tmp/x.sql';",
                StatementKind::RunScript {
                    path: "/tmp/x.sql".to_string(),
                },
            ),
            (
                "EXPLAIN csas_out_0;",
                StatementKind::Explain(Explain::Query("CSAS_OUT_0".to_string())),
            ),
            (
                "ASSERT NOT EXISTS TOPIC 'T' WITH (partitions=1) TIMEOUT 3 SECONDS;",
                StatementKind::Assert(Assert::Topic {
                    name: "T".to_string(),
                    exists: false,
                    properties: properties(&[("PARTITIONS", Literal::Number("1".to_string()))]),
                    timeout: Some(seconds(3)),
                }),
            ),
            (
                "ASSERT SCHEMA SUBJECT s ID 4;",
                StatementKind::Assert(Assert::Schema {
                    subject: Some("s".to_string()),
                    id: Some(4),
                    exists: true,
                    timeout: None,
                }),
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(parse_one(sql).kind, expected, "{sql}");
        }
    }

    #[test]
    fn explain_keeps_the_inner_statement_text() {
        let statement = parse_one("EXPLAIN SELECT * FROM s;");
        let StatementKind::Explain(Explain::Statement(inner)) = statement.kind else {
            panic!("not an explained statement: {statement:?}");
        };
        assert_eq!(inner.text, "SELECT * FROM s");
        assert_eq!((inner.line, inner.column), (1, 9));
        assert_eq!(inner.kind, StatementKind::Select(select_all("S")));
    }

    #[test]
    fn scripts_split_into_statements_with_text_and_position() {
        let sql = "-- setup\nSET 'a'='b';\n  /* two\n on one line */ SHOW STREAMS;DESCRIBE s\n\n;\nSHOW TABLES";
        let statements = parse_statements(sql).expect("script parses");
        let summary: Vec<(&str, u64, u64)> = statements
            .iter()
            .map(|statement| (statement.text.as_str(), statement.line, statement.column))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("SET 'a'='b';", 2, 1),
                ("SHOW STREAMS;", 4, 17),
                ("DESCRIBE s\n\n;", 4, 30),
                ("SHOW TABLES", 7, 1),
            ]
        );
        let empty = ["", "  -- nothing\n", ";;"];
        for sql in empty {
            assert_eq!(parse_statements(sql).expect(sql), vec![], "{sql:?}");
        }
    }

    #[test]
    fn statements_round_trip_through_display() {
        let statements = [
            "CREATE STREAM s (id INT KEY, `Name` STRING, h BYTES HEADER('k'), hs ARRAY<STRUCT<key STRING, value BYTES>> HEADERS) WITH (kafka_topic='t', value_format='JSON', partitions=4);",
            "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS `t` (id BIGINT PRIMARY KEY, d DECIMAL(4, 2), m MAP<STRING, ARRAY<INT>>) WITH (kafka_topic='t', 'wrap.single'=false, replicas=-1);",
            "CREATE STREAM `select` (`from` INT, `a``b` VARCHAR(STRING), 1R INT) WITH (kafka_topic='x''y');",
            "CREATE TABLE t WITH (kafka_topic='t', format='AVRO');",
            "CREATE STREAM OUTPUT AS SELECT K, id, -9223372036854775808, 1.5, 1.5E3, -2.0 FROM INPUT;",
            "CREATE TABLE agg WITH (kafka_topic='o') AS SELECT id, COUNT(*) AS c, LATEST_BY_OFFSET(v, 2) FROM s WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 2 HOURS, GRACE PERIOD 10 MILLISECONDS) GROUP BY id HAVING COUNT(*) > 1 EMIT FINAL;",
            "CREATE STREAM o AS SELECT * FROM s WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS) GROUP BY (a + 1), b;",
            "CREATE TABLE o AS SELECT a FROM s WINDOW SESSION (30 SECONDS) GROUP BY a, b;",
            "CREATE STREAM o AS SELECT s.*, t.v AS tv FROM s1 s LEFT JOIN t1 t WITHIN (1 SECOND, 2 SECONDS) GRACE PERIOD 3 SECONDS ON s.id = t.id RIGHT OUTER JOIN u ON u.id = s.id;",
            "CREATE STREAM o AS SELECT * FROM a FULL OUTER JOIN b WITHIN 1 HOUR ON a.k = b.k PARTITION BY a.k;",
            "CREATE STREAM OUTPUT_1 AS SELECT v1->a->b->* FROM INPUT;",
            "CREATE STREAM o AS SELECT I.`K1`, I.`V1`->* FROM INPUT I;",
            "SELECT TRANSFORM(arr, x => x + 1), REDUCE(arr, 0, (s, x) => s + x), FILTER(m, (k, v) => k = 'a' AND v > 1) FROM s EMIT CHANGES;",
            "SELECT TRANSFORM(arr, x => TRANSFORM(x, y => y * 2)) AS nested FROM s;",
            "SELECT MAP('a' := 1, 'b' := 2), MAP(), STRUCT(A := 1, `b` := 'x'), STRUCT(), ARRAY[1, 2], ARRAY[] FROM s;",
            "SELECT CAST(x AS ARRAY<INT>), CAST(y AS MAP<STRING, INT>), CAST(z AS STRUCT<A INT, `b` STRING>), CAST(d AS DECIMAL(4,2)), CAST(v AS VARCHAR), CAST(w AS address) FROM s;",
            "SELECT col->field->sub, arr[1], m['k'], a->b[2], arr[1]->f, (a)[1] FROM s;",
            "SELECT CASE WHEN a > 1 THEN 'x' WHEN a IS NULL THEN 'n' ELSE 'y' END, CASE a WHEN 1 THEN 2 END FROM s;",
            "SELECT * FROM s WHERE a LIKE 'x%' ESCAPE '!' AND b NOT LIKE 'y' OR c IN (1, 2) AND d NOT IN ('a') AND e BETWEEN 1 AND 2 AND f NOT BETWEEN 3 AND 4;",
            "SELECT * FROM s WHERE a IS NOT NULL AND b IS DISTINCT FROM c AND d IS NOT DISTINCT FROM e AND NOT f AND g <> h AND i != j;",
            "SELECT a % 2, -a, a * (b - c) / d, 'a' || b || 'c', ROWTIME, WINDOWSTART, `ROWPARTITION` FROM s LIMIT 3;",
            "SELECT SUBSTRING(s, 1, 2), TRIM(s), CEIL(x), FLOOR(x), EXTRACTJSONFIELD(j, '$.a'), TIMESTAMPADD(SECONDS, 5, ts) FROM s;",
            "SELECT COUNT(*), COUNT(1), COUNT_DISTINCT(a) FROM s GROUP BY a;",
            "SELECT interval, `date` FROM s WHERE interval > 5;",
            "SELECT MAP(k1 := v1, NULL := v1) AS m FROM test;",
            "SELECT 'it''s', 'a\''', '''', `we``ird`, s.`x``y`, TRANSFORM(a, `q``` => 'x''') FROM s;",
            "INSERT INTO out WITH (query_id='q') SELECT * FROM s;",
            "INSERT INTO s (id, `v`) VALUES (1, 'a' || 'b');",
            "INSERT INTO s VALUES (ARRAY[1], STRUCT(F := 1.0), MAP('k' := -1), NULL, TRUE, CAST(1 AS BIGINT));",
            "SHOW STREAMS EXTENDED;",
            "LIST ALL TOPICS;",
            "SHOW QUERIES EXTENDED;",
            "SHOW PROPERTIES;",
            "DESCRIBE EXTENDED s;",
            "DESCRIBE STREAMS;",
            "DESCRIBE FUNCTION substring;",
            "DROP TABLE IF EXISTS t DELETE TOPIC;",
            "DROP TYPE address;",
            "TERMINATE ALL;",
            "TERMINATE CSAS_OUT_0;",
            "PRINT `myTopic` FROM BEGINNING INTERVAL 2 LIMIT 10;",
            "SET 'auto.offset.reset'='earliest';",
            "UNSET 'auto.offset.reset';",
            "DEFINE topicName = '''my_topic''';",
            "UNDEFINE topicName;",
            "EXPLAIN SELECT * FROM s EMIT CHANGES;",
            "EXPLAIN CSAS_OUT_0;",
            "RUN SCRIPT '/tmp/x.sql';",
            "CREATE TYPE IF NOT EXISTS address AS STRUCT<street STRING, zip INT ARRAY>;",
            "ALTER TABLE t ADD COLUMN c1 INT, ADD c2 STRING;",
            "ASSERT NOT EXISTS TOPIC 'T' WITH (partitions=1) TIMEOUT 3 SECONDS;",
            "ASSERT SCHEMA SUBJECT 's' ID 4;",
        ];
        for sql in statements {
            let statement = parse_one(sql);
            let printed = statement.to_string();
            let reparsed = parse_one(&printed);
            assert_eq!(
                without_positions(&reparsed),
                without_positions(&statement),
                "{sql}\nprinted: {printed}"
            );
        }
    }

    #[test]
    fn queries_beyond_ksql_grammar_are_kept_as_sql_text() {
        let general = [
            "SELECT * FROM t ORDER BY id LIMIT 3",
            "select region, count(*) from t group by region order by 2 desc",
            "WITH big AS (SELECT * FROM t WHERE n > 1) SELECT * FROM big",
            "SELECT id FROM a UNION ALL SELECT id FROM b",
            "(SELECT * FROM t)",
            "SELECT * FROM t WHERE id IN (SELECT id FROM u)",
        ];
        for sql in general {
            let statement = parse_one(&format!("{sql};"));
            assert_eq!(
                statement.kind,
                StatementKind::SqlQuery(sql.to_string()),
                "{sql}"
            );
            assert_eq!(statement.to_string(), format!("{sql};"));
        }
        // ksqlDB's grammar still wins when it applies, and a push query is never general SQL.
        assert_eq!(
            parse_one("SELECT * FROM s;").kind,
            StatementKind::Select(select_all("S"))
        );
        for sql in [
            "SELECT * FROM t ORDER BY id EMIT CHANGES;",
            "SELECT * FROM;",
        ] {
            let error = parse_statements(sql).expect_err(sql);
            assert_eq!(error.kind, ParseErrorKind::Syntax, "{sql}");
        }
    }

    #[test]
    fn errors_name_line_column_and_token() {
        let cases = [
            (
                "ASSERT VALUES foo (id INT) VALUES (123);",
                1,
                8,
                "Syntax error at or near 'VALUES' at line 1:8",
            ),
            (
                "SELECT * FROM s;\nFOO;",
                2,
                1,
                "Syntax error at or near 'FOO' at line 2:1",
            ),
            (
                "CREATE TABLE OUTPUT AS SELECT COUNT(*) FROM TEST GROUP BY DATA AND ID;",
                1,
                64,
                "Syntax error at or near 'AND' at line 1:64",
            ),
            (
                "CREATE STREAM OUTPUT AS select * from INPUT partition by NAME AND AGE;",
                1,
                63,
                "Syntax error at or near 'AND'",
            ),
            (
                "CREATE TABLE OUTPUT AS SELECT f1, f2, COUNT(*) FROM TEST GROUP BY f3, (f2, f1);",
                1,
                74,
                "missing ')' at ','\nStatement: CREATE TABLE OUTPUT AS SELECT f1, f2, COUNT(*) FROM TEST GROUP BY f3, (f2, f1);",
            ),
            (
                "CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='input',value_format='JSON');",
                1,
                32,
                "Expecting {'STRING', INTEGER_VALUE}\nStatement: CREATE STREAM INPUT (K STRING (KEY)) WITH (kafka_topic='input',value_format='JSON');",
            ),
            (
                "CREATE STREAM INPUT (K VARCHAR(STRING) (KEY)) WITH (kafka_topic='input');",
                1,
                40,
                "Expecting {',', ')'}\nStatement: CREATE STREAM INPUT (K VARCHAR(STRING) (KEY)) WITH (kafka_topic='input');",
            ),
            (
                "CREATE STREAM INPUT (ROWKEY INT KEY, COL0 NULL) WITH (kafka_topic='t');",
                1,
                43,
                "near 'NULL'",
            ),
            (
                "CREATE STREAM INPUT (ID INT KEY, COL0 MAP<STRING, NULL>);",
                1,
                51,
                "near 'NULL'",
            ),
            (
                "CREATE STREAM INPUT (ID INT KEY, COL0 STRUCT<fo NULL>);",
                1,
                49,
                "near 'NULL'",
            ),
            (
                "CREATE STREAM TEST (ID STRING KEY, f0 VARCHAR);\nCREATE STREAM OUTPUT AS SELECT ID, cast(f0 as NULL) FROM TEST;",
                2,
                47,
                "Syntax error at or near 'NULL' at line 2:47",
            ),
            ("SELECT * FROM INPUT WHERE ID IN ( );", 1, 35, "near ')'"),
            (
                "SELECT * FROM s WHERE",
                1,
                22,
                "near '<EOF>' at line 1:22\nexpecting an expression",
            ),
            (
                "SELECT * FROM s WHERE a EMIT CHANGE;",
                1,
                30,
                "expecting one of: CHANGES, FINAL",
            ),
            ("SELECT 'abc FROM s;", 1, 8, "Unterminated string literal"),
            ("CREATE STREAM VALUES (a INT);", 1, 15, "near 'VALUES'"),
            (
                "SELECT * FROM s WINDOW TUMBLING (SIZE 1 WEEK) GROUP BY a;",
                1,
                41,
                "near 'WEEK'",
            ),
        ];
        for (sql, line, column, message) in cases {
            let error = parse_statements(sql).expect_err(sql);
            assert_eq!((error.line, error.column), (line, column), "{sql}\n{error}");
            assert_eq!(error.kind, ParseErrorKind::Syntax, "{sql}");
            assert!(error.message.contains(message), "{sql}\n{error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("line {line}:{column}: Syntax Error\n"))
            );
        }
    }

    #[test]
    fn out_of_range_literals_are_parse_errors() {
        let cases = [
            (
                "CREATE STREAM I (K STRING KEY) WITH (kafka_topic='i');\nCREATE STREAM OUTPUT AS select K, id, 9223372036854775808 FROM INPUT;",
                "Failed to prepare statement: line 2:40: Invalid numeric literal: 9223372036854775808",
            ),
            (
                "SELECT -9223372036854775809 FROM s;",
                "Failed to prepare statement: line 1:10: Invalid numeric literal: -9223372036854775809",
            ),
            (
                "SELECT K, id, 1.7976931348623159E308 FROM INPUT;",
                "Failed to prepare statement: line 1:16: Number overflows DOUBLE: 1.7976931348623159E308",
            ),
            (
                "SELECT -1.7976931348623160E308 FROM INPUT;",
                "Failed to prepare statement: line 1:10: Number overflows DOUBLE: -1.7976931348623160E308",
            ),
        ];
        for (sql, expected) in cases {
            let error = parse_statements(sql).expect_err(sql);
            assert_eq!(error.kind, ParseErrorKind::Literal, "{sql}");
            assert_eq!(error.to_string(), expected, "{sql}");
        }
        let in_range = [
            "SELECT -9223372036854775808, 9223372036854775807, 1.7976931348623157E308 FROM s;",
            "SELECT 123456789012345678901234567890.5 FROM s;",
        ];
        for sql in in_range {
            parse_one(sql);
        }
    }

    #[test]
    fn malformed_input_fails_without_panicking() {
        let inputs = [
            "'",
            "`",
            "\"",
            "/* open",
            "SELECT 1 FROM s; /* open",
            "SELECT ${var} FROM s;",
            "SELECT 'é', `名前` FROM s;",
            "SELECT é FROM s;",
            "SELECT a\r\n\tFROM",
            "CREATE STREAM s (a MAP<STRING, INT>>) ;",
            "SELECT CAST(a AS STRUCT<) FROM s;",
            "SELECT a->->b FROM s;",
            "SELECT ((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))) FROM s;",
            "EXPLAIN",
            "DESCRIBE",
            "SELECT * FROM s LIMIT 99999999999999999999999;",
        ];
        for sql in inputs {
            if let Err(error) = parse_statements(sql) {
                assert!(error.line >= 1 && error.column >= 1, "{sql:?}: {error}");
            }
        }
        let error = parse_statements("SELECT 'é' ,, FROM s;").expect_err("double comma");
        assert_eq!((error.line, error.column), (1, 13), "{error}");
        assert!(error.message.contains("near ','"), "{error}");
    }

    #[test]
    fn data_types_parse_standalone() {
        let cases = [
            (
                "MAP<STRING, ARRAY<INT>>",
                DataType::Map(
                    Box::new(DataType::String),
                    Box::new(DataType::Array(Box::new(DataType::Int))),
                ),
            ),
            (
                "decimal(10,3)",
                DataType::Decimal {
                    precision: 10,
                    scale: 3,
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_data_type(text).expect(text), expected);
        }
        assert!(parse_data_type("INT INT").is_err());
    }
}
