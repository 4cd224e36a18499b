//! `PATCH /api/v1/users/{id}`: a JSON merge patch (RFC 7396) of a user.

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::UserService;
use roster_domain::{Email, Role, Status, UserName, UserPatch};

use super::{
    dto::UserMergePatch,
    outcomes::ChangeOutcomes,
    representation::{changed, user_id},
};
use crate::{
    body::{BodyLimit, read_body},
    caller::Caller,
    components::{BodyErrors, IfMatchHeader, PreconditionErrors, UserIdPath},
    conditional,
    error::{ApiError, FieldErrors},
    problem::Problem,
    routing::MERGE_PATCH,
    settings::ApiSettings,
};

/// `PATCH /api/v1/users/{id}`: a JSON merge patch of `email`, `name`, `role` and
/// `status`. Absent members stay as they are; none may be removed (`null`).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", operation_id = "patchUser", tag = "users",
    summary = "Change some of a user's fields (JSON merge patch)",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    request_body(content = UserMergePatch, content_type = "application/merge-patch+json"),
    responses(
        ChangeOutcomes,
        (status = 400, description = "Malformed JSON, not an object, or an unknown member", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
        BodyErrors,
        (status = 422, description = "Invalid or `null` members, all listed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn patch(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    limit: web::Data<BodyLimit>,
    caller: Caller,
    path: web::Path<UserIdPath>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = user_id(&path)?;
    let if_version = conditional::if_match(&request, **api, id)?;
    let media_type = actix_web::HttpMessage::mime_type(&request).ok().flatten();
    if media_type.as_ref().map(mime::Mime::essence_str) != Some(MERGE_PATCH) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be a JSON merge patch (Content-Type: {MERGE_PATCH})"
        )));
    }
    let body = read_body(payload, limit.0).await?;
    let changes = parse_merge_patch(&body)?;
    let user = users.patch(&caller.0, id, changes, if_version).await?;
    Ok(changed(user))
}

/// The members a merge patch may set.
const PATCHABLE: [&str; 4] = ["email", "name", "role", "status"];

fn parse_merge_patch(body: &[u8]) -> Result<UserPatch, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {e}")))?;
    let serde_json::Value::Object(members) = value else {
        return Err(ApiError::BadRequest(
            "invalid body: a merge patch of a user must be a JSON object".to_owned(),
        ));
    };
    if let Some(unknown) = members
        .keys()
        .find(|key| !PATCHABLE.contains(&key.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "invalid body: unknown field `{unknown}`, expected one of {}",
            PATCHABLE.join(", ")
        )));
    }
    let mut errors = FieldErrors::default();
    let mut text = |field: &'static str| -> Option<String> {
        match members.get(field) {
            None => None,
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(serde_json::Value::Null) => {
                errors.push(field, "cannot be removed");
                None
            }
            Some(_) => {
                errors.push(field, "must be a string");
                None
            }
        }
    };
    let (email, name, role, status) = (text("email"), text("name"), text("role"), text("status"));
    let patch = UserPatch {
        email: email.and_then(|v| errors.check("email", Email::parse(&v))),
        name: name.and_then(|v| errors.check("name", UserName::parse(&v))),
        role: role.and_then(|v| errors.check("role", v.parse::<Role>())),
        status: status.and_then(|v| errors.check("status", v.parse::<Status>())),
    };
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(errors.into_error())
    }
}
