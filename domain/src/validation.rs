//! The one shape every validation failure takes: which field, a machine code, a sentence.

use std::fmt;

/// One bad field in a request. `field` is a JSON path such as `tags[2]` or `custom_fields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Every field error of one input, collected so that the caller can fix them all at once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn one(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, code, message)])
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This collection plus `error` under `field`.
    pub fn with(mut self, field: &str, error: ValueError) -> Self {
        self.check::<()>(field, Err(error));
        self
    }

    /// Runs a parse and keeps its error under `field`, returning the value when it parsed.
    pub fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.push(FieldError::new(
                    e.field_suffix
                        .map_or_else(|| field.to_owned(), |s| format!("{field}{s}")),
                    e.code,
                    e.message,
                ));
                None
            }
        }
    }

    /// `Ok(())` when nothing was collected.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Invalid {}

/// Why one value was refused. The field name is added by whoever knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub code: &'static str,
    pub message: String,
    /// A path below the field, such as `[3]` for the fourth tag.
    pub field_suffix: Option<String>,
}

impl ValueError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field_suffix: None,
        }
    }

    pub fn at(mut self, suffix: impl Into<String>) -> Self {
        self.field_suffix = Some(suffix.into());
        self
    }
}
