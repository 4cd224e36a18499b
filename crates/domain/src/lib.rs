//! Roster's domain: the [`User`] entity, its value objects and events, and the
//! [ports](crate::ports) through which the application reaches the outside world.
//!
//! This crate depends on no framework, ORM, serialisation library or async runtime;
//! its `Cargo.toml` is where that rule is enforced. Adapters implement the ports,
//! use cases call them, and both sides meet only here.

pub mod access;
pub mod actor;
pub mod audit;
pub mod events;
pub mod import;
pub mod page;
pub mod ports;
pub mod sessions;
pub mod user;

pub use access::{
    AccessRequest, IssuedToken, Operation, Resource, Session, Standing, TokenHandle, TokenId,
    TokenRevocation,
};
pub use actor::Actor;
pub use audit::{
    AuditAction, AuditEntry, AuditFilter, AuditId, AuditIdError, AuditNote, AuditOutcome,
    AuditQuery, LoginAttempt, Principal, PrincipalError, Provenance, UnknownAuditAction,
};
pub use events::{ChangeRecord, EventId, UserChange, UserEvent, UserEventKind, UserField};
pub use import::{
    ImportBatch, ImportCounts, ImportedCredential, ImportedUpdate, ImportedUser, OnConflict,
    OnConflictError,
};
pub use page::{
    Cursor, CursorError, EmailDomain, EmailDomainError, EmailLookup, EmailLookupError,
    NameFragment, NameFragmentError, PageSize, PageSizeError, Sort, SortError, SortField, SortKey,
    UserFilter, UserQuery,
};
pub use sessions::{
    RefreshDigest, RefreshGrant, Refreshed, SessionEnd, SessionId, SessionPolicy, UserSession,
};
pub use user::{
    Email, EmailError, ExternalId, ExternalIdError, NewUser, Password, PasswordHash,
    PasswordHashError, PasswordPolicy, PasswordRejection, Role, RoleError, Status, StatusError,
    User, UserId, UserIdError, UserIdGenerator, UserName, UserNameError, UserPatch,
    UserReplacement,
};
