//! The published schema and the domain's parsers agree, by property: for generated
//! text (control characters, every kind of white space, characters outside the basic
//! plane, the boundary lengths), a parser accepts exactly what the schema in the
//! generated document accepts. The schema side is read from the document itself.

use std::sync::LazyLock;

use proptest::{collection::vec, prelude::*, sample::select};
use regex::Regex;
use roster_domain::{EmailDomain, NameFragment, PageSize, PasswordPolicy, UserName};
use serde_json::Value;

use super::document;

/// A string schema of the document: its bounds and its pattern.
#[derive(Debug)]
struct StringSchema {
    min: usize,
    max: usize,
    pattern: Regex,
}

impl StringSchema {
    fn from(schema: &Value) -> Self {
        let bound = |name: &str| {
            schema
                .get(name)
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
        };
        let pattern = schema
            .get("pattern")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Self {
            min: bound("minLength").unwrap_or(0),
            max: bound("maxLength").unwrap_or(usize::MAX),
            pattern: Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}")),
        }
    }

    /// JSON Schema counts code points, and a pattern matches anywhere unless anchored.
    fn accepts(&self, text: &str) -> bool {
        let length = text.chars().count();
        (self.min..=self.max).contains(&length) && self.pattern.is_match(text)
    }
}

/// The document, generated once for every case.
static PUBLISHED: LazyLock<Value> = LazyLock::new(|| document(PasswordPolicy::default()));

/// The schemas under test, compiled once.
static NAMES: LazyLock<Vec<StringSchema>> = LazyLock::new(|| {
    ["CreateUserRequest", "ReplaceUserRequest", "UserMergePatch"]
        .map(|schema| StringSchema::from(&property(schema, "name")))
        .into()
});
static NAME_CONTAINS: LazyLock<StringSchema> =
    LazyLock::new(|| StringSchema::from(&listing_parameter("name_contains")));
static EMAIL_DOMAIN: LazyLock<StringSchema> =
    LazyLock::new(|| StringSchema::from(&listing_parameter("email_domain")));

/// A property of a request body's schema.
fn property(schema: &str, property: &str) -> Value {
    PUBLISHED
        .pointer(&format!(
            "/components/schemas/{schema}/properties/{property}"
        ))
        .cloned()
        .unwrap_or_else(|| panic!("no {schema}.{property}"))
}

/// The schema of a query parameter of `GET /api/v1/users`.
fn listing_parameter(name: &str) -> Value {
    PUBLISHED
        .pointer("/paths/~1api~1v1~1users/get/parameters")
        .and_then(Value::as_array)
        .and_then(|parameters| parameters.iter().find(|p| p["name"] == name))
        .map_or_else(|| panic!("no parameter {name}"), |p| p["schema"].clone())
}

/// Characters that tell parsers and patterns apart.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => select(('a'..='z').chain('A'..='Z').chain('0'..='9').collect::<Vec<_>>()),
        1 => select(vec!['-', '.', '_', '%', '@', 'é', 'ß', 'Ⅻ', '٣', '\u{1f600}', '\u{d0c9e}', '\u{ffff}']),
        2 => select(UserName::SPACE_CHARACTERS.chars().collect::<Vec<_>>()),
        1 => select(vec!['\u{0}', '\t', '\n', '\r', '\u{b}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}']),
        1 => select(vec!['\u{feff}', '\u{200b}', '\u{2060}', '\u{180e}', '\u{1c}']),
        1 => any::<char>(),
    ]
}

/// Text of 0 to `max` characters from [`tricky_char`].
fn tricky_text(max: usize) -> impl Strategy<Value = String> {
    vec(tricky_char(), 0..=max).prop_map(|chars| chars.into_iter().collect())
}

/// Text around a length limit: `limit - 2` to `limit + 2` characters ending in a
/// tricky one, with a leading space or not.
fn around(limit: usize) -> impl Strategy<Value = String> {
    (limit - 2..=limit + 2, any::<bool>(), tricky_char()).prop_map(|(length, pad, last)| {
        let body = "n".repeat(length - 1) + &last.to_string();
        if pad { format!(" {body}") } else { body }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn names_parse_exactly_when_every_body_schema_accepts_them(
        text in prop_oneof![tricky_text(8), tricky_text(110), around(UserName::MAX_CHARS)]
    ) {
        let parsed = UserName::parse(&text).is_ok();
        for (schema, body) in NAMES.iter().zip(["create", "replace", "patch"]) {
            prop_assert_eq!(parsed, schema.accepts(&text), "{}: {:?}", body, text);
        }
    }

    #[test]
    fn name_fragments_parse_exactly_when_the_parameter_schema_accepts_them(
        text in prop_oneof![tricky_text(8), tricky_text(110), around(UserName::MAX_CHARS)]
    ) {
        prop_assert_eq!(NameFragment::parse(&text).is_ok(), NAME_CONTAINS.accepts(&text), "{:?}", text);
    }

    #[test]
    fn email_domains_parse_exactly_when_the_parameter_schema_accepts_them(
        labels in vec(prop_oneof![tricky_text(4), "[a-z0-9-]{1,3}", "[a-z]{60,66}"], 1..=5),
        long in any::<bool>(),
    ) {
        let mut text = labels.join(".");
        if long {
            // Past 253 characters in all, with labels that are each short enough.
            text = std::iter::repeat_n("abcdefghij", 26).collect::<Vec<_>>().join(".") + &text;
        }
        prop_assert_eq!(EmailDomain::parse(&text).is_ok(), EMAIL_DOMAIN.accepts(&text), "{:?}", text);
    }

    #[test]
    fn page_sizes_parse_exactly_within_the_parameter_bounds(n in -5_i64..300) {
        let schema = listing_parameter("limit");
        let (min, max) = (schema["minimum"].as_i64(), schema["maximum"].as_i64());
        let within = min.is_some_and(|min| n >= min) && max.is_some_and(|max| n <= max);
        prop_assert_eq!(n.to_string().parse::<PageSize>().is_ok(), within, "{}", n);
    }
}
