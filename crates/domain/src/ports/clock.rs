//! [`Clock`]: the time, injectable so that tests control it.

use chrono::{DateTime, SubsecRound, Utc};

/// The current time.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC, to the microsecond: the finest precision every store keeps, so a
    /// user read back equals the user written.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Timelike;

    use super::*;

    #[test]
    fn system_clock_keeps_microseconds_only() {
        assert_eq!(SystemClock.now().nanosecond() % 1_000, 0);
    }
}
