//! Parameters: the listing's filters, limit and cursor, user ids in paths, and the
//! `Idempotency-Key` and `If-Match` headers.

use std::sync::LazyLock;

use actix_web::{
    http::header::{HeaderName, HeaderValue},
    test::TestRequest,
};
use chrono::{DateTime, Utc};
use proptest::{collection::vec, prelude::*, sample::select};
use roster_domain::{
    AuditId, Cursor, Email, EmailDomain, EmailLookup, NameFragment, PageSize, Principal, Sort,
    SortField, SortKey, UserId, UserName,
};

use super::{Published, around, tricky_text};
use crate::{
    conditional::{PreconditionError, if_match},
    idempotency::request_key,
    parameters::instant,
    settings::ApiSettings,
    users::cursor,
};

const USERS: &str = "/api/v1/users";
const USER: &str = "/api/v1/users/{id}";
const AUDIT: &str = "/api/v1/audit";

static NAME_CONTAINS: LazyLock<Published> =
    LazyLock::new(|| Published::parameter(USERS, "get", "name_contains"));
static EMAIL: LazyLock<Published> = LazyLock::new(|| Published::parameter(USERS, "get", "email"));
static EMAIL_DOMAIN: LazyLock<Published> =
    LazyLock::new(|| Published::parameter(USERS, "get", "email_domain"));
/// Both bounds of the creation time and of the audit log's range, each judged.
static INSTANTS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    [
        (USERS, "created_after"),
        (USERS, "created_before"),
        (AUDIT, "since"),
        (AUDIT, "until"),
    ]
    .map(|(path, name)| Published::parameter(path, "get", name))
    .into()
});
/// Both listings' page sizes.
static LIMITS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    [USERS, AUDIT]
        .map(|path| Published::parameter(path, "get", "limit"))
        .into()
});
static AUDIT_ACTOR: LazyLock<Published> =
    LazyLock::new(|| Published::parameter(AUDIT, "get", "actor"));
static AUDIT_TARGET: LazyLock<Published> =
    LazyLock::new(|| Published::parameter(AUDIT, "get", "target"));
static AUDIT_CURSOR: LazyLock<Published> =
    LazyLock::new(|| Published::parameter(AUDIT, "get", "cursor"));
static CURSOR: LazyLock<Published> = LazyLock::new(|| Published::parameter(USERS, "get", "cursor"));
/// Every operation on one user takes the same id; each is judged.
static ID_PATHS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    ["get", "put", "patch", "delete"]
        .map(|method| Published::parameter(USER, method, "id"))
        .into()
});
static SHOWN_ID: LazyLock<Published> = LazyLock::new(|| Published::property("User", "id"));
static IDEMPOTENCY_KEYS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    [(USERS, "post"), ("/api/v1/auth/register", "post")]
        .map(|(path, method)| Published::parameter(path, method, "Idempotency-Key"))
        .into()
});
static IF_MATCH: LazyLock<Vec<Published>> = LazyLock::new(|| {
    ["put", "patch", "delete"]
        .map(|method| Published::parameter(USER, method, "If-Match"))
        .into()
});

/// A request carrying `value` in the header `name`, if HTTP can carry it at all.
fn with_header(name: &'static str, value: &str) -> Option<actix_web::HttpRequest> {
    let value = HeaderValue::from_str(value).ok()?;
    Some(
        TestRequest::default()
            .insert_header((HeaderName::from_static(name), value))
            .to_http_request(),
    )
}

/// Text from the pieces entity-tag lists are made of, and some they are not.
fn tag_list_like() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "\"v1\"",
        "W/\"v2\"",
        "\"01JD4ZK3M2Q8V6W1T9X5Y7B0CE.3\"",
        "\"\"",
        "*",
        ",",
        " ",
        "\t",
        "\"",
        "W/",
        "w/",
        "v",
        "!",
        "#",
        "~",
        "é",
        "\u{7f}",
        "\u{1}",
    ]);
    vec(piece, 0..=7).prop_map(|pieces| pieces.concat())
}

/// Text shaped like an RFC 3339 date-time, each part sometimes off.
fn date_time_like() -> impl Strategy<Value = String> {
    (
        "[0-9]{4}|[0-9]{2,5}",
        "0[1-9]|1[0-2]|[0-9]{1,3}",
        "[0-2][0-9]|3[01]|[0-9]{1,3}",
        select(vec!["T", "t", " ", "_", ""]),
        "[01][0-9]|2[0-4]|[0-9]",
        "[0-5][0-9]|6[0-1]",
        "[0-5][0-9]|60|61",
        prop_oneof![Just(String::new()), "\\.[0-9]{1,12}", Just(".".to_owned())],
        prop_oneof![
            select(vec!["Z".to_owned(), "z".to_owned(), String::new()]),
            "[+-](0[0-9]|1[0-9]|2[0-4]):[0-5][0-9]|[+-][0-9]{4}|[+-][0-9]{2}",
        ],
    )
        .prop_map(|(y, mo, d, t, h, mi, s, frac, zone)| {
            format!("{y}-{mo}-{d}{t}{h}:{mi}:{s}{frac}{zone}")
        })
}

/// A position in every order, with keys of every length and kind of character.
fn any_cursor() -> impl Strategy<Value = Cursor> {
    (
        select(Sort::NAMES.to_vec()),
        tricky_text(UserName::MAX_CHARS),
        any::<u128>(),
        0_i64..4_102_444_800,
    )
        .prop_filter_map("a key out of its order", |(sort, text, id, seconds)| {
            let sort: Sort = sort.parse().ok()?;
            let key = match sort.field {
                SortField::CreatedAt => {
                    SortKey::Instant(DateTime::<Utc>::from_timestamp(seconds, 7)?)
                }
                // Keys are addresses and names, which have no control characters.
                SortField::Email | SortField::Name => {
                    SortKey::Text(text.chars().filter(|c| !c.is_control()).collect())
                }
            };
            let id = UserId::parse(&ulid::Ulid(id).to_string()).ok()?;
            Cursor::new(sort, key, id).ok()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn name_fragments_parse_exactly_when_the_parameter_schema_accepts_them(
        text in prop_oneof![tricky_text(8), tricky_text(110), around(UserName::MAX_CHARS)]
    ) {
        prop_assert_eq!(NameFragment::parse(&text).is_ok(), NAME_CONTAINS.accepts(text.as_str()), "{:?}", text);
    }

    #[test]
    fn email_lookups_parse_exactly_when_the_parameter_schema_accepts_them(
        text in prop_oneof![tricky_text(8), tricky_text(260), around(Email::MAX_LEN)]
    ) {
        prop_assert_eq!(EmailLookup::parse(&text).is_ok(), EMAIL.accepts(text.as_str()), "{:?}", text);
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
        prop_assert_eq!(EmailDomain::parse(&text).is_ok(), EMAIL_DOMAIN.accepts(text.as_str()), "{:?}", text);
    }

    #[test]
    fn instants_parse_exactly_when_the_date_time_format_accepts_them(
        text in prop_oneof![4 => date_time_like(), 1 => tricky_text(25)]
    ) {
        let parsed = instant(&text).is_ok();
        for schema in INSTANTS.iter() {
            prop_assert_eq!(parsed, schema.accepts(text.as_str()), "{:?}", text);
        }
    }

    #[test]
    fn page_sizes_parse_exactly_within_the_parameter_bounds(n in -5_i64..300) {
        for schema in LIMITS.iter() {
            prop_assert_eq!(n.to_string().parse::<PageSize>().is_ok(), schema.accepts(n), "{}", n);
        }
    }

    #[test]
    fn user_ids_parse_exactly_when_the_path_schema_accepts_them(
        text in prop_oneof![
            any::<u128>().prop_map(|n| ulid::Ulid(n).to_string()),
            any::<u128>().prop_map(|n| ulid::Ulid(n).to_string().to_lowercase()),
            "[0-9A-Za-z]{25,27}",
            "[0-9A-Z]{26}",
            tricky_text(27),
        ]
    ) {
        let parsed = UserId::parse(&text);
        for schema in ID_PATHS.iter() {
            prop_assert_eq!(parsed.is_ok(), schema.accepts(text.as_str()), "{:?}", text);
        }
        if let Ok(id) = parsed {
            prop_assert!(SHOWN_ID.accepts(id.to_string()), "shown as {}", id);
        }
    }

    #[test]
    fn audit_filters_parse_exactly_when_their_schemas_accept_them(
        text in prop_oneof![
            any::<u128>().prop_map(|n| ulid::Ulid(n).to_string()),
            any::<u128>().prop_map(|n| ulid::Ulid(n).to_string().to_lowercase()),
            "[0-9A-Za-z]{25,27}",
            tricky_text(27),
        ],
        prefix in select(vec!["", "user:", "User:", "user: ", "system", "anonymous", "Anonymous"]),
    ) {
        let actor = format!("{prefix}{text}");
        prop_assert_eq!(actor.parse::<Principal>().is_ok(), AUDIT_ACTOR.accepts(actor.as_str()), "{:?}", actor);
        for whole in ["system", "anonymous"] {
            prop_assert_eq!(whole.parse::<Principal>().is_ok(), AUDIT_ACTOR.accepts(whole), "{:?}", whole);
        }
        prop_assert_eq!(UserId::parse(&text).is_ok(), AUDIT_TARGET.accepts(text.as_str()), "{:?}", text);
        prop_assert_eq!(text.parse::<AuditId>().is_ok(), AUDIT_CURSOR.accepts(text.as_str()), "{:?}", text);
    }

    #[test]
    fn every_cursor_written_fits_the_published_shape(position in any_cursor()) {
        let text = cursor::encode(&position);
        prop_assert!(CURSOR.accepts(text.as_str()), "{} characters: {:?}", text.len(), text);
        prop_assert_eq!(cursor::decode(&text).ok(), Some(position));
    }

    #[test]
    fn text_outside_the_cursor_shape_is_never_a_cursor(
        position in any_cursor(),
        noise in tricky_text(3),
        at in any::<prop::sample::Index>(),
        long in any::<bool>(),
    ) {
        let written = cursor::encode(&position);
        let mut text: String = written.chars().collect();
        text.insert_str(at.index(written.len() + 1), &noise);
        if long {
            text = text.repeat(cursor::MAX_LEN / text.len() + 1);
        }
        if !CURSOR.accepts(text.as_str()) {
            prop_assert!(cursor::decode(&text).is_err(), "{:?}", text);
        }
    }

    #[test]
    fn idempotency_keys_are_taken_exactly_when_the_header_schemas_accept_them(
        text in prop_oneof![tricky_text(6), "[!-~]{250,260}", "[ -~]{0,8}"]
    ) {
        if let Some(request) = with_header("idempotency-key", &text) {
            let taken = request_key(&request).is_ok();
            for schema in IDEMPOTENCY_KEYS.iter() {
                prop_assert_eq!(taken, schema.accepts(text.as_str()), "{:?}", text);
            }
        }
    }

    #[test]
    fn if_match_is_read_exactly_when_the_header_schemas_accept_it(text in tag_list_like()) {
        if let Some(request) = with_header("if-match", &text) {
            let read = !matches!(if_match(&request, ApiSettings::default(), UserId::generate()), Err(PreconditionError::Malformed));
            for schema in IF_MATCH.iter() {
                prop_assert_eq!(read, schema.accepts(text.as_str()), "{:?}", text);
            }
        }
    }
}
