//! The per-caller rate limit: a quota per route class, counted per user for a request
//! with a valid token and per client address otherwise, announced in the `RateLimit`
//! and `RateLimit-Policy` fields of draft-ietf-httpapi-ratelimit-headers, and 429 with
//! `Retry-After` past it. Only `/api/v1` is limited: probes, `/metrics` and the OpenAPI
//! document never are.

use std::{fmt, sync::Arc, time::Duration};

use actix_web::{
    Error, HttpMessage as _, ResponseError as _,
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Method,
        header::{AUTHORIZATION, HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use chrono::Utc;
use roster_application::AuthService;
use roster_domain::{
    Actor,
    ports::{Quota, RateDecision, RateLimiter, ThrottleKey},
};

use crate::{
    caller::{Authenticated, TrustedProxies, bearer_token},
    error::ApiError,
};

static RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
static RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The classes of routes a quota applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouteClass {
    /// `/api/v1/auth/…`: logins, refreshes, registrations, logouts.
    Auth,
    /// Other `GET` and `HEAD` requests.
    Read,
    /// Every other request.
    Write,
}

impl RouteClass {
    fn of(request: &ServiceRequest) -> Self {
        if request.path().starts_with("/api/v1/auth/") {
            Self::Auth
        } else if matches!(*request.method(), Method::GET | Method::HEAD) {
            Self::Read
        } else {
            Self::Write
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// The quota of each route class (none: not limited), and where requests are counted.
#[derive(Clone)]
pub struct RateLimits {
    pub limiter: Arc<dyn RateLimiter>,
    pub auth: Option<Quota>,
    pub read: Option<Quota>,
    pub write: Option<Quota>,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("auth", &self.auth)
            .field("read", &self.read)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    fn quota(&self, class: RouteClass) -> Option<Quota> {
        match class {
            RouteClass::Auth => self.auth,
            RouteClass::Read => self.read,
            RouteClass::Write => self.write,
        }
    }
}

/// Seconds, rounded up: a client told to wait 0 seconds would come back at once.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// `RateLimit-Policy` and `RateLimit` for `decision` under `quota`.
fn fields(class: RouteClass, quota: Quota, decision: RateDecision) -> [(HeaderName, String); 2] {
    let name = class.as_str();
    [
        (
            RATELIMIT_POLICY.clone(),
            format!(
                "\"{name}\";q={};w={}",
                quota.requests,
                seconds(quota.window)
            ),
        ),
        (
            RATELIMIT.clone(),
            format!(
                "\"{name}\";r={};t={}",
                decision.remaining,
                seconds(decision.reset)
            ),
        ),
    ]
}

/// Who the request is counted against: the user of a valid token (which is kept for
/// the handler, so the token is verified once), else the client's address (an IPv6
/// /64 as one). A bad token counts against the address; the handler answers it 401.
async fn caller_key(request: &ServiceRequest) -> String {
    if let (Some(token), Some(auth)) = (
        bearer_token(request.headers().get(AUTHORIZATION)),
        request.app_data::<web::Data<AuthService>>(),
    ) && let Ok(actor) = auth.authenticate(&token).await
    {
        let key = match &actor {
            Actor::User(session) => Some(format!("user:{}", session.user_id)),
            Actor::System | Actor::Anonymous => None,
        };
        request.extensions_mut().insert(Authenticated(actor));
        if let Some(key) = key {
            return key;
        }
    }
    let address = request
        .app_data::<web::Data<TrustedProxies>>()
        .and_then(|proxies| proxies.client_address(request.request()))
        .map(ThrottleKey::client_address);
    address.map_or_else(|| "client:unknown".to_owned(), |a| format!("client:{a}"))
}

pub(crate) async fn rate_limit(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let class = RouteClass::of(&request);
    let limits = request.app_data::<web::Data<RateLimits>>().cloned();
    let Some((limits, quota)) =
        limits.and_then(|limits| limits.quota(class).map(|quota| (limits, quota)))
    else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    let key = format!("{}:{}", class.as_str(), caller_key(&request).await);
    let decision = limits.limiter.hit(&key, quota, Utc::now()).await;
    let fields = fields(class, quota, decision);
    if !decision.allowed {
        tracing::info!(class = class.as_str(), "rate limit reached");
        let mut response = ApiError::TooManyRequests {
            retry_after_secs: seconds(decision.reset).max(1),
        }
        .error_response();
        add(response.headers_mut(), fields);
        return Ok(request.into_response(response).map_into_right_body());
    }
    let mut response = next.call(request).await?;
    add(response.headers_mut(), fields);
    Ok(response.map_into_left_body())
}

fn add(headers: &mut actix_web::http::header::HeaderMap, fields: [(HeaderName, String); 2]) {
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_follow_the_draft() {
        let quota = Quota {
            requests: 100,
            window: Duration::from_secs(60),
        };
        let decision = RateDecision {
            allowed: true,
            remaining: 41,
            reset: Duration::from_millis(12_300),
        };
        let [(policy_name, policy), (state_name, state)] =
            fields(RouteClass::Read, quota, decision);
        assert_eq!(policy_name.as_str(), "ratelimit-policy");
        assert_eq!(policy, "\"read\";q=100;w=60");
        assert_eq!(state_name.as_str(), "ratelimit");
        assert_eq!(state, "\"read\";r=41;t=13");
    }
}
