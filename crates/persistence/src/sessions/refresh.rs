//! One refresh, in its transaction: the session used (and locked), the token spent,
//! the user checked, the next token stored; or the session ended on reuse.

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use diesel::{OptionalExtension as _, prelude::*};
use roster_domain::{
    AuditNote, RefreshGrant, Refreshed, Role, SessionEnd, Status, UserSession,
    ports::RepositoryError,
};

use super::{
    ending::{end_sessions, insert_grant},
    rows::SessionRow,
};
use crate::{
    audit::record_session_end,
    connection::DbConnection,
    instant::Stamp,
    schema::{refresh_tokens, sessions, token_revocations, users},
};

/// What a refresh transaction came to, with the access tokens it revoked.
type RefreshOutcome = (Refreshed, Vec<String>);

/// Why a refresh transaction failed.
pub(super) enum Failure {
    Database(diesel::result::Error),
    Corrupt(RepositoryError),
}

impl From<diesel::result::Error> for Failure {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error)
    }
}

/// A spent token presented again: its session ends, with its access tokens, and the
/// audit log records it with `from`.
fn ended_on_reuse(
    conn: &mut DbConnection,
    session: &UserSession,
    now: DateTime<Utc>,
    from: &AuditNote,
) -> Result<RefreshOutcome, Failure> {
    let reason = SessionEnd::RefreshTokenReused;
    let ids = [session.id.to_string()];
    let revoked = end_sessions(conn, &session.user_id.to_string(), &ids, reason, now)?;
    record_session_end(conn, session.user_id, reason, from, now)?;
    let reused = Refreshed::Reused {
        session: session.id,
        user_id: session.user_id,
    };
    Ok((reused, revoked))
}

/// One refresh, inside its transaction (see [`SessionStore::refresh`]).
/// `at` is the refresh's time and the idle cutoff; a reuse is audited with `from`.
pub(super) fn refresh(
    conn: &mut DbConnection,
    presented: &str,
    next: &RefreshGrant,
    at: (DateTime<Utc>, DateTime<Utc>),
    from: &AuditNote,
) -> Result<RefreshOutcome, Failure> {
    let (now, idle_cutoff) = at;
    // The presented token's session, if it is active: used now (and locked).
    let owner = refresh_tokens::table
        .find(presented)
        .select(refresh_tokens::session_id)
        .single_value();
    let touched = diesel::update(
        sessions::table
            .filter(sessions::id.nullable().eq(owner))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::expires_at.gt(Stamp(now)))
            .filter(sessions::last_used_at.gt(Stamp(idle_cutoff))),
    )
    .set(sessions::last_used_at.eq(Stamp(now)))
    .returning(sessions::all_columns)
    .get_result::<SessionRow>(conn)
    .optional()?;
    let Some(row) = touched else {
        return Ok((Refreshed::Invalid, Vec::new()));
    };
    let session = row.into_domain().map_err(Failure::Corrupt)?;
    let (id, user_id) = (session.id.to_string(), session.user_id.to_string());
    // Spent: of two refreshes with one token, only the first gets here.
    let spent = diesel::update(
        refresh_tokens::table
            .find(presented)
            .filter(refresh_tokens::spent_at.is_null()),
    )
    .set(refresh_tokens::spent_at.eq(Stamp(now)))
    .execute(conn)?;
    if spent == 0 {
        return ended_on_reuse(conn, &session, now, from);
    }
    // Its user as they are now: active, and no revocation of all their tokens since
    // the login (which also ends sessions, but a login racing with it may not see it).
    let (role, status, revoked_before) = users::table
        .find(&user_id)
        .select((
            users::role,
            users::status,
            token_revocations::table
                .find(&user_id)
                .select(token_revocations::revoked_before)
                .single_value(),
        ))
        .first::<(String, String, Option<DateTime<Utc>>)>(conn)?;
    let corrupt = |what: String| Failure::Corrupt(RepositoryError::Unexpected(anyhow!(what)));
    let role: Role = role
        .parse()
        .map_err(|e| corrupt(format!("stored role: {e}")))?;
    let status: Status = status
        .parse()
        .map_err(|e| corrupt(format!("stored status: {e}")))?;
    if status != Status::Active || revoked_before.is_some_and(|at| at >= session.created_at) {
        let ids = [id];
        let revoked = end_sessions(conn, &user_id, &ids, SessionEnd::Revoked, now)?;
        return Ok((Refreshed::Invalid, revoked));
    }
    insert_grant(conn, next, &id)?;
    Ok((Refreshed::Rotated { session, role }, Vec::new()))
}
