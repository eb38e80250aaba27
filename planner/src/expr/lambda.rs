//! Lowering of lambda invocations: `TRANSFORM`, `FILTER` and `REDUCE` with `x => body` and
//! `(x, y) => body` arguments.
//!
//! A lambda body is lowered against the outer schema extended with its parameters (which
//! shadow outer columns of the same name), so it may use outer columns, functions and other
//! lambdas; its parameters then become DataFusion lambda variables. Evaluation is in
//! `functions::lambda`.

use std::collections::HashSet;

use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, TableReference};
use datafusion::logical_expr::expr::{HigherOrderFunction, Lambda, LambdaVariable};
use datafusion::logical_expr::{Expr, ExprSchemable};
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
        for (lambda, types) in lambdas.into_iter().zip(parameter_types) {
            lowered.push(self.lower_lambda(name, lambda, &types)?);
        }
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
    ) -> Result<Expr> {
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
                        Transformed::yes(Expr::LambdaVariable(LambdaVariable::new(
                            column.name.clone(),
                            Some(parameter_field(&column.name, types[position].clone())),
                        )))
                    }
                    other => Transformed::no(other),
                })
            })?
            .data;
        Ok(Expr::Lambda(Lambda::new(names, body)))
    }
}
