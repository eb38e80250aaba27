//! The DataFusion session SQL pull queries run in: ksqlDB's identifier rules and Eddy's
//! scalar functions, built once and cloned per query.
//!
//! Aggregates are DataFusion's own (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`, ...): Eddy's ksqlDB
//! aggregates are streaming operators in the executor, not DataFusion UDAFs.

use std::sync::{Arc, OnceLock};

use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemoryCatalogProvider, MemoryCatalogProviderList,
    MemorySchemaProvider,
};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

/// A fresh session for one query, with an empty catalog of its own.
pub(super) fn session_context() -> SessionContext {
    static TEMPLATE: OnceLock<SessionState> = OnceLock::new();
    let state = TEMPLATE.get_or_init(|| {
        let mut config = SessionConfig::new()
            // One scan partition per table; the query runs on one thread.
            .with_target_partitions(1);
        let options = config.options_mut();
        // `identifiers::upper_case_identifiers` applied ksqlDB's rule already.
        options.sql_parser.enable_ident_normalization = false;
        // Strings are Utf8 everywhere in Eddy (formats, functions, state).
        options.sql_parser.map_string_types_to_utf8view = false;
        let context = SessionContext::new_with_config(config);
        for name in planner::functions::scalar_function_names() {
            let Some(function) = planner::functions::scalar_function(name) else {
                continue;
            };
            // DataFusion looks functions up by their lower-cased name. The template is built
            // once per process, so these few hundred bytes are leaked once.
            let alias: &'static str = name.to_ascii_lowercase().leak();
            context.register_udf(function.as_ref().clone().with_aliases([alias]));
        }
        context.state()
    });
    // A clone shares the template's catalog: give each query its own.
    let names = &state.config().options().catalog;
    let schema = Arc::new(MemorySchemaProvider::new());
    let catalog = Arc::new(MemoryCatalogProvider::new());
    catalog
        .register_schema(&names.default_schema, schema)
        .expect("a new memory catalog accepts a schema");
    let catalogs = Arc::new(MemoryCatalogProviderList::new());
    catalogs.register_catalog(names.default_catalog.clone(), catalog);
    let state = SessionStateBuilder::new_from_existing(state.clone())
        .with_catalog_list(catalogs)
        .build();
    SessionContext::new_with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksqldb_functions_are_found_by_their_lower_case_names() {
        let context = session_context();
        let state = context.state();
        for name in ["ucase", "UCASE", "len", "LEN", "count"] {
            let found = state.scalar_functions().contains_key(name)
                || state.aggregate_functions().contains_key(name);
            assert!(found, "{name}");
        }
        let ucase = Arc::clone(&state.scalar_functions()["ucase"]);
        assert_eq!(ucase.name(), "UCASE");
    }

    #[test]
    fn sessions_do_not_share_tables() {
        let first = session_context();
        let table = Arc::new(datafusion::datasource::empty::EmptyTable::new(Arc::new(
            arrow::datatypes::Schema::empty(),
        )));
        first.register_table("T", table).expect("register");
        assert!(first.table_exist("T").expect("lookup"));
        assert!(!session_context().table_exist("T").expect("lookup"));
    }
}
