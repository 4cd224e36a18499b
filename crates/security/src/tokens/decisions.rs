//! Decisions remembered for tokens that carry nothing but the authority block Roster
//! signed. For those, the datalog's answer is a function of the facts the authorizer
//! adds (the caller's current role, the operation, the resource, and whether the
//! resource is the caller) once the token's one check, its expiry, holds; so each
//! combination is evaluated by the real policy once and remembered. Tokens with
//! appended blocks are always evaluated in full.
//!
//! The key must hold every fact the authorizer adds except `time`: a policy that comes
//! to read another one needs it added here (the test comparing remembered and fresh
//! decisions over every combination fails otherwise only if it covers that fact too).

use std::{collections::HashMap, sync::RwLock};

use biscuit_auth::Biscuit;
use roster_domain::{AccessRequest, Resource, Session};

/// What a remembered decision depends on; a few dozen combinations in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    role: &'static str,
    operation: &'static str,
    resource: &'static str,
    own: bool,
}

impl Key {
    /// The key for this request, when its decision may be remembered: the token has
    /// no appended block and has not expired by the datalog's own clock (whole seconds,
    /// as `time(…) < expiry` compares them).
    pub(crate) fn of(session: &Session, token: &Biscuit, request: &AccessRequest) -> Option<Self> {
        let unexpired = request.at.timestamp() < session.expires_at.timestamp();
        if token.block_count() != 1 || !unexpired {
            return None;
        }
        let (resource, own) = match request.resource {
            Resource::Users => ("users", false),
            Resource::User(id) => ("user", id == session.user_id),
            Resource::Audit => ("audit", false),
        };
        Some(Self {
            role: session.role.as_str(),
            operation: request.operation.as_str(),
            resource,
            own,
        })
    }
}

/// The remembered decisions: bounded by the number of combinations.
#[derive(Debug, Default)]
pub(crate) struct Decisions(RwLock<HashMap<Key, bool>>);

impl Decisions {
    pub(crate) fn get(&self, key: Key) -> Option<bool> {
        self.0.read().ok()?.get(&key).copied()
    }

    pub(crate) fn remember(&self, key: Key, allowed: bool) {
        if let Ok(mut decisions) = self.0.write() {
            decisions.insert(key, allowed);
        }
    }
}
