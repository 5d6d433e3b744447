//! Saved views (a record type's filter, sort and columns, shared or private) and lists of
//! records (static, or dynamic: a view's records).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::fields::FieldRecordType;
use crate::validation::ValueError;

wire_enum! {
    /// Who sees a view or a list besides its owner.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Visibility {
        /// Its owner only.
        #[default]
        Private = "private",
        /// Its owner's unit (teams, territories: once units exist, the owner until then).
        Unit = "unit",
        /// Everyone in the account.
        Account = "account",
    }
}
parse_choice!(Visibility);

/// The most columns a view names, and the most views or lists an account keeps.
pub const MAX_COLUMNS: usize = 100;

/// A saved view as its owner defined it. The filter is kept as written (the filter language's
/// JSON), so that relative dates stay relative and custom fields are typed by the definitions
/// of when the view is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSpec {
    pub name: String,
    pub filter: Option<Value>,
    pub sort: Option<String>,
    pub columns: Vec<String>,
    pub visibility: Visibility,
}

#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub id: i64,
    pub record_type: FieldRecordType,
    pub spec: ViewSpec,
    /// The team member who saved it; `None` for an app acting for the account.
    pub owner_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whether `caller` (a team member, or `None` for an app acting for the account) may see a
/// view or list of `owner` with this visibility; admins see every one.
pub fn can_see(
    visibility: Visibility,
    owner: Option<i64>,
    caller: Option<i64>,
    admin: bool,
) -> bool {
    admin || visibility == Visibility::Account || (owner.is_some() && owner == caller)
}

/// Whether `caller` may change or delete it: its owner, or an admin.
pub fn can_change(owner: Option<i64>, caller: Option<i64>, admin: bool) -> bool {
    admin || (owner.is_some() && owner == caller)
}

/// A column: a field of the record type (`name`, `custom_fields.sector`...): 1 to 100
/// characters of letters, digits, underscores and dots.
pub fn parse_column(raw: &str) -> Result<String, ValueError> {
    let ok = !raw.is_empty()
        && raw.len() <= 100
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ValueError::new(
            "invalid_column",
            "must be a field name such as `name` or `custom_fields.sector`",
        ))
    }
}

/// A list of records: static (its members are added and removed) or dynamic (its members
/// are the records of `view_id`, whatever they are when read).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordList {
    pub id: i64,
    pub record_type: FieldRecordType,
    pub name: String,
    pub description: Option<String>,
    pub view_id: Option<i64>,
    pub visibility: Visibility,
    pub owner_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The most records one call adds to or removes from a list.
pub const MAX_MEMBERS_PER_CALL: usize = 1_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_view_is_its_owners_and_admins() {
        assert!(can_see(Visibility::Private, Some(1), Some(1), false));
        assert!(!can_see(Visibility::Private, Some(1), Some(2), false));
        assert!(can_see(Visibility::Private, Some(1), Some(2), true));
        assert!(can_see(Visibility::Account, Some(1), None, false));
        assert!(!can_change(Some(1), Some(2), false));
        assert!(!can_change(None, None, false));
    }

    #[test]
    fn columns_are_field_names() {
        assert!(parse_column("custom_fields.sector").is_ok());
        assert!(parse_column("name; drop").is_err());
        assert!(parse_column("").is_err());
    }
}
