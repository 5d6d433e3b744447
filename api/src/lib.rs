//! Clientline's HTTP surface: actix-web routes, extractors, problem+json errors and the
//! OpenAPI document. Handlers parse, authorize, call one repository operation, and render.

pub mod auth_cache;
pub mod error;
pub mod extract;
pub mod field_security;
pub mod idempotency;
pub(crate) mod middleware;
pub mod oauth;
pub mod openapi;
mod query_rules;
pub mod rate_limit;
mod record_schemas;
pub mod record_visibility;
mod reminders;
pub mod routes;
pub mod state;
pub mod webhooks;
pub mod wire;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{App, HttpServer, web};
use utoipa_swagger_ui::{Config, SwaggerUi};

pub use middleware::{MAX_HEADER_BYTES, MAX_HEADER_FIELDS, MAX_URI_BYTES, NO_SUCH_OPERATION};
pub use oauth::limits::RateLimit;
pub use openapi::ApiDoc;
pub use rate_limit::Quota;
pub use state::{AppState, ReminderSettings, Settings, WebhookSettings};

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
    reminders::start(state.clone());
    tokio::spawn(compact_phase_counts(state.clone()));
    let redirect_uri = docs_redirect_uri(state.oauth.keys.issuer());
    let data = web::Data::new(state);
    let schemas = web::Data::new(record_schemas::RecordSchemas::from_document(
        &openapi::document(),
    ));
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(schemas.clone())
            .wrap(ErrorHandlers::new().default_handler(middleware::problem_for_bare_errors))
            .wrap(actix_web::middleware::from_fn(query_rules::middleware))
            .wrap(actix_web::middleware::from_fn(middleware::not_modified))
            .wrap(actix_web::middleware::from_fn(middleware::cors))
            .wrap(actix_web::middleware::from_fn(middleware::head_limits))
            .wrap(actix_web::middleware::from_fn(middleware::request_id))
            .configure(routes::configure)
            .service(docs_page(&redirect_uri))
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

/// The redirect URI of the API reference page's "Authorize" dialog: Swagger UI's own
/// `oauth2-redirect.html` beside the page, under the public URL. A public client registered
/// with exactly this URI signs a team member in from `/docs/`.
pub fn docs_redirect_uri(issuer: &str) -> String {
    format!("{}/docs/oauth2-redirect.html", issuer.trim_end_matches('/'))
}

/// The API reference page at `/docs/`. Its "Authorize" dialog runs the authorization-code
/// flow with PKCE (S256, which the server requires) for a public client whose id the reader
/// types in, and comes back to [`docs_redirect_uri`].
fn docs_page(redirect_uri: &str) -> SwaggerUi {
    SwaggerUi::new("/docs/{_:.*}")
        .external_url_unchecked("/openapi.json", openapi::document())
        .config(Config::default().oauth2_redirect_url(redirect_uri))
        .oauth(
            utoipa_swagger_ui::oauth::Config::new()
                .app_name("Clientline API reference")
                .scope_separator(" ")
                .use_pkce_with_authorization_code_grant(true),
        )
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
            .run(persistence::pipelined::compact_phase_counts)
            .await
        {
            tracing::warn!(error = %e, "cannot compact the board counts");
        }
    }
}
