//! `/api/v1/auth`: tokens, logout, registration.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use roster_application::{AuthService, LoginError};
use roster_domain::{Actor, Password};
use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

use crate::{
    caller::{Caller, TrustedProxies},
    error::ApiError,
    idempotency::Idempotency,
    observability::{LoginOutcome, Observability},
    openapi::{BodyErrors, IdempotencyKeyHeader, Problem},
    users::{CreateUserRequest, UserResponse, created},
};

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
        (status = 429, description = "Too many failed logins from this client or for this account", body = Problem, content_type = "application/problem+json", headers(("Retry-After" = String, description = "Seconds to wait"))),
    ),
)]
pub(crate) async fn token(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    proxies: web::Data<TrustedProxies>,
    observability: web::Data<Observability>,
    body: web::Json<TokenRequest>,
) -> Result<HttpResponse, ApiError> {
    let client = proxies
        .client_address(&request)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the request has no peer address")))?;
    let body = body.into_inner();
    let issued = auth
        .login(&body.email, &Password::new(body.password), client)
        .await
        .map_err(|e| match e {
            LoginError::InvalidCredentials => {
                observability.login(LoginOutcome::Failed);
                ApiError::InvalidCredentials
            }
            LoginError::Throttled { retry_after } => {
                observability.login(LoginOutcome::Throttled);
                ApiError::TooManyRequests {
                    retry_after_secs: retry_after.as_secs().max(1),
                }
            }
            LoginError::Unavailable(e) => ApiError::Unavailable(e),
            LoginError::Unexpected(e) => ApiError::Internal(e),
        })?;
    observability.login(LoginOutcome::Succeeded);
    let expires_in = (issued.expires_at - chrono::Utc::now())
        .num_seconds()
        .max(0);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TokenResponse {
            access_token: issued.token,
            token_type: "Bearer",
            expires_in,
        }))
}

/// `POST /api/v1/auth/revoke`: the presented token stops working.
#[utoipa::path(
    post, path = "/api/v1/auth/revoke", operation_id = "revokeToken", tag = "auth",
    summary = "Log out: the presented token stops working",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The token does not allow this", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn revoke(
    auth: web::Data<AuthService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    auth.logout(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/auth/register`: a new member, when registration is enabled.
#[utoipa::path(
    post, path = "/api/v1/auth/register", operation_id = "register", tag = "auth",
    summary = "Register as a member, when `auth.allow_registration` is on",
    params(IdempotencyKeyHeader),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Registered", body = UserResponse, headers(("Location" = String, description = "The new user's URL"), ("ETag" = String, description = "The user's entity tag"), ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a malformed Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Registration is disabled, or a role or status was asked for", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address is taken, or a request with this Idempotency-Key is still running", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "Invalid fields (all listed), or an Idempotency-Key reused for another body", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn register(
    request: HttpRequest,
    auth: web::Data<AuthService>,
    idempotency: web::Data<Idempotency>,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let canonical = serde_json::to_vec(&body).unwrap_or_default();
    idempotency
        .run(&request, &Actor::Anonymous, &canonical, async {
            let new = body.try_into_domain()?;
            match auth.register(new).await? {
                Some(user) => Ok(created(user)),
                None => Err(ApiError::Forbidden(
                    "self-registration is disabled".to_owned(),
                )),
            }
        })
        .await
}
