//! `POST /api/v1/auth/token`: log in with a password, or renew with a refresh token.

use actix_web::{
    HttpRequest, HttpResponse,
    error::JsonPayloadError,
    http::header::{self, USER_AGENT},
    web,
};
use roster_application::{AuthService, Grant};
use roster_domain::Password;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    caller::client_of,
    components::BodyErrors,
    error::{ApiError, json_error},
    problem::Problem,
};

/// What to exchange for tokens (RFC 6749 §4.3 and §6, as JSON): an e-mail address and
/// password (`grant_type` `password`, which may be left out), or a refresh token
/// (`grant_type` `refresh_token`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum TokenRequest {
    Password(PasswordGrant),
    Refresh(RefreshGrant),
}

/// Log in with a password: starts a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordGrant {
    #[schema(inline)]
    #[expect(
        dead_code,
        reason = "checked by serde; the handler goes by the variant"
    )]
    grant_type: Option<PasswordGrantType>,
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(write_only)]
    password: String,
}

/// Renew a session: the refresh token is spent, and a new one comes back with the
/// access token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshGrant {
    #[schema(inline)]
    #[expect(
        dead_code,
        reason = "checked by serde; the handler goes by the variant"
    )]
    grant_type: RefreshGrantType,
    #[schema(write_only)]
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum PasswordGrantType {
    Password,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum RefreshGrantType {
    RefreshToken,
}

impl TokenRequest {
    /// The grant the body names, read as that grant: so that a mistake is reported
    /// against the grant the client meant, not as "matches no variant".
    fn read(body: serde_json::Value) -> Result<Self, ApiError> {
        let refresh =
            body.get("grant_type").and_then(serde_json::Value::as_str) == Some("refresh_token");
        let read = if refresh {
            serde_json::from_value(body).map(Self::Refresh)
        } else {
            serde_json::from_value(body).map(Self::Password)
        };
        read.map_err(|e| json_error(JsonPayloadError::Deserialize(e)))
    }
}

/// A bearer token (RFC 6749 §5.1) and the session's next refresh token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(minimum = 0)]
    expires_in: i64,
    /// Spend it (once) at this endpoint for new tokens; keep it secret. A refresh
    /// token presented twice ends its session.
    refresh_token: String,
    /// Seconds until the refresh token stops working unless it is used first (the
    /// session's idle timeout, or its end).
    #[schema(minimum = 0)]
    refresh_expires_in: i64,
}

#[utoipa::path(
    post, path = "/api/v1/auth/token", operation_id = "createToken", tag = "auth",
    summary = "Log in, or renew a session: exchange a password or a refresh token for tokens",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "An access token and the session's next refresh token", body = TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong e-mail address or password (the same answer for unknown and disabled accounts), or a refresh token that is unknown, spent (its session is then ended) or whose session is over", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 429, description = "Too many failed logins from this client or for this account, too many password hashes for this client, or too many refreshes of this session", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
)]
pub(super) async fn token(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&request)?;
    let grant = match TokenRequest::read(body.into_inner())? {
        TokenRequest::Password(PasswordGrant {
            email, password, ..
        }) => {
            let user_agent = request
                .headers()
                .get(USER_AGENT)
                .and_then(|value| value.to_str().ok());
            auth.login(&email, &Password::new(password), client, user_agent)
                .await?
        }
        TokenRequest::Refresh(RefreshGrant { refresh_token, .. }) => {
            auth.refresh(&refresh_token, client).await?
        }
    };
    Ok(bearer(grant))
}

/// 200 with the tokens, never cached.
fn bearer(grant: Grant) -> HttpResponse {
    let now = chrono::Utc::now();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token: grant.access.token,
            token_type: "Bearer",
            expires_in: (grant.access.expires_at - now).num_seconds().max(0),
            refresh_token: grant.refresh_token,
            refresh_expires_in: (grant.refresh_expires_at - now).num_seconds().max(0),
        })
}
