//! Statements that define or feed sources: `CREATE STREAM|TABLE` (with columns or `AS SELECT`),
//! `CREATE TYPE`, `INSERT INTO`, `ALTER STREAM|TABLE`, and their `WITH (...)` properties.
//!
//! ```text
//! CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name [(column type [constraint], ...)]
//!   [WITH (property = literal, ...)]
//! CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...
//! CREATE TYPE [IF NOT EXISTS] name AS type
//! INSERT INTO name [WITH (...)] SELECT ...
//! INSERT INTO name [(column, ...)] VALUES (expression, ...)
//! ALTER STREAM|TABLE name ADD [COLUMN] column type [, ADD [COLUMN] column type]*
//! ```
//! A `KEY` column in a table or `PRIMARY KEY` in a stream parses; the planner rejects it.

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::ast::{
    AlterSource, ColumnConstraint, CreateAsSelect, CreateSource, InsertInto, InsertValues, Literal,
    SourceKind, StatementKind, TableElement, WithProperties,
};
use crate::parser::data_type::parse_data_type;
use crate::parser::expression::parse_value_expression;
use crate::parser::query::parse_query;
use crate::parser::tokens::{ParserExt, is_word, normalize};

/// Parses what follows `CREATE`.
pub(crate) fn parse_create(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let or_replace = parser.parse_words(&["OR", "REPLACE"]);
    if !or_replace && parser.parse_word("TYPE") {
        return parse_create_type(parser);
    }
    let is_source = parser.parse_word("SOURCE");
    let kind = parse_source_kind(parser)?;
    let if_not_exists = parser.parse_words(&["IF", "NOT", "EXISTS"]);
    let name = parser.parse_name()?;
    let elements = if parser.peek_token_ref().token == Token::LParen {
        Some(parse_table_elements(parser)?)
    } else {
        None
    };
    let properties = parse_optional_properties(parser)?;
    if elements.is_none() && !is_source && parser.parse_word("AS") {
        let query = parse_query(parser)?;
        return Ok(StatementKind::CreateAsSelect(CreateAsSelect {
            kind,
            or_replace,
            if_not_exists,
            name,
            properties,
            query,
        }));
    }
    Ok(StatementKind::CreateSource(CreateSource {
        kind,
        or_replace,
        if_not_exists,
        is_source,
        name,
        elements: elements.unwrap_or_default(),
        properties,
    }))
}

/// `STREAM` or `TABLE`.
pub(crate) fn parse_source_kind(parser: &mut Parser) -> Result<SourceKind, ParserError> {
    Ok(match parser.expect_one_of_words(&["STREAM", "TABLE"])? {
        "STREAM" => SourceKind::Stream,
        _ => SourceKind::Table,
    })
}

fn parse_create_type(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let if_not_exists = parser.parse_words(&["IF", "NOT", "EXISTS"]);
    let name = parser.parse_name()?;
    parser.expect_word("AS")?;
    let data_type = parse_data_type(parser)?;
    Ok(StatementKind::CreateType {
        name,
        if_not_exists,
        data_type,
    })
}

fn parse_table_elements(parser: &mut Parser) -> Result<Vec<TableElement>, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let elements = parser.parse_comma_separated(parse_table_element)?;
    // After an element: the next one or the end of the list.
    if !parser.consume_token(&Token::RParen) {
        return parser.expected_tokens(&["','", "')'"]);
    }
    Ok(elements)
}

/// `column type [KEY | PRIMARY KEY | HEADERS | HEADER('key')]`.
fn parse_table_element(parser: &mut Parser) -> Result<TableElement, ParserError> {
    let location = parser.next_location();
    let name = parser.parse_name()?;
    let data_type = parse_data_type(parser)?;
    let constraint = if parser.parse_word("KEY") {
        ColumnConstraint::Key
    } else if parser.parse_words(&["PRIMARY", "KEY"]) {
        ColumnConstraint::PrimaryKey
    } else if parser.parse_word("HEADERS") {
        ColumnConstraint::Headers
    } else if parser.parse_word("HEADER") {
        parser.expect_token(&Token::LParen)?;
        let key = parser.parse_string()?;
        parser.expect_token(&Token::RParen)?;
        ColumnConstraint::Header(key)
    } else {
        ColumnConstraint::None
    };
    Ok(TableElement {
        name,
        data_type,
        constraint,
        line: location.line,
        column: location.column,
    })
}

/// `WITH (name = literal, ...)` if present.
pub(crate) fn parse_optional_properties(
    parser: &mut Parser,
) -> Result<WithProperties, ParserError> {
    if !parser.parse_word("WITH") {
        return Ok(WithProperties::default());
    }
    parser.expect_token(&Token::LParen)?;
    let properties = parser.parse_comma_separated(|parser| {
        let name = match parser.peek_token_ref().token.clone() {
            Token::SingleQuotedString(name) => {
                parser.advance_token();
                name.to_uppercase()
            }
            _ => parser.parse_ident()?.value.to_uppercase(),
        };
        parser.expect_token(&Token::Eq)?;
        Ok((name, parse_literal(parser)?))
    })?;
    parser.expect_token(&Token::RParen)?;
    Ok(WithProperties(properties))
}

/// A property value: string, number (optionally negative), `TRUE`/`FALSE` or `NULL`.
fn parse_literal(parser: &mut Parser) -> Result<Literal, ParserError> {
    let negative = parser.peek_token_ref().token == Token::Minus
        && matches!(parser.peek_nth_token_ref(1).token, Token::Number(..));
    if negative {
        parser.advance_token();
    }
    let literal = match &parser.peek_token_ref().token {
        Token::Number(text, _) if negative => Literal::Number(format!("-{text}")),
        Token::Number(text, _) => Literal::Number(text.clone()),
        Token::SingleQuotedString(text) => Literal::String(text.clone()),
        token if is_word(token, "TRUE") => Literal::Boolean(true),
        token if is_word(token, "FALSE") => Literal::Boolean(false),
        token if is_word(token, "NULL") => Literal::Null,
        _ => return parser.expected_next("a literal"),
    };
    parser.advance_token();
    Ok(literal)
}

/// Parses what follows `INSERT`.
pub(crate) fn parse_insert(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    parser.expect_word("INTO")?;
    let target = parser.parse_name()?;
    if parser.peek_word("WITH") || parser.peek_word("SELECT") {
        let properties = parse_optional_properties(parser)?;
        let query = parse_query(parser)?;
        return Ok(StatementKind::InsertInto(InsertInto {
            target,
            properties,
            query,
        }));
    }
    let columns = if parser.consume_token(&Token::LParen) {
        let columns = parser.parse_comma_separated(|parser| parser.parse_name())?;
        parser.expect_token(&Token::RParen)?;
        Some(columns)
    } else {
        None
    };
    parser.expect_word("VALUES")?;
    parser.expect_token(&Token::LParen)?;
    let values = if parser.consume_token(&Token::RParen) {
        Vec::new()
    } else {
        let values = parser.parse_comma_separated(parse_value_expression)?;
        parser.expect_token(&Token::RParen)?;
        values
    };
    Ok(StatementKind::InsertValues(InsertValues {
        target,
        columns,
        values,
    }))
}

/// Parses what follows `ALTER`.
pub(crate) fn parse_alter(parser: &mut Parser) -> Result<StatementKind, ParserError> {
    let kind = parse_source_kind(parser)?;
    let name = parser.parse_name()?;
    let columns = parser.parse_comma_separated(|parser| {
        parser.expect_word("ADD")?;
        let _column = parser.parse_word("COLUMN");
        let location = parser.next_location();
        let ident = parser.parse_ident()?;
        let data_type = parse_data_type(parser)?;
        Ok(TableElement {
            name: normalize(&ident),
            data_type,
            constraint: ColumnConstraint::None,
            line: location.line,
            column: location.column,
        })
    })?;
    Ok(StatementKind::AlterSource(AlterSource {
        kind,
        name,
        columns,
    }))
}
