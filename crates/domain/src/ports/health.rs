//! [`HealthCheck`]: a dependency the service needs to be ready.

use async_trait::async_trait;

/// Why a dependency is not ready; the message is shown to operators, so it names the
/// problem without secrets.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HealthCheckError(pub String);

/// One readiness check (the database answers, no migration is pending, ...).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// A stable name for the check, shown in the readiness report.
    fn name(&self) -> &'static str;

    /// Whether a failure makes the service not ready. A check that is not critical
    /// (the event relay: writes go to the outbox whatever the broker's state) is
    /// reported as degraded, and the service stays ready.
    fn critical(&self) -> bool {
        true
    }

    async fn check(&self) -> Result<(), HealthCheckError>;
}
