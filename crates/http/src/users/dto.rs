//! The users' request and response bodies, separate from the domain types: requests
//! turn into them with `try_into_domain`, responses are built from them.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use roster_domain::{Email, NewUser, Password, Role, Status, User, UserName, UserReplacement};
use serde::{Deserialize, Serialize};
use utoipa::{
    ToSchema,
    openapi::schema::{Object, ObjectBuilder, Type},
};

use crate::{
    components::{RoleName, StatusName},
    error::{ApiError, FieldErrors},
};

/// A name as a request carries it: [`UserName`]'s rules, stated once for every request
/// body. At most 100 characters as sent, no control character anywhere, and one that
/// is neither a control character nor white space (which is trimmed).
fn name_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(UserName::MAX_CHARS))
        .pattern(Some(name_pattern()))
        .build()
}

/// The pattern of [`name_schema`], with every class spelled out as code points: engines
/// disagree on what `\s` means.
fn name_pattern() -> String {
    const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
    let space = UserName::SPACE_CHARACTERS
        .chars()
        .fold(String::new(), |mut class, c| {
            let _ = write!(class, "\\u{:04x}", u32::from(c));
            class
        });
    format!("^[^{CONTROL}]*[^{CONTROL}{space}][^{CONTROL}]*$")
}

/// [`name_schema`] with an example, for the body that creates a user.
fn new_name_schema() -> Object {
    let schema = name_schema();
    #[expect(
        deprecated,
        reason = "the published description carries `example`; `examples` would change it"
    )]
    let with_example = ObjectBuilder::from(schema).example(Some("Ada Lovelace".into()));
    with_example.build()
}

/// An e-mail address as a request carries it: [`Email`]'s pattern and length, as they
/// are. No `format`: validators disagree on what `email` means, and the pattern says
/// exactly what is accepted (surrounding white space included, which is trimmed).
fn email_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(Email::MAX_LEN))
        .pattern(Some(Email::pattern()))
}

/// [`email_schema`] for replace and patch.
fn changed_email_schema() -> Object {
    email_schema().build()
}

/// [`email_schema`] with a description and an example, for the body that creates a user.
fn new_email_schema() -> Object {
    #[expect(
        deprecated,
        reason = "the published description carries `example`, as the other bodies do"
    )]
    let with_example = email_schema()
        .description(Some("Unique, compared ignoring case."))
        .example(Some("ada@example.com".into()));
    with_example.build()
}

/// A new user. Role and status default to `member` and `active`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    #[schema(schema_with = new_email_schema)]
    email: String,
    #[schema(schema_with = new_name_schema)]
    name: String,
    #[schema(min_length = 8, max_length = 128, write_only)]
    password: String,
    #[schema(value_type = Option<RoleName>)]
    role: Option<String>,
    #[schema(value_type = Option<StatusName>)]
    status: Option<String>,
}

impl CreateUserRequest {
    pub(crate) fn try_into_domain(self) -> Result<NewUser, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&self.email));
        let name = errors.check("name", UserName::parse(&self.name));
        let role = errors.check(
            "role",
            self.role.as_deref().map_or(Ok(Role::default()), str::parse),
        );
        let status = errors.check(
            "status",
            self.status
                .as_deref()
                .map_or(Ok(Status::default()), str::parse),
        );
        match (email, name, role, status) {
            (Some(email), Some(name), Some(role), Some(status)) => Ok(NewUser {
                email,
                name,
                role,
                status,
                password: Password::new(self.password),
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// A user's replaceable fields, all required (`PUT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceUserRequest {
    #[schema(schema_with = changed_email_schema)]
    email: String,
    #[schema(schema_with = name_schema)]
    name: String,
    #[schema(value_type = RoleName)]
    role: String,
    #[schema(value_type = StatusName)]
    status: String,
}

impl ReplaceUserRequest {
    pub(crate) fn try_into_domain(self) -> Result<UserReplacement, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&self.email));
        let name = errors.check("name", UserName::parse(&self.name));
        let role = errors.check("role", self.role.parse::<Role>());
        let status = errors.check("status", self.status.parse::<Status>());
        match (email, name, role, status) {
            (Some(email), Some(name), Some(role), Some(status)) => Ok(UserReplacement {
                email,
                name,
                role,
                status,
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// A JSON merge patch of a user (`PATCH`): the members given change, the others stay.
/// None may be `null`: no field can be removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[expect(
    dead_code,
    reason = "describes the PATCH body, which is parsed by hand"
)]
pub(crate) struct UserMergePatch {
    #[serde(default)]
    #[schema(schema_with = changed_email_schema)]
    email: String,
    #[serde(default)]
    #[schema(schema_with = name_schema)]
    name: String,
    #[serde(default)]
    #[schema(value_type = RoleName)]
    role: String,
    #[serde(default)]
    #[schema(value_type = StatusName)]
    status: String,
}

/// A new password. `current_password` is required unless an administrator sets
/// another user's password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordRequest {
    #[schema(write_only)]
    pub(crate) current_password: Option<String>,
    #[schema(min_length = 8, max_length = 128, write_only)]
    pub(crate) new_password: String,
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserResponse {
    /// A ULID: 26 characters, sortable by creation time.
    #[schema(
        pattern = "^[0-7][0-9A-HJKMNP-TV-Z]{25}$",
        example = "01JD4ZK3M2Q8V6W1T9X5Y7B0CE"
    )]
    id: String,
    /// As the request bodies' pattern accepts it, trimmed, its domain in lower case.
    /// No `format`: `email` refuses the RFC 6531 local parts accepted here, and
    /// `idn-email` a local part longer than 64 characters, which the pattern (having no
    /// look-ahead, so that every engine reads it alike) cannot bound.
    email: String,
    name: String,
    #[schema(value_type = RoleName)]
    role: &'static str,
    #[schema(value_type = StatusName)]
    status: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// 1 on creation, one more with every change; the `ETag` is `"{id}.{version}"`.
    #[schema(minimum = 1)]
    version: u64,
    /// The user's id in the system they were imported from (see `POST /users/import`);
    /// absent when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 255)]
    external_id: Option<String>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            role: user.role.as_str(),
            status: user.status.as_str(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            version: user.version,
            external_id: user.external_id.map(|id| id.as_str().to_owned()),
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserList)]
pub(crate) struct UserListResponse {
    pub(crate) items: Vec<UserResponse>,
    pub(crate) next_cursor: Option<String>,
    /// Only with `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) total: Option<u64>,
}
