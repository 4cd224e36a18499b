//! [`DieselUserRepository`]: the users table on either backend.

use anyhow::Context as _;
use async_trait::async_trait;
use diesel::{
    OptionalExtension as _,
    prelude::*,
    result::{DatabaseErrorKind, Error as DieselError},
};
use roster_domain::{
    ChangeRecord, Email, LoginAttempt, PasswordHash, Role, Status, TokenRevocation, User,
    UserFilter, UserId, UserQuery,
    ports::{DeleteUserError, InsertUserError, RepositoryError, UpdateUserError, UserRepository},
};

mod filter;
mod row;
mod transfer;

use row::UserRow;

use crate::{
    audit,
    cache::{listener::announce, user_payload},
    connection::DbConnection,
    database::Database,
    errors::database_error,
    instant::Stamp,
    outbox, revocations,
    schema::{lower, users},
};

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

fn is_email_taken(error: &DieselError) -> bool {
    matches!(error, DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(EMAIL_UNIQUE_INDEX)
            || info.message().contains(EMAIL_UNIQUE_INDEX))
}

#[async_trait]
impl UserRepository for DieselUserRepository {
    async fn insert(&self, user: &User, record: &ChangeRecord) -> Result<(), InsertUserError> {
        let row = UserRow::from_domain(user)?;
        let record = record.clone();
        let (id, version) = (user.id, row.version);
        let result = self.database.run("INSERT", "users", move |conn| {
            conn.transaction(|conn| {
                diesel::insert_into(users::table)
                    .values((
                        users::id.eq(row.id),
                        users::email.eq(row.email),
                        users::name.eq(row.name),
                        users::role.eq(row.role),
                        users::status.eq(row.status),
                        users::created_at.eq(Stamp(row.created_at)),
                        users::updated_at.eq(Stamp(row.updated_at)),
                        users::version.eq(row.version),
                        users::password_hash.eq(row.password_hash),
                        users::password_changed_at.eq(row.password_changed_at.map(Stamp)),
                        users::last_login_at.eq(row.last_login_at.map(Stamp)),
                        users::email_domain.eq(row.email_domain),
                        users::external_id.eq(row.external_id),
                    ))
                    .execute(conn)?;
                outbox::record(conn, id, version, &record)
            })
        });
        match result.await? {
            Ok(()) => Ok(()),
            Err(e) if is_email_taken(&e) => Err(InsertUserError::EmailTaken),
            Err(e) => Err(database_error(e).into()),
        }
    }

    async fn find_recent(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        if let Some(user) = self.database.caches().user(&id.to_string()) {
            return Ok(Some(user));
        }
        self.find(id).await
    }

    /// Always the database; what it reads refreshes the cache.
    async fn find(&self, id: UserId) -> Result<Option<User>, RepositoryError> {
        let id = id.to_string();
        let caches = self.database.caches();
        let fill = caches.begin_fill();
        let row = self
            .database
            .query("SELECT", "users", move |conn| {
                users::table.find(id).first::<UserRow>(conn).optional()
            })
            .await?;
        let user = row.map(UserRow::into_domain).transpose()?;
        if let Some(user) = &user {
            caches.fill_user(fill, user);
        }
        Ok(user)
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, RepositoryError> {
        let email = email.as_str().to_lowercase();
        let row = self
            .database
            .query("SELECT", "users", move |conn| {
                users::table
                    .filter(lower(users::email).eq(email))
                    .first::<UserRow>(conn)
                    .optional()
            })
            .await?;
        row.map(UserRow::into_domain).transpose()
    }

    async fn has_users(&self) -> Result<bool, RepositoryError> {
        self.database
            .query("SELECT", "users", move |conn| {
                diesel::select(diesel::dsl::exists(users::table.select(users::id)))
                    .get_result::<bool>(conn)
            })
            .await
    }

    async fn record_login(
        &self,
        user_id: UserId,
        login: &LoginAttempt,
        rehashed: Option<PasswordHash>,
    ) -> Result<(), RepositoryError> {
        let id = user_id.to_string();
        let login = login.clone();
        let at = login.at;
        let rehashed = rehashed.map(|hash| hash.as_str().to_owned());
        let changed = id.clone();
        let result = self
            .database
            .query("UPDATE", "users", move |conn| {
                conn.transaction(|conn| {
                    let target = users::table.find(&id);
                    match rehashed {
                        Some(hash) => diesel::update(target)
                            .set((
                                users::last_login_at.eq(Some(Stamp(at))),
                                users::password_hash.eq(Some(hash)),
                            ))
                            .execute(conn)?,
                        None => diesel::update(target)
                            .set(users::last_login_at.eq(Some(Stamp(at))))
                            .execute(conn)?,
                    };
                    audit::record_login(conn, user_id, &login)?;
                    announce(conn, &user_payload(&id))
                })
            })
            .await;
        self.database.caches().user_changed(&changed);
        result
    }

    async fn list(&self, query: &UserQuery, limit: usize) -> Result<Vec<User>, RepositoryError> {
        let limit = i64::try_from(limit).context("page limit out of range")?;
        let query = query.clone();
        let rows = self
            .database
            .query("SELECT", "users", move |conn| {
                filter::page(&query)?.limit(limit).load::<UserRow>(conn)
            })
            .await?;
        rows.into_iter().map(UserRow::into_domain).collect()
    }

    async fn count(&self, filter: &UserFilter) -> Result<u64, RepositoryError> {
        let filter = filter.clone();
        let count = self
            .database
            .query("SELECT", "users", move |conn| {
                filter::filtered(&filter).count().get_result::<i64>(conn)
            })
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn update(
        &self,
        user: &User,
        revoke: Option<TokenRevocation>,
        record: &ChangeRecord,
    ) -> Result<User, UpdateUserError> {
        self.write(user, false, revoke, record).await
    }

    async fn update_keeping_an_admin(
        &self,
        user: &User,
        revoke: Option<TokenRevocation>,
        record: &ChangeRecord,
    ) -> Result<User, UpdateUserError> {
        self.write(user, true, revoke, record).await
    }

    async fn delete(
        &self,
        id: UserId,
        accepted_versions: Option<Vec<u64>>,
        revoke: TokenRevocation,
        record: &ChangeRecord,
    ) -> Result<(), DeleteUserError> {
        let user_id = id;
        let id = id.to_string();
        let record = record.clone();
        // Versions beyond i64 cannot be stored, so they match nothing.
        let accepted: Option<Vec<i64>> = accepted_versions.map(|versions| {
            versions
                .into_iter()
                .filter_map(|v| i64::try_from(v).ok())
                .collect()
        });
        // Deleted (never the last active administrator), or else why not, in one
        // transaction.
        let changed = id.clone();
        let outcome = self
            .database
            .run("DELETE", "users", move |conn| {
                conn.transaction::<_, Abort<DeleteUserError>, _>(|conn| {
                    let deleted: Vec<(String, String, i64)> = match &accepted {
                        None => diesel::delete(users::table.find(&id))
                            .returning((users::role, users::status, users::version))
                            .get_results(conn)?,
                        Some(versions) => diesel::delete(
                            users::table
                                .find(&id)
                                .filter(users::version.eq_any(versions)),
                        )
                        .returning((users::role, users::status, users::version))
                        .get_results(conn)?,
                    };
                    let was_active_admin = deleted.iter().any(|(role, status, _)| {
                        role == Role::Admin.as_str() && status == Status::Active.as_str()
                    });
                    if was_active_admin && !an_admin_remains(conn)? {
                        return Err(Abort::Refused(DeleteUserError::LastAdmin));
                    }
                    if let Some((_, _, version)) = deleted.first() {
                        revocations::revoke_all(conn, &id, revoke)?;
                        outbox::record(conn, user_id, *version, &record)?;
                        announce(conn, &user_payload(&id))?;
                        return Ok(());
                    }
                    let found = users::table
                        .find(&id)
                        .select(users::version)
                        .first::<i64>(conn)
                        .optional()?;
                    Err(Abort::Refused(found.map_or(
                        DeleteUserError::NotFound,
                        |current| DeleteUserError::VersionConflict {
                            current: u64::try_from(current).unwrap_or_default(),
                        },
                    )))
                })
            })
            .await;
        self.database.caches().user_changed(&changed);
        let outcome = outcome?;
        match outcome {
            Ok(()) => Ok(()),
            Err(Abort::Refused(e)) => Err(e),
            Err(Abort::Database(e)) => Err(DeleteUserError::Repository(database_error(e))),
        }
    }
}

/// Why a write's transaction ended without committing: the database failed, or the
/// write was refused (and rolled back).
enum Abort<E> {
    Database(DieselError),
    Refused(E),
}

impl<E> From<DieselError> for Abort<E> {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

/// Key of the PostgreSQL advisory lock that serialises changes to who is an active
/// administrator. (The bytes of "roster" and a 2.)
const ADMINS_LOCK_KEY: i64 = 0x726f_7374_6572_0002;

/// Whether an active administrator remains, once this transaction's own write is made.
///
/// The caller has written first, so on SQLite it holds the database's write lock and
/// reads the latest state. On PostgreSQL (read committed) two transactions could each
/// see the other's administrator as still active: the advisory lock makes the second
/// wait for the first to commit, and its query then sees that commit.
fn an_admin_remains(conn: &mut DbConnection) -> QueryResult<bool> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(ADMINS_LOCK_KEY)
            .execute(pg)?;
    }
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::status.eq(Status::Active.as_str())),
    ))
    .get_result(conn)
}

/// Stores `row` over the stored user with its id if the stored version is still
/// `row.version`, with the version one higher: the stored row, or `None` when the user
/// is gone or changed.
fn store_if_version(conn: &mut DbConnection, row: &UserRow) -> QueryResult<Option<UserRow>> {
    diesel::update(
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
        users::updated_at.eq(Stamp(row.updated_at)),
        users::version.eq(users::version + 1),
        users::password_hash.eq(&row.password_hash),
        users::password_changed_at.eq(row.password_changed_at.map(Stamp)),
        users::external_id.eq(&row.external_id),
    ))
    .get_result::<UserRow>(conn)
    .optional()
}

impl DieselUserRepository {
    /// [`UserRepository::update`], and with `keep_an_admin` the check that an active
    /// administrator remains, in the same transaction.
    async fn write(
        &self,
        user: &User,
        keep_an_admin: bool,
        revoke: Option<TokenRevocation>,
        record: &ChangeRecord,
    ) -> Result<User, UpdateUserError> {
        let user_id = user.id;
        let row = UserRow::from_domain(user)?;
        let record = record.clone();
        let changed = row.id.clone();
        let result = self.database.run("UPDATE", "users", move |conn| {
            conn.transaction::<_, Abort<UpdateUserError>, _>(|conn| {
                let updated = store_if_version(conn, &row)?;
                if let Some(stored) = updated {
                    if keep_an_admin && !an_admin_remains(conn)? {
                        return Err(Abort::Refused(UpdateUserError::LastAdmin));
                    }
                    if let Some(revoke) = revoke {
                        revocations::revoke_all(conn, &row.id, revoke)?;
                    }
                    outbox::record(conn, user_id, stored.version, &record)?;
                    announce(conn, &user_payload(&row.id))?;
                    return Ok(stored);
                }
                // Nothing matched: tell a missing user from a changed one.
                let exists = diesel::select(diesel::dsl::exists(users::table.find(&row.id)))
                    .get_result::<bool>(conn)?;
                Err(Abort::Refused(if exists {
                    UpdateUserError::VersionConflict
                } else {
                    UpdateUserError::NotFound
                }))
            })
        });
        let result = result.await;
        // Whatever the outcome: a refused write may have been based on a stale read.
        self.database.caches().user_changed(&changed);
        match result? {
            Ok(stored) => Ok(stored.into_domain()?),
            Err(Abort::Refused(e)) => Err(e),
            Err(Abort::Database(e)) if is_email_taken(&e) => Err(UpdateUserError::EmailTaken),
            Err(Abort::Database(e)) => Err(database_error(e).into()),
        }
    }
}
