//! Roster's bootstrap: reads the configuration, builds the adapters, wires them into the
//! use cases and runs the server. Nothing else lives here.

pub mod auth_config;
pub mod config;
pub mod limits_config;
pub mod redact;
pub mod relay;
pub mod startup;

pub use config::Settings;
pub use startup::{Application, ShutdownTrigger};
