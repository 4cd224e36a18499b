//! `POST /api/v1/users/import`: an administrator imports users from an NDJSON body,
//! with the same rows, rules and outcomes as `roster users import` (docs/import.md).

use actix_web::{HttpRequest, HttpResponse, web};
use roster_application::{ImportOptions, MAX_BATCH_ROWS, RawUser, RowOutcome, TransferService};
use roster_domain::{ImportCounts, OnConflict};
use roster_transfer::Format;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    body::read_body,
    caller::Caller,
    components::{BodyErrors, OnConflictName},
    error::ApiError,
    problem::Problem,
};

/// The media type of the body: one JSON object per line.
const NDJSON: &str = "application/x-ndjson";

/// The largest body, in bytes: at most [`MAX_BATCH_ROWS`] rows of a few hundred bytes.
pub(crate) const IMPORT_BODY_LIMIT: usize = 1024 * 1024;

/// The most rows with a plain `password` one request may hold: about a second of one
/// hashing thread at the default cost.
pub(crate) const MAX_PASSWORD_ROWS: usize = 50;

/// How the rows are imported.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportQuery {
    /// What to do with a row whose user exists (same e-mail address or id): leave the
    /// user (`skip`, the default), make it what the row says (`update`), or report the
    /// row (`fail`).
    #[param(value_type = Option<OnConflictName>)]
    on_conflict: Option<String>,
    /// Validate and plan every row against the stored users, and write nothing.
    dry_run: Option<bool>,
}

/// How a row ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ImportOutcomeName {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Conflict,
    Invalid,
}

/// One row's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportRowResult {
    /// The row's line in the body, from 1.
    line: u64,
    outcome: ImportOutcomeName,
    /// The user the row created, changed or found.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// An invalid row's field (`row` when the line is not a user object).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// An invalid row's rule, or why a row conflicts (`exists`, `admin_demotion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// How many rows ended each way.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportCountsResponse {
    created: u64,
    updated: u64,
    unchanged: u64,
    skipped: u64,
    conflicts: u64,
    invalid: u64,
}

impl From<ImportCounts> for ImportCountsResponse {
    fn from(counts: ImportCounts) -> Self {
        Self {
            created: counts.created,
            updated: counts.updated,
            unchanged: counts.unchanged,
            skipped: counts.skipped,
            conflicts: counts.conflicts,
            invalid: counts.invalid,
        }
    }
}

/// Every row's outcome, in line order, and the counts.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportResponse {
    /// Whether nothing was written.
    dry_run: bool,
    counts: ImportCountsResponse,
    rows: Vec<ImportRowResult>,
}

fn result(line: u64, outcome: RowOutcome) -> ImportRowResult {
    let row = |outcome, id: roster_domain::UserId| ImportRowResult {
        line,
        outcome,
        id: Some(id.to_string()),
        field: None,
        rule: None,
        message: None,
    };
    match outcome {
        RowOutcome::Created(id) => row(ImportOutcomeName::Created, id),
        RowOutcome::Updated(id) => row(ImportOutcomeName::Updated, id),
        RowOutcome::Unchanged(id) => row(ImportOutcomeName::Unchanged, id),
        RowOutcome::Skipped(id) => row(ImportOutcomeName::Skipped, id),
        RowOutcome::Conflict { id, reason } => ImportRowResult {
            rule: Some(reason.to_owned()),
            ..row(ImportOutcomeName::Conflict, id)
        },
        RowOutcome::Invalid(error) => ImportRowResult {
            line,
            outcome: ImportOutcomeName::Invalid,
            id: None,
            field: Some(error.field),
            rule: Some(error.rule.to_owned()),
            message: Some(error.message),
        },
    }
}

/// The request body as the description states it: text, one user object per line.
#[derive(ToSchema)]
#[schema(value_type = String, example = json!("{\"email\":\"ada@example.com\",\"name\":\"Ada\",\"password_hash\":\"$2b$12$...\"}\n"))]
#[expect(dead_code, reason = "describes the body, which is read by hand")]
pub(crate) struct NdjsonUsers(String);

#[utoipa::path(
    post, path = "/api/v1/users/import", operation_id = "importUsers", tag = "users",
    summary = "Import users from NDJSON (administrators)",
    description = "One user object per line (`email`, `name`, `role`, `status`, `id`, `created_at`, and a `password` or a `password_hash` in argon2, bcrypt, scrypt or PBKDF2-SHA256 form), at most 2,000 lines and 1 MiB, of which at most 50 with a plain `password` (each costs a hash), written in one transaction. Every line gets an outcome; invalid lines name their field and rule and are not written. See docs/import.md.",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = NdjsonUsers, content_type = "application/x-ndjson"),
    responses(
        (status = 200, description = "Every row's outcome", body = ImportResponse),
        (status = 400, description = "Invalid parameters, more than 2,000 rows, or more than 50 with a plain password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an administrator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The users kept changing under the import; retry", body = Problem, content_type = "application/problem+json"),
        BodyErrors,
    ),
)]
pub(super) async fn import(
    request: HttpRequest,
    transfer: web::Data<TransferService>,
    caller: Caller,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let options = options(&query)?;
    // Refused before the body is read: a member's upload costs nothing.
    transfer.authorize_import(&caller.0)?;
    let media_type = actix_web::HttpMessage::mime_type(&request).ok().flatten();
    if media_type.as_ref().map(mime::Mime::essence_str) != Some(NDJSON) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "the body must be NDJSON, one user object per line (Content-Type: {NDJSON})"
        )));
    }
    let body = read_body(payload, IMPORT_BODY_LIMIT).await?;
    let mut raw: Vec<RawUser> = Vec::new();
    let mut unread = Vec::new();
    let rows = roster_transfer::rows(Format::Ndjson, body.as_ref())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    for row in rows {
        match row.map_err(|e| ApiError::BadRequest(format!("unreadable body: {e}")))? {
            Ok(user) => raw.push(user),
            Err((line, error)) => unread.push((line, error)),
        }
        if raw.len() + unread.len() > MAX_BATCH_ROWS {
            return Err(ApiError::BadRequest(format!(
                "at most {MAX_BATCH_ROWS} rows a request: split the body, or use `roster users import`"
            )));
        }
    }
    // Each plain password costs an argon2id hash (or a verification): bounded per
    // request, so that one upload cannot hold a hashing thread for minutes.
    let passwords = raw
        .iter()
        .filter(|row| row.password.as_deref().is_some_and(|p| !p.is_empty()))
        .count();
    if passwords > MAX_PASSWORD_ROWS {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_PASSWORD_ROWS} rows with a plain `password` a request ({passwords} given): each costs a password hash; import `password_hash`es, or use `roster users import`"
        )));
    }
    let mut report = transfer.import_batch(&caller.0, raw, options).await?;
    report.add_unreadable(unread);
    Ok(HttpResponse::Ok().json(ImportResponse {
        dry_run: options.dry_run,
        counts: report.counts.into(),
        rows: report
            .rows
            .into_iter()
            .map(|row| result(row.line, row.outcome))
            .collect(),
    }))
}

fn options(query: &ImportQuery) -> Result<ImportOptions, ApiError> {
    let on_conflict = match query.on_conflict.as_deref() {
        None => OnConflict::default(),
        Some(text) => text
            .parse()
            .map_err(|e| ApiError::BadRequest(format!("invalid parameter on_conflict: {e}")))?,
    };
    Ok(ImportOptions {
        on_conflict,
        dry_run: query.dry_run.unwrap_or(false),
    })
}
