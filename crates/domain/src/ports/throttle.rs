//! [`LoginThrottle`]: slows down password guessing.

use std::{net::IpAddr, time::Duration};

use chrono::{DateTime, Utc};

/// What failed logins are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The client's address.
    Client(IpAddr),
    /// The account tried, by its e-mail address in lower case (whether or not such an
    /// account exists, so that throttling reveals nothing).
    Account(String),
}

/// Too many recent failures: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed logins; retry in {retry_after:?}")]
pub struct Throttled {
    pub retry_after: Duration,
}

/// Counts failed logins per client and per account in a sliding window.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait LoginThrottle: Send + Sync {
    /// Refuses when any key has reached its limit of failures within the window.
    fn check(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled>;

    /// Counts a failed login against every key.
    fn record_failure(&self, keys: &[ThrottleKey], now: DateTime<Utc>);

    /// A successful login clears the account's failures (not the client's).
    fn record_success(&self, account: &ThrottleKey);
}
