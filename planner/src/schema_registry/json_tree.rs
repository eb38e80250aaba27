//! JSON documents with object members in written order, for schema texts (Avro schemas and
//! JSON schemas list fields as object members, and their order is the column order).
//!
//! `serde_json::Value` sorts members (no `preserve_order` in this workspace), hence this type.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A JSON value; objects keep their members in written order.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonTree {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<JsonTree>),
    Object(Vec<(String, JsonTree)>),
}

impl JsonTree {
    /// Parses JSON text.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }

    /// The member `name` of an object.
    pub fn get(&self, name: &str) -> Option<&JsonTree> {
        match self {
            Self::Object(members) => members
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// An integer, also when written as a string (`"4"`), as Connect's parameters are.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(number) => number.as_i64(),
            Self::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[JsonTree]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    /// An object member list, in written order.
    pub fn members(&self) -> Option<&[(String, JsonTree)]> {
        match self {
            Self::Object(members) => Some(members),
            _ => None,
        }
    }

    /// A string member of an object.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Self::as_str)
    }

    /// An object from `(name, value)` pairs.
    pub fn object<const N: usize>(members: [(&str, JsonTree); N]) -> Self {
        Self::Object(
            members
                .into_iter()
                .map(|(name, value)| (name.to_string(), value))
                .collect(),
        )
    }

    pub fn string(text: impl Into<String>) -> Self {
        Self::String(text.into())
    }

    pub fn integer(value: i64) -> Self {
        Self::Number(value.into())
    }

    /// Converts to `serde_json::Value` (members sorted).
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            Self::Null => serde_json::Value::Null,
            Self::Bool(flag) => serde_json::Value::Bool(*flag),
            Self::Number(number) => serde_json::Value::Number(number.clone()),
            Self::String(text) => serde_json::Value::String(text.clone()),
            Self::Array(items) => {
                serde_json::Value::Array(items.iter().map(Self::to_value).collect())
            }
            Self::Object(members) => serde_json::Value::Object(
                members
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_value()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for JsonTree {
    /// Compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(flag) => write!(f, "{flag}"),
            Self::Number(number) => write!(f, "{number}"),
            Self::String(text) => write_string(f, text),
            Self::Array(items) => {
                f.write_str("[")?;
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Self::Object(members) => {
                f.write_str("{")?;
                for (index, (key, value)) in members.iter().enumerate() {
                    if index > 0 {
                        f.write_str(",")?;
                    }
                    write_string(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    let quoted = serde_json::to_string(text).map_err(|_| fmt::Error)?;
    f.write_str(&quoted)
}

impl<'de> Deserialize<'de> for JsonTree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = JsonTree;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<JsonTree, E> {
        Ok(JsonTree::Null)
    }

    fn visit_none<E>(self) -> Result<JsonTree, E> {
        Ok(JsonTree::Null)
    }

    fn visit_bool<E>(self, value: bool) -> Result<JsonTree, E> {
        Ok(JsonTree::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<JsonTree, E> {
        Ok(JsonTree::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<JsonTree, E> {
        Ok(JsonTree::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<JsonTree, E> {
        Ok(serde_json::Number::from_f64(value).map_or(JsonTree::Null, JsonTree::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<JsonTree, E> {
        Ok(JsonTree::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<JsonTree, E> {
        Ok(JsonTree::String(value))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonTree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(JsonTree::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonTree, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, JsonTree>()? {
            members.push((key, value));
        }
        Ok(JsonTree::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_their_written_order() {
        let cases = [
            r#"{"b":1,"a":[true,null,"x"],"c":{"z":1.5,"y":-2}}"#,
            r#"[]"#,
            r#""say \"hi\"""#,
        ];
        for text in cases {
            let tree = JsonTree::parse(text).expect("parses");
            assert_eq!(tree.to_string(), text);
        }
        let tree = JsonTree::parse(r#"{"n":"4","m":5}"#).expect("parses");
        assert_eq!(tree.get("n").and_then(JsonTree::as_i64), Some(4));
        assert_eq!(tree.get("m").and_then(JsonTree::as_i64), Some(5));
        assert!(JsonTree::parse("{").is_err());
    }
}
