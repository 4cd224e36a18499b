//! Roster's use cases. They depend on the domain's ports only, so they are tested with
//! mocks and run unchanged over any adapter.

mod audit;
mod auth;
mod events;
mod ports;
#[cfg(test)]
mod testing;
mod transfer;
mod users;

pub use audit::AuditPage;
pub use auth::{AuthError, AuthService, Grant, LoginError};
pub use events::{EventRelay, RelayError, RelaySettings, RelayStep};
pub use ports::Ports;
pub use transfer::{
    BatchReport, ImportOptions, MAX_BATCH_ROWS, RawUser, RowError, RowOutcome, RowReport,
    TransferService,
};
pub use users::{UserPage, UserService, UsersError};
