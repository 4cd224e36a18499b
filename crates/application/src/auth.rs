//! Authentication: logging in, verifying presented tokens, logging out, registering,
//! and creating the first administrator.

use std::{net::IpAddr, time::Duration};

use anyhow::anyhow;
use roster_domain::{
    Actor, Email, LoginAttempt, NewUser, Password, Role, Session, SessionEnd, SessionPolicy,
    Standing, Status, TokenId, User,
    ports::{
        AuthenticationError, HashError, LoginOutcome, PasswordCheck, RepositoryError,
        RevocationScope, ThrottleKey, Throttled,
    },
};

use crate::{Ports, UserService, UsersError};

mod grant;
mod sessions;

pub use grant::Grant;

/// How long the audit log's entry for failed logins of one account from one client
/// stays open: later failures start a new entry.
pub(crate) const FAILED_LOGINS_WINDOW: Duration = Duration::from_secs(3600);

/// Why a login failed. Wrong password, unknown e-mail, disabled account and an
/// account without a password are one and the same to the caller.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Unknown, spent, or its session is over.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("too many failed logins")]
    Throttled { retry_after: Duration },
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a presented token is not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Invalid(#[from] AuthenticationError),
    #[error("the service is temporarily unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<Throttled> for LoginError {
    fn from(throttled: Throttled) -> Self {
        Self::Throttled {
            retry_after: throttled.retry_after,
        }
    }
}

impl From<RepositoryError> for LoginError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(e) => Self::Unavailable(e),
            RepositoryError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<HashError> for LoginError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Unavailable(anyhow!("password hashing is saturated")),
            HashError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

impl From<RepositoryError> for AuthError {
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(e) => Self::Unavailable(e),
            RepositoryError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// The authentication use cases.
#[derive(Debug, Clone)]
pub struct AuthService {
    ports: Ports,
    users: UserService,
    allow_registration: bool,
    sessions: SessionPolicy,
}

impl AuthService {
    pub fn new(
        ports: Ports,
        users: UserService,
        allow_registration: bool,
        sessions: SessionPolicy,
    ) -> Self {
        Self {
            ports,
            users,
            allow_registration,
            sessions,
        }
    }

    /// Checks an e-mail address and password, starts a session and issues its first
    /// access and refresh tokens. Takes about as long whether or not the account
    /// exists; failures are throttled per client and per account. A hash made with
    /// outdated parameters is replaced on success.
    #[tracing::instrument(name = "auth.login", skip_all, fields(user.id))]
    pub async fn login(
        &self,
        email: &str,
        password: &Password,
        client: IpAddr,
        user_agent: Option<&str>,
    ) -> Result<Grant, LoginError> {
        let result = self
            .attempt_login(email, password, client, user_agent)
            .await;
        let outcome = match &result {
            Ok(_) => Some(LoginOutcome::Succeeded),
            Err(LoginError::InvalidCredentials | LoginError::InvalidRefreshToken) => {
                Some(LoginOutcome::Failed)
            }
            Err(LoginError::Throttled { .. }) => Some(LoginOutcome::Throttled),
            Err(LoginError::Unavailable(_) | LoginError::Unexpected(_)) => None,
        };
        if let Some(outcome) = outcome {
            self.ports.metrics.login(outcome);
        }
        result
    }

    async fn attempt_login(
        &self,
        email: &str,
        password: &Password,
        client: IpAddr,
        user_agent: Option<&str>,
    ) -> Result<Grant, LoginError> {
        let email = Email::parse(email).ok();
        let keys = login_keys(email.as_ref(), client);
        let now = self.ports.clock.now();
        self.ports.throttle.admit(&keys, now).await?;

        let user = match &email {
            Some(email) => self.ports.users.find_by_email(email).await?,
            None => None,
        };
        let credential = user
            .as_ref()
            .and_then(|u| u.password_hash.as_ref().map(|hash| (u, hash)));
        let verdict = if let Some((user, hash)) = credential {
            match self.ports.hasher.verify(password, hash).await? {
                PasswordCheck::Match { outdated } if user.status == Status::Active => {
                    Some((user, outdated))
                }
                // A disabled user's right password fails like a wrong one, after the same work.
                PasswordCheck::Match { .. } | PasswordCheck::Mismatch => None,
            }
        } else {
            self.ports.hasher.verify_dummy(password).await?;
            None
        };
        let attempt = LoginAttempt {
            account: user.as_ref().map(|user| user.id),
            client: client.to_string(),
            at: now,
            provenance: self.ports.context.provenance(),
        };
        // A failure was counted by the throttle when the attempt was admitted; the
        // audit log counts it in its account's and client's entry.
        let Some((user, outdated)) = verdict else {
            self.ports
                .audit
                .failed_login(&attempt, FAILED_LOGINS_WINDOW)
                .await?;
            return Err(LoginError::InvalidCredentials);
        };
        tracing::Span::current().record("user.id", tracing::field::display(user.id));
        let rehashed = if outdated {
            Some(self.ports.hasher.hash(password).await?)
        } else {
            None
        };
        self.ports
            .users
            .record_login(user.id, &attempt, rehashed)
            .await?;
        let access = self
            .ports
            .tokens
            .issue_as(TokenId::generate(), user.id, user.role, now)
            .map_err(|e| LoginError::Unexpected(e.0))?;
        let grant = self
            .start_session(user.id, access, now, client, user_agent)
            .await?;
        self.ports.throttle.succeeded(&keys, now).await;
        Ok(grant)
    }

    /// The actor a bearer token stands for: its signature, expiry and revocation
    /// checked, and its user as they are now (present, active, with their current
    /// role: a demotion takes effect on the next request).
    #[tracing::instrument(name = "auth.authenticate", skip_all, fields(user.id))]
    pub async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
        let mut session = self
            .ports
            .tokens
            .authenticate(token, self.ports.clock.now())?;
        tracing::Span::current().record("user.id", tracing::field::display(session.user_id));
        match self.ports.revocations.standing(&session).await? {
            Standing::Current(role) => session.role = role,
            Standing::Void => return Err(AuthenticationError::Revoked.into()),
        }
        Ok(Actor::User(session))
    }

    /// Logout: ends the session the presented token was minted for (its refresh token
    /// and every access token from it stop working), and revokes the presented token
    /// itself (the only thing to revoke for a token from before sessions existed).
    #[tracing::instrument(name = "auth.logout", skip_all, fields(actor = %actor.label()))]
    pub async fn logout(&self, actor: &Actor) -> Result<(), UsersError> {
        let Actor::User(Session {
            token_id,
            user_id,
            expires_at,
            ..
        }) = actor
        else {
            return Err(UsersError::Unauthenticated);
        };
        let now = self.ports.clock.now();
        if let Some(session) = self.ports.sessions.session_of(*token_id).await?
            && self
                .ports
                .sessions
                .end(
                    *user_id,
                    session,
                    SessionEnd::LoggedOut,
                    now,
                    &self.ports.note(actor, None),
                )
                .await?
        {
            self.ports.metrics.tokens_revoked(RevocationScope::Session);
        }
        self.ports
            .revocations
            .revoke_token(*token_id, *user_id, *expires_at)
            .await?;
        self.ports.metrics.tokens_revoked(RevocationScope::Token);
        Ok(())
    }

    /// Whether anyone may register (`auth.allow_registration`).
    pub fn allows_registration(&self) -> bool {
        self.allow_registration
    }

    /// Creates an active member on the public registration endpoint, when enabled.
    /// Asking for another role or status is `Forbidden`, not quietly ignored; each
    /// registration counts against the client's hashing budget.
    #[tracing::instrument(name = "auth.register", skip_all)]
    pub async fn register(&self, new: NewUser, client: IpAddr) -> Result<Option<User>, UsersError> {
        if !self.allow_registration {
            return Ok(None);
        }
        if new.role != Role::Member || new.status != Status::Active {
            return Err(UsersError::Forbidden);
        }
        // Each registration costs a hash: counted against the client's budget.
        let hashes = [ThrottleKey::Hashes(ThrottleKey::client_address(client))];
        self.ports
            .throttle
            .admit(&hashes, self.ports.clock.now())
            .await?;
        self.users.create(&Actor::System, new).await.map(Some)
    }

    /// Creates an administrator if no user exists yet; `None` if some user does.
    #[tracing::instrument(name = "auth.bootstrap_admin", skip_all)]
    pub async fn bootstrap_admin(&self, admin: NewUser) -> Result<Option<User>, UsersError> {
        if self.ports.users.has_users().await? {
            return Ok(None);
        }
        let admin = NewUser {
            role: Role::Admin,
            status: Status::Active,
            ..admin
        };
        self.users.create(&Actor::System, admin).await.map(Some)
    }
}

/// What a login attempt counts against: the client, and, when the address can be an
/// account at all, that account from this client and from anywhere; and the hash it
/// costs. (An address that cannot parse names no account, and is not kept as a key:
/// keys stay small whatever a client sends.)
pub(crate) fn login_keys(email: Option<&Email>, client: IpAddr) -> Vec<ThrottleKey> {
    let client = ThrottleKey::client_address(client);
    let mut keys = vec![ThrottleKey::Client(client), ThrottleKey::Hashes(client)];
    if let Some(email) = email {
        let account = email.as_str().to_lowercase();
        keys.push(ThrottleKey::AccountFromClient(account.clone(), client));
        keys.push(ThrottleKey::Account(account));
    }
    keys
}

#[cfg(test)]
mod tests;
