//! The OpenAPI 3.1 description of the API, generated from the handlers' annotations
//! and the request and response types, so it cannot drift from the code. Served at
//! `GET /api-docs/openapi.json`; `docs/openapi.json` is a copy that a test keeps
//! current.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use roster_domain::PasswordPolicy;
use serde_json::{Value, json};
use utoipa::{
    Modify, OpenApi,
    openapi::{
        self,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    audit, auth,
    components::{
        AuditActionName, AuditOutcomeName, OnConflictName, RoleName, SortName, StatusName,
    },
    error::FieldError,
    observability, probes,
    problem::Problem,
    users,
};

/// The spec, rendered once at start-up.
#[derive(Debug, Clone)]
pub(crate) struct OpenApiDocument(pub(crate) web::Bytes);

/// `GET /api-docs/openapi.json`.
#[utoipa::path(
    get,
    path = "/api-docs/openapi.json",
    operation_id = "openApi",
    tag = "meta",
    responses((status = 200, description = "This API's OpenAPI 3.1 description", content_type = "application/json", body = Object)),
)]
pub(crate) async fn serve(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.0.clone())
}

/// The description for a service whose new passwords follow `policy`: the password
/// rules (length, common passwords) are part of the request schemas.
pub fn document(policy: PasswordPolicy) -> Value {
    let mut spec = serde_json::to_value(described()).unwrap_or(Value::Null);
    not_nullable_parameters(&mut spec);
    headers::add_response_headers(&mut spec);
    let password = password_schema(policy);
    for (schema, property) in [
        ("CreateUserRequest", "password"),
        ("ChangePasswordRequest", "new_password"),
    ] {
        if let Some(slot) = spec.pointer_mut(&format!(
            "/components/schemas/{schema}/properties/{property}"
        )) {
            *slot = password.clone();
        }
    }
    spec
}

/// The description of every resource, with what all operations share.
fn described() -> openapi::OpenApi {
    let mut api = ApiDoc::openapi();
    api.merge(auth::AuthApi::openapi());
    api.merge(users::UsersApi::openapi());
    api.merge(audit::AuditApi::openapi());
    Security.modify(&mut api);
    CommonResponses.modify(&mut api);
    api
}

/// Parameters are absent or present, never `null`: utoipa describes optional ones as
/// nullable, which a query string or header cannot express.
fn not_nullable_parameters(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|p| p.values_mut())
    {
        let Some(parameters) = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for schema in parameters.iter_mut().filter_map(|p| p.get_mut("schema")) {
            if let Some(Value::Array(types)) = schema.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    schema["type"] = only;
                }
            }
            // Enums and other references come as `oneOf: [null, {$ref}]`.
            if let Some(Value::Array(choices)) = schema.get("oneOf") {
                let kept: Vec<Value> = choices
                    .iter()
                    .filter(|c| c.get("type") != Some(&Value::from("null")))
                    .cloned()
                    .collect();
                if kept.len() == 1 {
                    *schema = kept[0].clone();
                }
            }
        }
    }
}

/// The spec as pretty JSON with a final newline, as committed in `docs/openapi.json`.
pub fn document_text(policy: PasswordPolicy) -> String {
    let mut text = serde_json::to_string_pretty(&document(policy)).unwrap_or_default();
    text.push('\n');
    text
}

/// A new password: `min..=128` characters and none of the common passwords, in any
/// case (spelled as a pattern, since JSON Schema has no case-insensitive `enum`).
fn password_schema(policy: PasswordPolicy) -> Value {
    let common: Vec<String> = PasswordPolicy::common_passwords()
        .into_iter()
        .map(|password| {
            password
                .chars()
                .map(|c| {
                    let (lower, upper) =
                        (c.to_lowercase().to_string(), c.to_uppercase().to_string());
                    if lower == upper {
                        regex_escape(c)
                    } else {
                        format!("[{lower}{upper}]")
                    }
                })
                .collect()
        })
        .collect();
    json!({
        "type": "string",
        "minLength": policy.min_chars(),
        "maxLength": roster_domain::Password::MAX_CHARS,
        "not": { "pattern": format!("^(?:{})$", common.join("|")) },
        "description": "Not one of the most common passwords (compared ignoring case), and not the user's e-mail address.",
        "writeOnly": true,
    })
}

fn regex_escape(c: char) -> String {
    if "\\^$.|?*+()[]{}/-".contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "User management: users, their roles and credentials, and the tokens that authenticate them.\n\nErrors are RFC 9457 problems (`application/problem+json`).\n\nA deployment may limit each caller per class of route (`auth`, `read`, `write`): every operation under `/api/v1` may then answer 429 with `Retry-After`, and its responses carry the `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "/", description = "The server that serves this description")),
    paths(probes::health, probes::ready, observability::metrics, serve),
    components(schemas(
        Problem,
        FieldError,
        RoleName,
        StatusName,
        SortName,
        AuditActionName,
        AuditOutcomeName,
        OnConflictName
    )),
    tags(
        (name = "auth", description = "Tokens and registration"),
        (name = "users", description = "Users"),
        (name = "audit", description = "Who did what, to whom, when (administrators)"),
        (name = "probes", description = "Liveness and readiness"),
        (name = "meta", description = "This description"),
    ),
)]
struct ApiDoc;

/// The bearer scheme: a biscuit token from `POST /api/v1/auth/token`.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("biscuit")
                    .description(Some(
                        "A token from POST /api/v1/auth/token, as `Authorization: Bearer <token>`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// What any operation may answer besides its own statuses: 500 on a bug, 503 when a
/// dependency is down (with `Retry-After`); and on operations that take a token, 401
/// when it is missing, malformed, expired or revoked.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut openapi::OpenApi) {
        let problem = |description: &str| {
            openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    openapi::ContentBuilder::new()
                        .schema(Some(openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        let mut common: BTreeMap<&str, openapi::Response> = BTreeMap::new();
        common.insert(
            "408",
            openapi::ResponseBuilder::new()
                .description("The request head did not arrive within `server.request_timeout`; the connection is closed")
                .build(),
        );
        common.insert(
            "500",
            problem("An unexpected error; the cause is logged, never shown"),
        );
        common.insert(
            "503",
            problem("A dependency (the database, password hashing) is unavailable; retry after `Retry-After` seconds"),
        );
        for path in openapi.paths.paths.values_mut() {
            for operation in operations(path) {
                let secured = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| !requirements.is_empty());
                if !secured {
                    // Public, said explicitly (`security: []`).
                    operation.security = Some(Vec::new());
                }
                let responses = &mut operation.responses.responses;
                for (status, response) in &common {
                    responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| response.clone().into());
                }
                if secured {
                    responses.entry("401".to_owned()).or_insert_with(|| {
                        problem("No token, or a token that is malformed, expired or revoked (see `WWW-Authenticate`)").into()
                    });
                }
            }
        }
    }
}

fn operations(path: &mut openapi::PathItem) -> impl Iterator<Item = &mut openapi::path::Operation> {
    [
        path.get.as_mut(),
        path.put.as_mut(),
        path.post.as_mut(),
        path.delete.as_mut(),
        path.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod agreement;
mod headers;
