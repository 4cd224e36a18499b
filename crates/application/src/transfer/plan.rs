//! Planning a run of import rows against the stored users: which are new, which
//! change a user, which are left alone, and the [`ImportBatch`] that writes them.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use roster_domain::{
    Actor, ImportBatch, ImportCounts, ImportedCredential, ImportedUpdate, ImportedUser, OnConflict,
    PasswordHash, TokenRevocation, User, UserChange, UserField, UserId, UserIdGenerator,
    UserReplacement,
    ports::{PasswordCheck, UserTransfer},
};

use super::{
    report::{BatchReport, ImportOptions, RowOutcome},
    row::RowError,
};
use crate::{Ports, UsersError};

/// What planning reads: the ports, the stored users, and where new ids come from.
pub(super) struct Planner<'a> {
    pub(super) ports: &'a Ports,
    pub(super) transfer: &'a dyn UserTransfer,
    pub(super) ids: &'a Mutex<UserIdGenerator>,
}

impl Planner<'_> {
    /// A new user's id for the time `at` (see [`UserIdGenerator`]).
    fn next_id(&self, at: DateTime<Utc>) -> UserId {
        match self.ids.lock() {
            Ok(mut ids) => ids.next_at(at),
            Err(_) => UserId::generate_at(at),
        }
    }
}

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
    service: &Planner<'_>,
    actor: &Actor,
    run: &[ImportedUser],
    options: ImportOptions,
    prior: ImportCounts,
) -> Result<(BatchReport, ImportBatch), UsersError> {
    let ids: Vec<UserId> = run.iter().filter_map(|user| user.id).collect();
    let emails: Vec<_> = run.iter().map(|user| user.email.clone()).collect();
    let external_ids: Vec<_> = run
        .iter()
        .filter_map(|user| user.external_id.clone())
        .collect();
    let stored = service
        .transfer
        .matching(&ids, &emails, &external_ids)
        .await?;
    let known = Known::of(&stored);

    let now = service.ports.clock.now();
    let mut report = BatchReport::default();
    let mut created = Vec::new();
    let mut updated = Vec::new();
    for row in run {
        let found = known.find(row);
        let outcome = match (found, options.on_conflict) {
            (Found::TwoUsers, _) => RowOutcome::Invalid(RowError::new(
                "email",
                "unique",
                "the row's id, e-mail address and external id name different users",
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

/// The stored users a run's rows may name, by each key.
struct Known<'a> {
    ids: HashMap<UserId, &'a User>,
    emails: HashMap<String, &'a User>,
    external_ids: HashMap<String, &'a User>,
}

impl<'a> Known<'a> {
    fn of(stored: &'a [User]) -> Self {
        Self {
            ids: stored.iter().map(|user| (user.id, user)).collect(),
            emails: stored
                .iter()
                .map(|user| (user.email.as_str().to_lowercase(), user))
                .collect(),
            external_ids: stored
                .iter()
                .filter_map(|user| Some((user.external_id.clone()?.as_str().to_owned(), user)))
                .collect(),
        }
    }

    /// The user the row names by id, e-mail address or external id; `TwoUsers` when
    /// its keys name different users.
    fn find(&self, row: &ImportedUser) -> Found<'a> {
        let named = [
            row.id.and_then(|id| self.ids.get(&id).copied()),
            self.emails.get(&row.email.as_str().to_lowercase()).copied(),
            row.external_id
                .as_ref()
                .and_then(|external| self.external_ids.get(external.as_str()).copied()),
        ];
        let mut found = named.into_iter().flatten();
        match found.next() {
            None => Found::Nobody,
            Some(user) if found.all(|other| other.id == user.id) => Found::User(user),
            Some(_) => Found::TwoUsers,
        }
    }
}

/// A hash of the row's credential, if it has one: a given hash as it is, a password
/// hashed now (not in a dry run, which only validates).
async fn hash_of(
    service: &Planner<'_>,
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
    service: &Planner<'_>,
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
        id: row.id.unwrap_or_else(|| service.next_id(created_at)),
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
        external_id: row.external_id.clone(),
    })
}

enum Change {
    None,
    /// The row would make an active administrator something else: left to the API,
    /// which keeps the last one.
    DemotesAdmin,
    To(Box<ImportedUpdate>),
}

/// Whether the row changes the password, and its new hash (none in a dry run that would
/// have to compute it: nothing is written then).
async fn password_change(
    service: &Planner<'_>,
    current: &User,
    row: &ImportedUser,
    dry_run: bool,
) -> Result<(bool, Option<PasswordHash>), UsersError> {
    Ok(match &row.credential {
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
    })
}

/// What the row changes of `current`.
async fn change(
    service: &Planner<'_>,
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
    // An external id is set or changed by a row that gives one, never removed.
    let external_id_change = row
        .external_id
        .as_ref()
        .filter(|given| current.external_id.as_ref() != Some(*given));
    let fields_change = external_id_change.is_some()
        || replacement.email.as_str() != current.email.as_str()
        || replacement.name.as_str() != current.name.as_str()
        || replacement.role != current.role
        || replacement.status != current.status;
    let (password_changes, new_hash) = password_change(service, current, row, dry_run).await?;
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
        if external_id_change.is_some()
            && let Some(UserChange::Updated { fields }) = changes.first_mut()
        {
            fields.push(UserField::ExternalId);
        }
    }
    let mut user = current.clone().replaced(replacement, now);
    if let Some(external_id) = external_id_change {
        user.external_id = Some(external_id.clone());
    }
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
