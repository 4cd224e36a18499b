//! Who is acting: every use case takes the acting principal, and authorisation is
//! decided from it.

use crate::{
    access::Session,
    user::{Role, UserId},
};

/// The principal on whose behalf a use case runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The service itself (start-up tasks, command-line administration): trusted.
    System,
    /// A caller that presented no credentials.
    Anonymous,
    /// A caller with a verified token.
    User(Session),
}

impl Actor {
    /// A short label for logs and events; never personal data.
    pub fn label(&self) -> String {
        match self {
            Self::System => "system".to_owned(),
            Self::Anonymous => "anonymous".to_owned(),
            Self::User(session) => format!("user:{}", session.user_id),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::User(session) => Some(session.user_id),
            Self::System | Self::Anonymous => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Self::User(session) => Some(session.role),
            Self::System | Self::Anonymous => None,
        }
    }
}
