//! The response headers every operation may send, added to the description after
//! utoipa renders it (annotating them on each of the handlers' responses would repeat
//! them dozens of times): `X-Request-Id` and `traceparent` on every answer,
//! `WWW-Authenticate` on 401, `Retry-After` on a 503 problem and on the 409 of an
//! idempotent request still in progress (nothing on 408, which actix-http sends before
//! the application sees the request).

use serde_json::{Map, Value, json};

/// Adds the shared headers to every response of every operation, keeping any header
/// an operation already describes.
pub(super) fn add_response_headers(spec: &mut Value) {
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let idempotent = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|parameters| {
                parameters
                    .iter()
                    .any(|parameter| parameter["name"] == "Idempotency-Key")
            });
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            // actix-http answers 408 itself, before the application sees the request.
            let Some(response) = response.as_object_mut().filter(|_| status != "408") else {
                continue;
            };
            let problem = response
                .get("content")
                .and_then(|content| content.get("application/problem+json"))
                .is_some();
            let Some(headers) = response
                .entry("headers")
                .or_insert_with(|| json!({}))
                .as_object_mut()
            else {
                continue;
            };
            if status == "409" && idempotent {
                headers.entry("Retry-After").or_insert_with(|| {
                    json!({
                        "description": "Sent when another request with the same `Idempotency-Key` is still in progress: seconds to wait before retrying.",
                        "schema": {"type": "integer", "minimum": 0},
                    })
                });
            }
            for (name, header) in shared(status, problem) {
                headers.entry(name).or_insert(header);
            }
        }
    }
}

/// The headers a response with `status` carries whatever its operation.
fn shared(status: &str, problem: bool) -> Map<String, Value> {
    let mut headers = Map::new();
    headers.insert(
        "X-Request-Id".to_owned(),
        json!({
            "description": "The request's id: the caller's `X-Request-Id` when sane (1 to 128 of letters, digits and `-_.:`), else a generated ULID. Every log line of the request carries it.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        }),
    );
    headers.insert(
        "traceparent".to_owned(),
        json!({
            "description": "The W3C trace context of the request's trace (when tracing is on): its trace id finds the trace in Jaeger or Tempo.",
            "schema": {"type": "string", "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"},
        }),
    );
    if status == "401" {
        headers.insert(
            "WWW-Authenticate".to_owned(),
            json!({
                "description": "The bearer challenge (RFC 6750), with `error` and `error_description` when a token was presented.",
                "required": true,
                "schema": {"type": "string"},
            }),
        );
    }
    if status == "503" && problem {
        headers.insert(
            "Retry-After".to_owned(),
            json!({
                "description": "Seconds to wait before retrying.",
                "required": true,
                "schema": {"type": "integer", "minimum": 0},
            }),
        );
    }
    headers
}
