//! Who is acting: every use case takes the acting principal, so authorisation can be
//! decided inside the application without reshaping its signatures.

use crate::user::{Role, UserId};

/// The principal on whose behalf a use case runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The service itself (start-up tasks, command-line administration).
    System,
    /// A caller that presented no credentials.
    Anonymous,
    /// An authenticated user.
    User { id: UserId, role: Role },
}

impl Actor {
    /// A short label for logs and events; never personal data.
    pub fn label(&self) -> String {
        match self {
            Self::System => "system".to_owned(),
            Self::Anonymous => "anonymous".to_owned(),
            Self::User { id, .. } => format!("user:{id}"),
        }
    }
}
