//! [`Grant`]: what a login or a refresh hands out.

use chrono::{DateTime, Utc};
use roster_domain::{IssuedToken, SessionId};

/// At most this many characters of a client's `User-Agent` are kept with its session.
pub(crate) const USER_AGENT_MAX_CHARS: usize = 256;

/// What a login or a refresh hands out: an access token, and the session's next
/// refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub access: IssuedToken,
    /// Opaque to the client; never logged.
    pub refresh_token: String,
    /// When the refresh token stops working unless used first (idle timeout or the
    /// session's end, whichever comes first).
    pub refresh_expires_at: DateTime<Utc>,
    pub session: SessionId,
}
