//! ksqlDB scalar functions as DataFusion UDFs.
//!
//! Each built-in is a `ScalarUDF` named with its upper-case ksqlDB name, whose signature takes
//! the argument types ksqlDB takes (with its implicit widening) and whose result follows
//! ksqlDB: null for null or bad input, never an error that fails a batch. The families live
//! in submodules; aggregates and table functions live elsewhere, and the lambda invocation
//! functions (TRANSFORM, FILTER, REDUCE) are DataFusion higher-order functions in `lambda`.

pub mod aggregate;
mod collections;
mod datetime;
mod json;
mod lambda;
mod math;
mod nulls;
mod other;
mod regex;
mod signature;
mod string;
pub mod table;
mod udf;
mod url;
pub mod user;

#[cfg(test)]
mod testing;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use datafusion::logical_expr::ScalarUDF;

pub use datetime::{TimeUnit, TimestampFormat};
pub(crate) use lambda::{LambdaFunctionKind, parameter_field};
pub(crate) use signature::widest;
use udf::{FunctionDefinition, KsqlScalarFunction};

/// ksqlDB's grouping of functions, shown by `DESCRIBE FUNCTION` and `SHOW FUNCTIONS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunctionCategory {
    String,
    Mathematical,
    DateTime,
    Json,
    Array,
    Map,
    Conditional,
    RegularExpression,
    Url,
    Conversions,
    Other,
}

impl FunctionCategory {
    /// The category as ksqlDB prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            FunctionCategory::String => "STRING",
            FunctionCategory::Mathematical => "MATHEMATICAL",
            FunctionCategory::DateTime => "DATE / TIME",
            FunctionCategory::Json => "JSON",
            FunctionCategory::Array => "ARRAY",
            FunctionCategory::Map => "MAP",
            FunctionCategory::Conditional => "CONDITIONAL",
            FunctionCategory::RegularExpression => "REGULAR EXPRESSION",
            FunctionCategory::Url => "URL",
            FunctionCategory::Conversions => "CONVERSIONS",
            FunctionCategory::Other => "OTHER",
        }
    }
}

impl fmt::Display for FunctionCategory {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What `DESCRIBE FUNCTION` says about a scalar function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDescription {
    /// Upper-case ksqlDB name.
    pub name: &'static str,
    pub category: FunctionCategory,
    /// One line.
    pub description: &'static str,
    /// One entry per overload, e.g. `(STRING, INT, INT) -> STRING`.
    pub signatures: Vec<String>,
}

struct RegisteredFunction {
    description: FunctionDescription,
    udf: Arc<ScalarUDF>,
}

fn registry() -> &'static BTreeMap<&'static str, RegisteredFunction> {
    static REGISTRY: OnceLock<BTreeMap<&'static str, RegisteredFunction>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let definitions = [
            string::definitions(),
            regex::definitions(),
            math::definitions(),
            nulls::definitions(),
            other::definitions(),
            datetime::definitions(),
            collections::definitions(),
            json::definitions(),
            url::definitions(),
        ];
        definitions
            .into_iter()
            .flatten()
            .map(|definition| (definition.name, register(&definition)))
            .collect()
    })
}

fn register(definition: &FunctionDefinition) -> RegisteredFunction {
    let signatures = definition
        .overloads
        .iter()
        .map(signature::describe_overload)
        .collect();
    RegisteredFunction {
        description: FunctionDescription {
            name: definition.name,
            category: definition.category,
            description: definition.description,
            signatures,
        },
        udf: Arc::new(ScalarUDF::new_from_impl(KsqlScalarFunction::new(
            definition,
        ))),
    }
}

/// The scalar function named `name` (upper-case ksqlDB name, e.g. "UCASE"), or None: a
/// built-in or a registered user function.
pub fn scalar_function(name: &str) -> Option<Arc<ScalarUDF>> {
    builtin_scalar_function(name).or_else(|| user::scalar_function(name))
}

/// The built-in scalar function named `name` (upper-case), or None.
pub(crate) fn builtin_scalar_function(name: &str) -> Option<Arc<ScalarUDF>> {
    registry()
        .get(name)
        .map(|function| Arc::clone(&function.udf))
}

/// Every built-in scalar function name, sorted (for SHOW FUNCTIONS and completion; user
/// functions are listed by `user::descriptions`).
pub fn scalar_function_names() -> Vec<&'static str> {
    registry().keys().copied().collect()
}

/// One-line description and the ksqlDB category of a function (for DESCRIBE FUNCTION).
pub fn describe_function(name: &str) -> Option<FunctionDescription> {
    registry()
        .get(name)
        .map(|function| function.description.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_sorted_upper_case_and_resolvable() {
        let names = scalar_function_names();
        assert!(names.windows(2).all(|pair| pair[0] < pair[1]));
        for name in names {
            assert_eq!(name, name.to_uppercase());
            let udf = scalar_function(name).expect("registered");
            assert_eq!(udf.name(), name);
            let description = describe_function(name).expect("described");
            assert!(!description.description.is_empty(), "{name}");
            assert!(!description.signatures.is_empty(), "{name}");
        }
    }

    #[test]
    fn unknown_functions_are_absent() {
        assert!(scalar_function("NOPE").is_none());
        assert!(scalar_function("ucase").is_none());
        assert!(describe_function("NOPE").is_none());
    }

    #[test]
    fn describe_function_gives_category_and_signatures() {
        let description = describe_function("SUBSTRING").expect("substring exists");
        assert_eq!(description.category, FunctionCategory::String);
        assert!(
            description
                .signatures
                .contains(&"(STRING, INT, INT) -> STRING".to_string()),
            "{:?}",
            description.signatures
        );
    }
}
