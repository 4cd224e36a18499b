//! How the users' operations answer: a user with its `ETag` (and `Location`, or 304),
//! and the user a path names.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ETag},
};
use roster_domain::{User, UserId};

use super::dto::UserResponse;
use crate::{components::UserIdPath, conditional, error::ApiError};

/// A path id that is not a ULID names no user: 404, like any other unknown id.
pub(super) fn user_id(path: &UserIdPath) -> Result<UserId, ApiError> {
    UserId::parse(&path.id).map_err(|_| ApiError::NotFound(format!("no user with id {}", path.id)))
}

/// 201 with the new user, its `Location` and its `ETag`.
pub(crate) fn created(user: User) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}

/// 200 with the user and its `ETag`, or 304 when `If-None-Match` names it.
pub(super) fn representation(request: &HttpRequest, user: User) -> HttpResponse {
    let tag = ETag(conditional::etag(user.version));
    if conditional::not_modified(request, user.version) {
        return HttpResponse::NotModified().insert_header(tag).finish();
    }
    HttpResponse::Ok()
        .insert_header(tag)
        .json(UserResponse::from(user))
}

/// 200 with the changed user and its new `ETag`.
pub(super) fn changed(user: User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}
