//! Tokens crafted to be expensive: each is refused by its shape, before a signature is
//! checked or any datalog runs. (What refusing them costs is in `just bench`.)

use biscuit_auth::builder::BlockBuilder;

use super::*;

/// A token of `me`, with one block appended per source given.
fn appended(authority: &BiscuitAuthority, sources: &[String]) -> String {
    let issued = authority
        .issue(UserId::generate(), Role::Member, now())
        .expect("issue");
    let mut token = Biscuit::from_base64(&issued.token, authority.verifying[&1]).expect("parse");
    for source in sources {
        let block = BlockBuilder::new().code(source).expect("datalog");
        token = token.append(block).expect("append");
    }
    token.to_base64().expect("base64")
}

fn refused(authority: &BiscuitAuthority, source: &str) -> Result<(), Auth> {
    let token = appended(authority, &[source.to_owned()]);
    authority.authenticate(&token, now()).map(|_| ())
}

/// The rule that took 19.7 s of a worker at five variables; here at six.
#[test]
fn a_cartesian_rule_is_refused() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let facts = (0..30)
        .map(|i| format!("f({i});"))
        .collect::<Vec<_>>()
        .concat();
    let rule = "g(1) <- f($a), f($b), f($c), f($d), f($e), f($f), $a == -1;";
    assert_eq!(
        refused(&authority, &format!("{facts}{rule}")),
        Err(Auth::Malformed)
    );
    assert_eq!(
        refused(&authority, rule),
        Err(Auth::Malformed),
        "a rule alone"
    );
}

#[test]
fn appended_facts_are_refused_not_merely_ignored() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    assert_eq!(
        refused(&authority, r#"role("admin");"#),
        Err(Auth::Malformed)
    );
    assert_eq!(
        refused(&authority, r#"current_role("admin");"#),
        Err(Auth::Malformed)
    );
}

#[test]
fn checks_beyond_attenuation_are_refused() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    for source in [
        // A predicate no request has.
        "check if f($a);",
        "check if role($r);",
        // A regular expression, a closure over a set, a scope. (A block-wide
        // `trusting previous` is harmless: no appended block has facts to trust.)
        r#"check if user($u), $u.matches("^(a+)+$");"#,
        "check if [1, 2, 3].all($x -> [1, 2, 3].any($y -> $x == $y));",
        "check if time($t) trusting previous;",
        // Too many predicates in one query.
        "check if time($a), time($b), time($c), time($d), time($e);",
    ] {
        assert_eq!(
            refused(&authority, source),
            Err(Auth::Malformed),
            "{source}"
        );
    }
}

#[test]
fn bounded_checks_over_the_request_are_accepted() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    for source in [
        r#"check if operation("read");"#,
        r#"check if operation($op), ["read", "write"].contains($op);"#,
        "check if time($t), $t < 2100-01-01T00:00:00Z;",
        r#"check if time($t), operation($o), $t > 2000-01-01T00:00:00Z && $o == "read";"#,
        r#"check if resource("users") or owner("someone");"#,
        r#"reject if operation("delete");"#,
    ] {
        assert_eq!(refused(&authority, source), Ok(()), "{source}");
    }
}

#[test]
fn too_many_blocks_are_refused() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let check = || r#"check if operation("read");"#.to_owned();
    let most = appended(&authority, &vec![check(); acceptance::MAX_BLOCKS - 1]);
    assert!(authority.authenticate(&most, now()).is_ok());
    let one_more = appended(&authority, &vec![check(); acceptance::MAX_BLOCKS]);
    assert_eq!(
        authority.authenticate(&one_more, now()).map(|_| ()),
        Err(Auth::Malformed)
    );
    // 200 blocks: too long, and too many.
    let many = appended(&authority, &vec![check(); 200]);
    assert!(many.len() > acceptance::MAX_TOKEN_CHARS);
    assert_eq!(
        authority.authenticate(&many, now()).map(|_| ()),
        Err(Auth::Malformed)
    );
}

#[test]
fn an_oversized_token_is_refused_unread() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let valid = authority
        .issue(UserId::generate(), Role::Member, now())
        .expect("issue")
        .token;
    let padded = format!("{valid}{}", "A".repeat(100 * 1024));
    assert_eq!(
        authority.authenticate(&padded, now()).map(|_| ()),
        Err(Auth::Malformed)
    );
}

/// Expressions nest as deep as the size cap allows without exhausting a stack.
#[test]
fn deeply_nested_expressions_are_harmless() {
    let authority = authority(KeyPair::new(), 1, vec![]);
    let depth = 400;
    let source = format!(
        "check if time($t), {}$t > 2000-01-01T00:00:00Z{};",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    // Building it needs the parser's deep recursion: on a thread with room for it.
    let token = std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(512 * 1024 * 1024)
            .spawn_scoped(scope, || appended(&authority, &[source]))
            .expect("thread")
            .join()
            .expect("built")
    });
    assert!(
        token.len() <= acceptance::MAX_TOKEN_CHARS,
        "{}",
        token.len()
    );
    assert_eq!(
        authority.authenticate(&token, now()).map(|_| ()),
        Err(Auth::Malformed)
    );
}

#[test]
fn an_authority_block_with_a_claim_twice_is_refused() {
    let key = KeyPair::new();
    let authority = authority(KeyPair::from(&key.private()), 1, vec![]);
    let user = UserId::generate().to_string();
    let issued = micros(now());
    let expires = micros(now() + chrono::Duration::minutes(5));
    let token = biscuit!(
        r#"
        user({user}); user("someone else"); role("member"); token_id("01KARX3V0Q6D5B8C9A7E2F1G3H");
        issued_at({issued}); expires_at({expires});
        "#
    )
    .root_key_id(1)
    .build(&key)
    .and_then(|t| t.to_base64())
    .expect("token");
    assert_eq!(
        authority.authenticate(&token, now()).map(|_| ()),
        Err(Auth::Malformed)
    );
}
