//! Who is calling: the [`Caller`] extractor turns `Authorization: Bearer …` into an
//! [`Actor`], and [`ClientAddress`] finds the client's IP behind trusted proxies.

use std::{future::Future, net::IpAddr, pin::Pin};

use actix_web::{FromRequest, HttpMessage as _, HttpRequest, dev::Payload, http::header, web};
use ipnet::IpNet;
use roster_application::AuthService;
use roster_domain::Actor;

use crate::error::ApiError;

/// The acting principal of a request: the verified, unrevoked bearer token's user.
/// No token, or a bad one, is a 401 at once.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub(crate) Actor);

/// The actor a middleware already authenticated (the rate limit, to count the request
/// against its user): the extractor takes it instead of verifying the token again.
#[derive(Debug, Clone)]
pub(crate) struct Authenticated(pub(crate) Actor);

/// The token of an `Authorization: Bearer <token>` header; `None` for any other.
pub(crate) fn bearer_token(header: Option<&header::HeaderValue>) -> Option<String> {
    let (scheme, token) = header?.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(Authenticated(actor)) = request.extensions().get::<Authenticated>().cloned() {
            return Box::pin(async move { Ok(Self(actor)) });
        }
        let auth = request.app_data::<web::Data<AuthService>>().cloned();
        let header = request.headers().get(header::AUTHORIZATION).cloned();
        Box::pin(async move {
            // Every route that takes a caller needs one: no credentials is a 401 before
            // anything else about the request is looked at.
            let Some(header) = header else {
                return Err(ApiError::Unauthenticated {
                    error: None,
                    description: "authentication required: send Authorization: Bearer <token>"
                        .to_owned(),
                });
            };
            let invalid = |description: &str| ApiError::Unauthenticated {
                error: Some("invalid_token"),
                description: description.to_owned(),
            };
            if header.to_str().is_err() {
                return Err(invalid("the Authorization header is not text"));
            }
            let token = bearer_token(Some(&header))
                .ok_or_else(|| invalid("expected Authorization: Bearer <token>"))?;
            let auth = auth
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no AuthService configured")))?;
            Ok(Self(auth.authenticate(&token).await?))
        })
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The scheme the client used: what a trusted proxy says (`X-Forwarded-Proto` or
    /// `Forwarded`, when `http` or `https`), else the connection's own. Never a client's
    /// free text, which would become a metric label.
    pub(crate) fn scheme(&self, request: &HttpRequest) -> &'static str {
        let own = if request.app_config().secure() {
            "https"
        } else {
            "http"
        };
        let from_proxy = request
            .peer_addr()
            .is_some_and(|peer| self.trusts(peer.ip()));
        match request.connection_info().scheme() {
            "https" if from_proxy => "https",
            "http" if from_proxy => "http",
            _ => own,
        }
    }

    /// The peer address, unless the peer is a trusted proxy: then the right-most
    /// `X-Forwarded-For` entry that is not itself a trusted proxy. Entries may carry a
    /// port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), which is ignored. An entry that
    /// reads as no address at all ends the walk at the hop that wrote it: the client
    /// cannot choose its address by sending garbage for the proxy to pass on.
    pub(crate) fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        if !self.trusts(peer) {
            return Some(peer);
        }
        let entries: Vec<String> = request
            .headers()
            .get_all("x-forwarded-for")
            .map(|value| value.to_str().map_or_else(|_| String::new(), str::to_owned))
            .flat_map(|value| {
                value
                    .split(',')
                    .map(|entry| entry.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Some(address) = forwarded_address(entry) else {
                break;
            };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        Some(client)
    }
}

/// An `X-Forwarded-For` entry's address: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse().ok())
        })
}

/// The client's address as the configured trusted proxies let it be known: what
/// throttles count against.
pub(crate) fn client_of(request: &HttpRequest) -> Result<IpAddr, ApiError> {
    let default = TrustedProxies::default();
    let proxies = request
        .app_data::<actix_web::web::Data<TrustedProxies>>()
        .map_or(&default, |data| data.get_ref());
    proxies
        .client_address(request)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the request has no peer address")))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn proxies() -> TrustedProxies {
        TrustedProxies(vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))])
    }

    fn from(peer: &str, proto: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-proto", proto))
            .to_http_request()
    }

    fn forwarded(peer: &str, chain: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap_or_else(|e| panic!("{e}")))
            .insert_header(("x-forwarded-for", chain))
            .to_http_request()
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_and_garbage_ends_the_walk() {
        let proxies = proxies();
        let client = |peer: &str, chain: &str| {
            proxies
                .client_address(&forwarded(peer, chain))
                .map(|a| a.to_string())
        };
        let some = |text: &str| Some(text.to_owned());
        // An untrusted peer is the client, whatever it forwards.
        assert_eq!(client("192.0.2.9:1", "203.0.113.5"), some("192.0.2.9"));
        assert_eq!(client("10.0.0.1:1", "203.0.113.5"), some("203.0.113.5"));
        assert_eq!(
            client("10.0.0.1:1", "198.51.100.1, 203.0.113.5, 10.0.0.2"),
            some("203.0.113.5")
        );
        // Ports are allowed.
        assert_eq!(
            client("10.0.0.1:1", "203.0.113.5:4711"),
            some("203.0.113.5")
        );
        assert_eq!(
            client("10.0.0.1:1", "[2001:db8::7]:4711"),
            some("2001:db8::7")
        );
        assert_eq!(client("10.0.0.1:1", "[2001:db8::7]"), some("2001:db8::7"));
        // What the client wrote left of an unreadable entry is not believed: the walk
        // stops at the proxy that passed the garbage on.
        assert_eq!(
            client("10.0.0.1:1", "198.51.100.1, garbage"),
            some("10.0.0.1")
        );
        assert_eq!(
            client("10.0.0.1:1", "198.51.100.1, bad, 10.0.0.2"),
            some("10.0.0.2")
        );
    }

    #[test]
    fn only_a_trusted_proxy_names_the_scheme_and_only_http_or_https() {
        assert_eq!(proxies().scheme(&from("10.1.2.3:4000", "https")), "https");
        assert_eq!(proxies().scheme(&from("10.1.2.3:4000", "gopher")), "http");
        assert_eq!(proxies().scheme(&from("192.0.2.1:4000", "https")), "http");
    }
}
