//! ksqlDB expression forms on top of `sqlparser`'s expression parser (the dialect hooks).
//!
//! What each ksqlDB form becomes in `sqlparser::ast::Expr`:
//! - `col->field` is `BinaryOp { left: col, op: BinaryOperator::Arrow, right: Identifier(field) }`
//!   (left-associative, binds tighter than every other operator).
//! - `x => body` and `(x, y) => body` are `Expr::Lambda` with `LambdaSyntax::Arrow` and no
//!   parameter types.
//! - `MAP(k := v, ...)` is `Expr::Function` named `MAP` whose arguments are
//!   `FunctionArg::ExprNamed { name: k, arg: v, operator: FunctionArgOperator::Assignment }`;
//!   `STRUCT(f := v, ...)` is a `STRUCT` function with `FunctionArg::Named` arguments.
//! - `CAST(x AS type)` is `Expr::Cast` whose data type is `DataType::Custom(name, [])` where
//!   `name` is one identifier holding the ksqlDB type text; `crate::ast::DataType::from_cast`
//!   reads it back.
//! - `arr[i]` and `m['k']` are `Expr::CompoundFieldAccess` with `AccessExpr::Subscript`.
//! - `(a, b)` is rejected (ksqlDB has no row values); `SUBSTRING(...)`, `TRIM(...)`, `CEIL(...)`
//!   and other words `sqlparser` gives special syntax are plain `Expr::Function` calls.

use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, DataType as SqlDataType, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgOperator, FunctionArgumentList, FunctionArguments, Ident,
    LambdaFunction, LambdaFunctionParameter, LambdaSyntax, ObjectName, OneOrManyWithParens,
    Subscript, UnaryOperator, Value, ValueWithSpan,
};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token};

use crate::ast::DataType;
use crate::error::literal_error;
use crate::parser::data_type::parse_data_type;
use crate::parser::tokens::ParserExt;

/// `->` binds tighter than any other operator (ksqlDB parses it as a primary expression).
const ARROW_PRECEDENCE: u8 = 60;
/// `||` binds looser than `+`/`-` (30) and tighter than comparisons (20), as in ksqlDB.
const CONCAT_PRECEDENCE: u8 = 25;
/// Parsing above this precedence accepts ksqlDB's `valueExpression`: arithmetic, `||` and
/// primaries, but no comparison, `AND`, `OR`, `IS`, `LIKE`, `IN` or `BETWEEN`.
const VALUE_EXPRESSION_PRECEDENCE: u8 = 24;

/// Words `sqlparser` gives special syntax that ksqlDB calls like any function.
const PLAIN_FUNCTION_WORDS: &[&str] = &[
    "CEIL",
    "CONVERT",
    "CURRENT_CATALOG",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "EXISTS",
    "EXTRACT",
    "FLOOR",
    "INTERVAL",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "OVERLAY",
    "POSITION",
    "SAFE_CAST",
    "SESSION_USER",
    "SUBSTR",
    "SUBSTRING",
    "TRIM",
    "TRY_CAST",
    "TRY_CONVERT",
    "USER",
];

/// Parses a ksqlDB `valueExpression`: an expression without predicates or boolean operators,
/// as allowed in `GROUP BY`, `PARTITION BY` and `VALUES`.
pub(crate) fn parse_value_expression(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.parse_subexpr(VALUE_EXPRESSION_PRECEDENCE)
}

/// Precedence overrides: `->`, `||`, and tokens that end an expression (`:=`, `=>`).
pub(crate) fn next_precedence(parser: &Parser) -> Option<u8> {
    match &parser.peek_token_ref().token {
        // `expr->*` is a select item, not a dereference.
        Token::Arrow if parser.peek_nth_token_ref(1).token == Token::Mul => Some(0),
        Token::Arrow => Some(ARROW_PRECEDENCE),
        Token::StringConcat => Some(CONCAT_PRECEDENCE),
        Token::Assignment | Token::RArrow => Some(0),
        _ => None,
    }
}

/// Infix hook: `->` dereference and subscripts after an infix result (`a->b[1]`).
pub(crate) fn parse_infix(parser: &mut Parser, expr: &Expr) -> Option<Result<Expr, ParserError>> {
    match parser.peek_token_ref().token {
        Token::Arrow => {
            parser.advance_token();
            Some(parse_field_name(parser).map(|field| Expr::BinaryOp {
                left: Box::new(expr.clone()),
                op: BinaryOperator::Arrow,
                right: Box::new(Expr::Identifier(field)),
            }))
        }
        Token::LBracket => {
            parser.advance_token();
            Some(parse_subscript(parser, expr.clone()))
        }
        _ => None,
    }
}

fn parse_field_name(parser: &mut Parser) -> Result<Ident, ParserError> {
    let token = parser.peek_token_ref();
    match &token.token {
        Token::Word(word) => {
            let ident = word.to_ident(token.span);
            parser.advance_token();
            Ok(ident)
        }
        _ => parser.expected_next("a field name"),
    }
}

/// Parses `index]` after `[`, appending to an existing access chain.
fn parse_subscript(parser: &mut Parser, expr: Expr) -> Result<Expr, ParserError> {
    let index = parser.parse_expr()?;
    parser.expect_token(&Token::RBracket)?;
    let access = AccessExpr::Subscript(Subscript::Index { index });
    Ok(match expr {
        Expr::CompoundFieldAccess {
            root,
            mut access_chain,
        } => {
            access_chain.push(access);
            Expr::CompoundFieldAccess { root, access_chain }
        }
        other => Expr::CompoundFieldAccess {
            root: Box::new(other),
            access_chain: vec![access],
        },
    })
}

/// Prefix hook: lambdas, parentheses, numbers, `CAST`, `MAP(...)`, `STRUCT(...)` and words
/// that must be plain function calls. `None` lets `sqlparser` parse the prefix.
pub(crate) fn parse_prefix(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    let next = parser.peek_nth_token_ref(1).token.clone();
    match &parser.peek_token_ref().token {
        Token::LParen if lambda_parameters_follow(parser) => Some(parse_lambda(parser)),
        Token::LParen => Some(parse_parenthesized(parser)),
        Token::Number(..) => Some(parse_number(parser, false)),
        Token::Minus if matches!(next, Token::Number(..)) => Some(parse_number(parser, true)),
        Token::Word(_) if next == Token::RArrow => Some(parse_lambda(parser)),
        Token::Word(word) if word.quote_style.is_none() => {
            let upper = word.value.to_ascii_uppercase();
            let call = next == Token::LParen;
            match upper.as_str() {
                "CAST" if call => Some(parse_cast(parser)),
                "MAP" if call => Some(parse_map(parser)),
                "STRUCT" if call => Some(parse_struct(parser)),
                // ksqlDB has no INTERVAL literal: the word is a column name.
                "INTERVAL" if !call => Some(parse_plain_identifier(parser)),
                word if call && PLAIN_FUNCTION_WORDS.contains(&word) => {
                    Some(parse_plain_function(parser))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether `( ident [, ident]* ) =>` comes next.
fn lambda_parameters_follow(parser: &Parser) -> bool {
    let mut n = 1;
    loop {
        if !matches!(parser.peek_nth_token_ref(n).token, Token::Word(_)) {
            return false;
        }
        match parser.peek_nth_token_ref(n + 1).token {
            Token::Comma => n += 2,
            Token::RParen => return parser.peek_nth_token_ref(n + 2).token == Token::RArrow,
            _ => return false,
        }
    }
}

fn parse_lambda_parameter(parser: &mut Parser) -> Result<LambdaFunctionParameter, ParserError> {
    Ok(LambdaFunctionParameter {
        name: parser.parse_identifier()?,
        data_type: None,
    })
}

/// `x => body` or `(x, y) => body`.
fn parse_lambda(parser: &mut Parser) -> Result<Expr, ParserError> {
    let params = if parser.consume_token(&Token::LParen) {
        let params = parser.parse_comma_separated(parse_lambda_parameter)?;
        parser.expect_token(&Token::RParen)?;
        OneOrManyWithParens::Many(params)
    } else {
        OneOrManyWithParens::One(parse_lambda_parameter(parser)?)
    };
    parser.expect_token(&Token::RArrow)?;
    let body = parser.parse_expr()?;
    Ok(Expr::Lambda(LambdaFunction {
        params,
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

/// `( expr )`; a comma inside is an error, as ksqlDB has no row values.
fn parse_parenthesized(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    parser.expect_token(&Token::RParen)?;
    Ok(Expr::Nested(Box::new(expr)))
}

/// A number literal, optionally negated, checked against ksqlDB's ranges: integers must fit
/// BIGINT and numbers with an exponent (DOUBLE) must be finite.
fn parse_number(parser: &mut Parser, negated: bool) -> Result<Expr, ParserError> {
    if negated {
        parser.advance_token();
    }
    let token = parser.next_token();
    let Token::Number(text, long) = token.token else {
        return parser.expected("a number", token);
    };
    let signed = if negated {
        format!("-{text}")
    } else {
        text.clone()
    };
    if let Some(message) = number_error(&signed) {
        // ksqlDB reports these one column past the literal's (1-based) start.
        let start = token.span.start;
        return Err(literal_error(
            &message,
            Location::new(start.line, start.column + 1),
        ));
    }
    let value = Expr::Value(ValueWithSpan {
        value: Value::Number(text, long),
        span: token.span,
    });
    Ok(if negated {
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: Box::new(value),
        }
    } else {
        value
    })
}

/// Why a (signed) number literal is out of range, if it is.
fn number_error(text: &str) -> Option<String> {
    if text.contains(['e', 'E']) {
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => None,
            _ => Some(format!("Number overflows DOUBLE: {text}")),
        }
    } else if text.contains('.') {
        None
    } else if text.parse::<i64>().is_ok() {
        None
    } else {
        Some(format!("Invalid numeric literal: {text}"))
    }
}

/// `CAST ( expr AS type )` with a ksqlDB type.
fn parse_cast(parser: &mut Parser) -> Result<Expr, ParserError> {
    parser.advance_token();
    parser.expect_token(&Token::LParen)?;
    let expr = parser.parse_expr()?;
    parser.expect_keyword_is(Keyword::AS)?;
    let data_type = parse_data_type(parser)?;
    parser.expect_token(&Token::RParen)?;
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type: cast_type(&data_type),
        array: false,
        format: None,
    })
}

/// How a ksqlDB type is carried in `Expr::Cast`: one custom type name holding its text.
pub(crate) fn cast_type(data_type: &DataType) -> SqlDataType {
    SqlDataType::Custom(
        ObjectName::from(vec![Ident::new(data_type.to_string())]),
        vec![],
    )
}

/// `MAP ( [key := value [, ...]] )`.
fn parse_map(parser: &mut Parser) -> Result<Expr, ParserError> {
    let name = parse_constructor_name(parser)?;
    let args = parse_assignments(parser, |parser| {
        let key = parser.parse_expr()?;
        parser.expect_token(&Token::Assignment)?;
        let value = parser.parse_expr()?;
        Ok(FunctionArg::ExprNamed {
            name: key,
            arg: FunctionArgExpr::Expr(value),
            operator: FunctionArgOperator::Assignment,
        })
    })?;
    Ok(function(name, args))
}

/// `STRUCT ( [field := value [, ...]] )`.
fn parse_struct(parser: &mut Parser) -> Result<Expr, ParserError> {
    let name = parse_constructor_name(parser)?;
    let args = parse_assignments(parser, |parser| {
        let field = parser.parse_ident()?;
        parser.expect_token(&Token::Assignment)?;
        let value = parser.parse_expr()?;
        Ok(FunctionArg::Named {
            name: field,
            arg: FunctionArgExpr::Expr(value),
            operator: FunctionArgOperator::Assignment,
        })
    })?;
    Ok(function(name, args))
}

/// Consumes the constructor word and `(`, returning the word as an identifier.
fn parse_constructor_name(parser: &mut Parser) -> Result<Ident, ParserError> {
    let token = parser.next_token();
    let Token::Word(word) = &token.token else {
        return parser.expected("MAP or STRUCT", token);
    };
    let ident = word.to_ident(token.span);
    parser.expect_token(&Token::LParen)?;
    Ok(ident)
}

fn parse_assignments(
    parser: &mut Parser,
    mut parse_one: impl FnMut(&mut Parser) -> Result<FunctionArg, ParserError>,
) -> Result<Vec<FunctionArg>, ParserError> {
    let mut args = Vec::new();
    if parser.consume_token(&Token::RParen) {
        return Ok(args);
    }
    loop {
        args.push(parse_one(parser)?);
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    Ok(args)
}

fn function(name: Ident, args: Vec<FunctionArg>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![name]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args,
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

fn parse_plain_identifier(parser: &mut Parser) -> Result<Expr, ParserError> {
    let token = parser.next_token();
    match &token.token {
        Token::Word(word) => Ok(Expr::Identifier(word.to_ident(token.span))),
        _ => parser.expected("an identifier", token),
    }
}

/// A call such as `SUBSTRING(s, 1, 2)` parsed like any other function.
fn parse_plain_function(parser: &mut Parser) -> Result<Expr, ParserError> {
    let token = parser.next_token();
    let Token::Word(word) = &token.token else {
        return parser.expected("a function name", token);
    };
    let name = ObjectName::from(vec![word.to_ident(token.span)]);
    parser.parse_function(name)
}
