//! Roster's use cases. They depend on the domain's ports only, so they are tested with
//! mocks and run unchanged over any adapter.

mod audit;
mod auth;
mod events;
mod ports;
#[cfg(test)]
mod testing;
mod users;

pub use audit::AuditPage;
pub use auth::{AuthError, AuthService, Grant, LoginError};
pub use events::{EventRelay, RelayError, RelaySettings, RelayStep};
pub use ports::Ports;
pub use users::{UserPage, UserService, UsersError};
