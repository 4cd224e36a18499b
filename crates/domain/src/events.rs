//! Domain events: what happened to a user, recorded with the change that caused it
//! (a transactional outbox) and delivered afterwards by the event relay.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use ulid::Ulid;

use crate::{
    actor::Actor,
    audit::{AuditAction, Provenance},
    user::{Role, Status, User, UserId, UserReplacement},
};

/// What kind of change the business metrics count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserEventKind {
    Created,
    Updated,
    Deleted,
}

impl UserEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Updated => "user.updated",
            Self::Deleted => "user.deleted",
        }
    }
}

/// A field of a user that an update can change; events name fields, never values
/// (except role and status, which are not personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserField {
    Email,
    Name,
    Role,
    Status,
    /// Set by an import (docs/import.md).
    ExternalId,
}

impl UserField {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Name => "name",
            Self::Role => "role",
            Self::Status => "status",
            Self::ExternalId => "external_id",
        }
    }
}

impl FromStr for UserField {
    type Err = UnknownEvent;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [
            Self::Email,
            Self::Name,
            Self::Role,
            Self::Status,
            Self::ExternalId,
        ]
        .into_iter()
        .find(|field| field.as_str() == text)
        .ok_or(UnknownEvent)
    }
}

/// A stored event names a type or field this version does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type or field")]
pub struct UnknownEvent;

/// One change to a user, as an event says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    Created,
    /// E-mail, name, role or status changed: the names of the fields, in field order.
    Updated {
        fields: Vec<UserField>,
    },
    RoleChanged {
        from: Role,
        to: Role,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    PasswordChanged,
    /// Every token issued until the event's time stopped counting.
    TokensRevoked,
    Deleted,
}

impl UserChange {
    /// The event's type without the namespace and version (`user.role_changed`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Created => "user.created",
            Self::Updated { .. } => "user.updated",
            Self::RoleChanged { .. } => "user.role_changed",
            Self::StatusChanged { .. } => "user.status_changed",
            Self::PasswordChanged => "user.password_changed",
            Self::TokensRevoked => "user.tokens_revoked",
            Self::Deleted => "user.deleted",
        }
    }

    /// The changes that replacing `current` by `replacement` makes: `Updated` with
    /// every changed field (none, for a write that changed nothing but the version,
    /// so that every stored version has its event), then `RoleChanged` and
    /// `StatusChanged` where they apply.
    pub fn of_replacement(current: &User, replacement: &UserReplacement) -> Vec<Self> {
        let mut fields = Vec::new();
        if replacement.email.as_str() != current.email.as_str() {
            fields.push(UserField::Email);
        }
        if replacement.name.as_str() != current.name.as_str() {
            fields.push(UserField::Name);
        }
        if replacement.role != current.role {
            fields.push(UserField::Role);
        }
        if replacement.status != current.status {
            fields.push(UserField::Status);
        }
        let mut changes = vec![Self::Updated { fields }];
        if replacement.role != current.role {
            changes.push(Self::RoleChanged {
                from: current.role,
                to: replacement.role,
            });
        }
        if replacement.status != current.status {
            changes.push(Self::StatusChanged {
                from: current.status,
                to: replacement.status,
            });
        }
        changes
    }
}

/// An event's id: a ULID, unique across instances, and the de-duplication key of
/// the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Ulid);

impl EventId {
    pub fn generate() -> Self {
        Self(Ulid::generate())
    }
}

impl FromStr for EventId {
    type Err = UnknownEvent;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(text).map(Self).map_err(|_| UnknownEvent)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a write records about itself, in its own transaction: who made it, when, and
/// what changed. The store turns it into [`UserEvent`]s once it knows the version
/// it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// [`Actor::label`] of who made the change: `system` or `user:<id>`.
    pub actor: String,
    pub at: DateTime<Utc>,
    pub changes: Vec<UserChange>,
    /// The request the change came from, for the audit log.
    pub provenance: Provenance,
}

impl ChangeRecord {
    pub fn new(actor: &Actor, at: DateTime<Utc>, changes: Vec<UserChange>) -> Self {
        Self {
            actor: actor.label(),
            at,
            changes,
            provenance: Provenance::default(),
        }
    }

    /// The record, made by the request `provenance` names.
    #[must_use]
    pub fn from_request(self, provenance: Provenance) -> Self {
        Self { provenance, ..self }
    }

    /// The action the audit log records for this change: its first change's (a
    /// password change also revokes tokens, a disabling is an update).
    pub fn action(&self) -> AuditAction {
        match self.changes.first() {
            Some(UserChange::Created) => AuditAction::UserCreated,
            Some(UserChange::PasswordChanged) => AuditAction::UserPasswordChanged,
            Some(UserChange::TokensRevoked) => AuditAction::UserTokensRevoked,
            Some(UserChange::Deleted) => AuditAction::UserDeleted,
            Some(
                UserChange::Updated { .. }
                | UserChange::RoleChanged { .. }
                | UserChange::StatusChanged { .. },
            )
            | None => AuditAction::UserUpdated,
        }
    }

    /// The names of the fields the change set (never their values).
    pub fn fields(&self) -> Vec<String> {
        self.changes
            .iter()
            .find_map(|change| match change {
                UserChange::Updated { fields } => {
                    Some(fields.iter().map(|f| f.as_str().to_owned()).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The events of this record for the user at `version` (the version the write
    /// stored, or the last one for a deletion), each with a new id.
    pub fn events(&self, user_id: UserId, version: u64) -> Vec<UserEvent> {
        self.changes
            .iter()
            .map(|change| UserEvent {
                id: EventId::generate(),
                user_id,
                version,
                change: change.clone(),
                actor: self.actor.clone(),
                occurred_at: self.at,
            })
            .collect()
    }
}

/// A change to a user, as stored in the outbox and delivered to subscribers.
///
/// Carries identifiers, field names, role and status only: subscribers that need the
/// user's data read it, so no personal data, password, hash or token travels in
/// events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub id: EventId,
    pub user_id: UserId,
    /// The user's version after the change (for a deletion, the last version).
    pub version: u64,
    pub change: UserChange,
    /// [`Actor::label`] of who made the change.
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user::{Email, UserName};

    fn user() -> User {
        User {
            id: UserId::generate(),
            email: Email::parse("ada@example.com").unwrap(),
            name: UserName::parse("Ada").unwrap(),
            role: Role::Member,
            status: Status::Active,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 3,
            password_hash: None,
            password_changed_at: None,
            last_login_at: None,
            external_id: None,
        }
    }

    #[test]
    fn a_replacement_names_each_changed_field_and_role_and_status_changes() {
        let current = user();
        let replacement = UserReplacement {
            email: current.email.clone(),
            name: UserName::parse("Ada L.").unwrap(),
            role: Role::Admin,
            status: Status::Disabled,
        };
        assert_eq!(
            UserChange::of_replacement(&current, &replacement),
            vec![
                UserChange::Updated {
                    fields: vec![UserField::Name, UserField::Role, UserField::Status]
                },
                UserChange::RoleChanged {
                    from: Role::Member,
                    to: Role::Admin
                },
                UserChange::StatusChanged {
                    from: Status::Active,
                    to: Status::Disabled
                },
            ]
        );
    }

    #[test]
    fn an_identical_replacement_is_an_update_of_no_field() {
        let current = user();
        let same = UserReplacement {
            email: current.email.clone(),
            name: current.name.clone(),
            role: current.role,
            status: current.status,
        };
        assert_eq!(
            UserChange::of_replacement(&current, &same),
            vec![UserChange::Updated { fields: Vec::new() }]
        );
    }

    #[test]
    fn a_record_gives_each_event_its_own_id_the_version_and_the_actor() {
        let at = Utc::now();
        let id = UserId::generate();
        let record = ChangeRecord::new(
            &Actor::System,
            at,
            vec![UserChange::PasswordChanged, UserChange::TokensRevoked],
        );
        let events = record.events(id, 7);
        assert_eq!(events.len(), 2);
        assert_ne!(events[0].id, events[1].id);
        assert!(events.iter().all(|e| e.version == 7
            && e.user_id == id
            && e.actor == "system"
            && e.occurred_at == at));
    }

    #[test]
    fn fields_and_ids_read_back_what_they_write() {
        for field in [
            UserField::Email,
            UserField::Name,
            UserField::Role,
            UserField::Status,
        ] {
            assert_eq!(field.as_str().parse::<UserField>(), Ok(field));
        }
        assert_eq!("password".parse::<UserField>(), Err(UnknownEvent));
        let id = EventId::generate();
        assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
    }
}
