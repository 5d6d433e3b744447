//! Human passwords: the rules a new one must meet. Hashing lives with the other secrets in
//! `persistence::secrets`.

use crate::validation::ValueError;

/// Passwords people pick first, at the length we require: refused whatever their case.
const COMMON: [&str; 24] = [
    "123456789012",
    "1234567890123",
    "12345678901234",
    "111111111111",
    "123123123123",
    "123456123456",
    "password1234",
    "password12345",
    "passwordpassword",
    "qwertyuiopas",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abcdefghijkl",
    "abc123abc123",
    "iloveyou1234",
    "welcome12345",
    "administrator",
    "letmein12345",
    "changeme1234",
    "000000000000",
    "football1234",
    "qwertyqwerty",
    "asdfghjklasdf",
];

/// A password that meets the rules: 12 to 256 characters, not a common one.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let length = raw.chars().count();
        if length < Self::MIN_CHARS {
            return Err(ValueError::new(
                "too_short",
                format!(
                    "must be at least {} characters (got {length}); a few words make a good one",
                    Self::MIN_CHARS
                ),
            ));
        }
        if length > 256 {
            return Err(ValueError::new(
                "too_long",
                "must be at most 256 characters",
            ));
        }
        if COMMON.contains(&raw.to_lowercase().as_str()) {
            return Err(ValueError::new(
                "too_common",
                "is one of the most common passwords; choose another",
            ));
        }
        if raw.chars().all(|c| c == raw.chars().next().unwrap_or(c)) {
            return Err(ValueError::new(
                "too_common",
                "repeats one character; choose another",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Never print a password, not even in debug output.
impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_and_uncommon() {
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(
            Password::parse("short").map_err(|e| e.code),
            Err("too_short")
        );
        assert_eq!(
            Password::parse("Password1234").map_err(|e| e.code),
            Err("too_common")
        );
        assert_eq!(
            Password::parse("aaaaaaaaaaaaaaa").map_err(|e| e.code),
            Err("too_common")
        );
        assert_eq!(
            format!("{:?}", Password::parse("correct horse battery")),
            "Ok(Password(***))"
        );
    }
}
