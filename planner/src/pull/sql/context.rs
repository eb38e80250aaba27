//! The DataFusion session SQL pull queries are planned and run in: ksqlDB's identifier rules
//! and Eddy's scalar functions, built once per process.
//!
//! Aggregates are DataFusion's own (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`, ...): Eddy's ksqlDB
//! aggregates are streaming operators in the executor, not DataFusion UDAFs. Planning sees
//! the queried tables through `PlanningContext`, as DataFusion's own session would.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::{ResolvedTableReference, TableReference, plan_datafusion_err};
use datafusion::datasource::cte_worktable::CteWorkTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::Result as DataFusionResult;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::planner::{ContextProvider, ExprPlanner, RelationPlanner};
use datafusion::logical_expr::{AggregateUDF, HigherOrderUDF, ScalarUDF, TableSource, WindowUDF};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::planner::ParserOptions;

/// The session every SQL pull query is planned and run in. It has no tables: plans name
/// theirs, and the server gives their scans readers.
pub fn session_state() -> &'static SessionState {
    static TEMPLATE: OnceLock<SessionState> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let mut config = SessionConfig::new()
            // One scan partition per table; the query runs on one thread.
            .with_target_partitions(1);
        let options = config.options_mut();
        // `identifiers::upper_case_identifiers` applied ksqlDB's rule already.
        options.sql_parser.enable_ident_normalization = false;
        // Strings are Utf8 everywhere in Eddy (formats, functions, state).
        options.sql_parser.map_string_types_to_utf8view = false;
        let context = SessionContext::new_with_config(config);
        for name in crate::functions::scalar_function_names() {
            let Some(function) = crate::functions::scalar_function(name) else {
                continue;
            };
            // DataFusion looks functions up by their lower-cased name. The template is built
            // once per process, so these few hundred bytes are leaked once.
            let alias: &'static str = name.to_ascii_lowercase().leak();
            context.register_udf(function.as_ref().clone().with_aliases([alias]));
        }
        // User functions registered before the first pull query.
        for (name, function) in crate::functions::user::scalar_functions() {
            let alias: &'static str = name.to_ascii_lowercase().leak();
            context.register_udf(function.as_ref().clone().with_aliases([alias]));
        }
        context.state()
    })
}

/// DataFusion's SQL parser options of `state`, as its own planning uses them.
pub(super) fn parser_options(state: &SessionState) -> ParserOptions {
    let options = &state.config_options().sql_parser;
    ParserOptions {
        parse_float_as_decimal: options.parse_float_as_decimal,
        enable_ident_normalization: options.enable_ident_normalization,
        enable_options_value_normalization: options.enable_options_value_normalization,
        support_varchar_with_length: options.support_varchar_with_length,
        map_string_types_to_utf8view: options.map_string_types_to_utf8view,
        collect_spans: options.collect_spans,
        default_null_ordering: options.default_null_ordering.as_str().into(),
    }
}

/// What DataFusion's SQL planner sees of the session: its functions and the queried tables.
pub(super) struct PlanningContext {
    state: &'static SessionState,
    tables: HashMap<ResolvedTableReference, Arc<dyn TableSource>>,
}

impl PlanningContext {
    pub(super) fn new(state: &'static SessionState) -> Self {
        PlanningContext {
            state,
            tables: HashMap::new(),
        }
    }

    /// Makes table `name` (unqualified) readable with rows of `schema`.
    pub(super) fn add_table(&mut self, name: &str, schema: SchemaRef) {
        let source =
            datafusion::logical_expr::logical_plan::builder::LogicalTableSource::new(schema);
        self.tables
            .insert(self.resolve(TableReference::bare(name)), Arc::new(source));
    }

    fn resolve(&self, name: TableReference) -> ResolvedTableReference {
        let names = &self.state.config_options().catalog;
        name.resolve(&names.default_catalog, &names.default_schema)
    }
}

impl ContextProvider for PlanningContext {
    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        self.state.expr_planners()
    }

    fn get_relation_planners(&self) -> &[Arc<dyn RelationPlanner>] {
        self.state.relation_planners()
    }

    fn get_table_source(&self, name: TableReference) -> DataFusionResult<Arc<dyn TableSource>> {
        let name = self.resolve(name);
        self.tables
            .get(&name)
            .cloned()
            .ok_or_else(|| plan_datafusion_err!("table '{name}' not found"))
    }

    fn create_cte_work_table(
        &self,
        name: &str,
        schema: SchemaRef,
    ) -> DataFusionResult<Arc<dyn TableSource>> {
        Ok(provider_as_source(Arc::new(CteWorkTable::new(
            name, schema,
        ))))
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.state.scalar_functions().get(name).cloned()
    }

    fn get_higher_order_meta(&self, name: &str) -> Option<Arc<HigherOrderUDF>> {
        self.state.higher_order_functions().get(name).cloned()
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.state.aggregate_functions().get(name).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        self.state.window_functions().get(name).cloned()
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        self.state.config_options()
    }

    fn udf_names(&self) -> Vec<String> {
        self.state.scalar_functions().keys().cloned().collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        self.state
            .higher_order_functions()
            .keys()
            .cloned()
            .collect()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.state.aggregate_functions().keys().cloned().collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        self.state.window_functions().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksqldb_functions_are_found_by_their_lower_case_names() {
        let state = session_state();
        for name in ["ucase", "UCASE", "len", "LEN", "count"] {
            let found = state.scalar_functions().contains_key(name)
                || state.aggregate_functions().contains_key(name);
            assert!(found, "{name}");
        }
        let ucase = Arc::clone(&state.scalar_functions()["ucase"]);
        assert_eq!(ucase.name(), "UCASE");
    }

    #[test]
    fn planning_sees_only_the_tables_added() {
        let mut context = PlanningContext::new(session_state());
        context.add_table("T", Arc::new(arrow::datatypes::Schema::empty()));
        assert!(context.get_table_source(TableReference::bare("T")).is_ok());
        let error = context
            .get_table_source(TableReference::bare("U"))
            .err()
            .expect("no table U");
        assert!(
            error
                .to_string()
                .contains("table 'datafusion.public.U' not found")
        );
    }
}
