//! Remembered decisions are the policy's own: over every combination of role,
//! operation and resource, in one authority (so that any decision remembered under a
//! key too coarse would answer a later combination wrongly), each answer equals a
//! fresh evaluation by an authority that remembers nothing.

use roster_domain::Operation;

use super::*;

#[test]
fn remembered_decisions_equal_fresh_evaluations() {
    let key = KeyPair::new();
    let remembering = authority(KeyPair::from(&key.private()), 1, vec![]);
    let me = UserId::generate();
    let other = UserId::generate();
    let operations = [
        Operation::Read,
        Operation::Write,
        Operation::Delete,
        Operation::Admin,
    ];
    let resources = [Resource::Users, Resource::User(me), Resource::User(other)];
    let mut allowed = 0;
    for round in 0..2 {
        for role in [Role::Admin, Role::Member] {
            for operation in operations {
                for resource in resources {
                    let session = Session {
                        role,
                        ..session(&remembering, me, Role::Member)
                    };
                    let request = request(operation, resource);
                    let fresh = authority(KeyPair::from(&key.private()), 1, vec![]);
                    let expected = fresh.authorize(&Actor::User(session.clone()), &request);
                    let answered = remembering.authorize(&Actor::User(session), &request);
                    assert_eq!(
                        answered, expected,
                        "round {round}: {role:?} {operation:?} {resource:?}"
                    );
                    allowed += usize::from(answered.is_ok());
                }
            }
        }
    }
    // Admins: all 12 combinations; members: reading and writing themselves.
    assert_eq!(allowed, 2 * (12 + 2));
}

/// A remembered decision still holds only while the token has not expired.
#[test]
fn a_remembered_decision_does_not_outlive_the_token() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let session = session(&authority, UserId::generate(), Role::Admin);
    let listing = request(Operation::Read, Resource::Users);
    assert_eq!(
        authority.authorize(&Actor::User(session.clone()), &listing),
        Ok(())
    );
    let expired = AccessRequest {
        at: session.expires_at,
        ..listing
    };
    assert_eq!(
        authority.authorize(&Actor::User(session), &expired),
        Err(AccessDenied::Forbidden)
    );
}
