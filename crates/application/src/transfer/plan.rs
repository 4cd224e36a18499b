//! Planning a run of import rows against the stored users: which are new, which
//! change a user, which are left alone, and the [`ImportBatch`] that writes them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use roster_domain::{
    Actor, ImportBatch, ImportCounts, ImportedCredential, ImportedUpdate, ImportedUser, OnConflict,
    PasswordHash, TokenRevocation, User, UserChange, UserId, UserReplacement, ports::PasswordCheck,
};

use super::{BatchReport, ImportOptions, RowError, RowOutcome, TransferService};
use crate::UsersError;

/// What a row finds stored.
enum Found<'a> {
    Nobody,
    User(&'a User),
    /// Its id names one user and its e-mail address another.
    TwoUsers,
}

/// Plans `run` (rows naming distinct users) against the users stored now. `prior`
/// holds the counts of rows already reported with this run (invalid ones), which its
/// audit entry includes.
pub(super) async fn plan(
    service: &TransferService,
    actor: &Actor,
    run: &[ImportedUser],
    options: ImportOptions,
    prior: ImportCounts,
) -> Result<(BatchReport, ImportBatch), UsersError> {
    let ids: Vec<UserId> = run.iter().filter_map(|user| user.id).collect();
    let emails: Vec<_> = run.iter().map(|user| user.email.clone()).collect();
    let stored = service.transfer.matching(&ids, &emails).await?;
    let by_id: HashMap<UserId, &User> = stored.iter().map(|user| (user.id, user)).collect();
    let by_email: HashMap<String, &User> = stored
        .iter()
        .map(|user| (user.email.as_str().to_lowercase(), user))
        .collect();

    let now = service.ports.clock.now();
    let mut report = BatchReport::default();
    let mut created = Vec::new();
    let mut updated = Vec::new();
    for row in run {
        let found = find(row, &by_id, &by_email);
        let outcome = match (found, options.on_conflict) {
            (Found::TwoUsers, _) => RowOutcome::Invalid(RowError::new(
                "email",
                "unique",
                "belongs to another user than the row's id",
            )),
            (Found::Nobody, _) => {
                let user = new_user(service, row, now, options.dry_run).await?;
                let id = user.id;
                created.push(user);
                RowOutcome::Created(id)
            }
            (Found::User(user), OnConflict::Skip) => RowOutcome::Skipped(user.id),
            (Found::User(user), OnConflict::Fail) => RowOutcome::Conflict {
                id: user.id,
                reason: "exists",
            },
            (Found::User(user), OnConflict::Update) => {
                match change(service, user, row, now, options.dry_run).await? {
                    Change::None => RowOutcome::Unchanged(user.id),
                    Change::DemotesAdmin => RowOutcome::Conflict {
                        id: user.id,
                        reason: "admin_demotion",
                    },
                    Change::To(update) => {
                        updated.push(*update);
                        RowOutcome::Updated(user.id)
                    }
                }
            }
        };
        report.push(row.line, outcome);
    }
    let mut counts = prior;
    counts.add(&report.counts);
    let batch = ImportBatch {
        created,
        updated,
        actor: actor.label(),
        at: now,
        provenance: service.ports.context.provenance(),
        counts,
    };
    Ok((report, batch))
}

fn find<'a>(
    row: &ImportedUser,
    by_id: &HashMap<UserId, &'a User>,
    by_email: &HashMap<String, &'a User>,
) -> Found<'a> {
    let by_email = by_email.get(&row.email.as_str().to_lowercase()).copied();
    let by_id = row.id.and_then(|id| by_id.get(&id).copied());
    match (by_id, by_email) {
        (None, None) => Found::Nobody,
        (Some(a), Some(b)) if a.id != b.id => Found::TwoUsers,
        (Some(user), _) | (None, Some(user)) => Found::User(user),
    }
}

/// A hash of the row's credential, if it has one: a given hash as it is, a password
/// hashed now (not in a dry run, which only validates).
async fn hash_of(
    service: &TransferService,
    credential: &ImportedCredential,
    dry_run: bool,
) -> Result<Option<PasswordHash>, UsersError> {
    Ok(match credential {
        ImportedCredential::Hash(hash) => Some(hash.clone()),
        ImportedCredential::Password(_) if dry_run => None,
        ImportedCredential::Password(password) => Some(service.ports.hasher.hash(password).await?),
    })
}

async fn new_user(
    service: &TransferService,
    row: &ImportedUser,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<User, UsersError> {
    let created_at = row.created_at.unwrap_or(now);
    let hash = match &row.credential {
        Some(credential) => hash_of(service, credential, dry_run).await?,
        None => None,
    };
    Ok(User {
        id: row.id.unwrap_or_else(|| UserId::generate_at(created_at)),
        email: row.email.clone(),
        name: row.name.clone(),
        role: row.role,
        status: row.status,
        created_at,
        updated_at: now,
        version: 1,
        password_changed_at: hash.as_ref().map(|_| now),
        password_hash: hash,
        last_login_at: None,
    })
}

enum Change {
    None,
    /// The row would make an active administrator something else: left to the API,
    /// which keeps the last one.
    DemotesAdmin,
    To(Box<ImportedUpdate>),
}

/// What the row changes of `current`.
async fn change(
    service: &TransferService,
    current: &User,
    row: &ImportedUser,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Result<Change, UsersError> {
    let replacement = UserReplacement {
        email: row.email.clone(),
        name: row.name.clone(),
        role: row.role,
        status: row.status,
    };
    let fields_change = replacement.email.as_str() != current.email.as_str()
        || replacement.name.as_str() != current.name.as_str()
        || replacement.role != current.role
        || replacement.status != current.status;
    // Whether the password changes, and its new hash (none in a dry run that would
    // have to compute it: nothing is written then).
    let (password_changes, new_hash) = match &row.credential {
        None => (false, None),
        Some(ImportedCredential::Hash(hash)) => {
            let differs = current.password_hash.as_ref() != Some(hash);
            (differs, differs.then(|| hash.clone()))
        }
        Some(credential @ ImportedCredential::Password(password)) => {
            let same = match &current.password_hash {
                Some(stored) => matches!(
                    service.ports.hasher.verify(password, stored).await?,
                    PasswordCheck::Match { .. }
                ),
                None => false,
            };
            if same {
                (false, None)
            } else {
                (true, hash_of(service, credential, dry_run).await?)
            }
        }
    };
    if !fields_change && !password_changes {
        return Ok(Change::None);
    }
    if current.is_active_admin() && !(row.role == current.role && row.status == current.status) {
        return Ok(Change::DemotesAdmin);
    }
    let disables = current.status != roster_domain::Status::Disabled
        && replacement.status == roster_domain::Status::Disabled;
    let mut changes = Vec::new();
    if fields_change {
        changes.extend(UserChange::of_replacement(current, &replacement));
    }
    let mut user = current.clone().replaced(replacement, now);
    if let Some(hash) = new_hash {
        user = user.with_password(hash, now);
    }
    if password_changes {
        changes.push(UserChange::PasswordChanged);
    }
    let revoke = (disables || password_changes).then(|| TokenRevocation {
        before: now,
        until: now + service.ports.tokens.lifetime(),
    });
    if revoke.is_some() {
        changes.push(UserChange::TokensRevoked);
    }
    Ok(Change::To(Box::new(ImportedUpdate {
        user,
        changes,
        revoke,
    })))
}
