//! How the users' operations answer: a user with its `ETag` (and `Location`, or 304),
//! and the user a path names.

use actix_web::{
    HttpRequest, HttpResponse, HttpResponseBuilder,
    http::header::{self, ETag},
};
use roster_domain::{User, UserId};

use super::dto::UserResponse;
use crate::{components::UserIdPath, conditional, error::ApiError};

/// A path id that is not a ULID names no user: 404, like any other unknown id.
pub(super) fn user_id(path: &UserIdPath) -> Result<UserId, ApiError> {
    UserId::parse(&path.id).map_err(|_| ApiError::NotFound(format!("no user with id {}", path.id)))
}

/// Marks a response as one caller's view: no shared cache may store it, and a private
/// one revalidates it (the `ETag` makes that cheap) and keeps one copy per token.
pub(super) fn personal(response: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    response
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::VARY, "Authorization"))
}

/// 201 with the new user, its `Location` and its `ETag`.
pub(crate) fn created(user: User) -> HttpResponse {
    personal(&mut HttpResponse::Created())
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .insert_header(ETag(conditional::etag(user.id, user.version)))
        .json(UserResponse::from(user))
}

/// 200 with the user and its `ETag`, or 304 when `If-None-Match` names it.
pub(super) fn representation(request: &HttpRequest, user: User) -> HttpResponse {
    let tag = ETag(conditional::etag(user.id, user.version));
    if conditional::not_modified(request, user.id, user.version) {
        return personal(&mut HttpResponse::NotModified())
            .insert_header(tag)
            .finish();
    }
    personal(&mut HttpResponse::Ok())
        .insert_header(tag)
        .json(UserResponse::from(user))
}

/// 200 with the changed user and its new `ETag`.
pub(super) fn changed(user: User) -> HttpResponse {
    personal(&mut HttpResponse::Ok())
        .insert_header(ETag(conditional::etag(user.id, user.version)))
        .json(UserResponse::from(user))
}
