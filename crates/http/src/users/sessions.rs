//! `GET /api/v1/users/{id}/sessions` and `DELETE /api/v1/users/{id}/sessions/{session_id}`.

use actix_web::{HttpResponse, http::header, web};
use chrono::{DateTime, Utc};
use roster_application::AuthService;
use roster_domain::{SessionId, UserSession};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::representation::user_id;
use crate::{caller::Caller, components::UserIdPath, error::ApiError, problem::Problem};

/// One of a user's active sessions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionResponse {
    #[schema(example = "01KARX3T1S4M3M3F4X4BQ0V7NE")]
    id: String,
    /// The login that started it.
    created_at: DateTime<Utc>,
    /// The login or the latest refresh.
    last_used_at: DateTime<Utc>,
    /// When it ends however often it is refreshed.
    expires_at: DateTime<Utc>,
    /// The client's address at login.
    #[schema(example = "192.0.2.7")]
    client_address: String,
    /// The client's `User-Agent` at login (at most 256 characters).
    user_agent: Option<String>,
    /// Whether the token of this request was minted for this session.
    current: bool,
}

/// A user's active sessions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionList {
    items: Vec<SessionResponse>,
}

/// A session a path names.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct SessionPath {
    /// The user's id: a ULID, in either case. Anything else names no user (404).
    #[param(pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    id: String,
    /// The session's id: a ULID. Anything else names no session (404).
    #[param(pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    session_id: String,
}

fn response(session: UserSession, current: Option<SessionId>) -> SessionResponse {
    SessionResponse {
        id: session.id.to_string(),
        created_at: session.created_at,
        last_used_at: session.last_used_at,
        expires_at: session.expires_at,
        client_address: session.client_address.to_string(),
        user_agent: session.user_agent,
        current: current == Some(session.id),
    }
}

#[utoipa::path(
    get, path = "/api/v1/users/{id}/sessions", operation_id = "listUserSessions", tag = "users",
    summary = "List a user's active sessions (the user themselves, or administrators)",
    security(("bearer" = [])),
    params(UserIdPath),
    responses(
        (status = 200, description = "The active sessions, newest first", body = SessionList, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 403, description = "Another user's sessions, and not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn list(
    auth: web::Data<AuthService>,
    caller: Caller,
    path: web::Path<UserIdPath>,
) -> Result<HttpResponse, ApiError> {
    let sessions = auth.sessions(&caller.0, user_id(&path)?).await?;
    let current = auth.current_session(&caller.0).await?;
    let items = sessions
        .into_iter()
        .map(|session| response(session, current))
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionList { items }))
}

#[utoipa::path(
    delete, path = "/api/v1/users/{id}/sessions/{session_id}", operation_id = "endUserSession", tag = "users",
    summary = "End one of a user's sessions: its refresh token and the access tokens minted from it stop working",
    security(("bearer" = [])),
    params(SessionPath),
    responses(
        (status = 204, description = "Ended"),
        (status = 403, description = "Another user's session, and not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user, or no such active session of theirs", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn end(
    auth: web::Data<AuthService>,
    caller: Caller,
    path: web::Path<SessionPath>,
) -> Result<HttpResponse, ApiError> {
    let user = user_id(&UserIdPath {
        id: path.id.clone(),
    })?;
    let session = SessionId::parse(&path.session_id)
        .ok_or_else(|| ApiError::NotFound(format!("no session with id {}", path.session_id)))?;
    auth.end_session(&caller.0, user, session).await?;
    Ok(HttpResponse::NoContent().finish())
}
