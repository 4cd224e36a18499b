//! The `database` section of the configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::CacheSettings;

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
    /// SQLite's page cache per connection, in MiB: an upper bound, filled as pages are
    /// read. SQLite's own default (2 MiB) rereads index pages from the file at every
    /// turn once the table outgrows it.
    pub sqlite_cache_mib: u32,
    /// How long one PostgreSQL statement may run before the server cancels it (sent as
    /// `statement_timeout`; a URL that sets `options` keeps its own).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Apply pending migrations when the server starts.
    pub auto_migrate: bool,
    /// What is served from memory, and for how long.
    pub cache: CacheSettings,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/roster.db".to_owned(),
            max_connections: 10,
            wait_timeout: Duration::from_secs(5),
            create_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_cache_mib: 32,
            statement_timeout: Duration::from_secs(10),
            auto_migrate: true,
            cache: CacheSettings::default(),
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
        if self.cache.enabled && (self.cache.max_entries == 0 || self.cache.time_to_live.is_zero())
        {
            return Err(
                "database.cache.max_entries and database.cache.time_to_live must be greater than zero (or set database.cache.enabled to false)"
                    .to_owned(),
            );
        }
        if self.sqlite_cache_mib == 0 {
            return Err("database.sqlite_cache_mib must be at least 1".to_owned());
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

/// The PostgreSQL URL with what keeps a dead or partitioned server from hanging a
/// request: libpq's `connect_timeout` (the pool's create timeout), TCP keepalives and
/// `tcp_user_timeout` (so a connection whose peer vanished fails in seconds, not at the
/// kernel's default of hours), and the server-side `statement_timeout`. Parameters the
/// URL already sets are kept.
pub(crate) fn postgres_target(url: &str, settings: &DatabaseSettings) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let seconds = settings.create_timeout.as_secs().max(2);
    let statement_ms = settings.statement_timeout.as_millis();
    let user_timeout_ms = (settings.wait_timeout.as_millis() * 2).max(5_000);
    let wanted = [
        ("connect_timeout", seconds.to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", "10".to_owned()),
        ("keepalives_interval", "5".to_owned()),
        ("keepalives_count", "3".to_owned()),
        ("tcp_user_timeout", user_timeout_ms.to_string()),
        ("options", format!("-c statement_timeout={statement_ms}")),
    ];
    let present: Vec<String> = parsed
        .query_pairs()
        .map(|(key, _)| key.into_owned())
        .collect();
    // Percent-encoded by hand: libpq decodes `%20`, not the `+` of form encoding.
    let added = wanted
        .iter()
        .filter(|(key, _)| !present.iter().any(|p| p == key))
        .map(|(key, value)| {
            let value =
                percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC);
            format!("{key}={value}")
        });
    let query: Vec<String> = parsed
        .query()
        .map(str::to_owned)
        .into_iter()
        .chain(added)
        .collect();
    parsed.set_query(Some(&query.join("&")));
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_get_timeouts_and_keepalives_unless_they_set_their_own() {
        let settings = DatabaseSettings::for_url("postgres://u@h/db");
        let target = postgres_target("postgres://u@h/db?sslmode=require", &settings);
        for part in [
            "sslmode=require",
            "connect_timeout=5",
            "keepalives=1",
            "tcp_user_timeout=10000",
            "options=%2Dc%20statement%5Ftimeout%3D10000",
        ] {
            assert!(target.contains(part), "{part}: {target}");
        }
        let own = postgres_target(
            "postgres://u@h/db?connect_timeout=1&options=-c%20x%3Dy",
            &settings,
        );
        assert!(
            own.contains("connect_timeout=1") && !own.contains("connect_timeout=5"),
            "{own}"
        );
        assert!(!own.contains("statement"), "{own}");
    }
}
