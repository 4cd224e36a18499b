//! `/api/v1/users`: request and response bodies, and the handlers.

use actix_web::{HttpResponse, http::header, web};
use chrono::{DateTime, Utc};
use roster_application::{UserPage, UserService};
use roster_domain::{
    Email, NewUser, PageRequest, PageSize, Password, Role, Status, User, UserId, UserName,
    UserReplacement,
};
use serde::{Deserialize, Serialize};

use crate::{
    caller::Caller,
    error::{ApiError, FieldErrors},
};

/// `POST /api/v1/users`. Role and status default to `member` and `active`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    email: String,
    name: String,
    password: String,
    role: Option<String>,
    status: Option<String>,
}

impl CreateUserRequest {
    pub(crate) fn try_into_domain(self) -> Result<NewUser, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&self.email));
        let name = errors.check("name", UserName::parse(&self.name));
        let role = errors.check(
            "role",
            self.role.as_deref().map_or(Ok(Role::default()), str::parse),
        );
        let status = errors.check(
            "status",
            self.status
                .as_deref()
                .map_or(Ok(Status::default()), str::parse),
        );
        match (email, name, role, status) {
            (Some(email), Some(name), Some(role), Some(status)) => Ok(NewUser {
                email,
                name,
                role,
                status,
                password: Password::new(self.password),
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// `PUT /api/v1/users/{id}`: every replaceable field, all required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceUserRequest {
    email: String,
    name: String,
    role: String,
    status: String,
}

impl ReplaceUserRequest {
    fn try_into_domain(self) -> Result<UserReplacement, ApiError> {
        let mut errors = FieldErrors::default();
        let email = errors.check("email", Email::parse(&self.email));
        let name = errors.check("name", UserName::parse(&self.name));
        let role = errors.check("role", self.role.parse::<Role>());
        let status = errors.check("status", self.status.parse::<Status>());
        match (email, name, role, status) {
            (Some(email), Some(name), Some(role), Some(status)) => Ok(UserReplacement {
                email,
                name,
                role,
                status,
            }),
            _ => Err(errors.into_error()),
        }
    }
}

/// `GET /api/v1/users` parameters, parsed by hand so that errors name the parameter.
#[derive(Debug, Deserialize)]
pub(crate) struct ListUsersQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListUsersQuery {
    fn try_into_domain(self) -> Result<PageRequest, ApiError> {
        let size = match self.limit.as_deref() {
            None => PageSize::default(),
            Some(text) => text
                .parse::<u64>()
                .ok()
                .and_then(|n| PageSize::new(n).ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "limit: must be an integer from 1 to {}",
                        PageSize::MAX
                    ))
                })?,
        };
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(text) => Some(UserId::parse(text).map_err(|_| {
                ApiError::BadRequest("cursor: not a cursor returned by this API".to_owned())
            })?),
        };
        Ok(PageRequest { size, after })
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct UserResponse {
    id: String,
    email: String,
    name: String,
    role: &'static str,
    status: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            name: user.name.as_str().to_owned(),
            role: user.role.as_str(),
            status: user.status.as_str(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            version: user.version,
        }
    }
}

#[derive(Debug, Serialize)]
struct UserListResponse {
    items: Vec<UserResponse>,
    next_cursor: Option<String>,
}

/// `PUT /api/v1/users/{id}/password`. `current_password` is required unless an
/// administrator sets the password.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordRequest {
    current_password: Option<String>,
    new_password: String,
}

/// A path id that is not a ULID names no user: 404, like any other unknown id.
fn parse_id(id: &str) -> Result<UserId, ApiError> {
    UserId::parse(id).map_err(|_| ApiError::NotFound(format!("no user with id {id}")))
}

pub(crate) async fn create(
    users: web::Data<UserService>,
    caller: Caller,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let new = body.into_inner().try_into_domain()?;
    let user = users.create(&caller.0, new).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .json(UserResponse::from(user)))
}

pub(crate) async fn get(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = users.get(&caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub(crate) async fn me(
    users: web::Data<UserService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let user = users.me(&caller.0).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub(crate) async fn list(
    users: web::Data<UserService>,
    caller: Caller,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.into_inner().try_into_domain()?;
    let UserPage { items, next } = users.list(&caller.0, page).await?;
    let mut response = HttpResponse::Ok();
    if let Some(next) = next {
        response.insert_header((
            header::LINK,
            format!(
                "</api/v1/users?limit={}&cursor={next}>; rel=\"next\"",
                page.size
            ),
        ));
    }
    Ok(response.json(UserListResponse {
        items: items.into_iter().map(UserResponse::from).collect(),
        next_cursor: next.map(|id| id.to_string()),
    }))
}

pub(crate) async fn replace(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ReplaceUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let replacement = body.into_inner().try_into_domain()?;
    let user = users.replace(&caller.0, id, replacement).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub(crate) async fn delete(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users.delete(&caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn change_password(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let body = body.into_inner();
    let current = body.current_password.map(Password::new);
    users
        .change_password(&caller.0, id, current, Password::new(body.new_password))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub(crate) async fn revoke_tokens(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users.revoke_tokens(&caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
