//! Diesel adapter: [`DieselUserRepository`] implements the domain's
//! [`UserRepository`](roster_domain::ports::UserRepository) on SQLite (the embedded
//! default) and PostgreSQL (production), chosen at run time from the database URL.
//!
//! Both backends live in one binary through diesel's `MultiConnection`: queries are
//! written once, against one schema, and a pool manager opens the backend the URL
//! names. Every diesel call runs inside deadpool's `interact`, on a blocking thread,
//! never on the async executor ([`Database`]). Row structs are private and mapped
//! explicitly to domain types.

mod audit;
mod backend;
mod cache;
mod connection;
mod copy;
mod database;
mod errors;
mod health;
mod idempotency;
mod instant;
mod migrations;
mod outbox;
mod revocations;
mod schema;
mod sessions;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use audit::DieselAuditLog;
pub use backend::Backend;
pub use cache::CacheSettings;
pub use copy::{CopyError, CopyProgress, TableCopy};
#[cfg(feature = "testing")]
pub use database::HeldConnection;
pub use database::{Database, PoolStatus};
pub use health::{DatabaseReachable, MigrationsApplied};
pub use idempotency::DieselIdempotencyStore;
pub use migrations::MigrationStatus;
pub use outbox::DieselEventOutbox;
pub use revocations::DieselRevocationStore;
pub use sessions::DieselSessionStore;
pub use settings::DatabaseSettings;
pub use users::DieselUserRepository;
