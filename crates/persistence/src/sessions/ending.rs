//! Ending sessions, with the access tokens minted from them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use roster_domain::{RefreshGrant, SessionEnd};

use crate::{
    cache::{listener::announce, token_payload},
    connection::DbConnection,
    instant::Stamp,
    schema::{refresh_tokens, revoked_tokens, sessions},
};

pub(super) fn insert_grant(
    conn: &mut DbConnection,
    grant: &RefreshGrant,
    session: &str,
) -> QueryResult<usize> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::digest.eq(grant.digest.as_str()),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::issued_at.eq(Stamp(grant.issued_at)),
            refresh_tokens::access_token_id.eq(grant.access_token_id.to_string()),
            refresh_tokens::access_expires_at.eq(Stamp(grant.access_expires_at)),
        ))
        .execute(conn)
}

/// Ends these sessions of the user (those still active) and revokes the access tokens
/// minted from them that are alive at `now`. Returns the revoked tokens, for the
/// caller to forget once the transaction has committed; other instances are told in
/// the transaction.
pub(super) fn end_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    ids: &[String],
    reason: SessionEnd,
    now: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ended: Vec<String> = diesel::update(
        sessions::table
            .filter(sessions::id.eq_any(ids))
            .filter(sessions::ended_at.is_null()),
    )
    .set((
        sessions::ended_at.eq(Stamp(now)),
        sessions::end_reason.eq(reason.as_str()),
    ))
    .returning(sessions::id)
    .get_results(conn)?;
    revoke_access_tokens(conn, user_id, &ended, now)
}

/// Ends every active session of the user (their tokens were all revoked), inside the
/// caller's transaction.
pub(crate) fn end_all(
    conn: &mut DbConnection,
    user_id: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let ids: Vec<String> = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .select(sessions::id)
        .load(conn)?;
    end_sessions(conn, user_id, &ids, SessionEnd::Revoked, now).map(drop)
}

pub(super) fn revoke_access_tokens(
    conn: &mut DbConnection,
    user_id: &str,
    sessions: &[String],
    now: DateTime<Utc>,
) -> QueryResult<Vec<String>> {
    let live: Vec<(String, DateTime<Utc>)> = refresh_tokens::table
        .filter(refresh_tokens::session_id.eq_any(sessions))
        .filter(refresh_tokens::access_expires_at.gt(Stamp(now)))
        .select((
            refresh_tokens::access_token_id,
            refresh_tokens::access_expires_at,
        ))
        .load(conn)?;
    for (token, expires_at) in &live {
        conn.execute_natively(
            diesel::insert_into(revoked_tokens::table)
                .values((
                    revoked_tokens::token_id.eq(token),
                    revoked_tokens::user_id.eq(user_id),
                    revoked_tokens::expires_at.eq(Stamp(*expires_at)),
                ))
                .on_conflict_do_nothing(),
        )?;
        announce(conn, &token_payload(token))?;
    }
    Ok(live.into_iter().map(|(token, _)| token).collect())
}
