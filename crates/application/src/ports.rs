//! [`Ports`]: the adapters the use cases work through.

use std::{net::IpAddr, sync::Arc};

use chrono::{DateTime, Utc};
use roster_domain::{
    Actor, AuditNote, ChangeRecord, UserChange,
    ports::{
        AuditLog, Authorizer, BusinessMetrics, Clock, LoginThrottle, PasswordHasher,
        RequestContext, RevocationStore, SessionStore, TokenAuthority, UserRepository,
    },
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
    pub audit: Arc<dyn AuditLog>,
    /// The request being served, which the audit log names.
    pub context: Arc<dyn RequestContext>,
}

impl Ports {
    /// The record of a change that `actor` makes at `at`, from the current request.
    pub(crate) fn record(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        changes: Vec<UserChange>,
    ) -> ChangeRecord {
        ChangeRecord::new(actor, at, changes).from_request(self.context.provenance())
    }

    /// The audit log's note of an action of `actor` from `client` (when known), from
    /// the current request.
    pub(crate) fn note(&self, actor: &Actor, client: Option<IpAddr>) -> AuditNote {
        AuditNote {
            actor: actor.into(),
            client: client.map(|address| address.to_string()),
            provenance: self.context.provenance(),
        }
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}
