//! A client of an external Confluent-compatible Schema Registry (`ksql.schema.registry.url`,
//! with ksqlDB's basic-auth properties), over HTTP/1.1 with hyper.
//!
//! The engine calls it from its statement threads, which are not async: each call runs on a
//! short-lived thread with its own current-thread runtime, so it blocks only its caller.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use planner::Properties;
use planner::schema_registry::{SchemaReference, SchemaType};
use serde_json::{Value, json};

use crate::error::registry_error;
use crate::{Result, ServerError};

/// The registry's base URL.
pub const URL_PROPERTY: &str = "ksql.schema.registry.url";
/// `USER_INFO` sends `USER_INFO_PROPERTY`'s credentials.
pub const CREDENTIALS_SOURCE_PROPERTY: &str = "ksql.schema.registry.basic.auth.credentials.source";
/// `user:password`.
pub const USER_INFO_PROPERTY: &str = "ksql.schema.registry.basic.auth.user.info";
/// Confluent's content type.
const CONTENT_TYPE_V1: &str = "application/vnd.schemaregistry.v1+json";
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A schema read from the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSchema {
    pub id: u32,
    pub schema_type: SchemaType,
    pub text: String,
    pub references: Vec<SchemaReference>,
}

/// The external registry.
#[derive(Debug, Clone)]
pub struct RemoteRegistry {
    /// `http://host:port/path`, without a trailing slash.
    base: String,
    authorization: Option<HeaderValue>,
}

impl RemoteRegistry {
    /// The registry named by `ksql.schema.registry.url` in `properties`, if any.
    pub fn from_properties(properties: &Properties) -> Result<Option<Self>> {
        let Some(url) = properties.get(URL_PROPERTY) else {
            return Ok(None);
        };
        // ksqlDB accepts a list of URLs; the first one is used.
        let url = url.split(',').next().unwrap_or_default().trim();
        let invalid =
            |reason: &str| ServerError::User(format!("invalid {URL_PROPERTY} \"{url}\": {reason}"));
        let rest = match url.split_once("://") {
            Some(("http", rest)) => rest,
            Some(("https", _)) => return Err(invalid("https is not supported, use http://")),
            _ => return Err(invalid("expected http://host:port")),
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(invalid("the url has no host"));
        }
        let source = properties
            .get(CREDENTIALS_SOURCE_PROPERTY)
            .map(|source| source.to_ascii_uppercase());
        let authorization = match (source.as_deref(), properties.get(USER_INFO_PROPERTY)) {
            (Some("USER_INFO") | None, Some(user_info)) => {
                if !user_info.contains(':') {
                    return Err(ServerError::User(format!(
                        "{USER_INFO_PROPERTY} must be user:password"
                    )));
                }
                let token = base64::engine::general_purpose::STANDARD.encode(user_info);
                Some(
                    HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                        ServerError::User(format!("{USER_INFO_PROPERTY} cannot be sent"))
                    })?,
                )
            }
            (Some("USER_INFO"), None) => {
                return Err(ServerError::User(format!(
                    "{CREDENTIALS_SOURCE_PROPERTY}=USER_INFO needs {USER_INFO_PROPERTY}"
                )));
            }
            (Some(other), _) if other != "USER_INFO" => {
                return Err(ServerError::User(format!(
                    "{CREDENTIALS_SOURCE_PROPERTY}={other} is not supported (use USER_INFO)"
                )));
            }
            _ => None,
        };
        Ok(Some(Self {
            base: url.trim_end_matches('/').to_string(),
            authorization,
        }))
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// Registers a schema under `subject` (`POST /subjects/{subject}/versions`); returns
    /// the id the registry gave it.
    pub fn register(
        &self,
        subject: &str,
        schema_type: SchemaType,
        text: &str,
        references: &[SchemaReference],
    ) -> Result<u32> {
        let mut body = json!({ "schema": text });
        if schema_type != SchemaType::Avro {
            body["schemaType"] = json!(schema_type.name());
        }
        if !references.is_empty() {
            body["references"] = json!(
                references
                    .iter()
                    .map(|reference| json!({
                        "name": reference.name,
                        "subject": reference.subject,
                        "version": reference.version,
                    }))
                    .collect::<Vec<_>>()
            );
        }
        let path = format!("/subjects/{}/versions", encode_segment(subject));
        let response = self.expect_found(Method::POST, &path, Some(body))?;
        response
            .get("id")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| self.invalid(&path, "no id"))
    }

    /// Version `version` (`None`: the latest) of `subject`; `None` when there is none.
    pub fn version(&self, subject: &str, version: Option<u32>) -> Result<Option<RemoteSchema>> {
        let version = version.map_or_else(|| "latest".to_string(), |v| v.to_string());
        let path = format!("/subjects/{}/versions/{version}", encode_segment(subject));
        match self.call(Method::GET, &path, None)? {
            (200, body) => self.schema_of(&path, &body, None).map(Some),
            (404, _) => Ok(None),
            (status, body) => Err(self.rejected(&path, status, &body)),
        }
    }

    /// Schema `id` (`GET /schemas/ids/{id}`); `None` when there is none.
    pub fn by_id(&self, id: u32) -> Result<Option<RemoteSchema>> {
        let path = format!("/schemas/ids/{id}");
        match self.call(Method::GET, &path, None)? {
            (200, body) => self.schema_of(&path, &body, Some(id)).map(Some),
            (404, _) => Ok(None),
            (status, body) => Err(self.rejected(&path, status, &body)),
        }
    }

    fn schema_of(&self, path: &str, body: &Value, id: Option<u32>) -> Result<RemoteSchema> {
        let id = id
            .or_else(|| {
                body.get("id")
                    .and_then(Value::as_u64)
                    .and_then(|id| u32::try_from(id).ok())
            })
            .ok_or_else(|| self.invalid(path, "no id"))?;
        let text = body
            .get("schema")
            .and_then(Value::as_str)
            .ok_or_else(|| self.invalid(path, "no schema"))?;
        let schema_type = match body.get("schemaType").and_then(Value::as_str) {
            None => SchemaType::Avro,
            Some(name) => SchemaType::parse(name)
                .ok_or_else(|| self.invalid(path, &format!("unknown schemaType {name}")))?,
        };
        let references = match body.get("references") {
            None | Some(Value::Null) => Vec::new(),
            Some(references) => serde_json::from_value::<Vec<WireReference>>(references.clone())
                .map_err(|error| self.invalid(path, &error.to_string()))?
                .into_iter()
                .map(|reference| SchemaReference {
                    name: reference.name,
                    subject: reference.subject,
                    version: reference.version,
                })
                .collect(),
        };
        Ok(RemoteSchema {
            id,
            schema_type,
            text: text.to_string(),
            references,
        })
    }

    fn expect_found(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        match self.call(method, path, body)? {
            (200, body) => Ok(body),
            (status, body) => Err(self.rejected(path, status, &body)),
        }
    }

    fn rejected(&self, path: &str, status: u16, body: &Value) -> ServerError {
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| body.to_string(), str::to_string);
        ServerError::SchemaRegistry {
            message: format!(
                "the schema registry at {} answered {status} to {path}: {message}",
                self.base
            ),
            error_code: body
                .get("error_code")
                .and_then(Value::as_u64)
                .and_then(|code| u32::try_from(code).ok()),
        }
    }

    fn invalid(&self, path: &str, what: &str) -> ServerError {
        registry_error(format!(
            "invalid answer from the schema registry at {} to {path}: {what}",
            self.base
        ))
    }

    /// Sends one request and returns the status and the JSON body (`null` when empty).
    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let unreachable = |error: String| {
            registry_error(format!(
                "cannot reach the schema registry at {}: {error}",
                self.base
            ))
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(ACCEPT, CONTENT_TYPE_V1);
        if body.is_some() {
            builder = builder.header(CONTENT_TYPE, CONTENT_TYPE_V1);
        }
        if let Some(authorization) = &self.authorization {
            builder = builder.header(AUTHORIZATION, authorization.clone());
        }
        let payload = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let request = builder
            .body(Full::new(payload))
            .map_err(|error| unreachable(error.to_string()))?;
        let exchange = async move {
            let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
            let response = client
                .request(request)
                .await
                .map_err(|error| executor::error_chain(&error))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|error| error.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|error| error.to_string())?;
                    runtime.block_on(async {
                        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
                            .await
                            .map_err(|_| format!("no answer within {REQUEST_TIMEOUT:?}"))?
                    })
                })
                .join()
                .map_err(|_| "the request thread panicked".to_string())?
        })
        .map_err(unreachable)?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|error| {
                self.invalid(path, &format!("not JSON ({error}), status {status}"))
            })?
        };
        Ok((status, body))
    }
}

#[derive(serde::Deserialize)]
struct WireReference {
    name: String,
    subject: String,
    version: u32,
}

/// Percent-encodes a path segment (subjects are free text).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_properties_are_read_as_ksqldb_names_them() {
        let properties = |pairs: &[(&str, &str)]| -> Properties {
            pairs
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect()
        };
        let registry = RemoteRegistry::from_properties(&properties(&[
            (URL_PROPERTY, "http://127.0.0.1:8081/, http://other:8081"),
            (CREDENTIALS_SOURCE_PROPERTY, "USER_INFO"),
            (USER_INFO_PROPERTY, "alice:secret"),
        ]))
        .expect("valid")
        .expect("configured");
        assert_eq!(registry.url(), "http://127.0.0.1:8081");
        assert_eq!(
            registry.authorization,
            Some(HeaderValue::from_static("Basic YWxpY2U6c2VjcmV0"))
        );
        assert!(
            RemoteRegistry::from_properties(&Properties::new())
                .expect("valid")
                .is_none()
        );
        let invalid = [
            vec![(URL_PROPERTY, "https://registry")],
            vec![(URL_PROPERTY, "registry:8081")],
            vec![
                (URL_PROPERTY, "http://registry"),
                (CREDENTIALS_SOURCE_PROPERTY, "SASL_INHERIT"),
            ],
            vec![
                (URL_PROPERTY, "http://registry"),
                (CREDENTIALS_SOURCE_PROPERTY, "USER_INFO"),
            ],
            vec![
                (URL_PROPERTY, "http://registry"),
                (USER_INFO_PROPERTY, "no-colon"),
            ],
        ];
        for pairs in invalid {
            assert!(
                RemoteRegistry::from_properties(&properties(&pairs)).is_err(),
                "{pairs:?}"
            );
        }
        assert_eq!(encode_segment("a b/c-value"), "a%20b%2Fc-value");
    }
}
