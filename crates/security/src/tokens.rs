//! [`BiscuitAuthority`]: biscuit tokens signed with an Ed25519 root key, and the
//! authorisation policy, written in biscuit datalog.

use std::{collections::HashMap, time::Duration};

use anyhow::anyhow;
use biscuit_auth::{
    AuthorizerLimits, Biscuit, KeyPair, PublicKey,
    error::{Format, Token as TokenError},
    macros::{authorizer, biscuit},
};
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use roster_domain::{
    AccessRequest, Actor, IssuedToken, RefreshDigest, Resource, Role, Session, SessionId,
    TokenHandle, TokenId, UserId,
    ports::{AccessDenied, AuthenticationError, Authorizer, IssueError, TokenAuthority},
};

use crate::keys::SigningKeys;

mod acceptance;
mod decisions;
mod refresh;

/// Generous limits: the policy is tiny, but debug builds and loaded machines are slow,
/// and the library's default of 1 ms would turn slowness into refusals.
const LIMITS: AuthorizerLimits = AuthorizerLimits {
    max_facts: 1_000,
    max_iterations: 100,
    max_time: Duration::from_millis(50),
};

/// Issues, verifies and authorises biscuit tokens.
///
/// A token's authority block holds `user(id)`, `role(role)`, `token_id(id)`,
/// `issued_at(µs)`, `expires_at(µs)` and `check if time($t), $t < expiry`. Holders may
/// append blocks with more checks (for example `check if operation("read")`): they can
/// only narrow what the token allows.
pub struct BiscuitAuthority {
    signing: KeyPair,
    key_id: u32,
    verifying: HashMap<u32, PublicKey>,
    lifetime: chrono::Duration,
    /// Tokens verified already, by their text: verifying is a pure function of the
    /// token and the keys, so only expiry needs checking again on a hit.
    verified: Cache<String, Session>,
    /// The policy's decisions for tokens without appended blocks.
    decisions: decisions::Decisions,
}

/// The memory the verified tokens may take, counted as their text plus what their
/// parsed form costs beyond it (an estimate).
const VERIFIED_CAPACITY: u64 = 16 * 1024 * 1024;
const PARSED_OVERHEAD: usize = 1024;

impl std::fmt::Debug for BiscuitAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BiscuitAuthority")
            .field("key_id", &self.key_id)
            .field(
                "accepted_key_ids",
                &self.verifying.keys().collect::<Vec<_>>(),
            )
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl BiscuitAuthority {
    pub fn new(keys: SigningKeys, lifetime: Duration) -> anyhow::Result<Self> {
        let lifetime =
            chrono::Duration::from_std(lifetime).map_err(|e| anyhow!("token lifetime: {e}"))?;
        let mut verifying: HashMap<u32, PublicKey> = keys.previous.into_iter().collect();
        if verifying.contains_key(&keys.current_id) {
            anyhow::bail!(
                "key id {} is both the current key's and a previous key's",
                keys.current_id
            );
        }
        verifying.insert(keys.current_id, keys.current.public());
        let verified = Cache::builder()
            .max_capacity(VERIFIED_CAPACITY)
            .weigher(|token: &String, _: &Session| {
                u32::try_from(token.len() + PARSED_OVERHEAD).unwrap_or(u32::MAX)
            })
            .time_to_live(lifetime.to_std().unwrap_or(Duration::ZERO))
            .build();
        Ok(Self {
            signing: keys.current,
            key_id: keys.current_id,
            verifying,
            lifetime,
            verified,
            decisions: decisions::Decisions::default(),
        })
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
}

impl BiscuitAuthority {
    /// Past its own expiry, or older than the current lifetime.
    fn is_expired(
        &self,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        expires_at <= now || issued_at + self.lifetime <= now
    }
}

impl TokenAuthority for BiscuitAuthority {
    fn issue_as(
        &self,
        token_id: TokenId,
        user_id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError> {
        let expires_at = now + self.lifetime;
        let expiry = std::time::SystemTime::from(expires_at);
        let token = biscuit!(
            r#"
            user({user});
            role({role});
            token_id({token_id});
            issued_at({issued});
            expires_at({expires});
            check if time($time), $time < {expiry};
            "#,
            user = user_id.to_string(),
            role = role.as_str(),
            token_id = token_id.to_string(),
            issued = micros(now),
            expires = micros(expires_at),
            expiry = expiry,
        )
        .root_key_id(self.key_id)
        .build(&self.signing)
        .and_then(|token| token.to_base64())
        .map_err(|e| IssueError(anyhow!("cannot build the token: {e}")))?;
        Ok(IssuedToken {
            token,
            token_id,
            expires_at,
        })
    }

    fn mint_refresh(&self, session: SessionId) -> (String, RefreshDigest) {
        refresh::mint(session)
    }

    fn read_refresh(&self, presented: &str) -> Option<(SessionId, RefreshDigest)> {
        refresh::read(presented)
    }

    /// Refuses what is too big, has too many blocks, has expired or appends anything
    /// but bounded checks, all before the signatures are checked; no datalog runs here.
    /// A token verified before is only checked for expiry.
    fn authenticate(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Session, AuthenticationError> {
        let token = token.trim();
        // Before anything reads it whole (the cache lookup hashes it).
        if token.len() > acceptance::MAX_TOKEN_CHARS {
            return Err(AuthenticationError::Malformed);
        }
        if let Some(session) = self.verified.get(token) {
            if self.is_expired(session.issued_at, session.expires_at, now) {
                return Err(AuthenticationError::Expired);
            }
            return Ok(session);
        }
        let unverified = acceptance::parse(token)?;
        let claims = acceptance::claims(&unverified)?;
        let issued_at = from_micros(claims.issued_at).ok_or(AuthenticationError::Malformed)?;
        let expires_at = from_micros(claims.expires_at).ok_or(AuthenticationError::Malformed)?;
        if self.is_expired(issued_at, expires_at, now) {
            return Err(AuthenticationError::Expired);
        }
        acceptance::appended_blocks_are_attenuations(&unverified)?;
        let verified = unverified
            .verify(|key_id: Option<u32>| {
                key_id
                    .and_then(|id| self.verifying.get(&id).copied())
                    .ok_or(Format::UnknownPublicKey)
            })
            .map_err(|error| match error {
                Format::UnknownPublicKey | Format::Signature(_) | Format::SealedSignature => {
                    AuthenticationError::InvalidSignature
                }
                _ => AuthenticationError::Malformed,
            })?;
        let session = Session {
            user_id: UserId::parse(&claims.user).map_err(|_| AuthenticationError::Malformed)?,
            role: claims
                .role
                .parse()
                .map_err(|_| AuthenticationError::Malformed)?,
            token_id: TokenId::parse(&claims.token_id).ok_or(AuthenticationError::Malformed)?,
            issued_at,
            expires_at,
            token: TokenHandle::new(verified),
        };
        self.verified.insert(token.to_owned(), session.clone());
        Ok(session)
    }

    fn lifetime(&self) -> chrono::Duration {
        self.lifetime
    }
}

impl Authorizer for BiscuitAuthority {
    /// Admins may do everything; members may read and write their own record. The
    /// token's own checks (expiry, and any the holder appended) must pass as well.
    fn authorize(&self, actor: &Actor, request: &AccessRequest) -> Result<(), AccessDenied> {
        let session = match actor {
            Actor::System => return Ok(()),
            Actor::Anonymous => return Err(AccessDenied::Unauthenticated),
            Actor::User(session) => session,
        };
        let Some(token) = session.token.downcast::<Biscuit>() else {
            tracing::error!("a session's token is not a biscuit token");
            return Err(AccessDenied::Forbidden);
        };
        let key = decisions::Key::of(session, token, request);
        let remembered = key.and_then(|key| self.decisions.get(key));
        let allowed = if let Some(allowed) = remembered {
            allowed
        } else {
            let allowed = evaluate(session, token, request).map_err(|error| {
                tracing::warn!(%error, "authorisation could not be evaluated: refused");
                AccessDenied::Forbidden
            })?;
            if let Some(key) = key {
                self.decisions.remember(key, allowed);
            }
            allowed
        };
        if allowed {
            Ok(())
        } else {
            Err(AccessDenied::Forbidden)
        }
    }
}

/// Runs the policy over the token: whether it allows the request, or why it could not
/// be evaluated.
fn evaluate(
    session: &Session,
    token: &Biscuit,
    request: &AccessRequest,
) -> Result<bool, TokenError> {
    let (kind, owner) = match request.resource {
        Resource::Users => ("users", String::new()),
        Resource::User(id) => ("user", id.to_string()),
        Resource::Audit => ("audit", String::new()),
    };
    let built = authorizer!(
        r#"
        time({now});
        operation({operation});
        resource({kind});
        owner({owner});
        current_role({role});
        allow if current_role("admin");
        allow if user($user), owner($user), operation($op), ["read", "write"].contains($op);
        "#,
        now = std::time::SystemTime::from(request.at),
        operation = request.operation.as_str(),
        kind = kind,
        owner = owner,
        role = session.role.as_str(),
    )
    .set_limits(LIMITS)
    .build(token);
    match built.and_then(|mut authorizer| authorizer.authorize()) {
        Ok(_) => Ok(true),
        Err(TokenError::FailedLogic(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests;
