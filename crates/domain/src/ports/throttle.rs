//! [`LoginThrottle`]: slows down password guessing, and bounds how much hashing one
//! client can ask for.

use std::{
    net::{IpAddr, Ipv6Addr},
    time::Duration,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// What attempts are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The client's address: failed logins from it, whatever the account. An IPv6
    /// address stands for its /64 (see [`ThrottleKey::client_address`]).
    Client(IpAddr),
    /// An account, by its normalised e-mail address, from one client: five wrong
    /// passwords lock that account for that client only, not for its owner elsewhere.
    AccountFromClient(String, IpAddr),
    /// An account from anywhere: a much higher limit, against guessing spread over
    /// many addresses.
    Account(String),
    /// Password hashes a client asked for (logins, registrations, password changes),
    /// failed or not: hashing is what one client could otherwise hog.
    Hashes(IpAddr),
    /// Refreshes of one session (by its id), successful or not: a client stuck in a
    /// loop cannot mint access tokens without bound.
    Refreshes(String),
}

impl ThrottleKey {
    /// The address a client is counted by: an IPv4 address as it is, an IPv6 address
    /// as its /64 (one host usually holds a whole /64, so counting per address would
    /// give it unlimited budgets), an IPv4-mapped IPv6 address as its IPv4 address.
    pub fn client_address(address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(
                || {
                    let [a, b, c, d, ..] = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
                },
                IpAddr::V4,
            ),
        }
    }
}

/// Too many recent attempts: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many attempts; retry in {retry_after:?}")]
pub struct Throttled {
    pub retry_after: Duration,
}

/// Counts attempts per key in a sliding window.
///
/// An attempt is counted when it is admitted, before its outcome is known, so that
/// concurrent attempts cannot all pass the check before any of them fails; a success
/// takes its count back. Checking every key and counting the attempt against each is
/// one atomic step, also when the counts are shared by several instances.
///
/// Neither method fails: a store that cannot be reached is the adapter's to handle
/// (the Redis adapter falls back to counting in the instance's memory).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Refuses when any key has reached its limit within the window; otherwise counts
    /// the attempt against every key, at `now`.
    async fn admit(&self, keys: &[ThrottleKey], now: DateTime<Utc>) -> Result<(), Throttled>;

    /// The attempt admitted at `admitted_at` succeeded: its count is taken back from
    /// every key but [`ThrottleKey::Hashes`] and [`ThrottleKey::Refreshes`], and the
    /// account's failures from this client are cleared (not those from elsewhere).
    async fn succeeded(&self, keys: &[ThrottleKey], admitted_at: DateTime<Utc>);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let parse = |text: &str| text.parse::<IpAddr>().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            ThrottleKey::client_address(parse("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            parse("2001:db8:1:2::")
        );
        assert_eq!(
            ThrottleKey::client_address(parse("2001:db8:1:2::1")),
            ThrottleKey::client_address(parse("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            ThrottleKey::client_address(parse("2001:db8:1:2::1")),
            ThrottleKey::client_address(parse("2001:db8:1:3::1"))
        );
        assert_eq!(
            ThrottleKey::client_address(parse("::ffff:192.0.2.7")),
            parse("192.0.2.7")
        );
        assert_eq!(
            ThrottleKey::client_address(parse("192.0.2.7")),
            parse("192.0.2.7")
        );
    }
}
