//! ksqlDB expression forms on top of `sqlparser`'s expression parser (the dialect hooks):
//! `->` dereference, `=>` lambdas, `MAP(k := v)`, `STRUCT(f := v)`, `CAST` to ksqlDB types,
//! subscripts after infix results, number ranges and ksqlDB operator precedence.
//! The `Expr` each form becomes is documented on [`crate::parse_expression`].

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
    let next = &parser.peek_nth_token_ref(1).token;
    let (next_is_number, next_is_rarrow, call) = (
        matches!(next, Token::Number(..)),
        *next == Token::RArrow,
        *next == Token::LParen,
    );
    match &parser.peek_token_ref().token {
        Token::LParen if lambda_parameters_follow(parser) => Some(parse_lambda(parser)),
        Token::LParen => Some(parse_parenthesized(parser)),
        Token::Number(..) => Some(parse_number(parser, false)),
        Token::Minus if next_is_number => Some(parse_number(parser, true)),
        Token::Word(_) if next_is_rarrow => Some(parse_lambda(parser)),
        Token::Word(_) if qualified_subscript_follows(parser) => {
            Some(parse_compound_identifier(parser))
        }
        Token::Word(word) if word.quote_style.is_none() => {
            let upper = word.value.to_ascii_uppercase();
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

/// Whether `ident . ident [. ident]* [` comes next: a qualified column that is indexed.
fn qualified_subscript_follows(parser: &Parser) -> bool {
    let mut n = 1;
    while parser.peek_nth_token_ref(n).token == Token::Period
        && matches!(parser.peek_nth_token_ref(n + 1).token, Token::Word(_))
    {
        n += 2;
    }
    n > 1 && parser.peek_nth_token_ref(n).token == Token::LBracket
}

/// `a.b`: a compound identifier, so that the subscript that follows (the infix hook) indexes
/// the column `a.b`, as for a column without qualifier.
fn parse_compound_identifier(parser: &mut Parser) -> Result<Expr, ParserError> {
    let mut parts = Vec::new();
    loop {
        let token = parser.next_token();
        let Token::Word(word) = &token.token else {
            return parser.expected("an identifier", token);
        };
        parts.push(word.to_ident(token.span));
        if !parser.consume_token(&Token::Period) {
            return Ok(Expr::CompoundIdentifier(parts));
        }
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
    } else if text.contains('.') || text.parse::<i64>().is_ok() {
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

#[cfg(test)]
mod tests {
    use sqlparser::ast::Subscript;

    use super::*;
    use crate::parse_expression;

    /// A compact S-expression of the parts of `Expr` the planner relies on.
    fn shape(expr: &Expr) -> String {
        match expr {
            Expr::Identifier(ident) => ident.to_string(),
            Expr::CompoundIdentifier(parts) => {
                let parts: Vec<String> = parts.iter().map(Ident::to_string).collect();
                parts.join(".")
            }
            Expr::Value(value) => value.to_string(),
            Expr::BinaryOp { left, op, right } => {
                format!("({op:?} {} {})", shape(left), shape(right))
            }
            Expr::UnaryOp { op, expr } => format!("({op:?} {})", shape(expr)),
            Expr::Nested(inner) => format!("(nested {})", shape(inner)),
            Expr::Lambda(lambda) => {
                let params: Vec<String> = lambda
                    .params
                    .iter()
                    .map(|param| param.name.to_string())
                    .collect();
                let many = matches!(lambda.params, OneOrManyWithParens::Many(_));
                let params = if many {
                    format!("[{}]", params.join(" "))
                } else {
                    params.join(" ")
                };
                format!("(lambda {params} {})", shape(&lambda.body))
            }
            Expr::Function(function) => {
                let FunctionArguments::List(list) = &function.args else {
                    return format!("(fn {} {:?})", function.name, function.args);
                };
                let args: Vec<String> = list
                    .args
                    .iter()
                    .map(|arg| match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => shape(expr),
                        FunctionArg::Unnamed(other) => other.to_string(),
                        FunctionArg::Named {
                            name,
                            arg: FunctionArgExpr::Expr(value),
                            operator: FunctionArgOperator::Assignment,
                        } => format!("{name}:={}", shape(value)),
                        FunctionArg::ExprNamed {
                            name,
                            arg: FunctionArgExpr::Expr(value),
                            operator: FunctionArgOperator::Assignment,
                        } => format!("{}:={}", shape(name), shape(value)),
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("(fn {} {})", function.name, args.join(" "))
            }
            Expr::Cast {
                kind: CastKind::Cast,
                expr,
                data_type: SqlDataType::Custom(name, modifiers),
                ..
            } if modifiers.is_empty() => format!("(cast {} {name})", shape(expr)),
            Expr::CompoundFieldAccess { root, access_chain } => {
                let indexes: Vec<String> = access_chain
                    .iter()
                    .map(|access| match access {
                        AccessExpr::Subscript(Subscript::Index { index }) => shape(index),
                        other => format!("{other:?}"),
                    })
                    .collect();
                format!("(index {} {})", shape(root), indexes.join(" "))
            }
            Expr::Array(array) => {
                let items: Vec<String> = array.elem.iter().map(shape).collect();
                format!("(array {})", items.join(" "))
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn ksql_expression_forms_have_documented_shapes() {
        let cases = [
            ("col->field->sub", "(Arrow (Arrow col field) sub)"),
            ("s.col->`f`", "(Arrow s.col `f`)"),
            ("a->b + 1", "(Plus (Arrow a b) 1)"),
            ("-a->b", "(Minus (Arrow a b))"),
            ("x * a->b", "(Multiply x (Arrow a b))"),
            ("arr[1]", "(index arr 1)"),
            ("m['k']", "(index m 'k')"),
            ("arr[1][2]", "(index arr 1 2)"),
            ("s.arr[1]", "(index s.arr 1)"),
            ("s.arr[1]->f", "(Arrow (index s.arr 1) f)"),
            ("a->b[1]", "(index (Arrow a b) 1)"),
            ("arr[1]->f", "(Arrow (index arr 1) f)"),
            (
                "TRANSFORM(arr, x => x + 1)",
                "(fn TRANSFORM arr (lambda x (Plus x 1)))",
            ),
            (
                "REDUCE(arr, 0, (s, x) => s + x)",
                "(fn REDUCE arr 0 (lambda [s x] (Plus s x)))",
            ),
            ("MAP('a' := 1, k := v)", "(fn MAP 'a':=1 k:=v)"),
            ("MAP()", "(fn MAP )"),
            ("STRUCT(A := 1, `b` := 'x')", "(fn STRUCT A:=1 `b`:='x')"),
            ("ARRAY[1, 2]", "(array 1 2)"),
            ("CAST(x AS ARRAY<INT>)", "(cast x ARRAY<INTEGER>)"),
            (
                "CAST(x AS MAP<STRING, INT>)",
                "(cast x MAP<STRING, INTEGER>)",
            ),
            ("CAST(x AS STRUCT<a INT>)", "(cast x STRUCT<`A` INTEGER>)"),
            ("CAST(x AS DECIMAL(4,2))", "(cast x DECIMAL(4, 2))"),
            ("CAST(x AS VARCHAR)", "(cast x STRING)"),
            ("'a' || 1 + 2", "(StringConcat 'a' (Plus 1 2))"),
            ("'a' || b = c", "(Eq (StringConcat 'a' b) c)"),
            ("SUBSTRING(s, 1, 2)", "(fn SUBSTRING s 1 2)"),
            ("TRIM(s)", "(fn TRIM s)"),
            ("CEIL(x)", "(fn CEIL x)"),
            ("COUNT(*)", "(fn COUNT *)"),
            ("interval + 1", "(Plus interval 1)"),
            ("-5", "(Minus 5)"),
            ("(a + b) * c", "(Multiply (nested (Plus a b)) c)"),
            ("ROWTIME", "ROWTIME"),
            ("1R", "1R"),
        ];
        for (text, expected) in cases {
            let expr = parse_expression(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(shape(&expr), expected, "{text}");
        }
    }

    #[test]
    fn cast_targets_read_back_as_ksql_types() {
        let cases = [
            (
                "CAST(x AS ARRAY<INT>)",
                DataType::Array(Box::new(DataType::Int)),
            ),
            (
                "CAST(x AS address)",
                DataType::Custom("ADDRESS".to_string()),
            ),
            (
                "CAST(x AS `Address`)",
                DataType::Custom("Address".to_string()),
            ),
        ];
        for (text, expected) in cases {
            let Ok(Expr::Cast { data_type, .. }) = parse_expression(text) else {
                panic!("{text} is not a cast");
            };
            assert_eq!(DataType::from_cast(&data_type), Some(expected), "{text}");
        }
        assert_eq!(DataType::from_cast(&SqlDataType::Int(None)), None);
    }

    #[test]
    fn non_ksql_expressions_are_rejected() {
        let cases = [
            ("a IN ()", "near ')'"),
            ("(a, b)", "missing ')' at ','"),
            ("CAST(x AS NULL)", "near 'NULL'"),
            ("MAP('a' := )", "near ')'"),
            ("STRUCT(1 := 2)", "near '1'"),
            ("a -> *", "near '->'"),
            ("a b", "near 'b'"),
        ];
        for (text, expected) in cases {
            let error = parse_expression(text).expect_err(text);
            assert!(error.message.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn number_ranges_follow_ksql() {
        let cases = [
            ("1", None),
            ("2147483648", None),
            ("-9223372036854775808", None),
            (
                "9223372036854775808",
                Some("Invalid numeric literal: 9223372036854775808"),
            ),
            ("1.5", None),
            ("1e308", None),
            ("1e309", Some("Number overflows DOUBLE: 1e309")),
            (
                "-1.7976931348623160E308",
                Some("Number overflows DOUBLE: -1.7976931348623160E308"),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(number_error(text).as_deref(), expected, "{text}");
        }
    }
}
