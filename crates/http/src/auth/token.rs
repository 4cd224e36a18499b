//! `POST /api/v1/auth/token`: log in.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use roster_application::AuthService;
use roster_domain::{IssuedToken, Password};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{caller::client_of, components::BodyErrors, error::ApiError, problem::Problem};

/// Credentials to exchange for a token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    #[schema(example = "ada@example.com")]
    email: String,
    #[schema(write_only)]
    password: String,
}

/// A bearer token (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the token expires.
    #[schema(minimum = 0)]
    expires_in: i64,
}

#[utoipa::path(
    post, path = "/api/v1/auth/token", operation_id = "createToken", tag = "auth",
    summary = "Log in: exchange an e-mail address and password for a token",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A token", body = TokenResponse, headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong e-mail address or password (the same answer for unknown and disabled accounts)", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 429, description = "Too many failed logins from this client or for this account, or too many password hashes for this client", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
)]
pub(super) async fn token(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = client_of(&request)?;
    let TokenRequest { email, password } = body.into_inner();
    let issued = auth.login(&email, &Password::new(password), client).await?;
    Ok(bearer(issued))
}

/// 200 with the token, never cached.
fn bearer(issued: IssuedToken) -> HttpResponse {
    let expires_in = (issued.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token: issued.token,
            token_type: "Bearer",
            expires_in,
        })
}
