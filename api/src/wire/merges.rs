//! The body of a merge of duplicates, for companies and contacts alike.

use domain::Invalid;
use domain::merge::DuplicateIds;
use serde::Deserialize;
use utoipa::ToSchema;

/// The records to merge into the one in the path, which survives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// 1 to 50 ids of duplicates in the caller's account, each once, not the survivor's own.
    /// Their order decides whose values fill the survivor's empty fields first.
    #[schema(example = json!([17, 23]), min_items = 1, max_items = 50)]
    pub duplicate_ids: Vec<i64>,
}

impl MergeRequest {
    pub fn into_duplicates(self, survivor: i64) -> Result<DuplicateIds, Invalid> {
        DuplicateIds::parse(survivor, &self.duplicate_ids)
    }
}
