//! [`RedisStore`]: counters in Redis, shared by every instance, with a circuit breaker
//! that sends counting to the instance's memory while Redis cannot be reached.

mod rate;
mod store;
mod throttle;

pub use rate::RedisRateLimiter;
pub use store::{LimitsHealth, RedisStore};
pub use throttle::RedisLoginThrottle;
