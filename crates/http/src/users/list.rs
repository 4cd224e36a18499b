//! `GET /api/v1/users`: filtered, ordered, keyset-paginated listing.

use actix_web::{HttpResponse, http::header, web};
use roster_application::{UserPage, UserService};

use super::{
    cursor,
    dto::{UserListResponse, UserResponse},
    query::ListUsersQuery,
    representation::personal,
};
use crate::{caller::Caller, error::ApiError, problem::Problem};

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
pub(super) async fn list(
    users: web::Data<UserService>,
    caller: Caller,
    query: web::Query<ListUsersQuery>,
) -> Result<HttpResponse, ApiError> {
    let given = query.into_inner();
    let (query, include_total) = given.parse()?;
    let UserPage { items, next, total } = users.list(&caller.0, &query, include_total).await?;
    let next_cursor = next.as_ref().map(cursor::encode);
    let mut response = HttpResponse::Ok();
    personal(&mut response);
    if let Some(link) = next_cursor.clone().and_then(|c| given.next_page_link(c)) {
        response.insert_header((header::LINK, link));
    }
    Ok(response.json(UserListResponse {
        items: items.into_iter().map(UserResponse::from).collect(),
        next_cursor,
        total,
    }))
}
