//! Links to records on the wire, shared by every family of activity: `{"type": "company",
//! "id": 12}` in bodies, `company:12` in the `linked=` filter.

use domain::links::{LinkType, Links, RecordRef};
use domain::validation::ValueError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::Parser;

/// A record an activity is about.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkOut {
    #[schema(schema_with = super::schema::link_type)]
    #[schema(example = "company")]
    pub r#type: String,
    #[schema(example = 12, minimum = 1)]
    pub id: i64,
}

impl From<RecordRef> for LinkOut {
    fn from(link: RecordRef) -> Self {
        LinkOut {
            r#type: link.record_type.as_str().to_owned(),
            id: link.id,
        }
    }
}

pub(crate) fn links_out(links: Vec<RecordRef>) -> Vec<LinkOut> {
    links.into_iter().map(LinkOut::from).collect()
}

impl Parser {
    /// The records an activity links to; absent (on create) means none.
    pub(crate) fn links(&mut self, raw: Option<&[LinkOut]>) -> Option<Links> {
        let mut refs = Vec::new();
        let mut ok = true;
        for (i, link) in raw.unwrap_or_default().iter().enumerate() {
            let parsed = LinkType::parse(&link.r#type)
                .and_then(|kind| RecordRef::checked(kind, link.id))
                .map_err(|e| e.at(format!("[{i}]")));
            match self.check("links", parsed) {
                Some(link) => refs.push(link),
                None => ok = false,
            }
        }
        let links = self.check("links", Links::parse(refs));
        links.filter(|_| ok)
    }
}

/// The `linked=` filter: `<type>:<id>`.
pub(crate) fn linked_filter(raw: Option<&str>) -> Result<Option<RecordRef>, ValueError> {
    raw.map(RecordRef::parse).transpose()
}
