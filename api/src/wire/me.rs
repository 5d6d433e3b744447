//! The answer to "who am I": the integration platforms' auth test.

use serde::Serialize;
use utoipa::ToSchema;

use super::users::UserOut;

/// The caller: user (or app), account, role and the scopes of the token used.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// The team member calling; `null` when an app acts for the account (client credentials).
    #[schema(required = true)]
    pub user: Option<UserOut>,
    /// The client app acting for the account (client credentials); otherwise `null`.
    #[schema(required = true)]
    pub client: Option<MeClientOut>,
    pub account: AccountOut,
    /// The name of the user's role (`admin`, `member`, `viewer` or a custom role's); `null`
    /// for an app.
    #[schema(example = "admin")]
    #[schema(required = true)]
    pub role: Option<String>,
    /// The kind of credential: `personal`, `javascript` or `oauth`.
    #[schema(example = "personal")]
    #[schema(schema_with = super::schema::credential_kind)]
    pub token_type: String,
    /// The scopes of the token this request carried.
    #[schema(example = json!(["admin"]))]
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Vec<String>,
    /// What the caller may do: the role's rights narrowed by the token's scopes.
    #[schema(schema_with = super::schema::scopes)]
    pub effective_scopes: Vec<String>,
    /// The id of the personal or JavaScript token this request carried; `null` for OAuth.
    #[schema(required = true)]
    pub token_id: Option<i64>,
    /// For OAuth access tokens: the client app they were issued to.
    #[schema(required = true)]
    pub client_id: Option<String>,
}

/// An app acting for its account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeClientOut {
    pub id: i64,
    #[schema(example = "clt_app_Xq2...")]
    pub client_id: String,
    pub name: String,
}

/// The account (tenant) the caller belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountOut {
    pub id: i64,
    #[schema(example = "Acme Consulting")]
    pub name: String,
}

/// Whether the caller has an authenticator for the sign-in page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpOut {
    /// A secret was issued (it may still wait for confirmation).
    pub enrolled: bool,
    /// Confirmed with a code: the sign-in page asks for one.
    pub enabled: bool,
}

/// A new authenticator secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolment {
    /// The secret, base32, for typing into an authenticator app.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The same as an `otpauth://` URI, for a QR code.
    pub otpauth_uri: String,
    pub enrolled: bool,
    /// `false` until confirmed with `POST /v1/me/totp/confirm`.
    pub enabled: bool,
}

/// A code from the authenticator app.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// Six digits.
    #[schema(example = "123456")]
    pub code: String,
}
