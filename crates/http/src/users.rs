//! `/api/v1/users`: request and response bodies, and the handlers.

use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, ETag},
    web,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use roster_application::{UserPage, UserService};
use roster_domain::{
    Email, NewUser, PageSize, Password, Role, Sort, Status, User, UserFilter, UserId, UserName,
    UserPatch, UserQuery, UserReplacement,
};
use serde::{Deserialize, Serialize};

use utoipa::{IntoParams, ToSchema};

use crate::{
    caller::Caller,
    conditional,
    error::{ApiError, FieldErrors},
    idempotency::Idempotency,
    openapi::{
        BodyErrors, IdempotencyKeyHeader, IfMatchHeader, IfNoneMatchHeader, PreconditionErrors,
        Problem, RoleName, SortName, StatusName, UserIdPath,
    },
    settings::ApiSettings,
};

/// A new user. Role and status default to `member` and `active`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUserRequest {
    /// Unique, compared ignoring case.
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    email: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        example = "Ada Lovelace"
    )]
    name: String,
    #[schema(min_length = 8, max_length = 128, write_only)]
    password: String,
    #[schema(value_type = Option<RoleName>)]
    role: Option<String>,
    #[schema(value_type = Option<StatusName>)]
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

/// A user's replaceable fields, all required (`PUT`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceUserRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    #[schema(value_type = RoleName)]
    role: String,
    #[schema(value_type = StatusName)]
    status: String,
}

/// A JSON merge patch of a user (`PATCH`): the members given change, the others stay.
/// None may be `null`: no field can be removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "describes the PATCH body, which is parsed by hand"
)]
pub(crate) struct UserMergePatch {
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    name: String,
    #[serde(default)]
    #[schema(value_type = RoleName)]
    role: String,
    #[serde(default)]
    #[schema(value_type = StatusName)]
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

/// `GET /api/v1/users` parameters as given; [`ListUsersQuery::parse`] checks them, so
/// that every error names its parameter.
#[derive(Debug, Default, Deserialize, Serialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListUsersQuery {
    /// This address, compared ignoring case.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 254)]
    email: Option<String>,
    /// Addresses at this domain, ignoring case.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 253, pattern = r"^[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*$", example = "example.com")]
    email_domain: Option<String>,
    /// Names containing this text, ignoring case; `%` and `_` are literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    name_contains: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<RoleName>)]
    role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<StatusName>)]
    status: Option<String>,
    /// Created strictly after this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    created_after: Option<String>,
    /// Created strictly before this instant (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<chrono::DateTime<Utc>>)]
    created_before: Option<String>,
    /// The order (default `created_at`); ties are broken by id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<SortName>)]
    sort: Option<String>,
    /// Users per page (default 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<u16>, minimum = 1, maximum = 200)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page, with the same `sort`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<String>, min_length = 1)]
    cursor: Option<String>,
    /// Adds `total`, the number of users that pass the filters (a second query).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(value_type = Option<bool>)]
    include_total: Option<String>,
}

/// The longest `name_contains` (a name is at most this long).
const NAME_CONTAINS_MAX: usize = 100;

/// Collects the invalid query parameters, so one 400 names all of them.
#[derive(Debug, Default)]
struct ParameterErrors(Vec<String>);

impl ParameterErrors {
    fn check<T, E: std::fmt::Display>(&mut self, name: &str, parsed: Result<T, E>) -> Option<T> {
        parsed
            .map_err(|error| self.0.push(format!("{name}: {error}")))
            .ok()
    }
}

impl ListUsersQuery {
    fn parse(&self) -> Result<(UserQuery, bool), ApiError> {
        let mut errors = ParameterErrors::default();
        let filter = UserFilter {
            // Any text may be looked for; an address that cannot exist matches nobody.
            email: text(self.email.as_ref()).and_then(|v| {
                errors.check(
                    "email",
                    if v.chars().count() <= Email::MAX_LEN {
                        Ok(v.trim().to_lowercase())
                    } else {
                        Err(format!("at most {} characters", Email::MAX_LEN))
                    },
                )
            }),
            email_domain: text(self.email_domain.as_ref())
                .and_then(|v| errors.check("email_domain", parse_domain(v))),
            name_contains: text(self.name_contains.as_ref()).and_then(|v| {
                errors.check(
                    "name_contains",
                    if v.chars().count() > NAME_CONTAINS_MAX {
                        Err(format!("at most {NAME_CONTAINS_MAX} characters"))
                    } else if v.chars().any(char::is_control) {
                        Err("must not contain control characters (names have none)".to_owned())
                    } else {
                        Ok(v.to_owned())
                    },
                )
            }),
            role: text(self.role.as_ref()).and_then(|v| errors.check("role", v.parse::<Role>())),
            status: text(self.status.as_ref())
                .and_then(|v| errors.check("status", v.parse::<Status>())),
            created_after: text(self.created_after.as_ref())
                .and_then(|v| errors.check("created_after", parse_instant(v))),
            created_before: text(self.created_before.as_ref())
                .and_then(|v| errors.check("created_before", parse_instant(v))),
        };
        let sort = text(self.sort.as_ref())
            .and_then(|v| errors.check("sort", v.parse::<Sort>()))
            .unwrap_or_default();
        let size = text(self.limit.as_ref())
            .and_then(|v| {
                errors.check(
                    "limit",
                    v.parse::<u64>()
                        .ok()
                        .and_then(|n| PageSize::new(n).ok())
                        .ok_or_else(|| format!("must be an integer from 1 to {}", PageSize::MAX)),
                )
            })
            .unwrap_or_default();
        let include_total = text(self.include_total.as_ref())
            .and_then(|v| {
                errors.check(
                    "include_total",
                    v.parse::<bool>().map_err(|_| "must be true or false"),
                )
            })
            .unwrap_or(false);
        let after = text(self.cursor.as_ref()).and_then(|v| {
            errors.check(
                "cursor",
                cursor::decode(v).and_then(|cursor| {
                    if cursor.sort == sort {
                        Ok(cursor)
                    } else {
                        Err(format!(
                            "issued for sort={}; repeat that sort, or start without a cursor",
                            cursor.sort.as_str()
                        ))
                    }
                }),
            )
        });
        if !errors.0.is_empty() {
            return Err(ApiError::BadRequest(errors.0.join("; ")));
        }
        Ok((
            UserQuery {
                filter,
                sort,
                size,
                after,
            },
            include_total,
        ))
    }
}

/// A parameter's value. An empty one is a value, which most parameters refuse.
fn text(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str)
}

/// A domain to filter by: a host name, compared in lower case.
fn parse_domain(text: &str) -> Result<String, &'static str> {
    let valid = text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if valid {
        Ok(text.to_lowercase())
    } else {
        Err("must be a domain name, such as example.com")
    }
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, &'static str> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 date-time, such as 2026-01-31T12:00:00Z")
}

/// Cursors are opaque to clients: URL-safe base64 of a small JSON object with the
/// sort order, the last user's sort key and their id.
mod cursor {
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use chrono::{DateTime, SecondsFormat, Utc};
    use roster_domain::{Cursor, Sort, SortField, SortKey, UserId};
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize)]
    struct Wire {
        s: String,
        k: String,
        i: String,
    }

    pub(super) fn encode(cursor: &Cursor) -> String {
        let key = match &cursor.key {
            SortKey::Instant(at) => at.to_rfc3339_opts(SecondsFormat::Nanos, true),
            SortKey::Text(text) => text.clone(),
        };
        let wire = Wire {
            s: cursor.sort.as_str().to_owned(),
            k: key,
            i: cursor.id.to_string(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    pub(super) fn decode(text: &str) -> Result<Cursor, String> {
        let invalid = || "not a cursor returned by this API".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let wire: Wire = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let sort: Sort = wire.s.parse().map_err(|_| invalid())?;
        let key = match sort.field {
            SortField::CreatedAt => SortKey::Instant(
                DateTime::parse_from_rfc3339(&wire.k)
                    .map_err(|_| invalid())?
                    .with_timezone(&Utc),
            ),
            SortField::Email | SortField::Name => SortKey::Text(wire.k),
        };
        let cursor = Cursor {
            sort,
            key,
            id: UserId::parse(&wire.i).map_err(|_| invalid())?,
        };
        if cursor.fits() {
            Ok(cursor)
        } else {
            Err(invalid())
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserResponse {
    /// A ULID: 26 characters, sortable by creation time.
    #[schema(
        pattern = "^[0-9A-HJKMNP-TV-Z]{26}$",
        example = "01JD4ZK3M2Q8V6W1T9X5Y7B0CE"
    )]
    id: String,
    #[schema(format = Email)]
    email: String,
    name: String,
    #[schema(value_type = RoleName)]
    role: &'static str,
    #[schema(value_type = StatusName)]
    status: &'static str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// 1 on creation, one more with every change; the `ETag` is `"v{version}"`.
    #[schema(minimum = 1)]
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

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserList)]
pub(crate) struct UserListResponse {
    items: Vec<UserResponse>,
    next_cursor: Option<String>,
    /// Only with `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<u64>,
}

/// A new password. `current_password` is required unless an administrator sets
/// another user's password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePasswordRequest {
    #[schema(write_only)]
    current_password: Option<String>,
    #[schema(min_length = 8, max_length = 128, write_only)]
    new_password: String,
}

/// A path id that is not a ULID names no user: 404, like any other unknown id.
fn parse_id(id: &str) -> Result<UserId, ApiError> {
    UserId::parse(id).map_err(|_| ApiError::NotFound(format!("no user with id {id}")))
}

#[utoipa::path(
    post, path = "/api/v1/users", operation_id = "createUser", tag = "users",
    summary = "Create a user (administrators)",
    security(("bearer" = [])),
    params(IdempotencyKeyHeader),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created", body = UserResponse, headers(("Location" = String, description = "The new user's URL"), ("ETag" = String, description = "The user's entity tag"), ("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, description = "Malformed JSON, an unknown field, or a malformed Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address is taken, or a request with this Idempotency-Key is still running", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "Invalid fields (all listed), or an Idempotency-Key reused for another body", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn create(
    request: HttpRequest,
    users: web::Data<UserService>,
    idempotency: web::Data<Idempotency>,
    caller: Caller,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // The fingerprint of a retry: the parsed body, so formatting does not matter.
    let canonical = serde_json::to_vec(&body).unwrap_or_default();
    idempotency
        .run(&request, &caller.0, &canonical, async {
            let new = body.try_into_domain()?;
            let user = users.create(&caller.0, new).await?;
            Ok(created(user))
        })
        .await
}

/// 201 with the new user, its `Location` and its `ETag`.
pub(crate) fn created(user: User) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/users/{}", user.id)))
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}

/// 200 with the user and its `ETag`, or 304 when `If-None-Match` names it.
fn representation(request: &HttpRequest, user: User) -> HttpResponse {
    let tag = ETag(conditional::etag(user.version));
    if conditional::not_modified(request, user.version) {
        return HttpResponse::NotModified().insert_header(tag).finish();
    }
    HttpResponse::Ok()
        .insert_header(tag)
        .json(UserResponse::from(user))
}

#[utoipa::path(
    get, path = "/api/v1/users/{id}", operation_id = "getUser", tag = "users",
    summary = "Get a user (administrators, or the user)",
    security(("bearer" = [])),
    params(UserIdPath, IfNoneMatchHeader),
    responses(
        (status = 200, description = "The user", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 304, description = "Not modified: `If-None-Match` names the current version", headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 403, description = "Another user, and not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn get(
    request: HttpRequest,
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = users.get(&caller.0, parse_id(&id)?).await?;
    Ok(representation(&request, user))
}

#[utoipa::path(
    get, path = "/api/v1/users/me", operation_id = "getCurrentUser", tag = "users",
    summary = "The caller",
    security(("bearer" = [])),
    params(IfNoneMatchHeader),
    responses(
        (status = 200, description = "The caller", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 304, description = "Not modified", headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 403, description = "The token does not allow reading the caller", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller's user no longer exists", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn me(
    request: HttpRequest,
    users: web::Data<UserService>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let user = users.me(&caller.0).await?;
    Ok(representation(&request, user))
}

#[utoipa::path(
    get, path = "/api/v1/users", operation_id = "listUsers", tag = "users",
    summary = "List users (administrators): filters, orders, keyset pages",
    security(("bearer" = [])),
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = UserListResponse, headers(("Link" = String, description = "`rel=\"next\"`: the next page, when there is one"))),
        (status = 400, description = "Invalid parameters, all named", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn list(
    users: web::Data<UserService>,
    caller: Caller,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let given = query.into_inner();
    let (query, include_total) = given.parse()?;
    let UserPage { items, next, total } = users.list(&caller.0, &query, include_total).await?;
    let next_cursor = next.as_ref().map(cursor::encode);
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        // The same query, from the next position.
        let next_query = ListUsersQuery {
            cursor: Some(cursor.clone()),
            ..given
        };
        if let Ok(encoded) = serde_urlencoded::to_string(&next_query) {
            response.insert_header((
                header::LINK,
                format!("</api/v1/users?{encoded}>; rel=\"next\""),
            ));
        }
    }
    Ok(response.json(UserListResponse {
        items: items.into_iter().map(UserResponse::from).collect(),
        next_cursor,
        total,
    }))
}

/// 200 with the changed user and its new `ETag`.
fn changed(user: User) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(conditional::etag(user.version)))
        .json(UserResponse::from(user))
}

#[utoipa::path(
    put, path = "/api/v1/users/{id}", operation_id = "replaceUser", tag = "users",
    summary = "Replace a user's fields (role and status: administrators)",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    request_body = ReplaceUserRequest,
    responses(
        (status = 200, description = "The changed user", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address is taken, or the user kept changing concurrently", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
        BodyErrors,
        (status = 422, description = "Invalid fields, all listed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn replace(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<ReplaceUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let if_version = conditional::if_match(&request, **api)?;
    let replacement = body.into_inner().try_into_domain()?;
    let user = users
        .replace(&caller.0, id, replacement, if_version)
        .await?;
    Ok(changed(user))
}

/// The media type of `PATCH` bodies (RFC 7396).
const MERGE_PATCH: &str = "application/merge-patch+json";

/// `PATCH /api/v1/users/{id}`: a JSON merge patch of `email`, `name`, `role` and
/// `status`. Absent members stay as they are; none may be removed (`null`).
#[utoipa::path(
    patch, path = "/api/v1/users/{id}", operation_id = "patchUser", tag = "users",
    summary = "Change some of a user's fields (JSON merge patch)",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    request_body(content = UserMergePatch, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed user", body = UserResponse, headers(("ETag" = String, description = "The new version's entity tag"))),
        (status = 400, description = "Malformed JSON, not an object, or an unknown member", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail address is taken, or the user kept changing concurrently", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
        BodyErrors,
        (status = 422, description = "Invalid or `null` members, all listed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn patch(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    limit: web::Data<BodyLimit>,
    caller: Caller,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let if_version = conditional::if_match(&request, **api)?;
    let media_type = actix_web::HttpMessage::mime_type(&request).ok().flatten();
    if media_type.as_ref().map(mime::Mime::essence_str) != Some(MERGE_PATCH) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be a JSON merge patch (Content-Type: {MERGE_PATCH})"
        )));
    }
    let body = read_body(payload, limit.0).await?;
    let patch = parse_merge_patch(&body)?;
    let user = users.patch(&caller.0, id, patch, if_version).await?;
    Ok(changed(user))
}

/// The largest request body, for handlers that read theirs by hand.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit(pub(crate) usize);

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
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

#[utoipa::path(
    delete, path = "/api/v1/users/{id}", operation_id = "deleteUser", tag = "users",
    summary = "Delete a user (administrators); their tokens stop working",
    security(("bearer" = [])),
    params(UserIdPath, IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "A malformed `If-Match`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        PreconditionErrors,
    ),
)]
pub(crate) async fn delete(
    request: HttpRequest,
    users: web::Data<UserService>,
    api: web::Data<ApiSettings>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id)?;
    let if_version = conditional::if_match(&request, **api)?;
    users.delete(&caller.0, id, if_version).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    put, path = "/api/v1/users/{id}/password", operation_id = "changePassword", tag = "users",
    summary = "Change a password; every earlier token of the user stops working",
    security(("bearer" = [])),
    params(UserIdPath),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Malformed JSON or an unknown field", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
        (status = 422, description = "A password rule is broken, or `current_password` is missing or wrong", body = Problem, content_type = "application/problem+json"),
    ),
)]
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

#[utoipa::path(
    post, path = "/api/v1/users/{id}/revoke-tokens", operation_id = "revokeUserTokens", tag = "users",
    summary = "Revoke every token of a user (administrators)",
    security(("bearer" = [])),
    params(UserIdPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(crate) async fn revoke_tokens(
    users: web::Data<UserService>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    users.revoke_tokens(&caller.0, parse_id(&id)?).await?;
    Ok(HttpResponse::NoContent().finish())
}
