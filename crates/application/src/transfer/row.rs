//! [`RawUser`]: a row as an import file gives it, and its validation into an
//! [`ImportedUser`] by the domain's value objects.

use chrono::{DateTime, SubsecRound as _, Utc};
use roster_domain::{
    Email, EmailError, ExternalId, ImportedCredential, ImportedUser, Password, PasswordHash,
    PasswordPolicy, Role, Status, UserId, UserName, UserNameError, ports::PasswordHasher,
};

/// A row of an import as read, every field text: the file adapters fill it, and
/// [`RawUser::parse`] judges it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawUser {
    /// Where the row was in its input (1-based).
    pub line: u64,
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<String>,
    pub status: Option<String>,
    /// The user's id in the system the row comes from.
    pub external_id: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    pub password: Option<String>,
    /// PHC or modular-crypt form.
    pub password_hash: Option<String>,
}

/// Why a row is invalid: the field and the rule it breaks, and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The field, or `row` when the row itself cannot be read.
    pub field: String,
    pub rule: &'static str,
    pub message: String,
}

impl RowError {
    pub fn new(field: impl Into<String>, rule: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.rule)
    }
}

fn required<'a>(value: Option<&'a String>, field: &str) -> Result<&'a str, RowError> {
    value
        .map(String::as_str)
        .filter(|text| !text.is_empty())
        .ok_or_else(|| RowError::new(field, "required", "is required"))
}

impl RawUser {
    /// The row as value objects, or the first rule it breaks. A password must meet
    /// the policy; a hash must be one `hasher` verifies at a bounded cost.
    pub(super) fn parse(
        &self,
        policy: PasswordPolicy,
        hasher: &dyn PasswordHasher,
        now: DateTime<Utc>,
    ) -> Result<ImportedUser, RowError> {
        let id = self
            .id
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(UserId::parse)
            .transpose()
            .map_err(|e| RowError::new("id", "ulid", e.to_string()))?;
        let email = Email::parse(required(self.email.as_ref(), "email")?)
            .map_err(|e| RowError::new("email", email_rule(&e), e.to_string()))?;
        let name = UserName::parse(required(self.name.as_ref(), "name")?)
            .map_err(|e| RowError::new("name", name_rule(&e), e.to_string()))?;
        let role = match self.role.as_deref() {
            None | Some("") => Role::default(),
            Some(text) => text.parse().map_err(|e: roster_domain::RoleError| {
                RowError::new("role", "enum", e.to_string())
            })?,
        };
        let status = match self.status.as_deref() {
            None | Some("") => Status::default(),
            Some(text) => text.parse().map_err(|e: roster_domain::StatusError| {
                RowError::new("status", "enum", e.to_string())
            })?,
        };
        let external_id = self
            .external_id
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(ExternalId::parse)
            .transpose()
            .map_err(|e| RowError::new("external_id", e.rule(), e.to_string()))?;
        let created_at = self
            .created_at
            .as_deref()
            .filter(|text| !text.is_empty())
            .map(|text| created_at(text, now))
            .transpose()?;
        let credential = self.credential(policy, hasher, &email)?;
        Ok(ImportedUser {
            line: self.line,
            id,
            email,
            name,
            role,
            status,
            external_id,
            created_at,
            credential,
        })
    }

    /// The row's password (which must meet the policy) or hash (which `hasher` must
    /// accept), if any; never both.
    fn credential(
        &self,
        policy: PasswordPolicy,
        hasher: &dyn PasswordHasher,
        email: &Email,
    ) -> Result<Option<ImportedCredential>, RowError> {
        Ok(
            match (
                self.password.as_deref().filter(|t| !t.is_empty()),
                self.password_hash.as_deref().filter(|t| !t.is_empty()),
            ) {
                (Some(_), Some(_)) => {
                    return Err(RowError::new(
                        "password",
                        "one_credential",
                        "give a password or a password_hash, not both",
                    ));
                }
                (Some(text), None) => {
                    let password = Password::new(text);
                    policy
                        .check(&password, email)
                        .map_err(|e| RowError::new("password", e.rule(), e.to_string()))?;
                    Some(ImportedCredential::Password(password))
                }
                (None, Some(text)) => {
                    let hash = PasswordHash::from_phc(text).map_err(|e| {
                        RowError::new("password_hash", "hash_format", e.to_string())
                    })?;
                    hasher
                        .accepts(&hash)
                        .map_err(|e| RowError::new("password_hash", e.rule(), e.to_string()))?;
                    Some(ImportedCredential::Hash(hash))
                }
                (None, None) => None,
            },
        )
    }
}

fn email_rule(error: &EmailError) -> &'static str {
    match error {
        EmailError::Empty => "required",
        EmailError::TooLong => "max_length",
        EmailError::Invalid(_) => "email_syntax",
    }
}

fn name_rule(error: &UserNameError) -> &'static str {
    match error {
        UserNameError::Empty => "required",
        UserNameError::TooLong => "max_length",
        UserNameError::ControlCharacter => "no_control_characters",
    }
}

/// An RFC 3339 time not in the future, to the microsecond (what every store keeps).
fn created_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, RowError> {
    let at = DateTime::parse_from_rfc3339(text)
        .map_err(|e| {
            RowError::new(
                "created_at",
                "rfc3339",
                format!("is not an RFC 3339 time: {e}"),
            )
        })?
        .with_timezone(&Utc)
        .trunc_subsecs(6);
    if at > now {
        return Err(RowError::new(
            "created_at",
            "not_future",
            "is in the future",
        ));
    }
    Ok(at)
}

/// What names the user of a row: its e-mail address (folded), and its id and external
/// id if given.
/// Two rows of one batch sharing a key are written one after the other.
pub(super) fn keys(user: &ImportedUser) -> Vec<String> {
    let mut keys = vec![format!("email:{}", user.email.as_str().to_lowercase())];
    if let Some(id) = user.id {
        keys.push(format!("id:{id}"));
    }
    if let Some(external) = &user.external_id {
        keys.push(format!("external:{external}"));
    }
    keys
}
