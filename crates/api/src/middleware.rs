//! Small middleware: one log line per request, and the `/docs` entry point.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Uri, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

/// Logs method, path (never the query string or headers, which may hold secrets),
/// status and latency of every request.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    let res = next.call(req).await;
    let status = match &res {
        Ok(r) => r.status(),
        Err(e) => e.as_response_error().status_code(),
    };
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    tracing::info!(
        target: "fustat::http",
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_ms,
        "request"
    );
    res
}

/// Swagger UI loads its assets relative to its page, so the page must be `/docs/`:
/// `/docs` redirects there, and `/docs/` is served as `/docs/index.html` (the trailing
/// slash would otherwise be trimmed by path normalization).
pub async fn docs_entry(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, Error> {
    match req.path() {
        "/docs" => {
            let res = HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/docs/"))
                .finish();
            return Ok(req.into_response(res));
        }
        "/docs/" => {
            let uri = Uri::from_static("/docs/index.html");
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
        _ => {}
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
