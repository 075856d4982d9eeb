//! Request extractors whose failures are `{"detail": ...}` responses naming the field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, mime, web};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;

/// The largest JSON body accepted by default.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body. Unlike `actix_web::web::Json`, a type error names the field path
/// (`mcp_servers[1].mcp_server_id: …`) and every failure is a `{"detail"}` body:
/// 415 for a non-JSON content type, 413 for an oversized body, 422 for invalid JSON or a
/// missing or mistyped field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = match req.mime_type() {
            Ok(Some(mime)) => mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON),
            _ => false,
        };
        let limit = req
            .app_data::<web::Data<crate::state::AppState>>()
            .map_or(MAX_JSON_BODY, |s| s.limits.max_body_bytes);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be application/json",
                ));
            }
            let bytes = body.await.map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        format!("body: larger than {limit} bytes (the limit)"),
                    )
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, format!("body: {e}"))
                }
            })?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Parses a JSON body, naming the failing field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(&path, e.inner())
    })?;
    de.end().map_err(|e| json_error(".", &e))?;
    Ok(value)
}

fn json_error(path: &str, err: &serde_json::Error) -> ApiError {
    let full = err.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => full.as_str(),
    };
    if !err.is_data() {
        return ApiError::validation("body", format!("invalid JSON: {message}"));
    }
    // `missing field `x`` is reported at the parent's path; name the field itself.
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        let field_path = if path == "." {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        };
        return ApiError::validation(&field_path, "field required");
    }
    let field = if path == "." { "body" } else { path };
    ApiError::validation(field, message)
}

/// The `{id}` segment of the path, as a UUID (422 naming `id` otherwise).
#[derive(Debug, Clone, Copy)]
pub struct IdPath(pub Uuid);

impl FromRequest for IdPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(path_uuid(req, "id").map(IdPath))
    }
}

/// The UUID in the path segment `name`; the error names it.
pub fn path_uuid(req: &HttpRequest, name: &str) -> Result<Uuid, ApiError> {
    let raw = req.match_info().get(name).unwrap_or_default();
    Uuid::parse_str(raw).map_err(|_| {
        let shown: String = raw.chars().take(64).collect();
        ApiError::validation(name, format!("must be a UUID, got '{shown}'"))
    })
}

/// Error handler for `web::Path` extractors.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::validation("path", err).into()
}

/// Error handler for `web::Query` extractors.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::validation("query", err).into()
}

/// Error handler for `web::Json` extractors (not used by this crate's handlers, which
/// use [`Json`], but set so that any route added with `web::Json` answers alike).
pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ),
        E::Deserialize(e) => json_error(".", &e),
        E::Overflow { .. } | E::OverflowKnownLength { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body: too large")
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, format!("body: {other}")),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        id: Uuid,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    fn detail(json: &str) -> String {
        parse_json::<Body>(json.as_bytes()).unwrap_err().detail
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(detail(r#"{"items": []}"#), "name: field required");
        assert_eq!(
            detail(r#"{"name": 1, "items": []}"#).split(':').next(),
            Some("name")
        );
        assert!(detail(r#"{"name": "x", "items": [{"id": "nope"}]}"#).starts_with("items[0].id: "),);
        assert_eq!(
            detail(r#"{"name": "x", "items": [{}]}"#),
            "items[0].id: field required"
        );
        assert!(detail(r#"{"name": "#).starts_with("body: invalid JSON"));
        assert!(detail(r#"{"name": "x", "items": []} trailing"#).starts_with("body: invalid JSON"));
        assert!(detail("[]").starts_with("body: "));
    }
}
