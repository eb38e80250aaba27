//! Lowering of ksqlDB expressions (`sqlparser` AST) to DataFusion logical expressions.
//!
//! Resolves column names against the input schema (unquoted names are upper-cased), maps
//! ksqlDB operators and functions onto DataFusion, and applies DataFusion's type coercion.
//! Output column naming (`KSQL_COL_n`, struct field names) is in `naming`.

mod comparison;
mod formatted;
mod lambda;
mod literal;

use std::sync::Arc;

use arrow::datatypes::DataType as ArrowType;
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{Column, DFSchema, ScalarValue};
use datafusion::logical_expr::expr::{Case, InList, Like, ScalarFunction};
use datafusion::logical_expr::{Between, BinaryExpr, Cast, Expr, ExprSchemable, Operator, TryCast};
use datafusion::optimizer::analyzer::type_coercion::TypeCoercionRewriter;
use parser::ast::DataType;
use sqlparser::ast::{
    AccessExpr, BinaryOperator, CastKind, Expr as SqlExpr, FunctionArg, FunctionArgExpr,
    FunctionArguments, Ident, Subscript, UnaryOperator, Value,
};

use crate::catalog::Catalog;
use crate::types::{arrow_type_name, to_arrow};
use crate::{PlanError, Result, functions};

pub(crate) use comparison::{comparable_operands, comparison_name, null_comparison_message};
pub use formatted::{FormattedExpr, KsqlText, operator_symbol};
use literal::lower_value;
pub use literal::number_literal;

/// Normalizes an identifier the ksqlDB way: unquoted names are upper-cased.
pub fn normalize_ident(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_uppercase(),
    }
}

/// `expr` as ksqlDB compares expressions (a select item against a `GROUP BY` expression):
/// unquoted identifiers and function names upper-cased, every name quoted, parentheses
/// dropped. Two expressions are the same ksqlDB expression when their canonical forms are
/// equal.
pub fn canonical(expr: &SqlExpr) -> SqlExpr {
    use sqlparser::ast::{ObjectNamePart, visit_expressions_mut};
    use std::ops::ControlFlow;
    fn ident(ident: &mut Ident) {
        ident.value = normalize_ident(ident);
        ident.quote_style = Some('`');
    }
    let mut expr = expr.clone();
    while let SqlExpr::Nested(inner) = expr {
        expr = *inner;
    }
    let _ = visit_expressions_mut(&mut expr, |expr| {
        while let SqlExpr::Nested(inner) = expr {
            *expr = std::mem::replace(inner.as_mut(), SqlExpr::value(Value::Null));
        }
        match expr {
            SqlExpr::Identifier(name) => ident(name),
            SqlExpr::CompoundIdentifier(names) => names.iter_mut().for_each(ident),
            SqlExpr::Function(function) => {
                for part in &mut function.name.0 {
                    if let ObjectNamePart::Identifier(name) = part {
                        ident(name);
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    expr
}

/// The functions whose first argument is a time unit keyword (`TIMESTAMPADD(SECONDS, 5, ts)`).
const TIME_UNIT_FUNCTIONS: [&str; 6] = [
    "DATEADD",
    "DATESUB",
    "TIMEADD",
    "TIMESUB",
    "TIMESTAMPADD",
    "TIMESTAMPSUB",
];

/// The clause of join criteria, for `ExprLowering::clause`.
pub(crate) const JOIN_ON: &str = "JOIN ON";

/// Lowers expressions against one input schema.
pub struct ExprLowering<'a> {
    pub schema: &'a DFSchema,
    pub catalog: &'a Catalog,
    /// Which clause is being lowered, for messages (`SELECT`, `WHERE`, ...).
    pub clause: &'a str,
}

/// The first part of a compound identifier that was written (a qualifier the planner added
/// has no position).
fn written(parts: &[Ident]) -> &Ident {
    parts
        .iter()
        .find(|part| part.span.start.line > 0)
        .unwrap_or(&parts[0])
}

impl ExprLowering<'_> {
    /// Lowers and type-coerces an expression.
    pub fn lower(&self, expr: &SqlExpr) -> Result<Expr> {
        let lowered = self.lower_inner(expr)?;
        coerce(lowered, self.schema)
    }

    fn lower_inner(&self, expr: &SqlExpr) -> Result<Expr> {
        Ok(match expr {
            SqlExpr::Identifier(ident) => self.column(None, &normalize_ident(ident), ident)?,
            SqlExpr::CompoundIdentifier(parts) => self.compound_identifier(parts)?,
            SqlExpr::Value(value) => lower_value(&value.value, false)?,
            SqlExpr::Nested(inner) => self.lower_inner(inner)?,
            SqlExpr::UnaryOp { op, expr: operand } => match (op, operand.as_ref()) {
                (UnaryOperator::Minus, SqlExpr::Value(value)) => lower_value(&value.value, true)?,
                (UnaryOperator::Minus, _) => Expr::Negative(Box::new(self.lower_inner(operand)?)),
                (UnaryOperator::Plus, _) => self.lower_inner(operand)?,
                (UnaryOperator::Not, _) => Expr::Not(Box::new(self.lower_inner(operand)?)),
                (other, _) => return unsupported(&format!("operator {other}")),
            },
            SqlExpr::BinaryOp { left, op, right } => self.binary(left, op, right)?,
            SqlExpr::IsNull(inner) => Expr::IsNull(Box::new(self.lower_inner(inner)?)),
            SqlExpr::IsNotNull(inner) => Expr::IsNotNull(Box::new(self.lower_inner(inner)?)),
            SqlExpr::IsDistinctFrom(left, right) => Expr::BinaryExpr(BinaryExpr::new(
                Box::new(self.lower_inner(left)?),
                Operator::IsDistinctFrom,
                Box::new(self.lower_inner(right)?),
            )),
            SqlExpr::IsNotDistinctFrom(left, right) => Expr::BinaryExpr(BinaryExpr::new(
                Box::new(self.lower_inner(left)?),
                Operator::IsNotDistinctFrom,
                Box::new(self.lower_inner(right)?),
            )),
            SqlExpr::IsTrue(inner) => Expr::IsTrue(Box::new(self.lower_inner(inner)?)),
            SqlExpr::IsFalse(inner) => Expr::IsFalse(Box::new(self.lower_inner(inner)?)),
            SqlExpr::InList {
                expr: inner,
                list,
                negated,
            } => Expr::InList(InList::new(
                Box::new(self.lower_inner(inner)?),
                list.iter()
                    .map(|item| self.lower_inner(item))
                    .collect::<Result<_>>()?,
                *negated,
            )),
            SqlExpr::Between {
                expr: inner,
                negated,
                low,
                high,
            } => Expr::Between(Between::new(
                Box::new(self.lower_inner(inner)?),
                *negated,
                Box::new(self.lower_inner(low)?),
                Box::new(self.lower_inner(high)?),
            )),
            SqlExpr::Like {
                negated,
                expr: inner,
                pattern,
                escape_char,
                ..
            } => Expr::Like(Like::new(
                *negated,
                Box::new(self.lower_inner(inner)?),
                Box::new(self.lower_inner(pattern)?),
                match escape_char.as_ref().map(|escape| &escape.value) {
                    Some(Value::SingleQuotedString(text)) => text.chars().next(),
                    _ => None,
                },
                false,
            )),
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => Expr::Case(Case::new(
                operand
                    .as_ref()
                    .map(|operand| self.lower_inner(operand).map(Box::new))
                    .transpose()?,
                conditions
                    .iter()
                    .map(|when| {
                        Ok((
                            Box::new(self.lower_inner(&when.condition)?),
                            Box::new(self.lower_inner(&when.result)?),
                        ))
                    })
                    .collect::<Result<_>>()?,
                else_result
                    .as_ref()
                    .map(|result| self.lower_inner(result).map(Box::new))
                    .transpose()?,
            )),
            SqlExpr::Cast {
                kind,
                expr: inner,
                data_type,
                ..
            } => {
                let target = to_arrow(&self.catalog.resolve_type(&ksql_type_of(data_type)?)?)?;
                let inner = self.lower_inner(inner)?;
                match kind {
                    CastKind::Cast | CastKind::DoubleColon => {
                        Expr::TryCast(TryCast::new(Box::new(inner), target))
                    }
                    _ => Expr::Cast(Cast::new(Box::new(inner), target)),
                }
            }
            SqlExpr::Function(function) => self.function(function)?,
            SqlExpr::Substring {
                expr: inner,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.lower_inner(inner)?];
                if let Some(from) = substring_from {
                    args.push(self.lower_inner(from)?);
                }
                if let Some(length) = substring_for {
                    args.push(self.lower_inner(length)?);
                }
                self.call("SUBSTRING", args)?
            }
            SqlExpr::Trim { expr: inner, .. } => {
                self.call("TRIM", vec![self.lower_inner(inner)?])?
            }
            SqlExpr::Ceil { expr: inner, .. } => {
                self.call("CEIL", vec![self.lower_inner(inner)?])?
            }
            SqlExpr::Floor { expr: inner, .. } => {
                self.call("FLOOR", vec![self.lower_inner(inner)?])?
            }
            SqlExpr::Array(array) => {
                let elements = array
                    .elem
                    .iter()
                    .map(|item| self.lower_inner(item))
                    .collect::<Result<_>>()?;
                datafusion::functions_nested::expr_fn::make_array(
                    self.with_common_struct_fields(elements)?,
                )
            }
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                let mut current = self.lower_inner(root)?;
                for access in access_chain {
                    current = match access {
                        AccessExpr::Subscript(Subscript::Index { index }) => {
                            self.index(current, self.lower_inner(index)?)?
                        }
                        AccessExpr::Dot(SqlExpr::Identifier(ident)) => {
                            self.field(current, &normalize_ident(ident))?
                        }
                        other => return unsupported(&format!("access {other}")),
                    };
                }
                current
            }
            SqlExpr::Lambda(lambda) => {
                return Err(PlanError::User(format!(
                    "lambda function {lambda} can only be an argument of TRANSFORM, FILTER or REDUCE"
                )));
            }
            other => return unsupported(&other.to_string()),
        })
    }

    fn compound_identifier(&self, parts: &[Ident]) -> Result<Expr> {
        let names: Vec<String> = parts.iter().map(normalize_ident).collect();
        // `source.column` when the first part is a qualifier of the schema.
        if names.len() >= 2 {
            let qualified = self
                .schema
                .iter()
                .any(|(qualifier, _)| qualifier.is_some_and(|q| q.table() == names[0]));
            if qualified {
                let mut current = self.column(Some(&names[0]), &names[1], written(parts))?;
                for name in &names[2..] {
                    current = self.field(current, name)?;
                }
                return Ok(current);
            }
        }
        let mut current = self.column(None, &names[0], written(parts))?;
        for name in &names[1..] {
            current = self.field(current, name)?;
        }
        Ok(current)
    }

    /// The column `qualifier.name` of the schema, written at `at`.
    fn column(&self, qualifier: Option<&str>, name: &str, at: &Ident) -> Result<Expr> {
        let found = self.schema.iter().find(|(field_qualifier, field)| {
            field.name() == name
                && match qualifier {
                    Some(wanted) => field_qualifier.is_some_and(|q| q.table() == wanted),
                    None => true,
                }
        });
        match found {
            Some((field_qualifier, field)) => Ok(Expr::Column(Column::new(
                field_qualifier.cloned(),
                field.name(),
            ))),
            None => {
                let shown = match qualifier {
                    Some(qualifier) => format!("{qualifier}.{name}"),
                    None => name.to_string(),
                };
                let message = format!("{} column '{shown}' cannot be resolved.", self.clause);
                let start = at.span.start;
                // ksqlDB locates the join criteria it cannot resolve.
                if self.clause == JOIN_ON && start.line > 0 {
                    return Err(PlanError::UserAt {
                        line: start.line,
                        column: start.column,
                        message,
                    });
                }
                Err(PlanError::User(message))
            }
        }
    }

    fn binary(&self, left: &SqlExpr, op: &BinaryOperator, right: &SqlExpr) -> Result<Expr> {
        if matches!(op, BinaryOperator::Arrow) {
            let base = self.lower_inner(left)?;
            return match right {
                SqlExpr::Identifier(ident) => self.field(base, &normalize_ident(ident)),
                SqlExpr::Value(value) => match &value.value {
                    Value::SingleQuotedString(name) => self.field(base, name),
                    _ => unsupported(&format!("{left} -> {right}")),
                },
                _ => unsupported(&format!("{left} -> {right}")),
            };
        }
        let operator = match op {
            BinaryOperator::Plus => Operator::Plus,
            BinaryOperator::Minus => Operator::Minus,
            BinaryOperator::Multiply => Operator::Multiply,
            BinaryOperator::Divide => Operator::Divide,
            BinaryOperator::Modulo => Operator::Modulo,
            BinaryOperator::Eq => Operator::Eq,
            BinaryOperator::NotEq => Operator::NotEq,
            BinaryOperator::Lt => Operator::Lt,
            BinaryOperator::LtEq => Operator::LtEq,
            BinaryOperator::Gt => Operator::Gt,
            BinaryOperator::GtEq => Operator::GtEq,
            BinaryOperator::And => Operator::And,
            BinaryOperator::Or => Operator::Or,
            BinaryOperator::StringConcat => Operator::StringConcat,
            other => return unsupported(&format!("operator {other}")),
        };
        let (left_sql, right_sql) = (left, right);
        let (left, right) = (self.lower_inner(left)?, self.lower_inner(right)?);
        if let Some(name) = comparison_name(op) {
            self.check_comparison((left_sql, &left), (right_sql, &right), name, op)?;
        }
        let is_string = |expr: &Expr| {
            expr.get_type(self.schema).is_ok_and(|data_type| {
                matches!(
                    data_type,
                    arrow::datatypes::DataType::Utf8 | arrow::datatypes::DataType::LargeUtf8
                )
            })
        };
        // ksqlDB's `+` concatenates two strings.
        let operator = if operator == Operator::Plus && is_string(&left) && is_string(&right) {
            Operator::StringConcat
        } else {
            operator
        };
        Ok(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(left),
            operator,
            Box::new(right),
        )))
    }

    /// ksqlDB's rule for comparisons: numbers with numbers, strings with strings, times with
    /// times or strings (also `ROWTIME` and window bounds with strings), booleans with
    /// booleans, bytes with bytes; arrays, maps and structs only for (in)equality; null with
    /// anything. In WHERE and HAVING the message names the clause.
    fn check_comparison(
        &self,
        (left_sql, left): (&SqlExpr, &Expr),
        (right_sql, right): (&SqlExpr, &Expr),
        name: &str,
        op: &BinaryOperator,
    ) -> Result<()> {
        let (Ok(left_type), Ok(right_type)) =
            (left.get_type(self.schema), right.get_type(self.schema))
        else {
            return Ok(());
        };
        let prefix = match self.clause {
            "WHERE" | "HAVING" => format!("Error in {} expression: ", self.clause),
            _ => String::new(),
        };
        if left_type == ArrowType::Null || right_type == ArrowType::Null {
            return Err(PlanError::User(format!(
                "{prefix}{}",
                null_comparison_message(&left_type, op, &right_type)
            )));
        }
        if comparable_operands((left_sql, &left_type), (right_sql, &right_type), op) {
            return Ok(());
        }
        Err(PlanError::User(format!(
            "{prefix}Cannot compare {} ({}) to {} ({}) with {name}.",
            FormattedExpr(left_sql),
            arrow_type_name(&left_type),
            FormattedExpr(right_sql),
            arrow_type_name(&right_type)
        )))
    }

    /// `base->name`: a struct field (matched exactly, then case-insensitively).
    pub fn field(&self, base: Expr, name: &str) -> Result<Expr> {
        let base_type = base.get_type(self.schema)?;
        let resolved = match &base_type {
            arrow::datatypes::DataType::Struct(fields) => fields
                .iter()
                .find(|field| field.name() == name)
                .or_else(|| {
                    fields
                        .iter()
                        .find(|field| field.name().eq_ignore_ascii_case(name))
                })
                .map(|field| field.name().clone())
                .ok_or_else(|| {
                    PlanError::User(format!("Could not find field '{name}' in '{base}'."))
                })?,
            other => {
                return Err(PlanError::User(format!(
                    "Expected STRUCT type, got: {}",
                    arrow_type_name(other)
                )));
            }
        };
        Ok(datafusion::functions::core::expr_fn::get_field(
            base, resolved,
        ))
    }

    /// Array elements that are structs with different fields, rebuilt with all their fields
    /// (in order of appearance; missing ones null), as ksqlDB makes them compatible. The
    /// field types are then unified by DataFusion's coercion of `make_array`.
    fn with_common_struct_fields(&self, elements: Vec<Expr>) -> Result<Vec<Expr>> {
        let mut names: Vec<String> = Vec::new();
        let mut shapes = Vec::new();
        for element in &elements {
            let shape = match element.get_type(self.schema)? {
                ArrowType::Struct(fields) => Some(
                    fields
                        .iter()
                        .map(|field| field.name().clone())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            };
            for name in shape.iter().flatten() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            shapes.push(shape);
        }
        let structs = shapes.iter().flatten().collect::<Vec<_>>();
        if structs.len() < 2 || structs.iter().all(|shape| **shape == names) {
            return Ok(elements);
        }
        Ok(elements
            .into_iter()
            .zip(shapes)
            .map(|(element, shape)| match shape {
                Some(shape) if shape != names => {
                    let mut pairs = Vec::new();
                    for name in &names {
                        pairs.push(Expr::Literal(ScalarValue::Utf8(Some(name.clone())), None));
                        pairs.push(if shape.contains(name) {
                            datafusion::functions::core::expr_fn::get_field(
                                element.clone(),
                                name.clone(),
                            )
                        } else {
                            Expr::Literal(ScalarValue::Null, None)
                        });
                    }
                    datafusion::functions::core::expr_fn::named_struct(pairs)
                }
                _ => element,
            })
            .collect())
    }

    /// `base[index]`: 1-based array element (negative counts from the end) or map value.
    fn index(&self, base: Expr, index: Expr) -> Result<Expr> {
        match base.get_type(self.schema)? {
            arrow::datatypes::DataType::Map(_, _) => {
                Ok(datafusion::functions::core::get_field().call(vec![base, index]))
            }
            _ => Ok(datafusion::functions_nested::expr_fn::array_element(
                base, index,
            )),
        }
    }

    fn function(&self, function: &sqlparser::ast::Function) -> Result<Expr> {
        let name = function
            .name
            .0
            .last()
            .and_then(|part| part.as_ident())
            .map(normalize_ident)
            .ok_or_else(|| PlanError::User(format!("bad function name {}", function.name)))?;
        if let Some(kind) = functions::LambdaFunctionKind::from_name(&name)
            && let FunctionArguments::List(list) = &function.args
        {
            let args = list
                .args
                .iter()
                .map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => Ok(expr),
                    other => unsupported(&other.to_string()),
                })
                .collect::<Result<Vec<_>>>()?;
            return self.lambda_call(kind, &args);
        }
        let mut args = Vec::new();
        let mut names = Vec::new();
        if let FunctionArguments::List(list) = &function.args {
            for arg in &list.args {
                match arg {
                    // The unit keyword of DATEADD, TIMESTAMPSUB, ... reaches them as a string.
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::Identifier(unit)))
                        if args.is_empty()
                            && TIME_UNIT_FUNCTIONS.contains(&name.as_str())
                            && unit.quote_style.is_none()
                            && functions::TimeUnit::parse(&unit.value).is_some() =>
                    {
                        args.push(Expr::Literal(
                            ScalarValue::Utf8(Some(unit.value.to_uppercase())),
                            None,
                        ))
                    }
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => {
                        args.push(self.lower_inner(expr)?)
                    }
                    FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => {}
                    FunctionArg::Named { name, arg, .. } => {
                        names.push(normalize_ident(name));
                        args.push(self.lower_function_arg(arg)?);
                    }
                    // MAP(key := value, ...): keys are expressions too.
                    FunctionArg::ExprNamed { name: key, arg, .. } if name == "MAP" => {
                        args.push(self.lower_inner(key)?);
                        args.push(self.lower_function_arg(arg)?);
                    }
                    FunctionArg::ExprNamed { name, arg, .. } => {
                        let field_name = match name {
                            SqlExpr::Identifier(ident) => normalize_ident(ident),
                            other => other.to_string(),
                        };
                        names.push(field_name);
                        args.push(self.lower_function_arg(arg)?);
                    }
                    other => return unsupported(&other.to_string()),
                }
            }
        }
        match name.as_str() {
            "STRUCT" => {
                let mut pairs = Vec::new();
                for (field_name, value) in names.into_iter().zip(args) {
                    pairs.push(Expr::Literal(ScalarValue::Utf8(Some(field_name)), None));
                    pairs.push(value);
                }
                Ok(datafusion::functions::core::expr_fn::named_struct(pairs))
            }
            "MAP" if !args.is_empty() => {
                let mut keys = Vec::new();
                let mut values = Vec::new();
                for (index, value) in args.into_iter().enumerate() {
                    if index % 2 == 0 {
                        keys.push(value);
                    } else {
                        values.push(value);
                    }
                }
                Ok(datafusion::functions_nested::map::map(keys, values))
            }
            _ => self.call(&name, args),
        }
    }

    fn lower_function_arg(&self, arg: &FunctionArgExpr) -> Result<Expr> {
        match arg {
            FunctionArgExpr::Expr(expr) => self.lower_inner(expr),
            other => unsupported(&other.to_string()),
        }
    }

    /// Calls the ksqlDB scalar function `name`.
    pub fn call(&self, name: &str, args: Vec<Expr>) -> Result<Expr> {
        match functions::scalar_function(name).or_else(|| functions::table::table_function(name)) {
            Some(udf) => Ok(Expr::ScalarFunction(ScalarFunction::new_udf(udf, args))),
            None => Err(PlanError::User(format!(
                "Can't find any functions with the name '{name}'"
            ))),
        }
    }
}

/// Applies DataFusion's type coercion to an expression over `schema`.
pub fn coerce(expr: Expr, schema: &DFSchema) -> Result<Expr> {
    let mut rewriter = TypeCoercionRewriter::new(schema);
    Ok(expr.rewrite(&mut rewriter)?.data)
}

/// The ksqlDB type named by a `CAST` target.
pub fn ksql_type_of(data_type: &sqlparser::ast::DataType) -> Result<DataType> {
    parser::parse_data_type(&data_type.to_string())
        .map_err(|error| PlanError::User(error.to_string()))
}

fn unsupported<T>(what: &str) -> Result<T> {
    Err(PlanError::User(format!("unsupported expression: {what}")))
}

/// Wraps an `Arc` schema reference for lowering convenience.
pub fn df_schema(
    schema: &arrow::datatypes::SchemaRef,
    qualifier: Option<&str>,
) -> Result<Arc<DFSchema>> {
    let schema = match qualifier {
        Some(qualifier) => DFSchema::try_from_qualified_schema(qualifier, schema)?,
        None => DFSchema::try_from(Arc::clone(schema))?,
    };
    Ok(Arc::new(schema))
}
