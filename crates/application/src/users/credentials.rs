//! Password changes and token revocation.

use std::net::IpAddr;

use roster_domain::{
    Actor, Operation, Password, Resource, Role, UserChange, UserId,
    ports::{PasswordCheck, RevocationScope, ThrottleKey, UpdateUserError},
};

use super::{UserService, UsersError};

impl UserService {
    /// Sets a new password and revokes every token issued until now, in one
    /// transaction. The user must give
    /// the current password; an administrator (or the system) need not.
    ///
    /// The new password's rules are checked first, so a wrong current password gets
    /// the same answer whatever the new one is; and each attempt counts against the
    /// client's hashing budget and, when the current password is checked, against the
    /// account as a login would (so a stolen token is no password oracle).
    #[tracing::instrument(name = "users.change_password", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn change_password(
        &self,
        actor: &Actor,
        id: UserId,
        current: Option<Password>,
        new: Password,
        client: IpAddr,
    ) -> Result<(), UsersError> {
        self.authorize(actor, Operation::Write, Resource::User(id))?;
        let user = self
            .ports
            .users
            .find(id)
            .await?
            .ok_or(UsersError::NotFound(id))?;
        self.policy
            .check(&new, &user.email)
            .map_err(|e| UsersError::weak_password("password", &e))?;
        let privileged = matches!(actor, Actor::System) || actor.role() == Some(Role::Admin);
        let keys = if privileged {
            vec![ThrottleKey::Hashes(ThrottleKey::client_address(client))]
        } else {
            crate::auth::login_keys(Some(&user.email), client)
        };
        let now = self.ports.clock.now();
        self.ports.throttle.admit(&keys, now).await?;
        if !privileged {
            let wrong = || UsersError::InvalidField {
                field: "current_password",
                message: "is not the current password".to_owned(),
                rule: "current_password",
            };
            let (Some(current), Some(hash)) = (current, user.password_hash.as_ref()) else {
                return Err(wrong());
            };
            if self.ports.hasher.verify(&current, hash).await? == PasswordCheck::Mismatch {
                return Err(wrong());
            }
            self.ports.throttle.succeeded(&keys, now).await;
        }
        let hash = self.ports.hasher.hash(&new).await?;
        let record = self.ports.record(
            actor,
            now,
            vec![UserChange::PasswordChanged, UserChange::TokensRevoked],
        );
        match self
            .ports
            .users
            .update(
                &user.with_password(hash, now),
                Some(self.revocation(now)),
                &record,
            )
            .await
        {
            Ok(_) => {}
            Err(UpdateUserError::VersionConflict) => return Err(UsersError::Conflict),
            Err(UpdateUserError::NotFound) => return Err(UsersError::NotFound(id)),
            Err(UpdateUserError::EmailTaken) => return Err(UsersError::EmailTaken),
            // A password change keeps the role and status.
            Err(UpdateUserError::LastAdmin) => return Err(UsersError::LastAdmin),
            Err(UpdateUserError::Repository(e)) => return Err(e.into()),
        }
        self.ports.metrics.tokens_revoked(RevocationScope::User);
        Ok(())
    }

    /// Revokes every token of the user issued until now (administrators only).
    #[tracing::instrument(name = "users.revoke_tokens", skip_all, fields(actor = %actor.label(), user.id = %id))]
    pub async fn revoke_tokens(&self, actor: &Actor, id: UserId) -> Result<(), UsersError> {
        self.authorize(actor, Operation::Admin, Resource::User(id))?;
        self.ports
            .users
            .find(id)
            .await?
            .ok_or(UsersError::NotFound(id))?;
        self.revoke_all(actor, id, self.ports.clock.now()).await?;
        Ok(())
    }
}
