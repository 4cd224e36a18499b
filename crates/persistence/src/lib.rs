//! Diesel adapter: [`DieselUserRepository`] implements the domain's
//! [`UserRepository`](roster_domain::ports::UserRepository) on SQLite (the embedded
//! default) and PostgreSQL (production), chosen at run time from the database URL.
//!
//! Both backends live in one binary as an enum of two concrete deadpool pools
//! ([`Database`]); the [`on_connection!`] macro expands each query once per backend,
//! so every query is type-checked against both dialects. Every diesel call runs inside
//! deadpool's `interact`, on a blocking thread, never on the async executor. Row
//! structs are private and mapped explicitly to domain types.

mod database;
mod health;
mod idempotency;
mod migrations;
mod revocations;
mod schema;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use database::{Backend, Database, Pool};
pub use health::{DatabaseReachable, MigrationsApplied};
pub use idempotency::DieselIdempotencyStore;
pub use migrations::MigrationStatus;
pub use revocations::DieselRevocationStore;
pub use settings::DatabaseSettings;
pub use users::DieselUserRepository;
