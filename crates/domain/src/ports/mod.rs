//! The ports: traits the application calls and adapters implement.
//!
//! Each is `Send + Sync` and used as `Arc<dyn Port>`. With the `mocks` feature (and in
//! this crate's tests) mockall generates a `Mock…` type for each.

mod audit;
mod clock;
mod events;
mod health;
mod idempotency;
mod import;
mod metrics;
mod passwords;
mod rate_limit;
mod revocations;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub use audit::{AuditLog, NoRequest, RequestContext};
pub use clock::{Clock, SystemClock};
pub use events::{Backlog, EventOutbox, EventPublisher, PublishError};
pub use health::{HealthCheck, HealthCheckError};
pub use idempotency::{IdempotencyKey, IdempotencyStore, Reservation, StoredResponse};
pub use import::{ImportWriteError, UserTransfer};
pub use metrics::{BusinessMetrics, LoginOutcome, RevocationScope};
pub use passwords::{HashError, HashRejection, PasswordCheck, PasswordHasher};
pub use rate_limit::{Quota, RateDecision, RateLimiter, window_of};
pub use revocations::RevocationStore;
pub use sessions::SessionStore;
pub use throttle::{LoginThrottle, ThrottleKey, Throttled};
pub use tokens::{AccessDenied, AuthenticationError, Authorizer, IssueError, TokenAuthority};
pub use users::{
    DeleteUserError, InsertUserError, RepositoryError, UpdateUserError, UserRepository,
};

#[cfg(any(test, feature = "mocks"))]
pub use audit::{MockAuditLog, MockRequestContext};
#[cfg(any(test, feature = "mocks"))]
pub use clock::MockClock;
#[cfg(any(test, feature = "mocks"))]
pub use events::{MockEventOutbox, MockEventPublisher};
#[cfg(any(test, feature = "mocks"))]
pub use health::MockHealthCheck;
#[cfg(any(test, feature = "mocks"))]
pub use idempotency::MockIdempotencyStore;
#[cfg(any(test, feature = "mocks"))]
pub use import::MockUserTransfer;
#[cfg(any(test, feature = "mocks"))]
pub use metrics::MockBusinessMetrics;
#[cfg(any(test, feature = "mocks"))]
pub use passwords::MockPasswordHasher;
#[cfg(any(test, feature = "mocks"))]
pub use rate_limit::MockRateLimiter;
#[cfg(any(test, feature = "mocks"))]
pub use revocations::MockRevocationStore;
#[cfg(any(test, feature = "mocks"))]
pub use sessions::MockSessionStore;
#[cfg(any(test, feature = "mocks"))]
pub use throttle::MockLoginThrottle;
#[cfg(any(test, feature = "mocks"))]
pub use tokens::{MockAuthorizer, MockTokenAuthority};
#[cfg(any(test, feature = "mocks"))]
pub use users::MockUserRepository;
