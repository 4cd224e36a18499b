//! [`DieselRevocationStore`]: revoked tokens on either backend.

use anyhow::anyhow;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::{
    ChangeRecord, Session, Standing, Status, TokenId, TokenRevocation, UserId,
    ports::{RepositoryError, RevocationStore},
};

use crate::{
    cache::{Principal, listener::announce, token_payload, user_payload},
    connection::DbConnection,
    database::Database,
    instant::Stamp,
    outbox,
    schema::{revoked_tokens, token_revocations, users},
};

/// The `revoked_tokens` and `token_revocations` tables.
#[derive(Debug, Clone)]
pub struct DieselRevocationStore {
    database: Database,
}

impl DieselRevocationStore {
    pub fn new(database: Database) -> Self {
        Self { database }
    }
}

#[async_trait]
impl RevocationStore for DieselRevocationStore {
    async fn revoke_token(
        &self,
        token_id: TokenId,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepositoryError> {
        let (token_id, user_id) = (token_id.to_string(), user_id.to_string());
        let revoked = token_id.clone();
        let result = self
            .database
            .query("INSERT", "revoked_tokens", move |conn| {
                conn.transaction(|conn| {
                    conn.execute_natively(
                        diesel::insert_into(revoked_tokens::table)
                            .values((
                                revoked_tokens::token_id.eq(&token_id),
                                revoked_tokens::user_id.eq(user_id),
                                revoked_tokens::expires_at.eq(Stamp(expires_at)),
                            ))
                            .on_conflict_do_nothing(),
                    )?;
                    announce(conn, &token_payload(&token_id))
                })
            })
            .await;
        self.database.caches().token_revoked(&revoked);
        result
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        before: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        record: &ChangeRecord,
    ) -> Result<(), RepositoryError> {
        let id = user_id;
        let user_id = user_id.to_string();
        let record = record.clone();
        let revocation = TokenRevocation {
            before,
            until: expires_at,
        };
        let changed = user_id.clone();
        let result = self
            .database
            .query("UPSERT", "token_revocations", move |conn| {
                conn.transaction(|conn| {
                    // Written first: it locks the user's row (PostgreSQL) or the
                    // database (SQLite), so the version read is the one the events
                    // follow, and a concurrent change of the user waits.
                    let version = diesel::update(users::table.find(&user_id))
                        .set(users::version.eq(users::version))
                        .returning(users::version)
                        .get_result::<i64>(conn)
                        .optional()?;
                    revoke_all(conn, &user_id, revocation)?;
                    // A user deleted meanwhile has its deletion's event instead.
                    if let Some(version) = version {
                        outbox::record(conn, id, version, &record)?;
                    }
                    announce(conn, &user_payload(&user_id))
                })
            })
            .await;
        self.database.caches().user_changed(&changed);
        result
    }

    async fn is_revoked(&self, session: &Session) -> Result<bool, RepositoryError> {
        let token_id = session.token_id.to_string();
        let user_id = session.user_id.to_string();
        let issued_at = session.issued_at;
        self.database
            .query("SELECT", "revoked_tokens", move |conn| {
                let single =
                    diesel::select(diesel::dsl::exists(revoked_tokens::table.find(token_id)))
                        .get_result::<bool>(conn)?;
                if single {
                    return Ok(true);
                }
                diesel::select(diesel::dsl::exists(
                    token_revocations::table
                        .find(user_id)
                        .filter(token_revocations::revoked_before.ge(Stamp(issued_at))),
                ))
                .get_result::<bool>(conn)
            })
            .await
    }

    async fn standing(&self, session: &Session) -> Result<Standing, RepositoryError> {
        let token_id = session.token_id.to_string();
        let user_id = session.user_id.to_string();
        let caches = self.database.caches();
        if let Some((principal, revoked)) = caches.standing(&user_id, &token_id) {
            return Ok(stands(session, principal, revoked));
        }
        let fill = caches.begin_fill();
        let (user, token) = (user_id.clone(), token_id.clone());
        // One statement: the user's role and status, and both revocations.
        let found = self
            .database
            .query("SELECT", "users", move |conn| {
                users::table
                    .find(&user)
                    .select((
                        users::role,
                        users::status,
                        diesel::dsl::exists(revoked_tokens::table.find(token)),
                        token_revocations::table
                            .find(&user)
                            .select(token_revocations::revoked_before)
                            .single_value(),
                    ))
                    .first::<(String, String, bool, Option<DateTime<Utc>>)>(conn)
                    .optional()
            })
            .await?;
        let Some((role, status, revoked, revoked_before)) = found else {
            return Ok(Standing::Void);
        };
        let principal = Principal {
            role: role
                .parse()
                .map_err(|e| RepositoryError::Unexpected(anyhow!("stored role: {e}")))?,
            status: status
                .parse()
                .map_err(|e| RepositoryError::Unexpected(anyhow!("stored status: {e}")))?,
            revoked_before,
        };
        caches.fill_standing(fill, &user_id, principal, &token_id, revoked);
        Ok(stands(session, principal, revoked))
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, RepositoryError> {
        self.database
            .query("DELETE", "revoked_tokens", move |conn| {
                let tokens = diesel::delete(
                    revoked_tokens::table.filter(revoked_tokens::expires_at.lt(Stamp(now))),
                )
                .execute(conn)?;
                let users = diesel::delete(
                    token_revocations::table.filter(token_revocations::expires_at.lt(Stamp(now))),
                )
                .execute(conn)?;
                Ok::<_, diesel::result::Error>(tokens + users)
            })
            .await
    }
}

/// Where `session` stands given its user's standing and whether its token is revoked
/// alone.
fn stands(session: &Session, principal: Principal, revoked: bool) -> Standing {
    let revoked = revoked
        || principal
            .revoked_before
            .is_some_and(|before| before >= session.issued_at);
    if revoked || principal.status != Status::Active {
        Standing::Void
    } else {
        Standing::Current(principal.role)
    }
}

/// Revokes every token of `user_id` issued until `revocation.before`, never less nor
/// for less long than a revocation already stored, and ends the user's sessions. Run
/// inside a transaction.
pub(crate) fn revoke_all(
    conn: &mut DbConnection,
    user_id: &str,
    revocation: TokenRevocation,
) -> QueryResult<usize> {
    let TokenRevocation { before, until } = revocation;
    // Refresh tokens are tokens too: the user's sessions end with their access tokens.
    crate::sessions::end_all(conn, user_id, before)?;
    let current = token_revocations::table
        .find(user_id)
        .select((
            token_revocations::revoked_before,
            token_revocations::expires_at,
        ))
        .first::<(DateTime<Utc>, DateTime<Utc>)>(conn)
        .optional()?;
    match current {
        None => diesel::insert_into(token_revocations::table)
            .values((
                token_revocations::user_id.eq(user_id),
                token_revocations::revoked_before.eq(Stamp(before)),
                token_revocations::expires_at.eq(Stamp(until)),
            ))
            .execute(conn),
        Some((current, stored_until)) if current < before || stored_until < until => {
            diesel::update(token_revocations::table.find(user_id))
                .set((
                    token_revocations::revoked_before.eq(Stamp(current.max(before))),
                    token_revocations::expires_at.eq(Stamp(stored_until.max(until))),
                ))
                .execute(conn)
        }
        Some(_) => Ok(0),
    }
}
