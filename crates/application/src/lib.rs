//! Roster's use cases. They depend on the domain's ports only, so they are tested with
//! mocks and run unchanged over any adapter.

mod users;

pub use users::{UserPage, UserService, UsersError};
