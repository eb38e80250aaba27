//! Planner: turns `parser` ASTs into catalog changes and streaming dataflow plans.
//!
//! Owns the catalog model, the function registry (ksqlDB built-ins as DataFusion UDFs),
//! type checking and lowering to `DataflowPlan`. Pure: no IO, no async. Next stage:
//! `executor`.

pub mod aggregate;
pub mod catalog;
mod error;
pub mod expr;
mod format_rules;
pub mod functions;
pub mod plan;
pub mod pull;
mod query;
pub mod schema_registry;
mod source_schema;
mod statement;
pub mod types;

pub use catalog::{Catalog, SourceDefinition};
pub use error::{PlanError, Result, user_error};
pub use plan::{DataflowNode, DataflowPlan};
pub use query::is_scalable_push;
pub use statement::{
    InsertValuesPlan, Properties, StatementPlan, check_alter_target, drop_target, plan_statement,
    sink_plan,
};
