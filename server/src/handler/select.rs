//! Push and pull queries (`SELECT`, and SQL beyond ksqlDB's).
//!
//! A push query starts a transient query whose rows stream back. A pull query runs the way
//! the planner picked, through `executor::pull::run_pull`: a table's rows are answered before
//! returning, on the caller's thread (key lookups touch only their keys), and a stream is read
//! to its current end.

use arrow::datatypes::SchemaRef;
use executor::pull::PullContext;
use executor::query::StartPosition;
use planner::catalog::{ColumnDefinition, ColumnKind};
use planner::pull::PullPlan;

use crate::Result;
use crate::engine::{
    Engine, OutputColumn, PlannedSelect, RowStream, STREAM_BUFFER, Session, StatementOutput,
};

/// Runs a planned query.
pub fn run(engine: &Engine, planned: PlannedSelect, session: &Session) -> Result<StatementOutput> {
    match planned {
        PlannedSelect::Push {
            plan,
            columns,
            scalable_push,
        } => {
            let (sender, receiver) = Engine::stream_channel();
            let start = Engine::start_position(&session.properties, StartPosition::Latest);
            let handle = executor::start_transient(
                &plan,
                engine.topic_log(),
                &engine.metrics,
                start,
                false,
                sender,
                engine.state_store(),
            )?;
            Ok(StatementOutput::Rows(RowStream {
                columns: output_columns(columns, true),
                receiver,
                handle,
                is_pull: false,
                final_message: plan.limit.is_some().then_some("Limit Reached"),
                scalable_push,
            }))
        }
        PlannedSelect::Pull(plan) => {
            let context = PullContext {
                log: &engine.log,
                state: engine.state_store(),
                metrics: &engine.metrics,
                stream_buffer: STREAM_BUFFER,
            };
            let (receiver, handle) = executor::pull::run_pull(&plan, &context)?;
            let (columns, final_message) = match plan {
                // ksqlDB's header of a stream pull query marks no key columns.
                PullPlan::Stream { columns, .. } => {
                    (output_columns(columns, false), Some("Query Completed"))
                }
                PullPlan::Table { columns, .. } => (output_columns(columns, true), None),
                PullPlan::Sql(sql) => (schema_columns(&sql.output), None),
            };
            Ok(StatementOutput::Rows(RowStream {
                columns,
                receiver,
                handle,
                is_pull: true,
                final_message,
                scalable_push: false,
            }))
        }
    }
}

/// The columns `planned` answers, as `run` names them.
pub fn planned_columns(planned: &PlannedSelect) -> Vec<OutputColumn> {
    match planned {
        PlannedSelect::Push { columns, .. } => output_columns(columns.clone(), true),
        PlannedSelect::Pull(PullPlan::Stream { columns, .. }) => {
            output_columns(columns.clone(), false)
        }
        PlannedSelect::Pull(PullPlan::Table { columns, .. }) => {
            output_columns(columns.clone(), true)
        }
        PlannedSelect::Pull(PullPlan::Sql(sql)) => schema_columns(&sql.output),
    }
}

/// The output columns of a dataflow's columns; `keys` marks the key columns.
fn output_columns(columns: Vec<ColumnDefinition>, keys: bool) -> Vec<OutputColumn> {
    columns
        .into_iter()
        .map(|column| OutputColumn {
            type_name: planner::types::sql_type_name(&column.data_type),
            data_type: column.data_type.clone(),
            key: keys && column.kind == ColumnKind::Key,
            header: match &column.kind {
                ColumnKind::Headers => Some("HEADERS".to_string()),
                ColumnKind::Header(key) => Some(format!("HEADER('{key}')")),
                ColumnKind::Key | ColumnKind::Value => None,
            },
            name: column.name,
        })
        .collect()
}

/// The output columns of a SQL pull query's result schema (no key columns).
fn schema_columns(schema: &SchemaRef) -> Vec<OutputColumn> {
    schema
        .fields()
        .iter()
        .map(|field| OutputColumn {
            name: field.name().clone(),
            type_name: planner::types::arrow_type_name(field.data_type()),
            data_type: planner::types::from_arrow(field.data_type())
                .unwrap_or(parser::ast::DataType::String),
            key: false,
            header: None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
