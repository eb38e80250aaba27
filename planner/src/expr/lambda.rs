//! Lowering of lambda invocations: `TRANSFORM`, `FILTER` and `REDUCE` with `x => body` and
//! `(x, y) => body` arguments.
//!
//! A lambda body is lowered against the outer schema extended with its parameters (which
//! shadow outer columns of the same name), so it may use outer columns, functions and other
//! lambdas; its parameters then become DataFusion lambda variables. Evaluation is in
//! `functions::lambda`.
//!
//! ksqlDB evaluates a lambda body as Java code, where arithmetic on a null operand throws and
//! the whole invocation gives null; `failure_condition` states when that happens, so that the
//! invocation can give null for those rows.

use std::collections::HashSet;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, ScalarValue, TableReference};
use datafusion::logical_expr::expr::{Case, HigherOrderFunction, Lambda, LambdaVariable};
use datafusion::logical_expr::{BinaryExpr, Expr, ExprSchemable, Operator, lit};
use sqlparser::ast::{Expr as SqlExpr, LambdaFunction, OneOrManyWithParens};

use super::{ExprLowering, normalize_ident};
use crate::functions::{LambdaFunctionKind, parameter_field};
use crate::types::arrow_type_name;
use crate::{PlanError, Result};

/// Qualifier prefix of the lambda parameters in a body's lowering schema.
const PARAMETER_QUALIFIER: &str = "$lambda";

impl ExprLowering<'_> {
    /// `name(args)` where `name` is a lambda invocation function.
    pub(super) fn lambda_call(&self, kind: LambdaFunctionKind, args: &[&SqlExpr]) -> Result<Expr> {
        let name = kind.name();
        let (values, lambdas): (Vec<&SqlExpr>, Vec<&SqlExpr>) = args
            .iter()
            .partition(|arg| !matches!(arg, SqlExpr::Lambda(_)));
        let lambdas = lambdas
            .into_iter()
            .filter_map(|arg| match arg {
                SqlExpr::Lambda(lambda) => Some(lambda),
                _ => None,
            })
            .collect::<Vec<_>>();
        let lambdas_last = args
            .iter()
            .skip(values.len())
            .all(|arg| matches!(arg, SqlExpr::Lambda(_)));
        if values.len() != kind.value_count() || lambdas.is_empty() || !lambdas_last {
            return Err(PlanError::User(format!(
                "Function '{name}' expects {} argument{} followed by lambda functions",
                kind.value_count(),
                if kind.value_count() == 1 { "" } else { "s" },
            )));
        }
        let values = values
            .into_iter()
            .map(|value| self.lower(value))
            .collect::<Result<Vec<_>>>()?;
        let value_types = values
            .iter()
            .map(|value| value.get_type(self.schema))
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        let parameter_types = kind.parameter_types(&value_types).ok_or_else(|| {
            PlanError::User(format!(
                "Function '{name}' expects an ARRAY or a MAP as its first argument, got {}",
                arrow_type_name(&value_types[0])
            ))
        })?;
        if parameter_types.len() != lambdas.len() {
            let collection = match &value_types[0] {
                arrow::datatypes::DataType::Map(_, _) => "a MAP",
                _ => "an ARRAY",
            };
            return Err(PlanError::User(format!(
                "Function '{name}' of {collection} takes {} lambda function{}, got {}",
                parameter_types.len(),
                if parameter_types.len() == 1 { "" } else { "s" },
                lambdas.len()
            )));
        }
        let mut lowered = values;
        let mut failures = Vec::new();
        for (lambda, types) in lambdas.into_iter().zip(parameter_types) {
            let lambda = self.lower_lambda(name, lambda, &types)?;
            failures.push(Expr::Lambda(Lambda::new(
                lambda.params.clone(),
                failure_condition(&lambda.body),
            )));
            lowered.push(Expr::Lambda(lambda));
        }
        // Each lambda is followed (after all of them) by the condition under which ksqlDB's
        // evaluation of it fails for an element, which makes the whole result null.
        lowered.extend(failures);
        Ok(Expr::HigherOrderFunction(HigherOrderFunction::new(
            kind.udf(),
            lowered,
        )))
    }

    /// One lambda whose parameters have `types`.
    fn lower_lambda(
        &self,
        function: &str,
        lambda: &LambdaFunction,
        types: &[arrow::datatypes::DataType],
    ) -> Result<Lambda> {
        let names = match &lambda.params {
            OneOrManyWithParens::One(param) => vec![normalize_ident(&param.name)],
            OneOrManyWithParens::Many(params) => params
                .iter()
                .map(|param| normalize_ident(&param.name))
                .collect(),
        };
        if names.len() != types.len() {
            return Err(PlanError::User(format!(
                "Function '{function}' expects a lambda function with {} argument{}, got {}: {lambda}",
                types.len(),
                if types.len() == 1 { "" } else { "s" },
                names.len()
            )));
        }
        let mut seen = HashSet::new();
        if let Some(duplicate) = names.iter().find(|name| !seen.insert(name.as_str())) {
            return Err(PlanError::User(format!(
                "Lambda function has duplicate argument '{duplicate}': {lambda}"
            )));
        }
        // Nested lambdas get their own qualifier, so an inner body can use outer parameters.
        let depth = self
            .schema
            .iter()
            .filter(|(qualifier, _)| {
                qualifier.is_some_and(|q| q.table().starts_with(PARAMETER_QUALIFIER))
            })
            .map(|(qualifier, _)| qualifier.map(|q| q.table().to_string()))
            .collect::<HashSet<_>>()
            .len();
        let qualifier = TableReference::bare(format!("{PARAMETER_QUALIFIER}{depth}"));
        let mut fields = names
            .iter()
            .zip(types)
            .map(|(name, data_type)| {
                (
                    Some(qualifier.clone()),
                    parameter_field(name, data_type.clone()),
                )
            })
            .collect::<Vec<_>>();
        fields.extend(
            self.schema
                .iter()
                .filter(|(_, field)| !names.contains(field.name()))
                .map(|(qualifier, field)| (qualifier.cloned(), std::sync::Arc::clone(field))),
        );
        let schema = DFSchema::new_with_metadata(fields, self.schema.metadata().clone())?;
        // Inside the engine a parameter may not share its name with a column of the input.
        let is_column = |name: &str| {
            self.schema.iter().any(|(qualifier, field)| {
                field.name() == name
                    && !qualifier.is_some_and(|q| q.table().starts_with(PARAMETER_QUALIFIER))
            })
        };
        let internal_names = names
            .iter()
            .map(|name| {
                let mut internal = name.clone();
                while is_column(&internal) || names.contains(&internal) && internal != *name {
                    internal.push('_');
                }
                internal
            })
            .collect::<Vec<_>>();
        let body = ExprLowering {
            schema: &schema,
            catalog: self.catalog,
            clause: self.clause,
        }
        .lower(&lambda.body)?;
        let body = body
            .transform(|expr| {
                Ok(match expr {
                    Expr::Column(column) if column.relation.as_ref() == Some(&qualifier) => {
                        let position = names
                            .iter()
                            .position(|name| *name == column.name)
                            .expect("a lambda's qualifier holds only its parameters");
                        let name = &internal_names[position];
                        Transformed::yes(Expr::LambdaVariable(LambdaVariable::new(
                            name.clone(),
                            Some(parameter_field(name, types[position].clone())),
                        )))
                    }
                    other => Transformed::no(other),
                })
            })?
            .data;
        Ok(Lambda::new(internal_names, body))
    }
}

/// When ksqlDB's evaluation of `expr` fails (a boolean expression over the same inputs):
/// arithmetic with a null operand, in the branches Java evaluates (`AND`, `OR` and `CASE`
/// short-circuit), and failures inside nested invocations.
fn failure_condition(expr: &Expr) -> Expr {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::Plus
            | Operator::Minus
            | Operator::Multiply
            | Operator::Divide
            | Operator::Modulo => any([
                failure_condition(left),
                failure_condition(right),
                null_operand(left),
                null_operand(right),
            ]),
            Operator::And => any([
                failure_condition(left),
                all(
                    left.as_ref().clone().is_not_false(),
                    failure_condition(right),
                ),
            ]),
            Operator::Or => any([
                failure_condition(left),
                all(
                    left.as_ref().clone().is_not_true(),
                    failure_condition(right),
                ),
            ]),
            _ => any([failure_condition(left), failure_condition(right)]),
        },
        Expr::Case(Case {
            expr: None,
            when_then_expr,
            else_expr,
        }) => {
            // From the last branch back: a branch's result fails only when it is taken.
            let mut failure = else_expr
                .as_ref()
                .map_or_else(|| lit(false), |result| failure_condition(result));
            for (when, then) in when_then_expr.iter().rev() {
                failure = any([
                    failure_condition(when),
                    all(when.as_ref().clone().is_true(), failure_condition(then)),
                    all(when.as_ref().clone().is_not_true(), failure),
                ]);
            }
            failure
        }
        Expr::HigherOrderFunction(function) => {
            let nested = LambdaFunctionKind::from_name(function.name()).map(|kind| {
                Expr::HigherOrderFunction(HigherOrderFunction::new(
                    kind.failure_udf(),
                    function.args.clone(),
                ))
            });
            any(function
                .args
                .iter()
                .filter(|arg| !matches!(arg, Expr::Lambda(_)))
                .map(failure_condition)
                .chain(nested))
        }
        Expr::Lambda(_) => lit(false),
        other => {
            let mut failures = Vec::new();
            let _ = other.apply_children(|child| {
                failures.push(failure_condition(child));
                Ok(TreeNodeRecursion::Continue)
            });
            any(failures)
        }
    }
}

/// `operand IS NULL`, or false for a literal that is not null.
fn null_operand(operand: &Expr) -> Expr {
    match operand {
        Expr::Literal(value, _) => lit(value.is_null()),
        other => other.clone().is_null(),
    }
}

fn is_false(expr: &Expr) -> bool {
    matches!(expr, Expr::Literal(ScalarValue::Boolean(Some(false)), _))
}

/// `a OR b OR ...`, leaving out literal falses.
fn any(conditions: impl IntoIterator<Item = Expr>) -> Expr {
    conditions
        .into_iter()
        .filter(|condition| !is_false(condition))
        .reduce(Expr::or)
        .unwrap_or_else(|| lit(false))
}

/// `a AND b`, false when either is a literal false.
fn all(left: Expr, right: Expr) -> Expr {
    if is_false(&left) || is_false(&right) {
        lit(false)
    } else {
        left.and(right)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::util::display::{ArrayFormatter, FormatOptions};
    use datafusion::physical_expr::create_physical_expr;
    use datafusion::physical_expr::execution_props::ExecutionProps;

    use super::*;
    use crate::catalog::Catalog;
    use crate::types::to_arrow;

    /// `ID INT, N BIGINT, NUMBERS ARRAY<INT>, WORDS MAP<STRING, INT>` with three rows.
    fn batch() -> RecordBatch {
        let numbers = to_arrow(&parser::parse_data_type("ARRAY<INT>").expect("type")).expect("t");
        let words = to_arrow(&parser::parse_data_type("MAP<STRING, INT>").expect("t")).expect("t");
        let schema = Arc::new(Schema::new(vec![
            Field::new("ID", DataType::Int32, true),
            Field::new("N", DataType::Int64, true),
            Field::new("NUMBERS", numbers.clone(), true),
            Field::new("WORDS", words.clone(), true),
        ]));
        let json = r#"
            {"ID": 1, "N": 10, "NUMBERS": [1, 2, 3], "WORDS": {"a": 1, "bb": 2, "ccc": 3}}
            {"ID": 2, "N": 20, "NUMBERS": [4, null], "WORDS": {"dddd": null, "e": 5}}
            {"ID": 3, "N": null, "NUMBERS": null, "WORDS": null}
        "#;
        let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
            .build_decoder()
            .expect("decoder");
        decoder.decode(json.as_bytes()).expect("decodes");
        decoder.flush().expect("flushes").expect("rows")
    }

    fn lower(sql: &str, batch: &RecordBatch) -> Result<Expr> {
        let schema = DFSchema::try_from(batch.schema())?;
        let catalog = Catalog::default();
        let lowering = ExprLowering {
            schema: &schema,
            catalog: &catalog,
            clause: "SELECT",
        };
        lowering.lower(&parser::parse_expression(sql).expect("parses"))
    }

    /// Evaluates `sql` over `batch()` and prints each row's value.
    fn evaluate(sql: &str) -> Vec<String> {
        let batch = batch();
        let expr = lower(sql, &batch).unwrap_or_else(|error| panic!("{sql}: {error}"));
        let schema = DFSchema::try_from(batch.schema()).expect("schema");
        let physical =
            create_physical_expr(&expr, &schema, &ExecutionProps::new(), &Default::default())
                .unwrap_or_else(|error| panic!("{sql}: {error}"));
        let result: ArrayRef = physical
            .evaluate(&batch)
            .and_then(|value| value.into_array(batch.num_rows()))
            .unwrap_or_else(|error| panic!("{sql}: {error}"));
        let options = FormatOptions::default().with_null("null");
        let formatter = ArrayFormatter::try_new(result.as_ref(), &options).expect("formats");
        (0..result.len())
            .map(|row| formatter.value(row).to_string())
            .collect()
    }

    #[test]
    fn lambda_invocations_evaluate_per_element() {
        let cases: &[(&str, [&str; 3])] = &[
            (
                "TRANSFORM(numbers, x => x * 2)",
                ["[2, 4, 6]", "null", "null"],
            ),
            // An outer column inside the body.
            (
                "TRANSFORM(numbers, x => x + id)",
                ["[2, 3, 4]", "null", "null"],
            ),
            ("FILTER(numbers, x => x > 1)", ["[2, 3]", "[4]", "null"]),
            (
                "REDUCE(numbers, n, (s, x) => s + x)",
                ["16", "null", "null"],
            ),
            ("REDUCE(numbers, 0, (s, x) => s + x)", ["6", "null", "0"]),
            (
                "FILTER(words, (k, v) => LEN(k) > 1)",
                ["{bb: 2, ccc: 3}", "{dddd: null}", "null"],
            ),
            (
                "TRANSFORM(words, (k, v) => UCASE(k), (k, v) => v * 10)",
                ["{A: 10, BB: 20, CCC: 30}", "null", "null"],
            ),
            // Every new key is 'k': the keys repeat, so the map is null.
            (
                "TRANSFORM(words, (k, v) => 'k', (k, v) => v)",
                ["null", "null", "null"],
            ),
            // 'e' is 5 and 'dddd' is null, but the CASE takes the null branch only for long keys.
            (
                "REDUCE(words, 0, (s, k, v) => CASE WHEN LEN(k) > 3 THEN s ELSE s + v END)",
                ["6", "5", "0"],
            ),
            // Nested: the inner lambda uses the outer one's parameter.
            (
                "TRANSFORM(numbers, x => REDUCE(numbers, 0, (s, y) => s + x * y))",
                ["[6, 12, 18]", "null", "null"],
            ),
            // A failure in the inner lambda (null * 4) fails the outer one too.
            (
                "TRANSFORM(numbers, x => REDUCE(numbers, 0, (s, y) => s + y * 2))",
                ["[12, 12, 12]", "null", "null"],
            ),
            // A parameter shadows the column of the same name.
            (
                "TRANSFORM(numbers, id => id - 1)",
                ["[0, 1, 2]", "null", "null"],
            ),
        ];
        for (sql, expected) in cases {
            assert_eq!(evaluate(sql), expected.to_vec(), "{sql}");
        }
    }

    #[test]
    fn lambda_invocations_reject_bad_calls() {
        let batch = batch();
        let cases = [
            (
                "TRANSFORM(numbers, (x, y) => x)",
                "Function 'TRANSFORM' expects a lambda function with 1 argument, got 2: (x, y) -> x",
            ),
            (
                "TRANSFORM(words, (k, v) => k)",
                "Function 'TRANSFORM' of a MAP takes 2 lambda functions, got 1",
            ),
            (
                "REDUCE(numbers, (s, x) => s + x)",
                "Function 'REDUCE' expects 2 arguments followed by lambda functions",
            ),
            (
                "FILTER(id, x => x > 1)",
                "Function 'FILTER' expects an ARRAY or a MAP as its first argument, got INTEGER",
            ),
            (
                "REDUCE(numbers, 0, (s, s) => s)",
                "Lambda function has duplicate argument 'S': (s, s) -> s",
            ),
            (
                "ABS(x => x)",
                "lambda function x -> x can only be an argument of TRANSFORM, FILTER or REDUCE",
            ),
            (
                "TRANSFORM(numbers, x => y)",
                "SELECT column 'Y' cannot be resolved.",
            ),
        ];
        for (sql, expected) in cases {
            match lower(sql, &batch) {
                Ok(expr) => panic!("{sql} lowered to {expr}"),
                Err(error) => assert_eq!(error.to_string(), expected, "{sql}"),
            }
        }
    }
}
