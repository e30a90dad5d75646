//! The Liaison server: axum over the core. It authenticates callers, turns requests into
//! core commands, appends the resulting events through the single writer, and serves
//! what each caller may read.
//!
//! It must never decide domain rules itself (that is `liaison-core`), never shape JSON
//! by hand (that is `liaison-api`), and never append events anywhere but `writer`.

pub mod app;
pub mod at_rest;
pub mod auth;
pub mod clock;
pub mod deadlines;
pub mod deconfliction;
pub mod drain;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod intel;
pub mod ledger;
pub mod listen;
pub mod metrics;
pub mod replica;
pub mod routes;
pub mod salt;
pub mod screening;
pub mod submission;
#[cfg(unix)]
pub mod systemd;
pub mod tls;
pub mod witnessing;
pub mod writer;

pub use app::{App, OpenError};
pub use clock::{Clock, ManualClock, SystemClock};
pub use salt::{OsSalts, Salts, SeededSalts};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use error::HttpError;
use liaison_api::ApiError;
use std::future::Future;
use utoipa::OpenApi;

/// Largest JSON body the API accepts.
pub const MAX_BODY: usize = 2 << 20;

#[derive(OpenApi)]
#[openapi(
    info(title = "Liaison API", description = "The joint communication cell: charter, record, hotline, intelligence, deconfliction, cooperation and sanctions screening."),
    paths(
        routes::cell::healthz,
        routes::cell::readyz,
        routes::cell::metrics,
        routes::cell::me,
        routes::cell::show,
        routes::cell::approve,
        routes::cell::suspend,
        routes::cell::resume,
        routes::operators::list,
        routes::operators::add,
        routes::operators::disable,
        routes::operators::enable,
        routes::operators::rotate,
        routes::operators::suspend,
        routes::operators::reinstate,
        routes::events::stream,
        routes::events::page,
        routes::events::one,
        routes::log::checkpoint,
        routes::log::tile,
        routes::log::cosign,
        routes::log::receipt,
        routes::hotline::send,
        routes::hotline::list,
        routes::hotline::show,
        routes::hotline::read,
        routes::hotline::ack,
        routes::hotline::translate,
        routes::hotline::close,
        routes::hotline::escalations,
        routes::hotline::obligations,
        routes::hotline::upload,
        routes::hotline::download,
        routes::hotline::heartbeat,
        routes::hotline::channel_health,
        routes::incidents::report,
        routes::incidents::list,
        routes::incidents::show,
        routes::incidents::ack,
        routes::incidents::account,
        routes::incidents::request_info,
        routes::incidents::finding,
        routes::incidents::close,
        routes::incidents::correct,
        routes::incidents::withdraw,
        routes::reports::review,
        routes::keys::register,
        routes::keys::revoke,
        routes::keys::register_witness,
        routes::keys::witnesses,
        routes::keys::status,
        routes::intel::list,
        routes::intel::show,
        routes::intel::submit,
        routes::intel::preview,
        routes::intel::decide,
        routes::intel::ack,
        routes::intel::withdraw,
        routes::deconfliction::register_sites,
        routes::deconfliction::list_sites,
        routes::deconfliction::get_site,
        routes::deconfliction::confirm_site,
        routes::deconfliction::propose_site_change,
        routes::deconfliction::answer_site_change,
        routes::deconfliction::withdraw,
        routes::deconfliction::register_zone,
        routes::deconfliction::list_zones,
        routes::deconfliction::zone_stance,
        routes::deconfliction::grant_waiver,
        routes::deconfliction::approve_waiver,
        routes::deconfliction::file,
        routes::deconfliction::check,
        routes::deconfliction::list_notifications,
        routes::deconfliction::answer,
        routes::deconfliction::list_conflicts,
        routes::deconfliction::export,
        routes::cot::export,
        routes::cot::import_sites,
        routes::cooperation::file,
        routes::cooperation::list,
        routes::cooperation::show,
        routes::cooperation::answer,
        routes::cooperation::review,
        routes::cooperation::commit,
        routes::cooperation::report,
        routes::screening::load,
        routes::screening::lists,
        routes::screening::check,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

async fn not_found() -> HttpError {
    HttpError(ApiError::not_found("no such endpoint"))
}

async fn method_not_allowed() -> HttpError {
    HttpError(ApiError::new(
        "method_not_allowed",
        "this path does not take that method",
    ))
}

/// The whole HTTP surface.
pub fn router(app: App) -> Router {
    let api = Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/me", get(routes::cell::me))
        .route("/api/v1/cell", get(routes::cell::show))
        .route("/api/v1/cell/approve", post(routes::cell::approve))
        .route("/api/v1/cell/suspend", post(routes::cell::suspend))
        .route("/api/v1/cell/resume", post(routes::cell::resume))
        .route(
            "/api/v1/operators",
            get(routes::operators::list).post(routes::operators::add),
        )
        .route(
            "/api/v1/operators/{name}/disable",
            post(routes::operators::disable),
        )
        .route(
            "/api/v1/operators/{name}/enable",
            post(routes::operators::enable),
        )
        .route(
            "/api/v1/operators/{name}/rotate",
            post(routes::operators::rotate),
        )
        .route(
            "/api/v1/operators/{name}/suspend",
            post(routes::operators::suspend),
        )
        .route(
            "/api/v1/operators/{name}/reinstate",
            post(routes::operators::reinstate),
        )
        .route(
            "/api/v1/sites/{id}/proposals",
            post(routes::deconfliction::propose_site_change),
        )
        .route(
            "/api/v1/sites/proposals/{id}/answer",
            post(routes::deconfliction::answer_site_change),
        )
        .route(
            "/api/v1/notifications/{id}/withdraw",
            post(routes::deconfliction::withdraw),
        )
        .route("/api/v1/events", get(routes::events::stream))
        .route("/api/v1/events/page", get(routes::events::page))
        .route("/api/v1/events/{seq}", get(routes::events::one))
        .route("/api/v1/receipts/{seq}", get(routes::log::receipt))
        .route(
            "/api/v1/messages",
            get(routes::hotline::list).post(routes::hotline::send),
        )
        .route("/api/v1/messages/{id}", get(routes::hotline::show))
        .route("/api/v1/messages/{id}/ack", post(routes::hotline::ack))
        .route("/api/v1/messages/{id}/read", post(routes::hotline::read))
        .route(
            "/api/v1/messages/{id}/translations",
            post(routes::hotline::translate),
        )
        .route("/api/v1/messages/{id}/close", post(routes::hotline::close))
        .route("/api/v1/escalations", get(routes::hotline::escalations))
        .route("/api/v1/obligations", get(routes::hotline::obligations))
        .route(
            "/api/v1/attachments",
            post(routes::hotline::upload)
                .layer(DefaultBodyLimit::max(routes::hotline::MAX_ATTACHMENT)),
        )
        .route(
            "/api/v1/attachments/{sha256}",
            get(routes::hotline::download),
        )
        .route("/api/v1/heartbeat", post(routes::hotline::heartbeat))
        .route(
            "/api/v1/channel-health",
            get(routes::hotline::channel_health),
        )
        .route(
            "/api/v1/incidents",
            get(routes::incidents::list).post(routes::incidents::report),
        )
        .route("/api/v1/incidents/{id}", get(routes::incidents::show))
        .route("/api/v1/incidents/{id}/ack", post(routes::incidents::ack))
        .route(
            "/api/v1/incidents/{id}/accounts",
            post(routes::incidents::account),
        )
        .route(
            "/api/v1/incidents/{id}/information-requests",
            post(routes::incidents::request_info),
        )
        .route(
            "/api/v1/incidents/{id}/findings",
            post(routes::incidents::finding),
        )
        .route(
            "/api/v1/incidents/{id}/close",
            post(routes::incidents::close),
        )
        .route(
            "/api/v1/incidents/{id}/corrections",
            post(routes::incidents::correct),
        )
        .route(
            "/api/v1/incidents/{id}/withdraw",
            post(routes::incidents::withdraw),
        )
        .route("/api/v1/reports/review", get(routes::reports::review))
        .route("/api/v1/keys", post(routes::keys::register))
        .route("/api/v1/keys/{key_id}/revoke", post(routes::keys::revoke))
        .route(
            "/api/v1/witnesses",
            get(routes::keys::witnesses).post(routes::keys::register_witness),
        )
        .route("/api/v1/log/status", get(routes::keys::status))
        .route(
            "/api/v1/intel/submissions",
            get(routes::intel::list).post(routes::intel::submit),
        )
        .route("/api/v1/intel/submissions/{id}", get(routes::intel::show))
        .route(
            "/api/v1/intel/submissions/{id}/decision",
            post(routes::intel::decide),
        )
        .route(
            "/api/v1/intel/submissions/{id}/decision/preview",
            post(routes::intel::preview),
        )
        .route(
            "/api/v1/intel/submissions/{id}/ack",
            post(routes::intel::ack),
        )
        .route(
            "/api/v1/intel/submissions/{id}/withdraw",
            post(routes::intel::withdraw),
        )
        .merge(
            routes::taxii::router().layer(DefaultBodyLimit::max(routes::taxii::MAX_CONTENT + 1024)),
        )
        .route(
            "/api/v1/sites",
            get(routes::deconfliction::list_sites).post(routes::deconfliction::register_sites),
        )
        .route("/api/v1/sites/{id}", get(routes::deconfliction::get_site))
        .route(
            "/api/v1/sites/{id}/confirm",
            post(routes::deconfliction::confirm_site),
        )
        .route(
            "/api/v1/zones",
            get(routes::deconfliction::list_zones).post(routes::deconfliction::register_zone),
        )
        .route(
            "/api/v1/zones/{id}/stance",
            post(routes::deconfliction::zone_stance),
        )
        .route(
            "/api/v1/zones/{id}/waivers",
            post(routes::deconfliction::grant_waiver),
        )
        .route(
            "/api/v1/waivers/{id}/approve",
            post(routes::deconfliction::approve_waiver),
        )
        .route(
            "/api/v1/notifications",
            get(routes::deconfliction::list_notifications).post(routes::deconfliction::file),
        )
        .route(
            "/api/v1/notifications/{id}/answer",
            post(routes::deconfliction::answer),
        )
        .route(
            "/api/v1/deconfliction/check",
            post(routes::deconfliction::check),
        )
        .route(
            "/api/v1/conflicts",
            get(routes::deconfliction::list_conflicts),
        )
        .route(
            "/api/v1/deconfliction/export",
            get(routes::deconfliction::export),
        )
        .route("/api/v1/deconfliction/export.cot", get(routes::cot::export))
        .route("/api/v1/sites/cot", post(routes::cot::import_sites))
        .route(
            "/api/v1/cooperation/proposals",
            post(routes::cooperation::file).get(routes::cooperation::list),
        )
        .route(
            "/api/v1/cooperation/proposals/{id}",
            get(routes::cooperation::show),
        )
        .route(
            "/api/v1/cooperation/proposals/{id}/answer",
            post(routes::cooperation::answer),
        )
        .route(
            "/api/v1/cooperation/proposals/{id}/matches/{index}/review",
            post(routes::cooperation::review),
        )
        .route(
            "/api/v1/cooperation/proposals/{id}/commitments",
            post(routes::cooperation::commit),
        )
        .route(
            "/api/v1/cooperation/commitments/{id}/reports",
            post(routes::cooperation::report),
        )
        .route(
            "/api/v1/screening/lists",
            post(routes::screening::load)
                .layer(DefaultBodyLimit::max(routes::screening::MAX_LIST_BODY))
                .get(routes::screening::lists),
        )
        .route("/api/v1/screening/check", post(routes::screening::check))
        .route("/log/checkpoint", get(routes::log::checkpoint))
        .route("/log/cosignature", post(routes::log::cosign))
        .route("/log/tile/{*path}", get(routes::log::tile));
    Router::new()
        .route("/healthz", get(routes::cell::healthz))
        .route("/readyz", get(routes::cell::readyz))
        .route("/metrics", get(routes::cell::metrics))
        .merge(api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn(drain::bodies))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            HttpError(ApiError::internal(
                "the server hit a bug; nothing was written",
            ))
            .into_response()
        }))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::access,
        ))
        .with_state(app)
}

/// The metrics alone, without credentials: for a listener of their own
/// (`serve --metrics-listen`), on an address only the monitoring can reach.
pub fn metrics_router(app: App) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|axum::extract::State(app): axum::extract::State<App>| metrics::exposition(app)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// Serves [`metrics_router`] on `listener` until the server closes.
pub async fn serve_metrics(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    let mut closing = app.shared.closing.subscribe();
    axum::serve(listener, metrics_router(app))
        .with_graceful_shutdown(async move {
            let _ = closing.wait_for(|c| *c).await;
        })
        .await
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains: streams end,
/// in-flight requests finish, queued writes are committed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listen::serve(listener, app, None, listen::Limits::default(), shutdown).await
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
