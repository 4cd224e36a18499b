//! The `database` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How to reach the database and size its connection pool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://…` / `postgresql://…` for PostgreSQL; `sqlite://PATH`, `sqlite:PATH`
    /// or a plain file path for SQLite (the file and its folder are created).
    pub url: String,
    /// Most connections the pool holds.
    pub max_connections: usize,
    /// How long a request waits for a free connection before it gets 503.
    #[serde(with = "humantime_serde")]
    pub wait_timeout: Duration,
    /// How long opening a new connection may take.
    #[serde(with = "humantime_serde")]
    pub create_timeout: Duration,
    /// How long SQLite waits on a locked database before it reports "busy".
    #[serde(with = "humantime_serde")]
    pub sqlite_busy_timeout: Duration,
    /// How long one PostgreSQL statement may run before the server cancels it (sent as
    /// `statement_timeout`; a URL that sets `options` keeps its own).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Apply pending migrations when the server starts.
    pub auto_migrate: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/roster.db".to_owned(),
            max_connections: 10,
            wait_timeout: Duration::from_secs(5),
            create_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            auto_migrate: true,
        }
    }
}

impl DatabaseSettings {
    /// The defaults, on another database.
    pub fn for_url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Checks what deserialisation cannot; each message names its key.
    pub fn validate(&self) -> Result<(), String> {
        if self.url.trim().is_empty() {
            return Err("database.url must not be empty".to_owned());
        }
        if self.max_connections == 0 {
            return Err("database.max_connections must be at least 1".to_owned());
        }
        for (key, value) in [
            ("database.wait_timeout", self.wait_timeout),
            ("database.statement_timeout", self.statement_timeout),
            ("database.create_timeout", self.create_timeout),
        ] {
            if value.is_zero() {
                return Err(format!("{key} must be greater than zero"));
            }
        }
        Ok(())
    }
}
