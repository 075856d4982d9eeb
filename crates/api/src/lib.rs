//! # fustat-api
//!
//! Fustat's HTTP API on actix-web. Handlers parse the request, call one repository (or
//! service) method and encode the result; rules live in `fustat-domain`, storage in
//! `fustat-persistence`.
//!
//! - [`build_app`]: the whole app (routes, CORS, path normalization, error bodies, the
//!   request log, Swagger UI at `/docs`, OpenAPI at `/openapi.json`).
//! - [`AppState`]: what handlers share; [`Actor`]: who is acting.
//! - [`ApiError`]: every error answers `{"detail": "..."}`.
//! - [`extract::Json`] / [`extract::IdPath`]: extractors whose errors name the field.
//!
//! To add a resource: a module under `routes` with `configure` and `Doc`, one
//! `.configure(...)` line in [`build_app`] and one `merge_from` line in
//! [`openapi::openapi`].

pub mod auth;
pub mod engine;
pub mod error;
pub mod extract;
pub mod hub;
mod middleware;
pub mod openapi;
pub mod routes;
mod state;
pub mod studio_sse;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::middleware::{
    ErrorHandlerResponse, ErrorHandlers, NormalizePath, TrailingSlash, from_fn,
};
use actix_web::{App, HttpResponse, web};
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, ApiResult, ErrorBody};
pub use state::{Actor, AppState, InputLimits};

/// HTTP settings of the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Origins allowed by CORS (`scheme://host[:port]`), or `*` for any.
    pub cors_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            cors_origins: DEV_CORS_ORIGINS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

/// The development default for CORS: Agent Hub (port 3000) and Agent Studio (port 8080).
pub const DEV_CORS_ORIGINS: [&str; 4] = [
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://localhost:8080",
    "http://127.0.0.1:8080",
];

/// Request headers the apps send.
const ALLOWED_HEADERS: [&str; 6] = [
    "authorization",
    "x-api-key",
    "content-type",
    "last-event-id",
    "x-auth-scheme",
    "prefer",
];

impl HttpConfig {
    /// Checks that every CORS origin is `*` or an `http(s)://host[:port]` origin.
    pub fn validate(&self) -> Result<(), String> {
        for origin in &self.cors_origins {
            if origin == "*" {
                continue;
            }
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && !origin.ends_with('/')
                    && u.query().is_none()
            });
            if !ok {
                return Err(format!(
                    "invalid CORS origin '{origin}': expected scheme://host[:port] or *"
                ));
            }
        }
        Ok(())
    }
}

fn cors(config: &HttpConfig) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers(ALLOWED_HEADERS.map(HeaderName::from_static))
        .expose_headers([header::CONTENT_LOCATION, header::LOCATION])
        .max_age(3600);
    if config.cors_origins.iter().any(|o| o == "*") {
        cors = cors.allow_any_origin();
    } else {
        for origin in &config.cors_origins {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}

/// Gives error responses that have no JSON body (unknown route, wrong method, a refused
/// CORS preflight) the `{"detail"}` body.
fn json_error_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (req, _) = res.into_parts();
    let body = HttpResponse::build(status).json(ErrorBody {
        detail: status.canonical_reason().unwrap_or("Error").to_owned(),
    });
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, body).map_into_right_body(),
    ))
}

async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found())
}

/// The whole HTTP app over `state`.
///
/// Paths match with or without a trailing slash (rewritten internally, no redirect).
pub fn build_app(
    state: AppState,
    config: HttpConfig,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let max_body = state.limits.max_body_bytes;
    App::new()
        .app_data(web::Data::new(state))
        .app_data(web::PayloadConfig::new(max_body))
        .app_data(
            web::JsonConfig::default()
                .limit(max_body)
                .error_handler(extract::json_error_handler),
        )
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .wrap(from_fn(auth::authenticate))
        .wrap(NormalizePath::new(TrailingSlash::Trim))
        .wrap(from_fn(middleware::docs_entry))
        .wrap(ErrorHandlers::new().default_handler(json_error_body))
        .wrap(cors(&config))
        .wrap(from_fn(middleware::log_request))
        .configure(routes::health::configure)
        .configure(routes::versions::configure)
        .service(
            web::scope(routes::API_PREFIX)
                .configure(routes::api_keys::configure)
                .configure(routes::mcp_servers::configure)
                .configure(routes::agents::configure)
                .configure(routes::orchestrators::configure)
                .configure(routes::apps::configure)
                .configure(routes::chat::configure)
                .configure(routes::hub::configure)
                .configure(routes::tokens::configure),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi::openapi()))
        .default_service(web::to(not_found))
}
