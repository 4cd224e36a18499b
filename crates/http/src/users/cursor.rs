//! Cursors are opaque to clients: URL-safe base64 of a small JSON object with the
//! sort order, the last user's sort key and their id. Decoding checks the wire form;
//! [`Cursor::new`] checks that the position fits its order.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use roster_domain::{Cursor, Sort, SortField, SortKey, UserId};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Wire {
    s: String,
    k: String,
    i: String,
}

/// The longest cursor [`encode`] writes, with room to spare: the longest sort key is an
/// address of 254 characters of up to 4 bytes, which base64 makes 1.4 kB. Longer text
/// is refused before it is decoded.
pub(crate) const MAX_LEN: usize = 2048;

pub(crate) fn encode(cursor: &Cursor) -> String {
    let key = match cursor.key() {
        SortKey::Instant(at) => at.to_rfc3339_opts(SecondsFormat::Nanos, true),
        SortKey::Text(text) => text.clone(),
    };
    let wire = Wire {
        s: cursor.sort().as_str().to_owned(),
        k: key,
        i: cursor.id().to_string(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

/// The cursor `text` encodes; every failure reads the same to the client.
pub(crate) fn decode(text: &str) -> Result<Cursor, &'static str> {
    parse(text).ok_or("not a cursor returned by this API")
}

fn parse(text: &str) -> Option<Cursor> {
    if text.len() > MAX_LEN {
        return None;
    }
    let wire: Wire = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
    let sort: Sort = wire.s.parse().ok()?;
    let key = match sort.field {
        SortField::CreatedAt => SortKey::Instant(
            DateTime::parse_from_rfc3339(&wire.k)
                .ok()?
                .with_timezone(&Utc),
        ),
        SortField::Email | SortField::Name => SortKey::Text(wire.k),
    };
    Cursor::new(sort, key, UserId::parse(&wire.i).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str, k: &str, i: &str) -> String {
        let wire = Wire {
            s: s.to_owned(),
            k: k.to_owned(),
            i: i.to_owned(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
    }

    #[test]
    fn cursors_round_trip_in_every_order() {
        let id = UserId::generate();
        for name in Sort::NAMES {
            let sort: Sort = name.parse().unwrap_or_default();
            let key = match sort.field {
                SortField::CreatedAt => SortKey::Instant(Utc::now()),
                _ => SortKey::Text("Ada Lovelace".to_owned()),
            };
            let cursor = Cursor::new(sort, key, id).map_err(|e| e.to_string());
            let decoded = cursor
                .clone()
                .map(|c| decode(&encode(&c)).map_err(str::to_owned));
            assert_eq!(decoded, cursor.map(Ok), "{name}");
        }
    }

    #[test]
    fn anything_else_is_not_a_cursor() {
        let id = UserId::generate().to_string();
        for text in [
            String::new(),
            "!!".to_owned(),
            URL_SAFE_NO_PAD.encode("{}"),
            wire("size", "x", &id),
            wire("created_at", "yesterday", &id),
            wire("email", "ada@example.com", "not-an-id"),
            // No address or name holds a control character, and PostgreSQL refuses a
            // NUL in text: such a key is refused before any query.
            wire("email", "ada\u{0}@example.com", &id),
            wire("-name", "Ada\n", &id),
            wire("name", &"a".repeat(255), &id),
        ] {
            assert_eq!(
                decode(&text),
                Err("not a cursor returned by this API"),
                "{text}"
            );
        }
        assert!(decode(&wire("-name", "Ada", &id)).is_ok());
    }
}
