//! The import's planning: runs of distinct users, conflicts, dry runs, races.

use std::sync::{Arc, Mutex};

use roster_domain::{
    ImportBatch, OnConflict, Role, Status, User, UserChange,
    ports::{AccessDenied, ImportWriteError, MockUserTransfer, PasswordCheck},
};

use super::*;
use crate::testing::{Mocks, NOW, at, stored_user};

fn raw(line: u64, email: &str) -> RawUser {
    RawUser {
        line,
        email: Some(email.to_owned()),
        name: Some("Imported".to_owned()),
        password_hash: Some(
            "$2b$04$A64jTB/v/xj.WOq768SAduKqUXsT.xCkfeYfKtTa4kQznh.LdO962".to_owned(),
        ),
        ..RawUser::default()
    }
}

/// A store that keeps what it is given, and the batches written.
#[derive(Default, Clone)]
struct Store {
    users: Arc<Mutex<Vec<User>>>,
    batches: Arc<Mutex<Vec<ImportBatch>>>,
}

impl Store {
    fn with(users: Vec<User>) -> Self {
        Self {
            users: Arc::new(Mutex::new(users)),
            ..Self::default()
        }
    }

    fn mock(&self) -> MockUserTransfer {
        let mut transfer = MockUserTransfer::new();
        let users = Arc::clone(&self.users);
        transfer
            .expect_matching()
            .returning(move |ids, emails, externals| {
                let users = users.lock().expect("lock");
                Ok(users
                    .iter()
                    .filter(|u| {
                        ids.contains(&u.id)
                            || emails
                                .iter()
                                .any(|e| e.as_str().eq_ignore_ascii_case(u.email.as_str()))
                            || u.external_id
                                .as_ref()
                                .is_some_and(|x| externals.contains(x))
                    })
                    .cloned()
                    .collect())
            });
        let (users, batches) = (Arc::clone(&self.users), Arc::clone(&self.batches));
        transfer.expect_write_batch().returning(move |batch| {
            let mut users = users.lock().expect("lock");
            users.extend(batch.created.iter().cloned());
            for update in &batch.updated {
                users.retain(|u| u.id != update.user.id);
                users.push(update.user.clone());
            }
            batches.lock().expect("lock").push(batch.clone());
            Ok(())
        });
        transfer
    }
}

fn service_of(mocks: Mocks, transfer: MockUserTransfer) -> TransferService {
    TransferService::new(mocks.ports(), Arc::new(transfer), PasswordPolicy::default())
}

fn accepting(mocks: &mut Mocks) {
    mocks.hasher.expect_accepts().returning(|_| Ok(()));
}

#[tokio::test]
async fn rows_naming_one_user_twice_are_written_one_after_the_other() {
    let mut mocks = Mocks::new();
    accepting(&mut mocks);
    let store = Store::default();
    let service = service_of(mocks, store.mock());

    let rows = vec![
        raw(1, "a@example.com"),
        raw(2, "b@example.com"),
        RawUser {
            email: None,
            ..raw(3, "")
        },
        raw(4, "A@example.com"),
    ];
    let report = service
        .import_batch(&Actor::System, rows, ImportOptions::default())
        .await
        .expect("imported");

    let lines: Vec<(u64, &RowOutcome)> = report.rows.iter().map(|r| (r.line, &r.outcome)).collect();
    assert!(matches!(lines[0], (1, RowOutcome::Created(_))));
    assert!(matches!(lines[1], (2, RowOutcome::Created(_))));
    assert!(
        matches!(lines[2], (3, RowOutcome::Invalid(e)) if e.field == "email" && e.rule == "required")
    );
    assert!(matches!(lines[3], (4, RowOutcome::Skipped(_))), "{lines:?}");
    let batches = store.batches.lock().expect("lock");
    assert_eq!(batches.len(), 1, "the second run wrote nothing");
    assert_eq!(batches[0].created.len(), 2);
    // The batch's audit entry counts the invalid row read before it was written.
    assert_eq!(
        (batches[0].counts.created, batches[0].counts.invalid),
        (2, 1)
    );
    assert_eq!(batches[0].actor, "system");
    assert_eq!(report.counts.rows(), 4);
}

#[tokio::test]
async fn a_dry_run_plans_against_the_store_and_writes_and_hashes_nothing() {
    let mut mocks = Mocks::new();
    // Nothing is hashed: a fresh mock, which expects no hash.
    mocks.hasher = roster_domain::ports::MockPasswordHasher::new();
    accepting(&mut mocks);
    let existing = stored_user("taken@example.com", 3);
    let mut transfer = MockUserTransfer::new();
    let stored = existing.clone();
    transfer
        .expect_matching()
        .returning(move |_, _, _| Ok(vec![stored.clone()]));
    transfer.expect_write_batch().never();
    let service = service_of(mocks, transfer);

    let rows = vec![
        RawUser {
            password_hash: None,
            password: Some("a long enough password".to_owned()),
            ..raw(1, "new@example.com")
        },
        raw(2, "taken@example.com"),
    ];
    let options = ImportOptions {
        on_conflict: OnConflict::Fail,
        dry_run: true,
    };
    let report = service
        .import_batch(&Actor::System, rows, options)
        .await
        .expect("planned");
    assert!(matches!(report.rows[0].outcome, RowOutcome::Created(_)));
    assert_eq!(
        report.rows[1].outcome,
        RowOutcome::Conflict {
            id: existing.id,
            reason: "exists"
        }
    );
}

#[tokio::test]
async fn a_batch_raced_by_another_writer_is_planned_again() {
    let mut mocks = Mocks::new();
    accepting(&mut mocks);
    let mut transfer = MockUserTransfer::new();
    let racer = stored_user("raced@example.com", 1);
    let calls = Arc::new(Mutex::new(0));
    let seen = Arc::clone(&calls);
    transfer
        .expect_matching()
        .times(2)
        .returning(move |_, _, _| {
            let mut calls = seen.lock().expect("lock");
            *calls += 1;
            // The second plan sees the user another instance created meanwhile.
            Ok(if *calls == 1 {
                vec![]
            } else {
                vec![racer.clone()]
            })
        });
    let mut first = true;
    transfer.expect_write_batch().times(1).returning(move |_| {
        if std::mem::take(&mut first) {
            Err(ImportWriteError::Raced)
        } else {
            Ok(())
        }
    });
    let service = service_of(mocks, transfer);
    let report = service
        .import_batch(
            &Actor::System,
            vec![raw(1, "raced@example.com")],
            ImportOptions::default(),
        )
        .await
        .expect("imported");
    assert!(matches!(report.rows[0].outcome, RowOutcome::Skipped(_)));
}

#[tokio::test]
async fn an_update_changes_what_differs_revokes_on_a_new_password_and_never_demotes_an_admin() {
    let mut mocks = Mocks::new();
    accepting(&mut mocks);
    mocks
        .hasher
        .expect_verify()
        .returning(|_, _| Ok(PasswordCheck::Mismatch));
    let member = stored_user("member@example.com", 2);
    let mut admin = stored_user("admin@example.com", 5);
    admin.role = Role::Admin;
    let store = Store::with(vec![member.clone(), admin.clone()]);
    let service = service_of(mocks, store.mock());
    let rows = vec![
        RawUser {
            name: Some("Renamed".to_owned()),
            password_hash: None,
            password: Some("a brand new password".to_owned()),
            ..raw(1, "member@example.com")
        },
        RawUser {
            role: Some("member".to_owned()),
            ..raw(2, "admin@example.com")
        },
    ];
    let options = ImportOptions {
        on_conflict: OnConflict::Update,
        dry_run: false,
    };
    let report = service
        .import_batch(&Actor::System, rows, options)
        .await
        .expect("imported");
    assert_eq!(report.rows[0].outcome, RowOutcome::Updated(member.id));
    assert_eq!(
        report.rows[1].outcome,
        RowOutcome::Conflict {
            id: admin.id,
            reason: "admin_demotion"
        }
    );
    let batches = store.batches.lock().expect("lock");
    let update = &batches[0].updated[0];
    assert_eq!(update.user.version, 2, "based on the version read");
    assert_eq!(update.user.name.as_str(), "Renamed");
    assert_eq!(update.user.password_changed_at, Some(at(NOW)));
    assert_ne!(update.user.password_hash, member.password_hash);
    assert_eq!(update.revoke, Some(Mocks::revocation_now()));
    assert!(update.changes.contains(&UserChange::PasswordChanged));
    assert_eq!(update.changes.last(), Some(&UserChange::TokensRevoked));
    assert_eq!(update.user.status, Status::Active);
}

#[tokio::test]
async fn a_hash_the_hasher_refuses_is_an_invalid_row_and_members_may_not_import() {
    let mut mocks = Mocks::new();
    mocks
        .hasher
        .expect_accepts()
        .returning(|_| Err(roster_domain::ports::HashRejection::TooCostly));
    let service = service_of(mocks, Store::default().mock());
    let report = service
        .import_batch(
            &Actor::System,
            vec![raw(7, "x@example.com")],
            ImportOptions::default(),
        )
        .await
        .expect("imported");
    assert!(
        matches!(&report.rows[0].outcome, RowOutcome::Invalid(e) if e.field == "password_hash" && e.rule == "hash_cost")
    );

    let mut mocks = Mocks::new();
    mocks.authorizer.checkpoint();
    mocks
        .authorizer
        .expect_authorize()
        .returning(|_, _| Err(AccessDenied::Forbidden));
    let mut transfer = MockUserTransfer::new();
    transfer.expect_matching().never();
    let service = service_of(mocks, transfer);
    let denied = service
        .import_batch(
            &Actor::Anonymous,
            vec![raw(1, "x@example.com")],
            ImportOptions::default(),
        )
        .await;
    assert!(matches!(denied, Err(UsersError::Forbidden)));
}

#[tokio::test]
async fn rows_find_their_user_by_external_id_and_keys_naming_two_users_are_invalid() {
    let mut mocks = Mocks::new();
    accepting(&mut mocks);
    let mut crm = stored_user("crm@example.com", 1);
    crm.external_id = Some(roster_domain::ExternalId::parse("crm-1").expect("external id"));
    let other = stored_user("other@example.com", 1);
    let store = Store::with(vec![crm.clone(), other.clone()]);
    let service = service_of(mocks, store.mock());
    let with_external = |line, email: &str| RawUser {
        external_id: Some("crm-1".to_owned()),
        ..raw(line, email)
    };
    let options = ImportOptions {
        on_conflict: OnConflict::Update,
        dry_run: false,
    };
    let report = service
        .import_batch(
            &Actor::System,
            vec![
                with_external(1, "renamed@example.com"),
                with_external(2, "other@example.com"),
            ],
            options,
        )
        .await
        .expect("imported");
    assert_eq!(report.rows[0].outcome, RowOutcome::Updated(crm.id));
    assert!(
        matches!(&report.rows[1].outcome, RowOutcome::Invalid(e) if e.field == "email" && e.rule == "unique"),
        "{:?}",
        report.rows[1]
    );
    let batches = store.batches.lock().expect("lock");
    let update = &batches[0].updated[0];
    assert_eq!(update.user.email.as_str(), "renamed@example.com");
    assert_eq!(
        update.changes.first(),
        Some(&UserChange::Updated {
            fields: vec![
                roster_domain::UserField::Email,
                roster_domain::UserField::Name
            ]
        }),
        "the external id did not change"
    );
}
