use roster_application::RawUser;
use roster_domain::{Email, PasswordHash, Role, Status, User, UserId, UserName};

use super::*;

fn read(format: Format, text: &str) -> Vec<Result<RawUser, (u64, RowError)>> {
    rows(format, text.as_bytes())
        .expect("rows")
        .collect::<io::Result<Vec<_>>>()
        .expect("read")
}

use std::io;

#[test]
fn ndjson_rows_carry_their_line_and_bad_lines_are_reported_not_fatal() {
    let text = concat!(
        "{\"email\":\"a@example.com\",\"name\":\"A\",\"password_hash\":\"$2b$04$x\"}\n",
        "\n",
        "not json\n",
        "{\"email\":\"b@example.com\",\"pasword\":\"typo\"}\r\n",
        "{\"email\":\"c@example.com\",\"name\":\"C\",\"role\":\"admin\"}"
    );
    let rows = read(Format::Ndjson, text);
    assert_eq!(rows.len(), 4, "the blank line is no row");
    let first = rows[0].as_ref().expect("row 1");
    assert_eq!(
        (first.line, first.email.as_deref()),
        (1, Some("a@example.com"))
    );
    assert_eq!(first.password_hash.as_deref(), Some("$2b$04$x"));
    assert!(matches!(&rows[1], Err((3, e)) if e.rule == "format"));
    assert!(
        matches!(&rows[2], Err((4, e)) if e.message.contains("pasword")),
        "an unknown field is named: {:?}",
        rows[2]
    );
    let last = rows[3].as_ref().expect("row 5");
    assert_eq!((last.line, last.role.as_deref()), (5, Some("admin")));
}

#[test]
fn an_overlong_line_is_skipped_and_reported_and_reading_goes_on() {
    let long = format!("{{\"email\":\"{}\"}}\n", "x".repeat(MAX_ROW_BYTES * 3));
    let text = format!("{long}{{\"email\":\"ok@example.com\"}}\n");
    let rows = read(Format::Ndjson, &text);
    assert!(matches!(&rows[0], Err((1, e)) if e.message.contains("longer than")));
    assert_eq!(rows[1].as_ref().expect("row 2").line, 2);
    assert_eq!(rows.len(), 2);
}

#[test]
fn csv_maps_columns_by_header_and_empty_fields_are_absent() {
    let text = "email,name,password_hash,role\na@example.com,\"Lovelace, Ada\",$2b$04$x,\nb@example.com,B\n";
    let rows = read(Format::Csv, text);
    let first = rows[0].as_ref().expect("row 2");
    assert_eq!(first.line, 2);
    assert_eq!(first.name.as_deref(), Some("Lovelace, Ada"));
    assert_eq!(first.role, None);
    assert!(matches!(&rows[1], Err((3, e)) if e.message.contains("2 fields")));
}

#[test]
fn a_csv_header_with_an_unknown_column_or_no_email_is_refused() {
    assert!(matches!(rows(Format::Csv, "email,nmae\n".as_bytes()), Err(e) if e.field == "nmae"));
    assert!(matches!(rows(Format::Csv, "name\n".as_bytes()), Err(e) if e.field == "email"));
}

fn user() -> User {
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123456Z")
        .expect("time")
        .to_utc();
    User {
        id: UserId::generate(),
        email: Email::parse("ada@example.com").expect("email"),
        name: UserName::parse("Lovelace, \"Ada\"").expect("name"),
        role: Role::Admin,
        status: Status::Disabled,
        created_at: at,
        updated_at: at,
        version: 4,
        password_hash: Some(
            PasswordHash::from_phc("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA").expect("hash"),
        ),
        password_changed_at: None,
        last_login_at: None,
        external_id: Some(roster_domain::ExternalId::parse("crm, 42").expect("external id")),
    }
}

#[test]
fn what_an_export_writes_an_import_reads_back_in_both_formats() {
    let user = user();
    for format in [Format::Ndjson, Format::Csv] {
        for with_hashes in [false, true] {
            let mut writer = UserWriter::new(format, Vec::new(), with_hashes).expect("writer");
            writer.write(&user).expect("write");
            let bytes = writer.finish().expect("finish");
            let text = String::from_utf8(bytes).expect("utf-8");
            let rows = read(format, &text);
            let row = rows[0].as_ref().expect("a row");
            assert_eq!(
                row.id.as_deref(),
                Some(user.id.to_string().as_str()),
                "{format}"
            );
            assert_eq!(row.email.as_deref(), Some("ada@example.com"));
            assert_eq!(row.external_id.as_deref(), Some("crm, 42"));
            assert_eq!(row.name.as_deref(), Some("Lovelace, \"Ada\""));
            assert_eq!(
                (row.role.as_deref(), row.status.as_deref()),
                (Some("admin"), Some("disabled"))
            );
            assert_eq!(
                row.created_at.as_deref(),
                Some("2024-05-06T07:08:09.123456Z")
            );
            assert_eq!(
                row.password_hash.is_some(),
                with_hashes,
                "hashes only when asked: {text}"
            );
        }
    }
}
