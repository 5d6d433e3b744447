//! Turning raw request fields into domain values, collecting every bad field at once.
//! Blank strings in optional text fields mean "no value": integration platforms send `""` for
//! fields a user left unmapped.

use domain::Invalid;
use domain::validation::ValueError;
use domain::values::{CustomFields, Tags};
use serde_json::{Map, Value};

/// Collects the errors of one input while its fields are parsed.
#[derive(Default)]
pub struct Parser {
    pub invalid: Invalid,
}

impl Parser {
    pub fn required<T>(
        &mut self,
        field: &str,
        raw: &str,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        self.invalid.check(field, parse(raw))
    }

    /// An optional value on create: absent, `null` and blank all mean none.
    pub fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        match raw {
            Some(text) if !text.trim().is_empty() => self.invalid.check(field, parse(text)),
            _ => None,
        }
    }

    /// An optional value in a patch: absent leaves it alone, `null` or blank clears it.
    pub fn patch<T>(
        &mut self,
        field: &str,
        raw: Option<Option<&str>>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<Option<T>> {
        match raw {
            None => None,
            Some(None) => Some(None),
            Some(Some(text)) if text.trim().is_empty() => Some(None),
            Some(Some(text)) => self.invalid.check(field, parse(text)).map(Some),
        }
    }

    /// A required value in a patch: absent leaves it alone; it cannot be cleared.
    pub fn patch_required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        raw.and_then(|text| self.invalid.check(field, parse(text)))
    }

    pub fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        self.invalid.check(field, result)
    }

    /// Refuses an id that cannot name a record.
    pub fn id(&mut self, field: &str, raw: Option<i64>) -> Option<i64> {
        match raw {
            Some(id) if id < 1 => {
                self.invalid.check::<()>(
                    field,
                    Err(ValueError::new("invalid_id", "must be a positive id")),
                );
                None
            }
            other => other,
        }
    }

    /// Tags on create: absent means none.
    pub fn tags(&mut self, raw: Option<&[String]>) -> Option<Tags> {
        self.check("tags", Tags::parse(raw.unwrap_or_default()))
    }

    /// Tags in a patch: absent leaves them alone, `null` clears them, a list replaces them.
    pub fn tags_patch(&mut self, raw: Option<Option<&[String]>>) -> Option<Tags> {
        raw.and_then(|tags| self.tags(tags))
    }

    /// Custom fields on create: absent or `null` means none.
    pub fn custom_fields(&mut self, raw: Option<&Value>) -> Option<CustomFields> {
        match raw {
            None | Some(Value::Null) => Some(CustomFields::default()),
            Some(raw) => self.check("custom_fields", CustomFields::parse(raw)),
        }
    }

    /// Custom fields in a patch: a merge patch whose `null` keys are removed; `null` as a
    /// whole changes nothing.
    pub fn custom_fields_patch(
        &mut self,
        raw: Option<Option<Value>>,
    ) -> Option<Map<String, Value>> {
        match raw {
            None => None,
            Some(None) => Some(Map::new()),
            Some(Some(Value::Object(map))) => Some(map),
            Some(Some(_)) => {
                self.check::<()>(
                    "custom_fields",
                    Err(ValueError::new("not_an_object", "must be a JSON object")),
                );
                None
            }
        }
    }

    pub fn finish(self) -> Result<(), Invalid> {
        self.invalid.into_result()
    }

    /// The value assembled from the parsed fields, or every error collected. `value` is
    /// `None` only when a required field failed, which left an error here.
    pub fn build<T>(self, value: Option<T>) -> Result<T, Invalid> {
        self.invalid.into_result()?;
        value.ok_or_else(|| Invalid::one("", "invalid", "the body could not be read"))
    }
}

/// Runs a body's `validator` rules and reports each failure under its field.
pub(crate) fn validate<T: validator::Validate>(body: &T) -> Result<(), Invalid> {
    let Err(errors) = body.validate() else {
        return Ok(());
    };
    let mut invalid = Invalid::default();
    for (field, list) in errors.field_errors() {
        for error in list {
            let message = error.message.as_ref().map_or_else(
                || format!("fails the `{}` rule", error.code),
                ToString::to_string,
            );
            invalid.push(domain::FieldError::new(
                field.to_string(),
                "invalid",
                message,
            ));
        }
    }
    invalid.into_result()
}
