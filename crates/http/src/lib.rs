//! actix-web adapter: Roster's REST API under `/api/v1`, the probes, and the mapping of
//! every failure to an RFC 9457 problem.
//!
//! Each resource is a folder (`users/`, `auth/`) that owns its bodies, one module per
//! operation, its routes and its part of the OpenAPI description. Below them sit leaf
//! modules that import nothing of the resources: errors and problem documents, ETags
//! and preconditions, shared OpenAPI components. Handlers parse, call one use case and
//! map the result. Everything actix-specific stays in this crate.

mod audit;
mod auth;
mod body;
mod caller;
mod components;
mod conditional;
mod connection;
mod cors;
mod error;
mod explorer;
mod idempotency;
mod middleware;
mod observability;
mod openapi;
mod parameters;
mod probes;
mod problem;
mod provenance;
mod rate_limit;
mod routing;
mod server;
mod settings;
mod users;

/// The running server, as [`build_server`] returns it.
pub use actix_web::dev::Server;
pub use caller::TrustedProxies;
pub use cors::CorsSettings;
pub use error::{ApiError, FieldError};
pub use idempotency::Idempotency;
pub use observability::{MetricsText, Observability};
pub use openapi::{document as openapi_document, document_text as openapi_text};
pub use probes::Readiness;
pub use provenance::TaskRequestContext;
pub use rate_limit::RateLimits;
pub use server::{ApiState, build_metrics_server, build_server};
pub use settings::{ApiSettings, ServerSettings};
