//! [`DieselUserRepository`]: the users table on either backend.

use anyhow::{Context as _, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{
    OptionalExtension as _,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
};
use roster_domain::{
    Email, PasswordHash, SortField, SortKey, User, UserFilter, UserId, UserName, UserQuery,
    ports::{DeleteUserError, InsertUserError, RepositoryError, UpdateUserError, UserRepository},
};

use crate::database::{Database, database_error, on_connection};

diesel::define_sql_function! {
    /// SQL's `lower`, as in the unique index `users_email_unique`, which it lets
    /// look-ups by e-mail use.
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The users that pass a [`UserFilter`], as a boxed query of the dialect in scope
/// (expand it inside `on_connection!`).
macro_rules! filtered {
    ($filter:expr) => {{
        let filter = &$filter;
        let mut select = users::table.into_boxed();
        if let Some(email) = &filter.email {
            select = select.filter(lower(users::email).eq(email.as_str()));
        }
        if let Some(domain) = &filter.email_domain {
            select = select.filter(users::email_domain.eq(domain.as_str()));
        }
        if let Some(text) = &filter.name_contains {
            select = select.filter(
                lower(users::name)
                    .like(lower(like_pattern(text.as_str())))
                    .escape('\\'),
            );
        }
        if let Some(role) = filter.role {
            select = select.filter(users::role.eq(role.as_str()));
        }
        if let Some(status) = filter.status {
            select = select.filter(users::status.eq(status.as_str()));
        }
        if let Some(after) = filter.created_after {
            select = select.filter(users::created_at.gt(after));
        }
        if let Some(before) = filter.created_before {
            select = select.filter(users::created_at.lt(before));
        }
        select
    }};
}

/// `%text%` for LIKE, with LIKE's own characters escaped (by `\`).
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The unique index behind "e-mail taken", in both dialects' migrations.
const EMAIL_UNIQUE_INDEX: &str = "users_email_unique";

/// The users table on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct DieselUserRepository {
    database: Database,
}

impl DieselUserRepository {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

/// A row as stored: text and integers, mapped to domain types by [`UserRow::into_domain`].
#[derive(Queryable)]
struct UserRow {
    id: String,
    email: String,
    name: String,
    role: String,
    status: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
    password_hash: Option<String>,
    password_changed_at: Option<DateTime<Utc>>,
    last_login_at: Option<DateTime<Utc>>,
    /// Derived from `email`, for the domain filter; written with it.
    email_domain: String,
}

impl UserRow {
    fn from_domain(user: &User) -> Result<Self, RepositoryError> {
        Ok(Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            role: user.role.as_str().to_owned(),
            status: user.status.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            version: i64::try_from(user.version).context("user version out of range")?,
            password_hash: user
                .password_hash
                .as_ref()
                .map(|hash| hash.as_str().to_owned()),
            password_changed_at: user.password_changed_at,
            last_login_at: user.last_login_at,
            email_domain: user.email.domain().to_owned(),
        })
    }

    /// Stored data is re-parsed: a row that no longer satisfies the domain's rules is
    /// reported, never passed on.
    fn into_domain(self) -> Result<User, RepositoryError> {
        let invalid = |field: &str, error: &dyn std::fmt::Display| {
            RepositoryError::Unexpected(anyhow!(
                "stored user {} has an invalid {field}: {error}",
                self.id
            ))
        };
        Ok(User {
            id: UserId::parse(&self.id).map_err(|e| invalid("id", &e))?,
            email: Email::parse(&self.email).map_err(|e| invalid("email", &e))?,
            name: UserName::parse(&self.name).map_err(|e| invalid("name", &e))?,
            role: self.role.parse().map_err(|e| invalid("role", &e))?,
            status: self.status.parse().map_err(|e| invalid("status", &e))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: u64::try_from(self.version).map_err(|e| invalid("version", &e))?,
            password_hash: self
                .password_hash
                .map(PasswordHash::from_phc)
                .transpose()
                .map_err(|e| invalid("password_hash", &e))?,
            password_changed_at: self.password_changed_at,
            last_login_at: self.last_login_at,
        })
    }
}

fn is_email_taken(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(EMAIL_UNIQUE_INDEX)
            || info.message().contains(EMAIL_UNIQUE_INDEX))
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        let row = UserRow::from_domain(user)?;
        let result = on_connection!(&self.database, "INSERT", "users", |conn| {
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(row.id),
                    users::email.eq(row.email),
                    users::name.eq(row.name),
                    users::role.eq(row.role),
                    users::status.eq(row.status),
                    users::created_at.eq(row.created_at),
                    users::updated_at.eq(row.updated_at),
                    users::version.eq(row.version),
                    users::password_hash.eq(row.password_hash),
                    users::password_changed_at.eq(row.password_changed_at),
                    users::last_login_at.eq(row.last_login_at),
                    users::email_domain.eq(row.email_domain),
                ))
                .execute(conn)
        });
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_email_taken(&e) => Err(InsertUserError::EmailTaken),
            Err(e) => Err(database_error(e).into()),
        }
    }

    async fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        let id = id.to_string();
        let row = on_connection!(&self.database, "SELECT", "users", |conn| {
            users::table.find(id).first::<UserRow>(conn).optional()
        })
        .map_err(database_error)?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        let email = email.as_str().to_lowercase();
        let row = on_connection!(&self.database, "SELECT", "users", |conn| {
            users::table
                .filter(lower(users::email).eq(email))
                .first::<UserRow>(conn)
                .optional()
        })
        .map_err(database_error)?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn has_users(&self) -> Result<bool, RepositoryError> {
        on_connection!(&self.database, "SELECT", "users", |conn| {
            diesel::select(diesel::dsl::exists(users::table.select(users::id)))
                .get_result::<bool>(conn)
        })
        .map_err(database_error)
    }

    async fn record_login(
        &self,
        id: UserId,
        at: DateTime<Utc>,
        rehashed: Option<PasswordHash>,
    ) -> Result<(), RepositoryError> {
        let id = id.to_string();
        let rehashed = rehashed.map(|hash| hash.as_str().to_owned());
        on_connection!(&self.database, "UPDATE", "users", |conn| {
            let target = users::table.find(id);
            match rehashed {
                Some(hash) => diesel::update(target)
                    .set((
                        users::last_login_at.eq(Some(at)),
                        users::password_hash.eq(Some(hash)),
                    ))
                    .execute(conn),
                None => diesel::update(target)
                    .set(users::last_login_at.eq(Some(at)))
                    .execute(conn),
            }
        })
        .map_err(database_error)?;
        Ok(())
    }

    async fn list(&self, query: &UserQuery, limit: usize) -> Result<Vec<User>, RepositoryError> {
        let limit = i64::try_from(limit).context("page limit out of range")?;
        let query = query.clone();
        let rows = on_connection!(&self.database, "SELECT", "users", |conn| {
            let mut select = filtered!(query.filter);
            if let Some(after) = &query.after {
                // Row values: (key, id) > (cursor key, cursor id), which an index on
                // (key, id) answers with one range scan, in either direction.
                let fragment = |column: &str| {
                    let operator = if query.sort.descending { "<" } else { ">" };
                    diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                        "({column}, id) {operator} ("
                    ))
                };
                let id = after.id().to_string();
                match (after.key(), query.sort.field) {
                    (SortKey::Instant(at), SortField::CreatedAt) => {
                        select = select.filter(
                            fragment("created_at")
                                .bind::<Instant, _>(*at)
                                .sql(", ")
                                .bind::<diesel::sql_types::Text, _>(id)
                                .sql(")"),
                        );
                    }
                    (SortKey::Text(text), SortField::Email | SortField::Name) => {
                        let column = if query.sort.field == SortField::Email {
                            "email"
                        } else {
                            "name"
                        };
                        select = select.filter(
                            fragment(column)
                                .bind::<diesel::sql_types::Text, _>(text.clone())
                                .sql(", ")
                                .bind::<diesel::sql_types::Text, _>(id)
                                .sql(")"),
                        );
                    }
                    _ => {
                        return Err(DieselError::QueryBuilderError(
                            "the cursor's key does not fit its sort field".into(),
                        ));
                    }
                }
            }
            select = match (query.sort.field, query.sort.descending) {
                (SortField::CreatedAt, false) => {
                    select.order((users::created_at.asc(), users::id.asc()))
                }
                (SortField::CreatedAt, true) => {
                    select.order((users::created_at.desc(), users::id.desc()))
                }
                (SortField::Email, false) => select.order((users::email.asc(), users::id.asc())),
                (SortField::Email, true) => select.order((users::email.desc(), users::id.desc())),
                (SortField::Name, false) => select.order((users::name.asc(), users::id.asc())),
                (SortField::Name, true) => select.order((users::name.desc(), users::id.desc())),
            };
            select.limit(limit).load::<UserRow>(conn)
        })
        .map_err(database_error)?;
        rows.into_iter().map(UserRow::into_domain).collect()
    }

    async fn count(&self, filter: &UserFilter) -> Result<u64, RepositoryError> {
        let filter = filter.clone();
        let count = on_connection!(&self.database, "SELECT", "users", |conn| {
            filtered!(filter).count().get_result::<i64>(conn)
        })
        .map_err(database_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn update(&self, user: &User) -> Result<User, UpdateUserError> {
        let row = UserRow::from_domain(user)?;
        let result = on_connection!(&self.database, "UPDATE", "users", |conn| {
            conn.transaction(|conn| {
                let updated = diesel::update(
                    users::table
                        .filter(users::id.eq(&row.id))
                        .filter(users::version.eq(row.version)),
                )
                .set((
                    users::email.eq(&row.email),
                    users::email_domain.eq(&row.email_domain),
                    users::name.eq(&row.name),
                    users::role.eq(&row.role),
                    users::status.eq(&row.status),
                    users::updated_at.eq(row.updated_at),
                    users::version.eq(users::version + 1),
                    users::password_hash.eq(&row.password_hash),
                    users::password_changed_at.eq(row.password_changed_at),
                ))
                .get_result::<UserRow>(conn)
                .optional()?;
                if let Some(stored) = updated {
                    return Ok(Ok(stored));
                }
                // Nothing matched: tell a missing user from a changed one.
                let exists = diesel::select(diesel::dsl::exists(users::table.find(&row.id)))
                    .get_result::<bool>(conn)?;
                Ok(Err(if exists {
                    UpdateUserError::VersionConflict
                } else {
                    UpdateUserError::NotFound
                }))
            })
        });
        match result {
            Ok(Ok(stored)) => Ok(stored.into_domain()?),
            Ok(Err(e)) => Err(e),
            Err(e) if is_email_taken(&e) => Err(UpdateUserError::EmailTaken),
            Err(e) => Err(database_error(e).into()),
        }
    }

    async fn delete(
        &self,
        id: UserId,
        accepted_versions: Option<Vec<u64>>,
    ) -> Result<(), DeleteUserError> {
        let id = id.to_string();
        // Versions beyond i64 cannot be stored, so they match nothing.
        let accepted: Option<Vec<i64>> = accepted_versions.map(|versions| {
            versions
                .into_iter()
                .filter_map(|v| i64::try_from(v).ok())
                .collect()
        });
        // Deleted, or else the version found (None: no such user), in one transaction.
        let outcome = on_connection!(&self.database, "DELETE", "users", |conn| {
            conn.transaction(|conn| {
                let deleted = match &accepted {
                    None => diesel::delete(users::table.find(&id)).execute(conn)?,
                    Some(versions) => diesel::delete(
                        users::table
                            .find(&id)
                            .filter(users::version.eq_any(versions)),
                    )
                    .execute(conn)?,
                };
                if deleted > 0 {
                    return Ok::<_, DieselError>(Ok(()));
                }
                let found = users::table
                    .find(&id)
                    .select(users::version)
                    .first::<i64>(conn)
                    .optional()?;
                Ok(Err(found))
            })
        })
        .map_err(database_error)?;
        match outcome {
            Ok(()) => Ok(()),
            Err(None) => Err(DeleteUserError::NotFound),
            Err(Some(current)) => Err(DeleteUserError::VersionConflict {
                current: u64::try_from(current).unwrap_or_default(),
            }),
        }
    }
}
