//! Opaque list cursors: the keyset position of the last record of a page, base64url-encoded.
//! A cursor is only valid with the sort order that made it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::FieldError;
use domain::listing::{Position, Sort, SortValue};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

#[derive(Serialize, Deserialize)]
struct Encoded {
    /// The sort order, as in `?sort=`.
    s: String,
    /// `t` for a time, `x` for text, `i` for an integer, `d` for a date.
    k: char,
    v: String,
    i: i64,
}

pub fn encode_cursor(position: &Position) -> String {
    let (k, v) = match &position.value {
        SortValue::Time(t) => ('t', t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        SortValue::Text(s) => ('x', s.clone()),
        SortValue::Int(n) => ('i', n.to_string()),
        SortValue::Date(d) => ('d', d.to_string()),
    };
    let encoded = Encoded {
        s: position.sort.as_string(),
        k,
        v,
        i: position.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&encoded).unwrap_or_default())
}

/// Reads a cursor made by [`encode_cursor`]. With `expected`, the cursor must have been made
/// for that sort order; without, it continues in its own.
pub fn decode_cursor(raw: &str, expected: Option<Sort>) -> Result<Position, ApiError> {
    let bad = |why: &str| {
        ApiError::BadRequest(
            format!("the cursor {why}; pass the next_cursor of the previous page unchanged"),
            vec![FieldError::new(
                "cursor",
                "invalid_cursor",
                format!("the cursor {why}"),
            )],
        )
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(raw.trim())
        .map_err(|_| bad("is not one this API made"))?;
    let encoded: Encoded =
        serde_json::from_slice(&bytes).map_err(|_| bad("is not one this API made"))?;
    let sort = Sort::parse(&encoded.s).map_err(|_| bad("is not one this API made"))?;
    if expected.is_some_and(|e| e != sort) {
        return Err(bad("was made for another sort order"));
    }
    let value = match encoded.k {
        't' => SortValue::Time(
            DateTime::parse_from_rfc3339(&encoded.v)
                .map_err(|_| bad("is not one this API made"))?
                .with_timezone(&Utc),
        ),
        'i' => SortValue::Int(
            encoded
                .v
                .parse()
                .map_err(|_| bad("is not one this API made"))?,
        ),
        'd' => SortValue::Date(
            encoded
                .v
                .parse()
                .map_err(|_| bad("is not one this API made"))?,
        ),
        _ => SortValue::Text(encoded.v),
    };
    Ok(Position {
        sort,
        value,
        id: encoded.i,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_keep_their_sort() {
        let sort = Sort::default();
        let position = Position {
            sort,
            value: SortValue::Time(Utc::now()),
            id: 42,
        };
        let raw = encode_cursor(&position);
        let decoded = decode_cursor(&raw, Some(sort)).ok();
        assert_eq!(decoded.map(|p| p.id), Some(42));
        assert_eq!(decode_cursor(&raw, None).ok().map(|p| p.sort), Some(sort));
        let other = Sort::parse("name").unwrap_or_default();
        assert!(decode_cursor(&raw, Some(other)).is_err());
        assert!(decode_cursor("garbage!", Some(sort)).is_err());
    }
}
