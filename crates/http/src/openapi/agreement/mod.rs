//! The published schema and the parsers agree, by property: for generated text
//! (control characters, every kind of white space, characters outside the basic plane,
//! the boundary lengths), a parser accepts exactly what the schema in the generated
//! document accepts. The schema side is read from the document itself and judged by
//! the validator schemathesis uses (jsonschema-rs, formats checked, ECMA-262 patterns),
//! so that "the schema accepts" means what it means to the fuzzer.
//!
//! `bodies` covers the request bodies (names, e-mail addresses, passwords), `names`
//! the enumerations (roles, statuses, orders), `parameters` the query, path and header
//! parameters.

mod bodies;
mod names;
mod parameters;

use std::sync::LazyLock;

use jsonschema::{Draft, Validator};
use proptest::{collection::vec, prelude::*, sample::select};
use roster_domain::{PasswordPolicy, UserName};
use serde_json::Value;

use super::document;

/// A schema of the document, compiled once.
struct Published(Validator);

impl Published {
    fn of(schema: &Value) -> Self {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .unwrap_or_else(|e| panic!("{schema}: {e}"));
        Self(validator)
    }

    /// A property of a component schema: `("CreateUserRequest", "name")`.
    fn property(schema: &str, property: &str) -> Self {
        Self::of(
            PUBLISHED
                .pointer(&format!(
                    "/components/schemas/{schema}/properties/{property}"
                ))
                .unwrap_or_else(|| panic!("no {schema}.{property}")),
        )
    }

    /// A parameter of an operation: `("/api/v1/users", "get", "limit")`.
    fn parameter(path: &str, method: &str, name: &str) -> Self {
        let pointer = format!("/paths/{}/{method}/parameters", path.replace('/', "~1"));
        PUBLISHED
            .pointer(&pointer)
            .and_then(Value::as_array)
            .and_then(|parameters| parameters.iter().find(|p| p["name"] == name))
            .map_or_else(
                || panic!("no parameter {name} of {method} {path}"),
                |p| Self::of(&p["schema"]),
            )
    }

    fn accepts(&self, value: impl Into<Value>) -> bool {
        self.0.is_valid(&value.into())
    }
}

/// The document, generated once for every case.
static PUBLISHED: LazyLock<Value> = LazyLock::new(|| document(PasswordPolicy::default()));

/// Characters that tell parsers and patterns apart.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => select(('a'..='z').chain('A'..='Z').chain('0'..='9').collect::<Vec<_>>()),
        1 => select(vec!['-', '.', '_', '%', '@', '"', '\\', '<', '[', 'é', 'ß', 'Ö', 'Ⅻ', '٣', '\u{212a}', '\u{1f600}', '\u{d0c9e}', '\u{ffff}']),
        2 => select(UserName::SPACE_CHARACTERS.chars().collect::<Vec<_>>()),
        1 => select(vec!['\u{0}', '\t', '\n', '\r', '\u{b}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}']),
        1 => select(vec!['\u{feff}', '\u{200b}', '\u{2060}', '\u{180e}', '\u{1c}']),
        1 => any::<char>(),
    ]
}

/// Text of 0 to `max` characters from [`tricky_char`].
fn tricky_text(max: usize) -> impl Strategy<Value = String> {
    tricky_between(0, max)
}

/// Text of `min` to `max` characters from [`tricky_char`].
fn tricky_between(min: usize, max: usize) -> impl Strategy<Value = String> {
    vec(tricky_char(), min..=max).prop_map(|chars| chars.into_iter().collect())
}

/// Text around a length limit: `limit - 2` to `limit + 2` characters ending in a
/// tricky one, with a leading space or not.
fn around(limit: usize) -> impl Strategy<Value = String> {
    (limit - 2..=limit + 2, any::<bool>(), tricky_char()).prop_map(|(length, pad, last)| {
        let body = "n".repeat(length - 1) + &last.to_string();
        if pad { format!(" {body}") } else { body }
    })
}
