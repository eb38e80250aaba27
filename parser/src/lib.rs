//! Parser stage of Eddy: ksqlDB SQL text to AST.
//!
//! [`parse_statements`] turns a script into [`ast::Statement`]s, built on `sqlparser` with the
//! [`KsqlDialect`]; expressions stay `sqlparser` [`ast::Expr`]s. Errors name `line:column`.
//! The next stage is `planner::plan_statement`.

pub mod ast;
mod dialect;
mod error;
mod keywords;
mod parser;

pub use dialect::KsqlDialect;
pub use error::{ParseError, ParseErrorKind, Result};
pub use keywords::keywords;
pub use parser::{SHOW_WORDS, parse_data_type, parse_expression, parse_statements};
