//! Users use-case tests against mocks of every port: no I/O.

use mockall::predicate::eq;
use roster_domain::{
    Operation, PageSize, Password, PasswordPolicy, Role, Session, Sort, Status, UserFilter,
    ports::{AccessDenied, MockAuthorizer, PasswordCheck},
};

use super::*;
use crate::testing::{Mocks, NOW, at, hash, new_user, stored_user};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn service(mocks: Mocks) -> UserService {
    UserService::new(mocks.ports(), PasswordPolicy::default())
}

fn replacement(email: &str, role: Role, status: Status) -> UserReplacement {
    let new = new_user(email);
    UserReplacement {
        email: new.email,
        name: new.name,
        role,
        status,
    }
}

fn member(id: UserId) -> Actor {
    Actor::User(Session::fake(id, Role::Member))
}

/// An authorizer that refuses one operation and allows the rest.
fn refusing(operation: Operation) -> MockAuthorizer {
    let mut authorizer = MockAuthorizer::new();
    authorizer.expect_authorize().returning(move |_, request| {
        if request.operation == operation {
            Err(AccessDenied::Forbidden)
        } else {
            Ok(())
        }
    });
    authorizer
}

mod create;
mod credentials;
mod read;
mod write;
