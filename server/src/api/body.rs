//! JSON request bodies: at most 64 KiB, and a parse error names the field it is about.

use super::ApiError;
use axum::{
    body::{Body, to_bytes},
    extract::{FromRequest, Request},
    http::StatusCode,
};
use serde::de::DeserializeOwned;

/// The largest JSON body the settings endpoints read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body of type `T`. Unknown keys are ignored; `null` counts as absent.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_limited(request.into_body()).await?;
        parse(&bytes).map(JsonBody)
    }
}

async fn read_limited(body: Body) -> Result<axum::body::Bytes, ApiError> {
    to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} KiB", MAX_BODY_BYTES / 1024),
        )
    })
}

/// Parses `bytes` as `T`; a wrong type or value is a 400 naming the field by its path
/// (`incident_notification.incident_opened_addresses`).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
        None => return Err(ApiError::new(StatusCode::BAD_REQUEST, "the request body is empty; send a JSON object")),
        // serde would read an array as the struct's fields in order; only objects make sense here.
        Some(b'[') => {
            return Err(ApiError::new(StatusCode::BAD_REQUEST, "the body must be a JSON object, not an array"));
        }
        Some(_) => {}
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let (path, error) = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => return Ok(value),
            Err(error) => (".".to_owned(), error),
        },
        Err(error) => (error.path().to_string(), error.into_inner()),
    };
    let reason = strip_position(&error.to_string());
    match error.classify() {
        serde_json::error::Category::Data if path != "." => Err(ApiError::bad_request(&path, reason)),
        serde_json::error::Category::Data => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, format!("the body must be a JSON object: {reason}")))
        }
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {reason} at line {}, column {}", error.line(), error.column()),
        )),
    }
}

/// serde_json appends " at line L column C"; the field path says more, so it goes.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[allow(dead_code)]
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        days: Option<i64>,
    }

    #[test]
    fn a_wrong_type_names_the_field_by_its_path() {
        let error = parse::<Outer>(br#"{"inner": {"days": "ten"}}"#).unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.field.as_deref(), Some("inner.days"));
        assert_eq!(error.error, r#"inner.days invalid type: string "ten", expected i64"#);
    }

    #[test]
    fn malformed_json_says_where() {
        let error = parse::<Outer>(b"{\"inner\": ").unwrap_err();
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(error.error.starts_with("the body is not valid JSON: EOF while parsing"), "{}", error.error);
        assert!(error.error.contains("line 1, column 10"), "{}", error.error);
        let error = parse::<Outer>(b"{} trailing").unwrap_err();
        assert!(error.error.starts_with("the body is not valid JSON: trailing characters"), "{}", error.error);
    }

    #[test]
    fn an_empty_body_or_a_non_object_is_refused() {
        assert_eq!(parse::<Outer>(b" ").unwrap_err().error, "the request body is empty; send a JSON object");
        assert_eq!(parse::<Outer>(b"[1]").unwrap_err().error, "the body must be a JSON object, not an array");
        let error = parse::<Outer>(b"7").unwrap_err();
        assert!(error.error.starts_with("the body must be a JSON object: invalid type"), "{}", error.error);
        assert!(parse::<Outer>(br#"{"unknown": 1, "inner": null}"#).is_ok(), "unknown keys and nulls are accepted");
    }
}
