//! Values that cannot hold bad data: parse once at the edge, trust the type afterwards.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::validation::ValueError;

/// Text that is trimmed, within a length bound, and free of control characters
/// (line breaks are allowed only where `MULTILINE` says so).
fn clean_text(raw: &str, min: usize, max: usize, multiline: bool) -> Result<String, ValueError> {
    let value = raw.trim();
    let length = value.chars().count();
    if length < min {
        return Err(if min == 1 {
            ValueError::new("blank", "must not be blank")
        } else {
            ValueError::new("too_short", format!("must be at least {min} characters"))
        });
    }
    if length > max {
        return Err(ValueError::new(
            "too_long",
            format!("must be at most {max} characters (got {length})"),
        ));
    }
    let bad = value
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if bad {
        return Err(ValueError::new(
            "control_character",
            if multiline {
                "must not contain control characters other than line breaks and tabs"
            } else {
                "must be a single line without control characters"
            },
        ));
    }
    Ok(value.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, min = $min:expr, max = $max:expr, multiline = $multi:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                clean_text(raw, $min, $max, $multi).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// A value read back from storage, where only parsed values are written.
            pub fn from_stored(stored: String) -> Self {
                Self(stored)
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_value!(
    /// A company's or a person's name: one line, 1 to 200 characters.
    Name, min = 1, max = 200, multiline = false
);
text_value!(
    /// A short single-line attribute such as an industry, a job title or an account name.
    Label, min = 1, max = 100, multiline = false
);
text_value!(
    /// A phone number as people write it: one line, up to 50 characters.
    Phone, min = 1, max = 50, multiline = false
);
text_value!(
    /// A postal address; line breaks allowed.
    Address, min = 1, max = 1_000, multiline = true
);
text_value!(
    /// A record's id in another system (an ERP, a spreadsheet), which imports match on: one
    /// line, 1 to 255 characters, compared exactly.
    ExternalId, min = 1, max = 255, multiline = false
);
text_value!(
    /// Free text such as a company description; line breaks allowed.
    Description, min = 1, max = 10_000, multiline = true
);

text_value!(
    /// An activity's title (a task's, a meeting's, an enquiry's subject): one line, 1 to 500
    /// characters.
    Title, min = 1, max = 500, multiline = false
);

text_value!(
    /// A post's or comment's body: Markdown as written, 1 to 20,000 characters, line breaks
    /// allowed.
    Markdown, min = 1, max = 20_000, multiline = true
);

/// An email address: one `@`, a non-empty local part, a dotted domain, no spaces, at most 254
/// characters. Kept as written; compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_CHARS: usize = 254;

    /// A value read back from storage, where only parsed values are written.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim();
        let invalid = || {
            ValueError::new(
                "invalid_email",
                "must be an email address such as ana@example.com",
            )
        };
        if value.is_empty() {
            return Err(ValueError::new("blank", "must not be blank"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                "must be at most 254 characters",
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.contains('@') || !is_hostname(domain) {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and lookups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn is_hostname(value: &str) -> bool {
    value.len() <= 253
        && value.contains('.')
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// A company's internet domain such as `acme.com`, stored in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DomainName(String);

impl DomainName {
    /// A value read back from storage, where only parsed values are written.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim().trim_end_matches('.').to_lowercase();
        if value.is_empty() {
            return Err(ValueError::new("blank", "must not be blank"));
        }
        if !is_hostname(&value) {
            return Err(ValueError::new(
                "invalid_domain",
                "must be a domain name such as acme.com, without scheme or path",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `http` or `https` address with a host, at most 2,048 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebAddress(String);

impl WebAddress {
    /// A value read back from storage, where only parsed values are written.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim();
        let invalid = || {
            ValueError::new(
                "invalid_url",
                "must be an http or https address such as https://acme.com",
            )
        };
        if value.len() > 2_048 {
            return Err(ValueError::new(
                "too_long",
                "must be at most 2048 characters",
            ));
        }
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(invalid)?;
        let host = rest
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .rsplit('@')
            .next()
            .unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        if !is_hostname(&host.to_lowercase()) && host != "localhost" {
            return Err(invalid());
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A web origin (`scheme://host[:port]`) as browsers send it in `Origin`, in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WebOrigin(String);

impl WebOrigin {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim().trim_end_matches('/').to_lowercase();
        let invalid = || {
            ValueError::new(
                "invalid_origin",
                "must be an origin such as https://intranet.acme.com or http://localhost:3000, without a path",
            )
        };
        let rest = value
            .strip_prefix("https://")
            .or_else(|| value.strip_prefix("http://"))
            .ok_or_else(invalid)?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        let port_ok = port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
        if !port_ok || !(is_hostname(host) || host == "localhost") {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How many people a company employs, in the bands CRMs commonly use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SizeBand {
    S1To10,
    S11To50,
    S51To200,
    S201To500,
    S501To1000,
    S1001To5000,
    S5001Plus,
}

impl SizeBand {
    pub const ALL: [SizeBand; 7] = [
        SizeBand::S1To10,
        SizeBand::S11To50,
        SizeBand::S51To200,
        SizeBand::S201To500,
        SizeBand::S501To1000,
        SizeBand::S1001To5000,
        SizeBand::S5001Plus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SizeBand::S1To10 => "1-10",
            SizeBand::S11To50 => "11-50",
            SizeBand::S51To200 => "51-200",
            SizeBand::S201To500 => "201-500",
            SizeBand::S501To1000 => "501-1000",
            SizeBand::S1001To5000 => "1001-5000",
            SizeBand::S5001Plus => "5001+",
        }
    }

    /// A band read back from storage; `None` for a value no longer known.
    pub fn from_stored(stored: &str) -> Option<Self> {
        Self::parse(stored).ok()
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|band| band.as_str() == raw.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|b| b.as_str()).collect();
                ValueError::new(
                    "invalid_choice",
                    format!("must be one of {}", names.join(", ")),
                )
            })
    }
}

/// A label on a record: one line, 1 to 50 characters, no commas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = clean_text(raw, 1, 50, false)?;
        if value.contains(',') {
            return Err(ValueError::new("invalid_tag", "must not contain commas"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The tags of one record: at most 50, without duplicates, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tags(BTreeSet<Tag>);

impl Tags {
    pub const MAX: usize = 50;
    /// No tags.
    pub const EMPTY: Tags = Tags(BTreeSet::new());

    pub fn parse(raw: &[String]) -> Result<Self, ValueError> {
        if raw.len() > Self::MAX {
            return Err(ValueError::new(
                "too_many",
                format!("must hold at most {} tags (got {})", Self::MAX, raw.len()),
            ));
        }
        let mut tags = BTreeSet::new();
        for (i, item) in raw.iter().enumerate() {
            tags.insert(Tag::parse(item).map_err(|e| e.at(format!("[{i}]")))?);
        }
        Ok(Self(tags))
    }

    /// Tags as stored: the database already holds only valid ones.
    pub fn from_stored(raw: Vec<String>) -> Self {
        Self(raw.into_iter().map(Tag).collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Tag::as_str)
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// Custom fields: a JSON object of at most 100 keys (each 1 to 64 characters) whose
/// serialized form is at most 16 KiB.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomFields(Map<String, Value>);

impl CustomFields {
    pub const MAX_BYTES: usize = 16 * 1024;
    pub const MAX_KEYS: usize = 100;

    pub fn parse(raw: &Value) -> Result<Self, ValueError> {
        let Value::Object(map) = raw else {
            return Err(ValueError::new("not_an_object", "must be a JSON object"));
        };
        if map.len() > Self::MAX_KEYS {
            return Err(ValueError::new(
                "too_many",
                format!("must hold at most {} keys", Self::MAX_KEYS),
            ));
        }
        if let Some(key) = map
            .keys()
            .find(|k| k.trim().is_empty() || k.chars().count() > 64)
        {
            return Err(ValueError::new(
                "invalid_key",
                "keys must be 1 to 64 characters and not blank",
            )
            .at(format!(".{key}")));
        }
        let size = raw.to_string().len();
        if size > Self::MAX_BYTES {
            return Err(ValueError::new(
                "too_large",
                format!(
                    "must be at most {} bytes as JSON (got {size})",
                    Self::MAX_BYTES
                ),
            ));
        }
        Ok(Self(map.clone()))
    }

    pub fn from_stored(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// Applies a JSON merge patch (RFC 7396) at the top level: a key set to `null` is removed,
    /// any other value replaces the key's value. The result obeys the same limits.
    pub fn merge(&self, patch: &Map<String, Value>) -> Result<Self, ValueError> {
        let mut merged = self.0.clone();
        for (key, value) in patch {
            if value.is_null() {
                merged.remove(key);
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
        Self::parse(&Value::Object(merged))
    }

    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn to_json_string(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Acme  ").map(Name::into_inner),
            Ok("Acme".into())
        );
        assert_eq!(Name::parse("   ").map_err(|e| e.code), Err("blank"));
        assert_eq!(
            Name::parse(&"x".repeat(201)).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            Name::parse("a\nb").map_err(|e| e.code),
            Err("control_character")
        );
        assert!(Address::parse("1 Main St\nSpringfield").is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse("ana@example.com").is_ok());
        for bad in [
            "ana",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@ex..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn domains_and_web_addresses() {
        assert_eq!(
            DomainName::parse("Acme.COM").map(|d| d.0),
            Ok("acme.com".into())
        );
        assert!(DomainName::parse("https://acme.com").is_err());
        assert!(WebAddress::parse("https://acme.com/about").is_ok());
        assert!(WebAddress::parse("ftp://acme.com").is_err());
        assert!(WebAddress::parse("https://").is_err());
    }

    #[test]
    fn tags_are_deduplicated_and_report_the_bad_index() {
        let tags = Tags::parse(&["b".into(), "a".into(), "b".into()]);
        assert_eq!(
            tags.map(|t| t.to_vec()),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        let error = Tags::parse(&["ok".into(), "".into()]).err();
        assert_eq!(error.and_then(|e| e.field_suffix), Some("[1]".to_owned()));
    }

    #[test]
    fn custom_fields_must_be_a_small_object() {
        assert!(CustomFields::parse(&serde_json::json!({"tier": "gold"})).is_ok());
        assert!(CustomFields::parse(&serde_json::json!([1])).is_err());
        let base = CustomFields::parse(&serde_json::json!({"a": 1, "b": 2})).unwrap_or_default();
        let patch = serde_json::json!({"a": null, "c": 3});
        let merged = base
            .merge(patch.as_object().unwrap_or(&Map::new()))
            .unwrap_or_default();
        assert_eq!(Value::Object(merged.0), serde_json::json!({"b": 2, "c": 3}));
        let big = serde_json::json!({"blob": "x".repeat(17 * 1024)});
        assert_eq!(
            CustomFields::parse(&big).map_err(|e| e.code),
            Err("too_large")
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            WebOrigin::parse("HTTPS://Intranet.Acme.com/").map(|o| o.0),
            Ok("https://intranet.acme.com".into())
        );
        assert!(WebOrigin::parse("http://localhost:3000").is_ok());
        for bad in [
            "intranet.acme.com",
            "https://acme.com/widgets",
            "ftp://acme.com",
            "https://acme.com:x",
            "*",
        ] {
            assert!(WebOrigin::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn size_bands_are_a_closed_list() {
        assert_eq!(SizeBand::parse("11-50"), Ok(SizeBand::S11To50));
        assert!(SizeBand::parse("12").is_err());
    }
}
