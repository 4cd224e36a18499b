//! Limits adapters: the [`LoginThrottle`](roster_domain::ports::LoginThrottle) and the
//! [`RateLimiter`](roster_domain::ports::RateLimiter), counting in this process's memory
//! (the embedded default) or in Redis, where every instance sees the same counts.
//!
//! Redis is a shared counter, not a dependency the service waits on: while it cannot
//! be reached, each instance counts in its own memory (see [`RedisStore`]).

mod rate;
mod settings;
mod shared;
mod throttle;

pub use rate::InMemoryRateLimiter;
pub use settings::{QuotaSettings, RateLimitSettings, RedisSettings};
pub use shared::{LimitsHealth, RedisLoginThrottle, RedisRateLimiter, RedisStore};
pub use throttle::{InMemoryLoginThrottle, ThrottleSettings};
