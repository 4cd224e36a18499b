//! [`Ports`]: the adapters the use cases work through.

use std::sync::Arc;

use roster_domain::ports::{
    Authorizer, BusinessMetrics, Clock, LoginThrottle, PasswordHasher, RevocationStore,
    SessionStore, TokenAuthority, UserRepository,
};

/// Every port the use cases use, as shared trait objects.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub clock: Arc<dyn Clock>,
    pub authorizer: Arc<dyn Authorizer>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub revocations: Arc<dyn RevocationStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub tokens: Arc<dyn TokenAuthority>,
    pub throttle: Arc<dyn LoginThrottle>,
    pub metrics: Arc<dyn BusinessMetrics>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}
