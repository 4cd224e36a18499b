//! [`BiscuitAuthority`]: biscuit tokens signed with an Ed25519 root key, and the
//! authorisation policy, written in biscuit datalog.

use std::{collections::HashMap, time::Duration};

use anyhow::anyhow;
use biscuit_auth::{
    AuthorizerBuilder, AuthorizerLimits, Biscuit, KeyPair, PublicKey,
    error::{Format, Token as TokenError},
    macros::{authorizer, biscuit},
};
use chrono::{DateTime, Utc};
use roster_domain::{
    AccessRequest, Actor, IssuedToken, Resource, Role, Session, TokenHandle, TokenId, UserId,
    ports::{AccessDenied, AuthenticationError, Authorizer, IssueError, TokenAuthority},
};

use crate::keys::SigningKeys;

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
}

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
        Ok(Self {
            signing: keys.current,
            key_id: keys.current_id,
            verifying,
            lifetime,
        })
    }

    /// The token's claims, read from its authority block only: facts that a holder
    /// appends in later blocks are not trusted there.
    fn claims(token: &Biscuit) -> Result<(String, String, String, i64, i64), TokenError> {
        // With explicit limits: the default (1 ms) fails under load, as if the token
        // were malformed.
        let mut reader = AuthorizerBuilder::new().set_limits(LIMITS).build(token)?;
        reader.query_exactly_one(
            "claims($u, $r, $t, $i, $e) <- user($u), role($r), token_id($t), issued_at($i), expires_at($e)",
        )
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value)
}

impl TokenAuthority for BiscuitAuthority {
    fn issue(
        &self,
        user_id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, IssueError> {
        let token_id = TokenId::generate();
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

    fn authenticate(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Session, AuthenticationError> {
        let token = Biscuit::from_base64(token.trim(), |key_id: Option<u32>| {
            key_id
                .and_then(|id| self.verifying.get(&id).copied())
                .ok_or(Format::UnknownPublicKey)
        })
        .map_err(|error| match error {
            TokenError::Format(
                Format::UnknownPublicKey | Format::Signature(_) | Format::SealedSignature,
            ) => AuthenticationError::InvalidSignature,
            _ => AuthenticationError::Malformed,
        })?;
        let (user, role, token_id, issued_at, expires_at) =
            Self::claims(&token).map_err(|_| AuthenticationError::Malformed)?;
        let session = Session {
            user_id: UserId::parse(&user).map_err(|_| AuthenticationError::Malformed)?,
            role: role.parse().map_err(|_| AuthenticationError::Malformed)?,
            token_id: TokenId::parse(&token_id).ok_or(AuthenticationError::Malformed)?,
            issued_at: from_micros(issued_at).ok_or(AuthenticationError::Malformed)?,
            expires_at: from_micros(expires_at).ok_or(AuthenticationError::Malformed)?,
            token: TokenHandle::new(token),
        };
        if session.expires_at <= now {
            return Err(AuthenticationError::Expired);
        }
        Ok(session)
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
        let (kind, owner) = match request.resource {
            Resource::Users => ("users", String::new()),
            Resource::User(id) => ("user", id.to_string()),
        };
        let built = authorizer!(
            r#"
            time({now});
            operation({operation});
            resource({kind});
            owner({owner});
            allow if role("admin");
            allow if user($user), owner($user), operation($op), ["read", "write"].contains($op);
            "#,
            now = std::time::SystemTime::from(request.at),
            operation = request.operation.as_str(),
            kind = kind,
            owner = owner,
        )
        .set_limits(LIMITS)
        .build(token);
        let outcome = built.and_then(|mut authorizer| authorizer.authorize());
        match outcome {
            Ok(_) => Ok(()),
            Err(TokenError::FailedLogic(_)) => Err(AccessDenied::Forbidden),
            Err(error) => {
                tracing::warn!(%error, "authorisation could not be evaluated: refused");
                Err(AccessDenied::Forbidden)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use biscuit_auth::macros::block;
    use roster_domain::{Operation, ports::AuthenticationError as Auth};

    use super::*;

    const LIFETIME: Duration = Duration::from_secs(15 * 60);

    fn authority(
        current: KeyPair,
        current_id: u32,
        previous: Vec<(u32, PublicKey)>,
    ) -> BiscuitAuthority {
        BiscuitAuthority::new(
            SigningKeys {
                current,
                current_id,
                previous,
            },
            LIFETIME,
        )
        .expect("authority")
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn session(authority: &BiscuitAuthority, user: UserId, role: Role) -> Session {
        let issued = authority.issue(user, role, now()).expect("issue");
        authority
            .authenticate(&issued.token, now())
            .expect("authenticate")
    }

    fn request(operation: Operation, resource: Resource) -> AccessRequest {
        AccessRequest {
            operation,
            resource,
            at: now(),
        }
    }

    #[test]
    fn an_issued_token_authenticates_with_its_claims() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let user = UserId::generate();

        let issued = authority.issue(user, Role::Member, now()).expect("issue");
        let session = authority
            .authenticate(&issued.token, now())
            .expect("authenticate");

        assert_eq!(
            (session.user_id, session.role, session.token_id),
            (user, Role::Member, issued.token_id)
        );
        assert_eq!(session.issued_at, now());
        assert_eq!(session.expires_at, now() + chrono::Duration::minutes(15));
        assert_eq!(issued.expires_at, session.expires_at);
    }

    #[test]
    fn expired_tampered_foreign_and_garbage_tokens_are_refused() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let token = authority
            .issue(UserId::generate(), Role::Admin, now())
            .expect("issue")
            .token;

        let later = now() + chrono::Duration::minutes(15);
        assert_eq!(
            authority.authenticate(&token, later).map(|_| ()),
            Err(Auth::Expired)
        );

        let mut tampered = token.clone().into_bytes();
        let middle = tampered.len() / 2;
        tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        assert!(
            matches!(
                authority.authenticate(&tampered, now()),
                Err(Auth::InvalidSignature | Auth::Malformed)
            ),
            "a tampered token is refused"
        );

        let foreign = self::authority(KeyPair::new(), 1, vec![]);
        let foreign_token = foreign
            .issue(UserId::generate(), Role::Admin, now())
            .expect("issue")
            .token;
        assert_eq!(
            authority.authenticate(&foreign_token, now()).map(|_| ()),
            Err(Auth::InvalidSignature)
        );

        assert_eq!(
            authority.authenticate("not a token", now()).map(|_| ()),
            Err(Auth::Malformed)
        );
        assert_eq!(
            authority.authenticate("", now()).map(|_| ()),
            Err(Auth::Malformed)
        );
    }

    #[test]
    fn tokens_of_a_previous_key_stay_valid_after_rotation() {
        let old = KeyPair::new();
        let old_public = old.public();
        let before = authority(old, 1, vec![]);
        let token = before
            .issue(UserId::generate(), Role::Member, now())
            .expect("issue")
            .token;

        let rotated = authority(KeyPair::new(), 2, vec![(1, old_public)]);
        assert!(
            rotated.authenticate(&token, now()).is_ok(),
            "the previous key is still accepted"
        );
        let fresh = rotated
            .issue(UserId::generate(), Role::Member, now())
            .expect("issue")
            .token;
        assert!(rotated.authenticate(&fresh, now()).is_ok());

        let retired = authority(KeyPair::new(), 3, vec![]);
        assert_eq!(
            retired.authenticate(&token, now()).map(|_| ()),
            Err(Auth::InvalidSignature)
        );
    }

    #[test]
    fn admins_may_do_everything_members_read_and_write_themselves() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let me = UserId::generate();
        let other = UserId::generate();
        let admin = Actor::User(session(&authority, UserId::generate(), Role::Admin));
        let member = Actor::User(session(&authority, me, Role::Member));
        let all = [
            Operation::Read,
            Operation::Write,
            Operation::Delete,
            Operation::Admin,
        ];

        for operation in all {
            for resource in [Resource::Users, Resource::User(other), Resource::User(me)] {
                assert_eq!(
                    authority.authorize(&admin, &request(operation, resource)),
                    Ok(())
                );
                assert_eq!(
                    authority.authorize(&Actor::System, &request(operation, resource)),
                    Ok(())
                );
                assert_eq!(
                    authority.authorize(&Actor::Anonymous, &request(operation, resource)),
                    Err(AccessDenied::Unauthenticated)
                );
            }
        }
        for (operation, resource, allowed) in [
            (Operation::Read, Resource::User(me), true),
            (Operation::Write, Resource::User(me), true),
            (Operation::Delete, Resource::User(me), false),
            (Operation::Admin, Resource::User(me), false),
            (Operation::Read, Resource::User(other), false),
            (Operation::Write, Resource::User(other), false),
            (Operation::Read, Resource::Users, false),
            (Operation::Write, Resource::Users, false),
        ] {
            let expected = if allowed {
                Ok(())
            } else {
                Err(AccessDenied::Forbidden)
            };
            assert_eq!(
                authority.authorize(&member, &request(operation, resource)),
                expected,
                "{operation:?} {resource:?}"
            );
        }
    }

    #[test]
    fn an_attenuated_token_only_does_what_its_checks_allow() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let me = UserId::generate();
        let token = authority
            .issue(me, Role::Admin, now())
            .expect("issue")
            .token;
        let original = Biscuit::from_base64(&token, authority.verifying[&1]).expect("parse");

        let read_only = original
            .append(block!(r#"check if operation("read");"#))
            .expect("append");
        let session = authority
            .authenticate(&read_only.to_base64().expect("base64"), now())
            .expect("still valid");
        let actor = Actor::User(session);

        assert_eq!(
            authority.authorize(&actor, &request(Operation::Read, Resource::Users)),
            Ok(())
        );
        assert_eq!(
            authority.authorize(&actor, &request(Operation::Write, Resource::User(me))),
            Err(AccessDenied::Forbidden)
        );
    }

    #[test]
    fn facts_appended_by_a_holder_grant_nothing() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let me = UserId::generate();
        let token = authority
            .issue(me, Role::Member, now())
            .expect("issue")
            .token;
        let original = Biscuit::from_base64(&token, authority.verifying[&1]).expect("parse");
        let forged = original
            .append(block!(r#"role("admin");"#))
            .expect("append");

        let session = authority
            .authenticate(&forged.to_base64().expect("base64"), now())
            .expect("valid");

        assert_eq!(
            session.role,
            Role::Member,
            "claims come from the authority block only"
        );
        assert_eq!(
            authority.authorize(
                &Actor::User(session),
                &request(Operation::Delete, Resource::User(me))
            ),
            Err(AccessDenied::Forbidden)
        );
    }

    #[test]
    fn a_token_that_expires_between_authentication_and_authorisation_is_refused() {
        let authority = authority(KeyPair::new(), 1, vec![]);
        let session = session(&authority, UserId::generate(), Role::Admin);
        let late = AccessRequest {
            at: now() + chrono::Duration::hours(1),
            ..request(Operation::Read, Resource::Users)
        };
        assert_eq!(
            authority.authorize(&Actor::User(session), &late),
            Err(AccessDenied::Forbidden)
        );
    }
}
