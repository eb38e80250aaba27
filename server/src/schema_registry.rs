//! The engine's schema registry: registrations, deletions and compatibility levels of the
//! catalog's registry (persisted by `executor::schema_registry`), and, with
//! `ksql.schema.registry.url`, an external registry that the catalog's registry caches.
//!
//! With an external registry, statements stay planned synchronously from the catalog: before
//! a CREATE statement is planned, the subjects of the topics it names (and the ids it asks
//! for) are fetched into the cache; the schemas its plan generates are registered there
//! first and the statement is planned again, so it uses the ids the registry gave.

pub mod remote;

use std::sync::{Arc, OnceLock};

use parser::ast::{Literal, Statement, StatementKind, WithProperties};
use planner::schema_registry::compatibility::Compatibility;
use planner::schema_registry::{SchemaReference, SchemaType, subject_name};
use planner::{Catalog, Properties, StatementPlan};

use self::remote::{RemoteRegistry, RemoteSchema};
use crate::engine::EngineState;
use crate::error::registry_error;
use crate::{Engine, Result, ServerError};

/// How deep schema references are followed when fetching.
const MAX_REFERENCE_DEPTH: usize = 32;

/// The engine's external registry, once configured.
pub(crate) type RemoteSlot = OnceLock<RemoteRegistry>;

impl Engine {
    /// Uses the external registry that `properties` name (`ksql.schema.registry.url`, with
    /// `ksql.schema.registry.basic.auth.*`) instead of the embedded one from now on. Returns
    /// false when they name none. Fails on invalid properties or when another registry is
    /// already in use.
    pub fn connect_schema_registry(&self, properties: &Properties) -> Result<bool> {
        let Some(registry) = RemoteRegistry::from_properties(properties)? else {
            return Ok(false);
        };
        let url = registry.url().to_string();
        match self.remote_registry.set(registry) {
            Ok(()) => {
                tracing::info!("using the schema registry at {url}");
                Ok(true)
            }
            Err(_) if self.remote_registry.get().is_some_and(|r| r.url() == url) => Ok(true),
            Err(_) => Err(ServerError::User(format!(
                "the engine already uses another schema registry than {url}"
            ))),
        }
    }

    /// The external registry's URL, when one is used.
    pub fn schema_registry_url(&self) -> Option<&str> {
        self.remote_registry.get().map(RemoteRegistry::url)
    }

    /// Registers a schema under `subject` and returns its id, as a client of Confluent's
    /// Schema Registry would: in the external registry first when there is one (its id is
    /// used), else in the embedded one (with `id`, or the schema's existing or next id).
    pub fn register_schema(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        references: Vec<SchemaReference>,
        id: Option<u32>,
    ) -> Result<u32> {
        let id = match self.remote_registry.get() {
            Some(remote) => Some(remote.register(subject, schema_type, text, &references)?),
            None => id,
        };
        let mut state = self.lock();
        let id = Arc::make_mut(&mut state.catalog)
            .schema_registry_mut()
            .register(subject, schema_type, text, references, id)
            .map_err(ServerError::User)?;
        self.schemas.save(state.catalog.schema_registry())?;
        Ok(id)
    }

    /// Deletes `subject` from the catalog's registry and returns its versions (`None` when
    /// it does not exist). The external registry, if any, is left alone.
    pub fn delete_schema_subject(&self, subject: &str) -> Result<Option<Vec<u32>>> {
        let mut state = self.lock();
        let versions = Arc::make_mut(&mut state.catalog)
            .schema_registry_mut()
            .delete_subject(subject);
        if versions.is_some() {
            self.schemas.delete_subject(subject)?;
        }
        Ok(versions)
    }

    /// Sets the compatibility level of `subject` (`None`: of the whole registry).
    pub fn set_schema_compatibility(
        &self,
        subject: Option<&str>,
        level: Compatibility,
    ) -> Result<()> {
        let mut state = self.lock();
        Arc::make_mut(&mut state.catalog)
            .schema_registry_mut()
            .set_compatibility(subject, level);
        self.schemas.save(state.catalog.schema_registry())?;
        Ok(())
    }

    /// Plans `statement`; with an external registry, fetches the schemas it names first and
    /// registers the schemas its plan generates there (then plans it again with their ids).
    pub(crate) fn plan_with_registry(
        &self,
        state: &mut EngineState,
        statement: &Statement,
        properties: &Properties,
    ) -> Result<Option<StatementPlan>> {
        let Some(remote) = self.remote_registry.get() else {
            return Ok(planner::plan_statement(
                &state.catalog,
                statement,
                properties,
            )?);
        };
        fetch_named_schemas(remote, state, statement)?;
        let plan = planner::plan_statement(&state.catalog, statement, properties)?;
        let unregistered = unregistered_schemas(&state.catalog, plan.as_ref());
        if unregistered.is_empty() {
            return Ok(plan);
        }
        for (subject, schema_type, text, references) in unregistered {
            let id = remote.register(&subject, schema_type, &text, &references)?;
            cache(
                state,
                &subject,
                &RemoteSchema {
                    id,
                    schema_type,
                    text,
                    references,
                },
            )?;
        }
        Ok(planner::plan_statement(
            &state.catalog,
            statement,
            properties,
        )?)
    }
}

/// Fetches into the catalog's registry the latest schemas of the subjects of the topic a
/// CREATE statement names, and the schemas of its `KEY_SCHEMA_ID`/`VALUE_SCHEMA_ID`.
fn fetch_named_schemas(
    remote: &RemoteRegistry,
    state: &mut EngineState,
    statement: &Statement,
) -> Result<()> {
    let (name, properties) = match &statement.kind {
        StatementKind::CreateSource(create) => (&create.name, &create.properties),
        StatementKind::CreateAsSelect(create) => (&create.name, &create.properties),
        _ => return Ok(()),
    };
    let topic = properties
        .get_text("KAFKA_TOPIC")
        .unwrap_or_else(|| name.clone());
    for key in [true, false] {
        let subject = subject_name(&topic, key);
        if let Some(schema) = remote.version(&subject, None)? {
            fetch_references(remote, state, &schema, 0)?;
            cache(state, &subject, &schema)?;
        }
    }
    for (property, key) in [("KEY_SCHEMA_ID", true), ("VALUE_SCHEMA_ID", false)] {
        let Some(id) = schema_id(properties, property) else {
            continue;
        };
        if state.catalog.schema_registry().by_id(id).is_some() {
            continue;
        }
        // The registry does not say which subject holds an id: the topic's is assumed,
        // as only the subject's own schemas are looked up by id.
        if let Some(schema) = remote.by_id(id)? {
            fetch_references(remote, state, &schema, 0)?;
            cache(state, &subject_name(&topic, key), &schema)?;
        }
    }
    Ok(())
}

fn schema_id(properties: &WithProperties, name: &str) -> Option<u32> {
    match properties.get(name)? {
        Literal::Number(text) | Literal::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn fetch_references(
    remote: &RemoteRegistry,
    state: &mut EngineState,
    schema: &RemoteSchema,
    depth: usize,
) -> Result<()> {
    if depth > MAX_REFERENCE_DEPTH {
        return Err(registry_error(
            "schema references nest too deeply".to_string(),
        ));
    }
    for reference in &schema.references {
        if let Some(referenced) = remote.version(&reference.subject, Some(reference.version))? {
            fetch_references(remote, state, &referenced, depth + 1)?;
            cache(state, &reference.subject, &referenced)?;
        }
    }
    Ok(())
}

/// Adds a schema of the external registry to the catalog's registry, with its id.
fn cache(state: &mut EngineState, subject: &str, schema: &RemoteSchema) -> Result<()> {
    Arc::make_mut(&mut state.catalog)
        .schema_registry_mut()
        .register(
            subject,
            schema.schema_type,
            &schema.text,
            schema.references.clone(),
            Some(schema.id),
        )
        .map(|_| ())
        .map_err(|error| {
            registry_error(format!(
                "cannot cache schema {} of subject {subject}: {error} (the data directory was used with another registry)",
                schema.id
            ))
        })
}

/// `(subject, type, text, references)` of the schemas a CREATE plan bound that its subjects
/// do not hold yet: the ones the planner generated.
fn unregistered_schemas(
    catalog: &Catalog,
    plan: Option<&StatementPlan>,
) -> Vec<(String, SchemaType, String, Vec<SchemaReference>)> {
    let source = match plan {
        Some(StatementPlan::CreateSource {
            source,
            if_not_exists,
            ..
        }) => (!*if_not_exists || catalog.source(&source.name).is_none()).then_some(source),
        Some(StatementPlan::CreateAsSelect {
            sink,
            if_not_exists,
            ..
        }) => (!*if_not_exists || catalog.source(&sink.name).is_none()).then_some(sink),
        _ => None,
    };
    let Some(source) = source else {
        return Vec::new();
    };
    let registry = catalog.schema_registry();
    [&source.key_format, &source.value_format]
        .into_iter()
        .filter_map(|format| format.schema.as_ref())
        .filter_map(|binding| {
            let subject = binding.subject.as_ref()?;
            let schema = &binding.schema;
            (!registry.subject_has(subject, schema.id)).then(|| {
                (
                    subject.clone(),
                    schema.schema_type,
                    schema.text.clone(),
                    schema.references.clone(),
                )
            })
        })
        .collect()
}
