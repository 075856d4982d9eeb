//! Authentication and roles.
//!
//! With authentication on, every request except the health check, the versions, the API
//! docs and CORS preflights carries a service token, as `Authorization: Bearer <token>`
//! or `X-Api-Key: <token>` (what Agent Hub sends). `admin` tokens may do everything;
//! `user` tokens may chat, list apps and read configuration, but not change it or manage
//! tokens. A missing or unknown token is 401, a token whose role is not enough is 403.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use fustat_persistence::tokens::Role;

use crate::error::ErrorBody;
use crate::state::AppState;

/// Whether requests must authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Everyone is the `system` admin (local development on a loopback address).
    #[default]
    Off,
    /// Every request (but the public ones) needs a service token.
    Required,
}

/// Who is making the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (`system` when authentication is off), recorded as
    /// `created_by`/`modified_by`.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// Paths anyone may call.
fn is_public(path: &str) -> bool {
    path == "/"
        || path == "/versions"
        || path == "/versions/current"
        || path == "/openapi.json"
        || path == "/docs"
        || path.starts_with("/docs/")
}

/// The role a request needs.
fn required_role(method: &Method, path: &str) -> Role {
    if path == "/api/v1/tokens" || path.starts_with("/api/v1/tokens/") {
        return Role::Admin;
    }
    if path == "/api/v1/chat" || path.starts_with("/api/v1/chat/") {
        return Role::User;
    }
    if matches!(*method, Method::GET | Method::HEAD) {
        return Role::User;
    }
    Role::Admin
}

/// The token a request carries.
fn presented_token(req: &ServiceRequest) -> Option<String> {
    let headers = req.headers();
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let value = value.trim();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        if !token.is_empty() {
            return Some(token.to_owned());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn refuse<B>(
    req: ServiceRequest,
    status: StatusCode,
    detail: String,
) -> ServiceResponse<EitherBody<B>> {
    let mut res = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    req.into_response(res.json(ErrorBody { detail }))
        .map_into_right_body()
}

/// The middleware: authenticates the request and checks its role.
pub async fn authenticate<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    if state.auth == AuthMode::Off {
        req.extensions_mut().insert(Principal {
            name: fustat_domain::SYSTEM_ACTOR.to_owned(),
            role: Role::Admin,
        });
        return Ok(next.call(req).await?.map_into_left_body());
    }
    if req.method() == Method::OPTIONS || is_public(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let Some(token) = presented_token(&req) else {
        return Ok(refuse(
            req,
            StatusCode::UNAUTHORIZED,
            "authentication required: send a service token as 'Authorization: Bearer <token>' \
             or 'X-Api-Key: <token>'"
                .into(),
        ));
    };
    let found = match state.repos.tokens.verify(&token).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "checking a token failed");
            return Ok(refuse(
                req,
                StatusCode::SERVICE_UNAVAILABLE,
                "the token could not be checked; try again".into(),
            ));
        }
    };
    let Some(found) = found else {
        return Ok(refuse(
            req,
            StatusCode::UNAUTHORIZED,
            "the token is invalid or revoked".into(),
        ));
    };
    let needed = required_role(req.method(), req.path());
    if needed == Role::Admin && found.role != Role::Admin {
        let detail = format!(
            "the token '{}' has the role 'user', which may chat, list apps and read \
             configuration; {} {} needs an 'admin' token",
            found.name,
            req.method(),
            req.path()
        );
        return Ok(refuse(req, StatusCode::FORBIDDEN, detail));
    }
    req.extensions_mut().insert(Principal {
        name: found.name,
        role: found.role,
    });
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_route() {
        assert_eq!(required_role(&Method::GET, "/api/v1/agents"), Role::User);
        assert_eq!(required_role(&Method::POST, "/api/v1/agents"), Role::Admin);
        assert_eq!(
            required_role(&Method::POST, "/api/v1/agents/ai-generate"),
            Role::Admin
        );
        assert_eq!(
            required_role(&Method::POST, "/api/v1/chat/stream"),
            Role::User
        );
        assert_eq!(
            required_role(&Method::DELETE, "/api/v1/chat/reset/a/b"),
            Role::User
        );
        assert_eq!(required_role(&Method::GET, "/api/v1/tokens"), Role::Admin);
        assert!(is_public("/") && is_public("/docs/index.html") && !is_public("/api/v1/apps"));
    }
}
