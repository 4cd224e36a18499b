//! The actix-web server: routes, extractor limits, middleware, listener settings.

use std::{net::TcpListener, time::Duration};

use actix_http::{HttpService, error::DispatchError};
use actix_server::ServerBuilder;
use actix_service::{IntoServiceFactory as _, ServiceFactoryExt as _, fn_service, map_config};
use actix_web::{
    App, HttpResponse, HttpServer,
    body::MessageBody,
    dev::{AppConfig, HttpServiceFactory, Server, ServiceFactory, ServiceRequest, ServiceResponse},
    http::header,
    middleware::{Condition, DefaultHeaders, from_fn},
    web::{self, ServiceConfig},
};
use roster_application::{AuthService, TransferService, UserService};
use roster_domain::PasswordPolicy;
use tokio::net::TcpStream;
use tracing_actix_web::TracingLogger;

use crate::{
    audit, auth,
    body::BodyLimit,
    caller::TrustedProxies,
    connection::{ShutdownSignal, TimedConnection},
    error::{ApiError, json_error, path_error, query_error},
    explorer,
    idempotency::Idempotency,
    middleware::{RequestDeadline, RequestSpan, deadline, guard, identity_bodies_only},
    observability::{self, MetricsText, Observability},
    openapi::{self, OpenApiDocument},
    probes::{self, Readiness},
    provenance,
    rate_limit::{RateLimits, rate_limit},
    routing::{self, resource},
    settings::{ApiSettings, ServerSettings},
    users,
};

/// What the handlers need: the use cases, the readiness state, the trusted proxies.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub users: UserService,
    pub transfer: TransferService,
    pub auth: AuthService,
    pub readiness: Readiness,
    pub trusted_proxies: TrustedProxies,
    pub observability: Observability,
    pub api: ApiSettings,
    pub idempotency: Idempotency,
    /// The rules new passwords follow, which the OpenAPI description states.
    pub password_policy: PasswordPolicy,
    /// The per-caller quotas, if any route class has one.
    pub rate_limits: Option<RateLimits>,
}

/// Builds the server on an already bound listener (port 0 in tests). Signals are not
/// handled here: the caller decides when to stop, so that readiness can turn 503
/// before the listener closes.
pub fn build_server(
    listener: TcpListener,
    state: ApiState,
    settings: &ServerSettings,
) -> std::io::Result<Server> {
    let users = web::Data::new(state.users);
    let transfer = web::Data::new(state.transfer);
    let auth = web::Data::new(state.auth);
    let proxies = web::Data::new(state.trusted_proxies);
    let readiness = web::Data::new(state.readiness);
    let metrics_text = state.observability.metrics_text.clone().map(web::Data::new);
    let observability = web::Data::new(state.observability);
    let api_settings = web::Data::new(state.api);
    let json_body_limit = settings.json_body_limit;
    let body_limit = web::Data::new(BodyLimit(json_body_limit));
    let request_deadline = web::Data::new(RequestDeadline(settings.request_deadline));
    let idempotency = web::Data::new(state.idempotency);
    let rate_limits = state.rate_limits.map(web::Data::new);
    let explorer = state.api.explorer;
    let cors = settings.cors.clone();
    let openapi = web::Data::new(OpenApiDocument(web::Bytes::from(openapi::document_text(
        state.password_policy,
    ))));
    let app = move || {
        App::new()
            // Outermost last: the span wraps everything, the guard sits inside it, and
            // inside the guard (so that it is counted) bodies are refused unread when
            // they are compressed.
            .wrap(from_fn(identity_bodies_only))
            .wrap(from_fn(deadline))
            .wrap(from_fn(guard))
            .wrap(from_fn(provenance::scope))
            // Preflights are answered here, before any limit or authentication.
            .wrap(Condition::new(cors.enabled(), cors.middleware()))
            .wrap(nosniff())
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(users.clone())
            .app_data(transfer.clone())
            .app_data(auth.clone())
            .app_data(proxies.clone())
            .app_data(readiness.clone())
            .app_data(observability.clone())
            .app_data(api_settings.clone())
            .app_data(body_limit.clone())
            .app_data(request_deadline.clone())
            .app_data(idempotency.clone())
            .app_data(openapi.clone())
            .configure(|config| extractors(config, json_body_limit))
            .configure(|config| {
                if let Some(limits) = &rate_limits {
                    config.app_data(limits.clone());
                }
            })
            .configure(routes)
            .configure(|config| {
                if explorer {
                    explorer::configure(config);
                }
            })
            .configure(|config| {
                if let Some(render) = &metrics_text {
                    config.app_data(render.clone()).service(metrics_resource());
                }
            })
            .default_service(web::to(not_found))
    };
    let mut server = listen_timed(listener, app, settings)?
        .disable_signals()
        .shutdown_timeout(settings.shutdown_timeout.as_secs().max(1));
    if let Some(workers) = settings.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// The extractors' limits, and their refusals as problems.
fn extractors(config: &mut ServiceConfig, json_body_limit: usize) {
    config
        .app_data(
            web::JsonConfig::default()
                .limit(json_body_limit)
                .error_handler(|error, _| json_error(error).into()),
        )
        .app_data(web::QueryConfig::default().error_handler(|error, _| query_error(&error).into()))
        .app_data(web::PathConfig::default().error_handler(|error, _| path_error(&error).into()));
}

/// What `HttpServer::listen` does, with each connection wrapped in a
/// [`TimedConnection`]: actix-web's `HttpServer` cannot wrap its streams, so the server
/// is put together from its parts (actix-server's accept loop, actix-http's HTTP/1
/// service, the app).
fn listen_timed<F, I, B>(
    listener: TcpListener,
    app: F,
    settings: &ServerSettings,
) -> std::io::Result<ServerBuilder>
where
    F: Fn() -> App<I> + Send + Clone + 'static,
    I: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let builder = ServerBuilder::new();
    let shutdown = builder.graceful_shutdown_signal();
    let budget = settings.request_timeout + settings.request_deadline + Duration::from_secs(1);
    let keep_alive = settings.keep_alive;
    let request_timeout = settings.request_timeout;
    builder.listen("roster-http", listener, move || {
        let shutdown = shutdown.clone();
        let http = HttpService::build()
            .keep_alive(keep_alive)
            .client_request_timeout(request_timeout)
            .client_disconnect_timeout(Duration::from_secs(1))
            .local_addr(address)
            .h1(map_config(
                app().into_factory().map_err(|error: actix_web::Error| {
                    HttpResponse::from_error(error).map_into_boxed_body()
                }),
                // The default names `localhost:8080` as the host: used only to answer
                // a request that names no host (HTTP/1.0 without `Host`).
                |()| AppConfig::default(),
            ));
        fn_service(move |stream: TcpStream| {
            let shutdown = shutdown.clone();
            async move {
                let peer = stream.peer_addr().ok();
                let signal: ShutdownSignal = Box::pin(async move { shutdown.notified().await });
                Ok::<_, DispatchError>((TimedConnection::new(stream, budget, signal), peer))
            }
        })
        .and_then(http)
    })
}

/// A server for `GET /metrics` alone, when `telemetry.metrics.address` puts it on its
/// own port (away from the public API).
pub fn build_metrics_server(listener: TcpListener, render: MetricsText) -> std::io::Result<Server> {
    let render = web::Data::new(render);
    Ok(HttpServer::new(move || {
        App::new()
            .wrap(nosniff())
            .app_data(render.clone())
            .service(metrics_resource())
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .run())
}

/// `X-Content-Type-Options: nosniff` on every response: browsers take each body for its
/// declared type (a problem document is never sniffed into HTML).
fn nosniff() -> DefaultHeaders {
    DefaultHeaders::new().add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
}

fn metrics_resource() -> impl HttpServiceFactory {
    resource("/metrics", "GET").route(routing::get().to(observability::metrics))
}

fn routes(config: &mut ServiceConfig) {
    config
        .service(resource("/health", "GET").route(routing::get().to(probes::health)))
        .service(resource("/ready", "GET").route(routing::get().to(probes::ready)))
        .service(resource("/api-docs/openapi.json", "GET").route(routing::get().to(openapi::serve)))
        .service(
            web::scope("/api/v1")
                .wrap(from_fn(rate_limit))
                .configure(auth::configure)
                .configure(users::configure)
                .configure(audit::configure),
        );
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such resource".to_owned()))
}
