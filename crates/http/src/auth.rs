//! `/api/v1/auth`: tokens, logout, registration.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use roster_application::{AuthService, LoginError};
use roster_domain::{Actor, Password};
use serde::{Deserialize, Serialize};

use crate::{
    caller::{Caller, TrustedProxies},
    error::ApiError,
    idempotency::Idempotency,
    observability::{LoginOutcome, Observability},
    users::{CreateUserRequest, created},
};

/// `POST /api/v1/auth/token`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    email: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

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
pub(crate) async fn revoke(
    auth: web::Data<AuthService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    auth.logout(&caller.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/auth/register`: a new member, when registration is enabled.
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
