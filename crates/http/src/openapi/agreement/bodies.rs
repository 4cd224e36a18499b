//! Request bodies: names, e-mail addresses and new passwords.

use std::sync::LazyLock;

use proptest::{collection::vec, prelude::*, sample::select};
use roster_domain::{Email, Password, PasswordPolicy, UserName};

use super::{Published, around, tricky_between, tricky_text};

/// The bodies that carry a user's fields, each judged separately.
const BODIES: [&str; 3] = ["CreateUserRequest", "ReplaceUserRequest", "UserMergePatch"];

static NAMES: LazyLock<Vec<Published>> = LazyLock::new(|| {
    BODIES
        .iter()
        .map(|body| Published::property(body, "name"))
        .collect()
});
static EMAILS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    BODIES
        .iter()
        .map(|body| Published::property(body, "email"))
        .collect()
});
/// The address as a response shows it.
static SHOWN_EMAIL: LazyLock<Published> = LazyLock::new(|| Published::property("User", "email"));
static PASSWORDS: LazyLock<Vec<Published>> = LazyLock::new(|| {
    [
        ("CreateUserRequest", "password"),
        ("ChangePasswordRequest", "new_password"),
    ]
    .iter()
    .map(|(body, property)| Published::property(body, property))
    .collect()
});

/// Text shaped like an address, from tricky parts: white space around it or not,
/// dot-separated atoms, an `@`, dot-separated labels of every kind and length.
fn address_like() -> impl Strategy<Value = String> {
    let pad = prop_oneof![Just(String::new()), tricky_text(2)];
    // Local parts past 64 characters too: `idn-email` refuses them.
    let atoms = vec(
        prop_oneof![tricky_between(1, 4), "[a-z0-9+_]{1,5}", "[a-zé]{60,70}"],
        1..=3,
    );
    let labels = vec(
        prop_oneof![
            tricky_between(1, 4),
            "[a-z0-9-]{1,4}",
            "[a-z0-9]{1,3}",
            "[a-z]{61,65}"
        ],
        1..=4,
    );
    (pad.clone(), atoms, labels, pad).prop_map(|(before, atoms, labels, after)| {
        format!("{before}{}@{}{after}", atoms.join("."), labels.join("."))
    })
}

/// Addresses around [`Email::MAX_LEN`] characters, some with a wide character.
fn long_address() -> impl Strategy<Value = String> {
    (
        Email::MAX_LEN - 16..=Email::MAX_LEN - 10,
        select(vec!["a", "é", "\u{1f600}"]),
    )
        .prop_map(|(local, wide)| format!("{wide}{}@example.com", "a".repeat(local - 1)))
}

/// A common password with its letters in random case, one `k` perhaps a Kelvin sign.
fn common_password() -> impl Strategy<Value = String> {
    (
        select(PasswordPolicy::common_passwords()),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(password, flips, kelvin)| {
            let text: String = password
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if flips >> (i % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            if kelvin {
                text.replacen(['k', 'K'], "\u{212a}", 1)
            } else {
                text
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn names_parse_exactly_when_every_body_schema_accepts_them(
        text in prop_oneof![tricky_text(8), tricky_text(110), around(UserName::MAX_CHARS)]
    ) {
        let parsed = UserName::parse(&text).is_ok();
        for (schema, body) in NAMES.iter().zip(BODIES) {
            prop_assert_eq!(parsed, schema.accepts(text.as_str()), "{}: {:?}", body, text);
        }
    }

    #[test]
    fn addresses_parse_exactly_when_every_body_schema_accepts_them(
        text in prop_oneof![3 => address_like(), 1 => tricky_text(30), 1 => long_address()]
    ) {
        let parsed = Email::parse(&text);
        for (schema, body) in EMAILS.iter().zip(BODIES) {
            prop_assert_eq!(parsed.is_ok(), schema.accepts(text.as_str()), "{}: {:?}", body, text);
        }
        if let Ok(email) = parsed {
            prop_assert!(SHOWN_EMAIL.accepts(email.as_str()), "shown as {:?}", email.as_str());
        }
    }

    #[test]
    fn new_passwords_pass_the_policy_exactly_when_the_schemas_accept_them(
        text in prop_oneof![
            2 => common_password(),
            1 => tricky_text(12),
            1 => tricky_text(140),
            1 => around(PasswordPolicy::default().min_chars()),
            1 => around(Password::MAX_CHARS),
        ]
    ) {
        // The rule that a password is not the user's own address needs the address,
        // which a schema of one field cannot see.
        let email = Email::parse("agreement@example.org").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assume!(!text.eq_ignore_ascii_case(email.as_str()));
        let passes = PasswordPolicy::default().check(&Password::new(text.clone()), &email).is_ok();
        for schema in PASSWORDS.iter() {
            prop_assert_eq!(passes, schema.accepts(text.as_str()), "{:?}", text);
        }
    }
}
