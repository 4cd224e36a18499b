//! Tests of the biscuit authority: issuing, verifying, attenuating, rotating keys.

use biscuit_auth::macros::block;
use roster_domain::{Operation, ports::AuthenticationError as Auth};

use super::*;

mod crafted;
mod decisions;

const LIFETIME: Duration = Duration::from_secs(15 * 60);

pub(super) fn authority(
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

pub(super) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("time")
}

pub(super) fn session(authority: &BiscuitAuthority, user: UserId, role: Role) -> Session {
    let issued = authority.issue(user, role, now()).expect("issue");
    authority
        .authenticate(&issued.token, now())
        .expect("authenticate")
}

pub(super) fn request(operation: Operation, resource: Resource) -> AccessRequest {
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
        for resource in [
            Resource::Users,
            Resource::User(other),
            Resource::User(me),
            Resource::Audit,
        ] {
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
        (Operation::Read, Resource::Audit, false),
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

/// Authorisation reads the role the session carries (the user's current one, which
/// the application sets), never the role written into the token at issue.
#[test]
fn the_sessions_role_decides_not_the_tokens() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let me = UserId::generate();
    let listing = request(Operation::Read, Resource::Users);

    let demoted = Session {
        role: Role::Member,
        ..session(&authority, me, Role::Admin)
    };
    assert_eq!(
        authority.authorize(&Actor::User(demoted), &listing),
        Err(AccessDenied::Forbidden)
    );
    let promoted = Session {
        role: Role::Admin,
        ..session(&authority, me, Role::Member)
    };
    assert_eq!(
        authority.authorize(&Actor::User(promoted), &listing),
        Ok(())
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

/// Lowering the lifetime shortens the tokens already out: a token lives at most the
/// current lifetime from its issue, so a revocation kept for that long covers it.
#[test]
fn a_lowered_lifetime_shortens_tokens_already_issued() {
    let key = KeyPair::new();
    let long = BiscuitAuthority::new(
        SigningKeys {
            current: KeyPair::from(&key.private()),
            current_id: 1,
            previous: vec![],
        },
        Duration::from_secs(60 * 60),
    )
    .expect("authority");
    let token = long
        .issue(UserId::generate(), Role::Member, now())
        .expect("issue")
        .token;
    let short = authority(key, 1, vec![]);
    assert_eq!(short.lifetime(), chrono::Duration::minutes(15));

    let within = now() + chrono::Duration::minutes(14);
    assert!(short.authenticate(&token, within).is_ok());
    let past = now() + chrono::Duration::minutes(15);
    assert_eq!(
        short.authenticate(&token, past).map(|_| ()),
        Err(Auth::Expired)
    );
    assert!(
        long.authenticate(&token, past).is_ok(),
        "its own expiry is later"
    );
}

/// A token verified once is remembered, but never past its expiry; a tampered copy is
/// not mistaken for it.
#[test]
fn a_remembered_token_still_expires_and_its_tampered_copies_are_refused() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let token = authority
        .issue(UserId::generate(), Role::Member, now())
        .expect("issue")
        .token;
    assert!(authority.authenticate(&token, now()).is_ok());
    assert!(
        authority.authenticate(&format!(" {token} "), now()).is_ok(),
        "the same token, however padded"
    );
    assert_eq!(
        authority
            .authenticate(&token, now() + chrono::Duration::minutes(15))
            .map(|_| ()),
        Err(Auth::Expired)
    );
    let mut tampered = token.into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("text");
    assert!(authority.authenticate(&tampered, now()).is_err());
}
