//! Free-form JSON (custom fields) read as strictly as every other body field: a key given
//! twice in one object, or a NUL character in a key or a string, is refused at any depth
//! rather than silently kept (last key wins) or stored (PostgreSQL cannot hold NUL).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value that passed the strict reading.
pub(crate) struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

fn text<E: de::Error>(s: &str) -> Result<&str, E> {
    if s.contains('\0') {
        Err(E::custom("NUL characters are not allowed in text"))
    } else {
        Ok(s)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(text(v)?.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        text::<E>(&v)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            text::<A::Error>(&key)?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key `{key}`: each key may appear once in an object"
                )));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// For `Option<Value>` fields: absent or `null` is `None`.
pub(crate) fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Option::<Strict>::deserialize(d)?
        .map(|s| s.0)
        .filter(|v| !v.is_null()))
}

/// For `Option<Option<Value>>` patch fields: absent is `None`, `null` is `Some(None)`.
pub(crate) fn patch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Value>>, D::Error> {
    Ok(Some(
        Option::<Strict>::deserialize(d)?
            .map(|s| s.0)
            .filter(|v| !v.is_null()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Value, serde_json::Error> {
        serde_json::from_str::<Strict>(json).map(|s| s.0)
    }

    #[test]
    fn plain_json_reads_as_serde_json_does() {
        let json = r#"{"a": [1, -2, 2.5, "x", null, true, {"b": {}}]}"#;
        assert_eq!(read(json).ok(), serde_json::from_str::<Value>(json).ok());
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        assert!(read(r#"{"a": 1, "a": 2}"#).is_err());
        assert!(read(r#"{"x": [{"a": 1, "a": 2}]}"#).is_err());
    }

    #[test]
    fn nul_is_refused_in_keys_and_strings_at_any_depth() {
        assert!(read(r#"{"a\u0000": 1}"#).is_err());
        assert!(read(r#"{"a": {"b": ["x\u0000"]}}"#).is_err());
    }
}
