//! Sessions: starting one at login, refreshing it with rotation and reuse detection,
//! and what users and administrators see of them.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use roster_domain::{
    Actor, IssuedToken, Operation, RefreshGrant, Refreshed, Resource, SessionEnd, SessionId,
    TokenId, UserId, UserSession,
    ports::{RevocationScope, ThrottleKey},
};

use super::grant::{Grant, USER_AGENT_MAX_CHARS};
use crate::{AuthService, LoginError, UsersError};

impl AuthService {
    /// Starts a session for a login whose access token is `access`.
    pub(super) async fn start_session(
        &self,
        user_id: UserId,
        access: IssuedToken,
        now: DateTime<Utc>,
        client: IpAddr,
        user_agent: Option<&str>,
    ) -> Result<Grant, LoginError> {
        let policy = self.sessions;
        let session = UserSession {
            id: SessionId::generate(),
            user_id,
            created_at: now,
            last_used_at: now,
            expires_at: now + policy.lifetime,
            client_address: client,
            user_agent: user_agent.map(|agent| agent.chars().take(USER_AGENT_MAX_CHARS).collect()),
        };
        let (refresh_token, digest) = self.ports.tokens.mint_refresh(session.id);
        let first = RefreshGrant {
            digest,
            issued_at: now,
            access_token_id: access.token_id,
            access_expires_at: access.expires_at,
        };
        self.ports
            .sessions
            .start(&session, &first, policy.max_per_user)
            .await?;
        Ok(Grant {
            access,
            refresh_token,
            refresh_expires_at: policy.refresh_expires_at(now, session.expires_at),
            session: session.id,
        })
    }

    /// Exchanges a refresh token for a new access token and the next refresh token
    /// (RFC 6749 §6, with rotation). A spent token ends its session; no password is
    /// hashed. Counted per session (every refresh) and per client (failures).
    #[tracing::instrument(name = "auth.refresh", skip_all, fields(user.id, session.id))]
    pub async fn refresh(&self, presented: &str, client: IpAddr) -> Result<Grant, LoginError> {
        let now = self.ports.clock.now();
        let read = self.ports.tokens.read_refresh(presented);
        let mut keys = vec![ThrottleKey::Client(ThrottleKey::client_address(client))];
        if let Some((session, _)) = &read {
            keys.push(ThrottleKey::Refreshes(session.to_string()));
        }
        self.ports.throttle.admit(&keys, now).await?;
        let Some((session, digest)) = read else {
            return Err(LoginError::InvalidRefreshToken);
        };
        let span = tracing::Span::current();
        span.record("session.id", tracing::field::display(session));
        let token_id = TokenId::generate();
        let (refresh_token, next_digest) = self.ports.tokens.mint_refresh(session);
        let next = RefreshGrant {
            digest: next_digest,
            issued_at: now,
            access_token_id: token_id,
            access_expires_at: now + self.ports.tokens.lifetime(),
        };
        let policy = self.sessions;
        match self
            .ports
            .sessions
            .refresh(
                &digest,
                &next,
                now,
                policy.idle_cutoff(now),
                &self.ports.note(&Actor::Anonymous, Some(client)),
            )
            .await?
        {
            Refreshed::Rotated { session, role } => {
                span.record("user.id", tracing::field::display(session.user_id));
                let access = self
                    .ports
                    .tokens
                    .issue_as(token_id, session.user_id, role, now)
                    .map_err(|e| LoginError::Unexpected(e.0))?;
                self.ports.throttle.succeeded(&keys, now).await;
                Ok(Grant {
                    access,
                    refresh_token,
                    refresh_expires_at: policy.refresh_expires_at(now, session.expires_at),
                    session: session.id,
                })
            }
            Refreshed::Reused { session, user_id } => {
                span.record("user.id", tracing::field::display(user_id));
                tracing::warn!(
                    session.id = %session, user.id = %user_id,
                    "a spent refresh token was presented again: the session is ended"
                );
                self.ports.metrics.tokens_revoked(RevocationScope::Session);
                Err(LoginError::InvalidRefreshToken)
            }
            Refreshed::Invalid => Err(LoginError::InvalidRefreshToken),
        }
    }

    /// The user's active sessions, newest first: the user themselves and
    /// administrators.
    #[tracing::instrument(name = "auth.sessions", skip_all, fields(actor = %actor.label(), user.id = %user_id))]
    pub async fn sessions(
        &self,
        actor: &Actor,
        user_id: UserId,
    ) -> Result<Vec<UserSession>, UsersError> {
        self.users
            .authorize(actor, Operation::Read, Resource::User(user_id))?;
        if self.ports.users.find_recent(user_id).await?.is_none() {
            return Err(UsersError::NotFound(user_id));
        }
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .sessions
            .list(user_id, now, self.sessions.idle_cutoff(now))
            .await?)
    }

    /// Ends one of the user's sessions (and the access tokens minted from it): the user
    /// themselves and administrators. `SessionNotFound` when no such session is active.
    #[tracing::instrument(name = "auth.end_session", skip_all, fields(actor = %actor.label(), user.id = %user_id, session.id = %session))]
    pub async fn end_session(
        &self,
        actor: &Actor,
        user_id: UserId,
        session: SessionId,
    ) -> Result<(), UsersError> {
        self.users
            .authorize(actor, Operation::Write, Resource::User(user_id))?;
        let now = self.ports.clock.now();
        if !self
            .ports
            .sessions
            .end(
                user_id,
                session,
                SessionEnd::Ended,
                now,
                &self.ports.note(actor, None),
            )
            .await?
        {
            return Err(UsersError::SessionNotFound(session));
        }
        self.ports.metrics.tokens_revoked(RevocationScope::Session);
        Ok(())
    }

    /// The session the actor's access token was minted for, if any.
    pub async fn current_session(&self, actor: &Actor) -> Result<Option<SessionId>, UsersError> {
        match actor {
            Actor::User(session) => Ok(self.ports.sessions.session_of(session.token_id).await?),
            Actor::System | Actor::Anonymous => Ok(None),
        }
    }
}
