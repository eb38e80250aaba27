//! Push and pull queries (`SELECT`).
//!
//! A push query and a pull query over a stream start a transient query whose rows stream
//! back. A pull query over a table is answered before returning, on the caller's thread (key
//! lookups touch only their keys); one ksqlDB rejects for its shape goes to `pull_sql`.

use executor::query::StartPosition;
use planner::DataflowPlan;
use planner::catalog::{ColumnDefinition, ColumnKind};
use planner::pull::PullPlan;

use crate::Result;
use crate::engine::{Engine, OutputColumn, RowStream, Session, StatementOutput};
use crate::handler::pull_sql;

/// Runs a planned `SELECT`; `pull` says how a pull query reads its source (`None`: a push
/// query), `scalable_push` whether ksqlDB would run the push query as a scalable one.
pub fn run(
    engine: &Engine,
    plan: &DataflowPlan,
    columns: Vec<ColumnDefinition>,
    pull: Option<PullPlan>,
    scalable_push: bool,
    session: &Session,
) -> Result<StatementOutput> {
    let is_pull = pull.is_some();
    let (receiver, handle, final_message, keys) = match pull {
        Some(PullPlan::Sql(sql)) => return pull_sql::run(engine, *sql),
        Some(PullPlan::Table(table)) => {
            let batches = executor::pull::read_table(
                plan,
                &table,
                engine.state_store(),
                engine.log.as_ref(),
                &engine.metrics,
            )?;
            let (receiver, handle) = executor::query::finished_query(batches);
            (receiver, handle, None, true)
        }
        Some(PullPlan::Stream) => {
            let (sender, receiver) = Engine::stream_channel();
            let handle = executor::start_transient(
                plan,
                engine.topic_log(),
                &engine.metrics,
                StartPosition::Earliest,
                true,
                sender,
                engine.state_store(),
            )?;
            // ksqlDB's header of a stream pull query marks no key columns.
            (receiver, handle, Some("Query Completed"), false)
        }
        None => {
            let (sender, receiver) = Engine::stream_channel();
            let start = Engine::start_position(&session.properties, StartPosition::Latest);
            let handle = executor::start_transient(
                plan,
                engine.topic_log(),
                &engine.metrics,
                start,
                false,
                sender,
                engine.state_store(),
            )?;
            let final_message = plan.limit.is_some().then_some("Limit Reached");
            (receiver, handle, final_message, true)
        }
    };
    Ok(StatementOutput::Rows(RowStream {
        columns: columns
            .into_iter()
            .map(|column| OutputColumn {
                type_name: planner::types::sql_type_name(&column.data_type),
                key: keys && column.kind == ColumnKind::Key,
                name: column.name,
            })
            .collect(),
        receiver,
        handle,
        is_pull,
        final_message,
        scalable_push: scalable_push && !is_pull,
    }))
}
