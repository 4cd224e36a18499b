//! [`DieselSessionStore`]: login sessions and their refresh tokens on either backend.
//!
//! Every write starts with a write, so that it holds its locks before it reads: on
//! SQLite the database's write lock (a read first would make a later write fail with
//! `SQLITE_BUSY` instead of waiting), on PostgreSQL the session's row, which is how
//! two instances refreshing one session at once are put in order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::{
    AuditNote, RefreshDigest, RefreshGrant, Refreshed, SessionEnd, SessionId, TokenId, UserId,
    UserSession,
    ports::{RepositoryError, SessionStore},
};

use crate::{
    audit::record_session_end,
    database::Database,
    instant::Stamp,
    schema::{refresh_tokens, sessions},
};

mod ending;
mod refresh;
mod rows;

pub(crate) use ending::end_all;
use ending::{end_sessions, insert_grant, revoke_access_tokens};
use refresh::{Failure, refresh};
use rows::SessionRow;

/// The `sessions` and `refresh_tokens` tables.
#[derive(Debug, Clone)]
pub struct DieselSessionStore {
    database: Database,
}

impl DieselSessionStore {
    pub fn new(database: Database) -> Self {
        Self { database }
    }

    /// Forgets the cached standing of access tokens revoked by a committed change.
    fn forget(&self, revoked: &[String]) {
        for token in revoked {
            self.database.caches().token_revoked(token);
        }
    }
}

#[async_trait]
impl SessionStore for DieselSessionStore {
    async fn start(
        &self,
        session: &UserSession,
        first: &RefreshGrant,
        max_per_user: usize,
    ) -> Result<(), RepositoryError> {
        let session = session.clone();
        let first = first.clone();
        let keep = i64::try_from(max_per_user).unwrap_or(i64::MAX);
        let revoked = self
            .database
            .query("INSERT", "sessions", move |conn| {
                conn.transaction(|conn| {
                    let (id, user_id) = (session.id.to_string(), session.user_id.to_string());
                    diesel::insert_into(sessions::table)
                        .values((
                            sessions::id.eq(&id),
                            sessions::user_id.eq(&user_id),
                            sessions::created_at.eq(Stamp(session.created_at)),
                            sessions::last_used_at.eq(Stamp(session.last_used_at)),
                            sessions::expires_at.eq(Stamp(session.expires_at)),
                            sessions::client_address.eq(session.client_address.to_string()),
                            sessions::user_agent.eq(&session.user_agent),
                        ))
                        .execute(conn)?;
                    insert_grant(conn, &first, &id)?;
                    // Beyond the cap, the oldest go.
                    let surplus: Vec<String> = sessions::table
                        .filter(sessions::user_id.eq(&user_id))
                        .filter(sessions::ended_at.is_null())
                        .order((sessions::created_at.desc(), sessions::id.desc()))
                        .offset(keep)
                        .select(sessions::id)
                        .load(conn)?;
                    end_sessions(
                        conn,
                        &user_id,
                        &surplus,
                        SessionEnd::Superseded,
                        session.created_at,
                    )
                })
            })
            .await?;
        self.forget(&revoked);
        Ok(())
    }

    async fn refresh(
        &self,
        presented: &RefreshDigest,
        next: &RefreshGrant,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
        from: &AuditNote,
    ) -> Result<Refreshed, RepositoryError> {
        let presented = presented.as_str().to_owned();
        let next = next.clone();
        let from = from.clone();
        let (outcome, revoked) = self
            .database
            .run("UPDATE", "sessions", move |conn| {
                conn.transaction(|conn| refresh(conn, &presented, &next, (now, idle_cutoff), &from))
            })
            .await?
            .map_err(|error| match error {
                Failure::Database(e) => crate::errors::database_error(e),
                Failure::Corrupt(e) => e,
            })?;
        self.forget(&revoked);
        Ok(outcome)
    }

    async fn list(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
        idle_cutoff: DateTime<Utc>,
    ) -> Result<Vec<UserSession>, RepositoryError> {
        let user_id = user_id.to_string();
        let rows = self
            .database
            .query("SELECT", "sessions", move |conn| {
                sessions::table
                    .filter(sessions::user_id.eq(&user_id))
                    .filter(sessions::ended_at.is_null())
                    .filter(sessions::expires_at.gt(Stamp(now)))
                    .filter(sessions::last_used_at.gt(Stamp(idle_cutoff)))
                    .order((sessions::created_at.desc(), sessions::id.desc()))
                    .select(sessions::all_columns)
                    .load::<SessionRow>(conn)
            })
            .await?;
        rows.into_iter().map(SessionRow::into_domain).collect()
    }

    async fn end(
        &self,
        user_id: UserId,
        session: SessionId,
        reason: SessionEnd,
        now: DateTime<Utc>,
        by: &AuditNote,
    ) -> Result<bool, RepositoryError> {
        let (user, by) = (user_id, by.clone());
        let (user_id, session) = (user_id.to_string(), session.to_string());
        let (ended, revoked) = self
            .database
            .query("UPDATE", "sessions", move |conn| {
                conn.transaction(|conn| {
                    let ended = diesel::update(
                        sessions::table
                            .find(&session)
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::ended_at.is_null())
                            .filter(sessions::expires_at.gt(Stamp(now))),
                    )
                    .set((
                        sessions::ended_at.eq(Stamp(now)),
                        sessions::end_reason.eq(reason.as_str()),
                    ))
                    .execute(conn)?;
                    let revoked = if ended == 0 {
                        Vec::new()
                    } else {
                        record_session_end(conn, user, reason, &by, now)?;
                        revoke_access_tokens(conn, &user_id, &[session], now)?
                    };
                    Ok::<_, diesel::result::Error>((ended > 0, revoked))
                })
            })
            .await?;
        self.forget(&revoked);
        Ok(ended)
    }

    async fn session_of(&self, token_id: TokenId) -> Result<Option<SessionId>, RepositoryError> {
        let token_id = token_id.to_string();
        let found = self
            .database
            .query("SELECT", "refresh_tokens", move |conn| {
                refresh_tokens::table
                    .filter(refresh_tokens::access_token_id.eq(token_id))
                    .select(refresh_tokens::session_id)
                    .first::<String>(conn)
                    .optional()
            })
            .await?;
        Ok(found.as_deref().and_then(SessionId::parse))
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<usize, RepositoryError> {
        self.database
            .query("DELETE", "sessions", move |conn| {
                // Refresh tokens go with their session (ON DELETE CASCADE).
                diesel::delete(
                    sessions::table.filter(
                        sessions::expires_at
                            .lt(Stamp(before))
                            .or(sessions::ended_at.lt(Stamp(before))),
                    ),
                )
                .execute(conn)
            })
            .await
    }
}
