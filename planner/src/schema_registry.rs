//! The embedded schema registry's model: subjects (`<topic>-key`, `<topic>-value`) holding
//! versions of schemas, each schema with a global id, as Confluent Schema Registry keeps them.
//!
//! Pure data held by the catalog; the engine persists registrations
//! (`executor::schema_registry`). Schema texts are read by `avro`, `protobuf` and
//! `json_schema`, which also translate them to and from ksqlDB column types.

pub mod avro;
pub mod compatibility;
pub mod json_schema;
pub mod json_tree;
pub mod protobuf;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use self::compatibility::Compatibility;

/// The kind of a registered schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchemaType {
    Avro,
    Protobuf,
    Json,
}

impl SchemaType {
    /// Confluent's name (`AVRO`, `PROTOBUF`, `JSON`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Avro => "AVRO",
            Self::Protobuf => "PROTOBUF",
            Self::Json => "JSON",
        }
    }

    /// Reads a schema type or a format name (`JSON_SR` is `JSON`), ignoring case.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "AVRO" => Some(Self::Avro),
            "PROTOBUF" | "PROTOBUF_NOSR" => Some(Self::Protobuf),
            "JSON" | "JSON_SR" => Some(Self::Json),
            _ => None,
        }
    }
}

/// A schema another one imports (protobuf `import "name"`), by subject and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    pub name: String,
    pub subject: String,
    pub version: u32,
}

/// A schema with its global id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredSchema {
    pub id: u32,
    pub schema_type: SchemaType,
    pub text: String,
    pub references: Vec<SchemaReference>,
}

/// One version of one subject: what is persisted and restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub subject: String,
    pub version: u32,
    pub schema: RegisteredSchema,
}

/// The schema a source's key or value payloads are written with (and read as), with the
/// texts of the schemas it imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaBinding {
    /// Where the schema is registered; `None` for formats without a registry
    /// (`PROTOBUF_NOSR`), whose payloads carry no schema id.
    pub subject: Option<String>,
    pub schema: Arc<RegisteredSchema>,
    /// `(import name, schema text)` of every schema imported, transitively.
    pub imports: Vec<(String, String)>,
    /// PROTOBUF: the full name of the message the payloads hold; `None` for the first one.
    pub message: Option<String>,
}

impl SchemaBinding {
    /// A schema no registry knows (id 0).
    pub fn unregistered(schema_type: SchemaType, text: String) -> Self {
        Self {
            subject: None,
            schema: Arc::new(RegisteredSchema {
                id: 0,
                schema_type,
                text,
                references: Vec::new(),
            }),
            imports: Vec::new(),
            message: None,
        }
    }
}

/// Subjects and schemas.
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistry {
    schemas: BTreeMap<u32, Arc<RegisteredSchema>>,
    /// Ids of each subject's versions; version `n` is at index `n - 1`.
    subjects: BTreeMap<String, Vec<u32>>,
    /// Compatibility levels set for the whole registry (`None` key) or one subject.
    compatibility: BTreeMap<Option<String>, Compatibility>,
}

/// The subject of a topic's keys or values.
pub fn subject_name(topic: &str, key: bool) -> String {
    format!("{topic}-{}", if key { "key" } else { "value" })
}

impl SchemaRegistry {
    /// Registers a schema under `subject` and returns its id. A schema already registered
    /// under the subject keeps its id; otherwise an identical schema elsewhere lends its id,
    /// else it gets `id` or the next free one. Fails when `id` holds another schema.
    pub fn register(
        &mut self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        references: Vec<SchemaReference>,
        id: Option<u32>,
    ) -> Result<u32, String> {
        let same = |schema: &RegisteredSchema| {
            schema.schema_type == schema_type
                && schema.text == text
                && schema.references == references
        };
        if let Some(existing) = self.subjects.get(subject).and_then(|ids| {
            ids.iter()
                .find(|existing| self.schemas.get(existing).is_some_and(|s| same(s)))
        }) && id.is_none_or(|id| id == *existing)
        {
            return Ok(*existing);
        }
        let id = match id {
            Some(id) => match self.schemas.get(&id) {
                Some(schema) if !same(schema) => {
                    return Err(format!(
                        "schema id {id} is already registered with another schema"
                    ));
                }
                _ => id,
            },
            None => match self.schemas.values().find(|schema| same(schema)) {
                Some(schema) => schema.id,
                None => self.next_id(),
            },
        };
        self.schemas.entry(id).or_insert_with(|| {
            Arc::new(RegisteredSchema {
                id,
                schema_type,
                text: text.to_string(),
                references,
            })
        });
        let versions = self.subjects.entry(subject.to_string()).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
        Ok(id)
    }

    /// Restores a persisted registration.
    pub fn restore(&mut self, registration: Registration) {
        let id = registration.schema.id;
        self.schemas
            .entry(id)
            .or_insert_with(|| Arc::new(registration.schema));
        let versions = self.subjects.entry(registration.subject).or_default();
        if !versions.contains(&id) {
            versions.push(id);
        }
    }

    /// Every registration, by subject then version.
    pub fn registrations(&self) -> Vec<Registration> {
        let mut registrations = Vec::new();
        for (subject, ids) in &self.subjects {
            for (index, id) in ids.iter().enumerate() {
                if let Some(schema) = self.schemas.get(id) {
                    registrations.push(Registration {
                        subject: subject.clone(),
                        version: index as u32 + 1,
                        schema: RegisteredSchema::clone(schema),
                    });
                }
            }
        }
        registrations
    }

    /// Removes `subject` and returns the versions it had (`None` when it has none). The
    /// schemas keep their ids: other subjects may share them, and ids are never reused.
    pub fn delete_subject(&mut self, subject: &str) -> Option<Vec<u32>> {
        let ids = self.subjects.remove(subject)?;
        self.compatibility.remove(&Some(subject.to_string()));
        Some((1..=ids.len() as u32).collect())
    }

    /// The subjects, sorted.
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.subjects.keys().map(String::as_str)
    }

    /// The version numbers of `subject` (`None` when it does not exist).
    pub fn versions(&self, subject: &str) -> Option<Vec<u32>> {
        self.subjects
            .get(subject)
            .map(|ids| (1..=ids.len() as u32).collect())
    }

    /// The schemas of every version of `subject`, oldest first (none for a missing subject).
    pub fn subject_schemas(&self, subject: &str) -> Vec<&RegisteredSchema> {
        self.subjects
            .get(subject)
            .into_iter()
            .flatten()
            .filter_map(|id| self.schemas.get(id))
            .map(Arc::as_ref)
            .collect()
    }

    /// The version of `subject` holding schema `id`.
    pub fn version_of(&self, subject: &str, id: u32) -> Option<u32> {
        let index = self.subjects.get(subject)?.iter().position(|&v| v == id)?;
        Some(index as u32 + 1)
    }

    /// The id of the schema registered under `subject` with this type, text and references.
    pub fn find(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        references: &[SchemaReference],
    ) -> Option<u32> {
        self.subjects.get(subject)?.iter().copied().find(|id| {
            self.schemas.get(id).is_some_and(|schema| {
                schema.schema_type == schema_type
                    && schema.text == text
                    && schema.references == references
            })
        })
    }

    /// The compatibility level set for `subject` (`None`: the registry's), if any.
    pub fn compatibility_set(&self, subject: Option<&str>) -> Option<Compatibility> {
        self.compatibility
            .get(&subject.map(str::to_string))
            .copied()
    }

    /// The level that applies to `subject`: its own, else the registry's, else `BACKWARD`.
    pub fn compatibility(&self, subject: &str) -> Compatibility {
        self.compatibility_set(Some(subject))
            .or_else(|| self.compatibility_set(None))
            .unwrap_or_default()
    }

    /// Sets the level of `subject` (`None`: the registry's).
    pub fn set_compatibility(&mut self, subject: Option<&str>, level: Compatibility) {
        self.compatibility
            .insert(subject.map(str::to_string), level);
    }

    /// Every level set, for persisting.
    pub fn compatibility_levels(&self) -> impl Iterator<Item = (Option<&str>, Compatibility)> {
        self.compatibility
            .iter()
            .map(|(subject, level)| (subject.as_deref(), *level))
    }

    /// The id a new schema would get.
    pub fn next_id(&self) -> u32 {
        self.schemas.keys().next_back().map_or(1, |last| last + 1)
    }

    /// The latest version of `subject`.
    pub fn latest(&self, subject: &str) -> Option<&Arc<RegisteredSchema>> {
        self.subjects
            .get(subject)
            .and_then(|ids| ids.last())
            .and_then(|id| self.schemas.get(id))
    }

    /// Version `version` (from 1) of `subject`.
    pub fn version(&self, subject: &str, version: u32) -> Option<&Arc<RegisteredSchema>> {
        let index = usize::try_from(version).ok()?.checked_sub(1)?;
        self.subjects
            .get(subject)
            .and_then(|ids| ids.get(index))
            .and_then(|id| self.schemas.get(id))
    }

    pub fn by_id(&self, id: u32) -> Option<&Arc<RegisteredSchema>> {
        self.schemas.get(&id)
    }

    /// Whether `subject` has a version holding schema `id`.
    pub fn subject_has(&self, subject: &str, id: u32) -> bool {
        self.subjects
            .get(subject)
            .is_some_and(|ids| ids.contains(&id))
    }

    /// A binding of `schema`: its imports resolved through their subjects.
    pub fn bind(
        &self,
        subject: Option<String>,
        schema: Arc<RegisteredSchema>,
        message: Option<String>,
    ) -> Result<SchemaBinding, String> {
        let mut imports = Vec::new();
        self.collect_imports(&schema, &mut imports, 0)?;
        Ok(SchemaBinding {
            subject,
            schema,
            imports,
            message,
        })
    }

    fn collect_imports(
        &self,
        schema: &RegisteredSchema,
        imports: &mut Vec<(String, String)>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > 32 {
            return Err("schema references nest too deeply".to_string());
        }
        for reference in &schema.references {
            if imports.iter().any(|(name, _)| *name == reference.name) {
                continue;
            }
            let referenced = self
                .version(&reference.subject, reference.version)
                .or_else(|| self.latest(&reference.subject))
                .ok_or_else(|| {
                    format!(
                        "schema reference {} (subject {}, version {}) is not registered",
                        reference.name, reference.subject, reference.version
                    )
                })?;
            imports.push((reference.name.clone(), referenced.text.clone()));
            self.collect_imports(referenced, imports, depth + 1)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Subject, schema text, requested id, and the id or the error.
    type RegistrationCase<'a> = (&'a str, &'a str, Option<u32>, Result<u32, &'a str>);

    #[test]
    fn registrations_reuse_ids_of_identical_schemas() {
        let mut registry = SchemaRegistry::default();
        let avro = SchemaType::Avro;
        let cases: Vec<RegistrationCase<'_>> = vec![
            ("t-value", "\"int\"", None, Ok(1)),
            ("t-value", "\"int\"", None, Ok(1)),
            ("t-value", "\"long\"", None, Ok(2)),
            ("u-value", "\"int\"", None, Ok(1)),
            ("k-key", "\"string\"", Some(100), Ok(100)),
            ("k2-key", "\"double\"", None, Ok(101)),
            (
                "x-value",
                "\"boolean\"",
                Some(100),
                Err("already registered"),
            ),
            ("x-value", "\"string\"", Some(100), Ok(100)),
        ];
        for (subject, text, id, expected) in cases {
            let actual = registry.register(subject, avro, text, Vec::new(), id);
            match (actual, expected) {
                (Ok(actual), Ok(expected)) => assert_eq!(actual, expected, "{subject} {text}"),
                (Err(error), Err(expected)) => assert!(error.contains(expected), "{error}"),
                (actual, expected) => panic!("{subject} {text}: {actual:?} vs {expected:?}"),
            }
        }
        assert_eq!(registry.latest("t-value").map(|s| s.id), Some(2));
        assert_eq!(registry.version("t-value", 1).map(|s| s.id), Some(1));
        assert_eq!(registry.version("t-value", 3), None);
        assert!(registry.subject_has("x-value", 100));

        let mut restored = SchemaRegistry::default();
        for registration in registry.registrations() {
            restored.restore(registration);
        }
        assert_eq!(restored.registrations(), registry.registrations());
        assert_eq!(restored.next_id(), 102);
    }

    #[test]
    fn subjects_are_listed_found_and_deleted_with_their_levels() {
        let mut registry = SchemaRegistry::default();
        let avro = SchemaType::Avro;
        for (subject, text) in [("a", "\"int\""), ("a", "\"long\""), ("b", "\"int\"")] {
            registry
                .register(subject, avro, text, Vec::new(), None)
                .expect("registers");
        }
        registry.set_compatibility(Some("a"), Compatibility::Full);
        assert_eq!(registry.subjects().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(registry.versions("a"), Some(vec![1, 2]));
        assert_eq!(registry.versions("c"), None);
        // (subject, text, id found)
        let lookups = [
            ("a", "\"long\"", Some(2)),
            ("b", "\"int\"", Some(1)),
            ("b", "\"long\"", None),
            ("c", "\"int\"", None),
        ];
        for (subject, text, expected) in lookups {
            assert_eq!(
                registry.find(subject, avro, text, &[]),
                expected,
                "{subject}"
            );
        }
        assert_eq!(registry.version_of("a", 2), Some(2));
        assert_eq!(registry.compatibility("a"), Compatibility::Full);
        assert_eq!(registry.compatibility("b"), Compatibility::Backward);
        registry.set_compatibility(None, Compatibility::None);
        assert_eq!(registry.compatibility("b"), Compatibility::None);

        assert_eq!(registry.delete_subject("a"), Some(vec![1, 2]));
        assert_eq!(registry.delete_subject("a"), None);
        assert_eq!(registry.compatibility_set(Some("a")), None);
        // The ids stay taken, and an identical schema gets its old id back.
        assert!(registry.by_id(2).is_some());
        assert_eq!(registry.next_id(), 3);
        let id = registry.register("a", avro, "\"long\"", Vec::new(), None);
        assert_eq!(id, Ok(2));
        assert_eq!(registry.versions("a"), Some(vec![1]));
    }

    #[test]
    fn bindings_resolve_imports_transitively() {
        let mut registry = SchemaRegistry::default();
        let protobuf = SchemaType::Protobuf;
        registry
            .register("b.proto", protobuf, "message B {}", Vec::new(), None)
            .expect("registers");
        let reference = |name: &str| SchemaReference {
            name: name.to_string(),
            subject: name.to_string(),
            version: 1,
        };
        registry
            .register(
                "a.proto",
                protobuf,
                "import \"b.proto\"; message A {B b = 1;}",
                vec![reference("b.proto")],
                None,
            )
            .expect("registers");
        let id = registry
            .register(
                "t-value",
                protobuf,
                "import \"a.proto\"; message T {A a = 1;}",
                vec![reference("a.proto")],
                None,
            )
            .expect("registers");
        let schema = Arc::clone(registry.by_id(id).expect("registered"));
        let binding = registry
            .bind(Some("t-value".into()), schema, None)
            .expect("binds");
        let names: Vec<&str> = binding.imports.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.proto", "b.proto"]);
        let missing = Arc::new(RegisteredSchema {
            id: 9,
            schema_type: protobuf,
            text: String::new(),
            references: vec![reference("nope.proto")],
        });
        assert!(registry.bind(None, missing, None).is_err());
    }
}
