//! Reading request bodies: the size limit (413) and the JSON arguments of the endpoints
//! (400 with ksqlDB's `Invalid JSON in request` message). Nothing a client sends panics.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{HeaderMap, header};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Map, Value};

use super::error::{self, ApiError};

/// The whole body, refused with 413 when it is longer than `limit` bytes.
pub(crate) async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    if content_length(request.headers()).is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(failure) if failure.downcast_ref::<LengthLimitError>().is_some() => {
            Err(too_large(limit))
        }
        Err(failure) => Err(ApiError::generic(
            error::BAD_REQUEST,
            format!("cannot read the request body: {failure}"),
        )),
    }
}

/// The body as a JSON object.
pub(crate) async fn read_json_object(
    request: Request,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    let body = read_body(request, limit).await?;
    parse_object(&body)
}

/// `bytes` as a JSON object.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ApiError::invalid_json("expected a JSON object")),
        Err(failure) => Err(ApiError::invalid_json(failure)),
    }
}

/// The 413 error for a body over `limit` bytes.
pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::generic(
        error::PAYLOAD_TOO_LARGE,
        format!("request body is larger than {limit} bytes"),
    )
}

/// A string field that must be present.
pub(crate) fn required_string(
    object: &Map<String, Value>,
    field: &str,
) -> Result<String, ApiError> {
    match object.get(field) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Null) | None => Err(ApiError::invalid_json(format!("no \"{field}\" field"))),
        Some(_) => Err(ApiError::invalid_json(format!(
            "\"{field}\" must be a string"
        ))),
    }
}

/// An optional object of names to values (`streamsProperties`, `sessionVariables`), values
/// as text: strings as they are, other JSON as written.
pub(crate) fn string_map(
    object: &Map<String, Value>,
    field: &str,
) -> Result<BTreeMap<String, String>, ApiError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(entries)) => Ok(entries
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| {
                let text = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect()),
        Some(_) => Err(ApiError::invalid_json(format!(
            "\"{field}\" must be an object"
        ))),
    }
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_must_be_json_objects() {
        let cases: [(&[u8], bool); 5] = [
            (b"{\"ksql\":\"x\"}", true),
            (b"{", false),
            (b"[1]", false),
            (b"", false),
            (b"\xff", false),
        ];
        for (body, ok) in cases {
            let result = parse_object(body);
            assert_eq!(result.is_ok(), ok, "{body:?}");
            if let Err(error) = result {
                assert_eq!(error.status().as_u16(), 400);
                assert_eq!(error.body()["error_code"], 40000);
            }
        }
    }

    #[test]
    fn string_maps_accept_any_scalar() {
        let object = json!({
            "props": {"a": "x", "b": 1, "c": true, "d": null},
            "bad": [1],
        });
        let object = object.as_object().expect("object");
        let props = string_map(object, "props").expect("a map");
        assert_eq!(
            props,
            BTreeMap::from([
                ("a".to_string(), "x".to_string()),
                ("b".into(), "1".into()),
                ("c".into(), "true".into()),
            ])
        );
        assert!(string_map(object, "missing").expect("empty").is_empty());
        assert!(string_map(object, "bad").is_err());
        assert!(required_string(object, "props").is_err());
        assert!(required_string(object, "missing").is_err());
    }
}
