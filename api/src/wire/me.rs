//! The answer to "who am I": the integration platforms' auth test.

use serde::Serialize;
use utoipa::ToSchema;

use super::users::UserOut;

/// The caller: user, account, role and the scopes of the token used.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub user: UserOut,
    pub account: AccountOut,
    /// The user's role.
    #[schema(example = "admin")]
    pub role: String,
    /// The scopes of the token this request carried.
    #[schema(example = json!(["admin"]))]
    pub scopes: Vec<String>,
    /// What the caller may do: the role's rights narrowed by the token's scopes.
    pub effective_scopes: Vec<String>,
    /// The id of the token this request carried.
    pub token_id: i64,
}

/// The account (tenant) the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: i64,
    #[schema(example = "Acme Consulting")]
    pub name: String,
}
