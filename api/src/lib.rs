//! Clientline's HTTP surface: actix-web routes, extractors, problem+json errors and the
//! OpenAPI document. Handlers parse, authorize, call one repository operation, and render.

pub mod auth_cache;
pub mod error;
pub mod extract;
pub mod idempotency;
mod middleware;
pub mod oauth;
pub mod openapi;
mod query_rules;
pub mod rate_limit;
pub mod routes;
pub mod state;
pub mod webhooks;
pub mod wire;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use oauth::limits::RateLimit;
pub use openapi::ApiDoc;
pub use rate_limit::Quota;
pub use state::{AppState, Settings, WebhookSettings};

/// Starts the HTTP server on `listener`, and the webhook delivery worker beside it on the
/// current runtime. The returned server stops gracefully on SIGTERM, SIGINT (Ctrl-C) and
/// SIGQUIT, finishing requests in flight; the worker ends with the runtime (a delivery cut
/// off then is claimed again once its lease expires).
pub fn serve(
    listener: TcpListener,
    state: AppState,
    workers: Option<usize>,
) -> std::io::Result<Server> {
    webhooks::start(state.clone());
    tokio::spawn(compact_phase_counts(state.clone()));
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(ErrorHandlers::new().default_handler(middleware::problem_for_bare_errors))
            .wrap(actix_web::middleware::from_fn(query_rules::middleware))
            .wrap(actix_web::middleware::from_fn(middleware::not_modified))
            .wrap(actix_web::middleware::from_fn(middleware::cors))
            .wrap(actix_web::middleware::from_fn(middleware::request_id))
            .configure(routes::configure)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", ApiDoc::openapi()))
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(middleware::not_found))
    })
    .listen(listener)?
    .shutdown_timeout(30);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Every few seconds, folds the board counts' deltas (PostgreSQL) so that a board sums a few
/// rows per phase.
async fn compact_phase_counts(state: AppState) {
    if state.db.backend() != persistence::Backend::Postgres {
        return;
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        if let Err(e) = state
            .run(persistence::pipelines::compact_phase_counts)
            .await
        {
            tracing::warn!(error = %e, "cannot compact the board counts");
        }
    }
}
