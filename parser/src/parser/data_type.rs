//! ksqlDB data types: `INT`, `DECIMAL(4, 2)`, `ARRAY<T>`, `MAP<K, V>`, `STRUCT<f T, ...>`,
//! custom type names, and the postfix `T ARRAY` form.
//!
//! Used by column definitions, `CREATE TYPE` and `CAST`. Type parameters other than
//! `DECIMAL`'s (`VARCHAR(10)`) are accepted and ignored, as ksqlDB does.

use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::ast::DataType;
use crate::keywords::is_reserved;
use crate::parser::tokens::{ParserExt, normalize};

/// Parses a ksqlDB type.
pub(crate) fn parse_data_type(parser: &mut Parser) -> Result<DataType, ParserError> {
    let mut data_type = parse_primary_type(parser)?;
    while parser.parse_word("ARRAY") {
        data_type = DataType::Array(Box::new(data_type));
    }
    Ok(data_type)
}

fn parse_primary_type(parser: &mut Parser) -> Result<DataType, ParserError> {
    let token = parser.peek_token_ref().clone();
    let Token::Word(word) = &token.token else {
        return parser.expected_next("a data type");
    };
    if word.quote_style.is_none() {
        let upper = word.value.to_ascii_uppercase();
        match upper.as_str() {
            "ARRAY" if parser.peek_nth_token_ref(1).token == Token::Lt => {
                parser.advance_token();
                parser.expect_token(&Token::Lt)?;
                let element = parse_data_type(parser)?;
                parser.expect_token(&Token::Gt)?;
                return Ok(DataType::Array(Box::new(element)));
            }
            "MAP" if parser.peek_nth_token_ref(1).token == Token::Lt => {
                parser.advance_token();
                parser.expect_token(&Token::Lt)?;
                let key = parse_data_type(parser)?;
                parser.expect_token(&Token::Comma)?;
                let value = parse_data_type(parser)?;
                parser.expect_token(&Token::Gt)?;
                return Ok(DataType::Map(Box::new(key), Box::new(value)));
            }
            "STRUCT" if matches!(parser.peek_nth_token_ref(1).token, Token::Lt | Token::Neq) => {
                parser.advance_token();
                return parse_struct_fields(parser).map(DataType::Struct);
            }
            "DECIMAL" => {
                parser.advance_token();
                return parse_decimal(parser);
            }
            word if is_reserved(word) => return parser.expected_next("a data type"),
            _ => {}
        }
    }
    parser.advance_token();
    let name = normalize(&word.to_ident(token.span));
    if parser.consume_token(&Token::LParen) {
        parse_ignored_parameters(parser)?;
    }
    Ok(match name.as_str() {
        "BOOLEAN" => DataType::Boolean,
        "INT" | "INTEGER" => DataType::Int,
        "BIGINT" => DataType::Bigint,
        "DOUBLE" => DataType::Double,
        "STRING" | "VARCHAR" => DataType::String,
        "BYTES" => DataType::Bytes,
        "DATE" => DataType::Date,
        "TIME" => DataType::Time,
        "TIMESTAMP" => DataType::Timestamp,
        _ => DataType::Custom(name),
    })
}

/// `< [name type [, ...]] >` after `STRUCT`; `STRUCT<>` tokenizes as `<>`.
fn parse_struct_fields(parser: &mut Parser) -> Result<Vec<(String, DataType)>, ParserError> {
    let mut fields = Vec::new();
    if parser.consume_token(&Token::Neq) {
        return Ok(fields);
    }
    parser.expect_token(&Token::Lt)?;
    if parser.consume_token(&Token::Gt) {
        return Ok(fields);
    }
    loop {
        let name = parser.parse_name()?;
        let data_type = parse_data_type(parser)?;
        fields.push((name, data_type));
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::Gt)?;
    Ok(fields)
}

/// `( precision , scale )` after `DECIMAL`.
fn parse_decimal(parser: &mut Parser) -> Result<DataType, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let precision = parse_small(parser, "a DECIMAL precision")?;
    parser.expect_token(&Token::Comma)?;
    let scale = parse_small(parser, "a DECIMAL scale")?;
    parser.expect_token(&Token::RParen)?;
    Ok(DataType::Decimal { precision, scale })
}

fn parse_small(parser: &mut Parser, what: &str) -> Result<u8, ParserError> {
    if let Token::Number(text, _) = &parser.peek_token_ref().token
        && let Ok(value) = text.parse::<u8>()
    {
        parser.advance_token();
        return Ok(value);
    }
    parser.expected_next(what)
}

/// `param [, param]* )` where each parameter is an integer or `STRING`.
fn parse_ignored_parameters(parser: &mut Parser) -> Result<(), ParserError> {
    loop {
        let is_parameter = match &parser.peek_token_ref().token {
            Token::Number(text, _) => text.bytes().all(|byte| byte.is_ascii_digit()),
            token => crate::parser::tokens::is_word(token, "STRING"),
        };
        if !is_parameter {
            return parser.expected_tokens(&["'STRING'", "INTEGER_VALUE"]);
        }
        parser.advance_token();
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::KsqlDialect;
    use crate::parser::tokens::tokenize;

    fn parse(text: &str) -> Result<DataType, ParserError> {
        let dialect = KsqlDialect;
        let tokens = tokenize(text).expect("tokenizes");
        let mut parser = Parser::new(&dialect).with_tokens_with_locations(tokens);
        let data_type = parse_data_type(&mut parser)?;
        parser.expect_token(&Token::EOF)?;
        Ok(data_type)
    }

    #[test]
    fn ksql_types_parse() {
        let string = || Box::new(DataType::String);
        let cases = [
            ("INT", DataType::Int),
            ("integer", DataType::Int),
            ("BIGINT", DataType::Bigint),
            ("VARCHAR", DataType::String),
            ("STRING", DataType::String),
            ("VARCHAR(STRING)", DataType::String),
            ("DOUBLE", DataType::Double),
            ("BOOLEAN", DataType::Boolean),
            ("BYTES", DataType::Bytes),
            ("DATE", DataType::Date),
            ("TIME", DataType::Time),
            ("TIMESTAMP", DataType::Timestamp),
            (
                "DECIMAL(4, 2)",
                DataType::Decimal {
                    precision: 4,
                    scale: 2,
                },
            ),
            ("ARRAY<INT>", DataType::Array(Box::new(DataType::Int))),
            ("INT ARRAY", DataType::Array(Box::new(DataType::Int))),
            (
                "MAP<STRING,INT>",
                DataType::Map(string(), Box::new(DataType::Int)),
            ),
            (
                "MAP<STRING, ARRAY<STRING>>",
                DataType::Map(string(), Box::new(DataType::Array(string()))),
            ),
            (
                "STRUCT<A INT, `b` STRING>",
                DataType::Struct(vec![
                    ("A".to_string(), DataType::Int),
                    ("b".to_string(), DataType::String),
                ]),
            ),
            ("STRUCT<>", DataType::Struct(vec![])),
            ("address", DataType::Custom("ADDRESS".to_string())),
            ("`Address`", DataType::Custom("Address".to_string())),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text).expect(text), expected, "{text}");
        }
    }

    #[test]
    fn invalid_types_are_syntax_errors() {
        let cases = [
            (
                "NULL",
                "Expected: a data type, found: NULL at Line: 1, Column: 1",
            ),
            (
                "MAP<STRING, NULL>",
                "Expected: a data type, found: NULL at Line: 1, Column: 13",
            ),
            (
                "STRUCT<fo NULL>",
                "Expected: a data type, found: NULL at Line: 1, Column: 11",
            ),
            (
                "STRING (KEY)",
                "\u{2}mismatch:Expecting {'STRING', INTEGER_VALUE} at Line: 1, Column: 9",
            ),
            ("DECIMAL", "Expected: (, found: EOF"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(
                error.to_string(),
                format!("sql parser error: {expected}"),
                "{text}"
            );
        }
    }
}
