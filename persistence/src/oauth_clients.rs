//! OAuth client apps of an account: registered, changed, deleted, their secret rotated.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::access::ScopeSet;
use domain::listing::{Page, PageSize, Position};
use domain::oauth::{ClientType, GrantType, OAuthClient, RedirectUri};
use domain::values::Label;

use crate::keyset::{id_position, into_page};
use crate::schema::oauth_clients;
use crate::secrets::{self, CLIENT_SECRET_PREFIX};
use crate::{DbConnection, StoreError, check_version, now, to_utc, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = oauth_clients)]
struct ClientRow {
    id: i64,
    account_id: i64,
    client_id: String,
    name: String,
    client_type: String,
    redirect_uris: String,
    grant_types: String,
    scopes: String,
    secret_prefix: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<ClientRow> for OAuthClient {
    fn from(r: ClientRow) -> OAuthClient {
        OAuthClient {
            id: r.id,
            account_id: r.account_id,
            client_id: r.client_id,
            name: r.name,
            client_type: ClientType::from_stored(&r.client_type),
            redirect_uris: serde_json::from_str(&r.redirect_uris).unwrap_or_default(),
            grant_types: serde_json::from_str(&r.grant_types).unwrap_or_default(),
            scopes: ScopeSet::from_stored(&r.scopes),
            secret_prefix: r.secret_prefix,
            version: r.version,
            created_at: to_utc(r.created_at),
            updated_at: to_utc(r.updated_at),
        }
    }
}

/// A client app to register, already valid.
pub struct NewClient {
    pub name: Label,
    pub client_type: ClientType,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<GrantType>,
    pub scopes: ScopeSet,
}

/// Changes to a client: `None` leaves a field alone. The caller checks the result's rules.
#[derive(Clone, Default)]
pub struct ClientPatch {
    pub name: Option<Label>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub grant_types: Option<Vec<GrantType>>,
    pub scopes: Option<ScopeSet>,
}

fn uris_json(uris: &[RedirectUri]) -> String {
    serde_json::Value::from(
        uris.iter()
            .map(|u| u.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .to_string()
}

fn grants_json(grants: &[GrantType]) -> String {
    serde_json::Value::from(
        grants
            .iter()
            .map(|g| g.as_str().to_owned())
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Registers a client; a confidential one gets a secret, returned this once.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    new: &NewClient,
) -> Result<(OAuthClient, Option<String>), StoreError> {
    write_transaction(conn, |conn| {
        let secret = (new.client_type == ClientType::Confidential)
            .then(|| secrets::generate(CLIENT_SECRET_PREFIX));
        let at = now();
        let id: i64 = diesel::insert_into(oauth_clients::table)
            .values((
                oauth_clients::account_id.eq(account_id),
                oauth_clients::client_id.eq(secrets::public_id("clt_app_")),
                oauth_clients::name.eq(new.name.as_str()),
                oauth_clients::client_type.eq(new.client_type.as_str()),
                oauth_clients::redirect_uris.eq(uris_json(&new.redirect_uris)),
                oauth_clients::grant_types.eq(grants_json(&new.grant_types)),
                oauth_clients::scopes.eq(new.scopes.to_stored()),
                oauth_clients::secret_digest.eq(secret.as_ref().map(|s| s.digest.clone())),
                oauth_clients::secret_prefix.eq(secret.as_ref().map(|s| s.display_prefix.clone())),
                oauth_clients::version.eq(1),
                oauth_clients::created_at.eq(at),
                oauth_clients::updated_at.eq(at),
            ))
            .returning(oauth_clients::id)
            .get_result(conn)?;
        Ok((get(conn, account_id, id)?, secret.map(|s| s.plaintext)))
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<OAuthClient, StoreError> {
    oauth_clients::table
        .filter(oauth_clients::id.eq(id))
        .filter(oauth_clients::account_id.eq(account_id))
        .select(ClientRow::as_select())
        .first(conn)
        .optional()?
        .map(OAuthClient::from)
        .ok_or(StoreError::NotFound)
}

/// A client by its public `client_id`, in any account, with its secret's digest.
pub(crate) fn by_client_id(
    conn: &mut DbConnection,
    client_id: &str,
) -> Result<Option<(OAuthClient, Option<String>)>, StoreError> {
    Ok(oauth_clients::table
        .filter(oauth_clients::client_id.eq(client_id))
        .select((ClientRow::as_select(), oauth_clients::secret_digest))
        .first::<(ClientRow, Option<String>)>(conn)
        .optional()?
        .map(|(row, digest)| (OAuthClient::from(row), digest)))
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<OAuthClient>, StoreError> {
    let mut query = oauth_clients::table
        .filter(oauth_clients::account_id.eq(account_id))
        .select(ClientRow::as_select())
        .order(oauth_clients::id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(oauth_clients::id.gt(after.id));
    }
    let rows: Vec<ClientRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

/// Applies a patch; `check` sees the client as it would become and may refuse it.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: ClientPatch,
    check: impl Fn(ClientType, &[GrantType], &[RedirectUri]) -> Result<(), StoreError>,
) -> Result<OAuthClient, StoreError> {
    write_transaction(conn, |conn| {
        let patch = patch.clone();
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let uris = patch.redirect_uris.unwrap_or_else(|| {
            current
                .redirect_uris
                .iter()
                .cloned()
                .map(RedirectUri::from_stored)
                .collect()
        });
        let grants = match patch.grant_types {
            Some(grants) => grants,
            None => current
                .grant_types
                .iter()
                .filter_map(|g| GrantType::parse(g).ok())
                .collect(),
        };
        check(current.client_type, &grants, &uris)?;
        let name = patch.name.map_or(current.name.clone(), Label::into_inner);
        let scopes = patch.scopes.unwrap_or(current.scopes.clone()).to_stored();
        let unchanged = name == current.name
            && scopes == current.scopes.to_stored()
            && uris
                .iter()
                .map(RedirectUri::as_str)
                .eq(current.redirect_uris.iter().map(String::as_str))
            && grants
                .iter()
                .map(|g| g.as_str())
                .eq(current.grant_types.iter().map(String::as_str));
        if unchanged {
            // Nothing changes: no new version.
            return Ok(current);
        }
        let updated = diesel::update(
            oauth_clients::table
                .filter(oauth_clients::id.eq(id))
                .filter(oauth_clients::version.eq(current.version)),
        )
        .set((
            oauth_clients::name.eq(name),
            oauth_clients::redirect_uris.eq(uris_json(&uris)),
            oauth_clients::grant_types.eq(grants_json(&grants)),
            oauth_clients::scopes.eq(scopes),
            oauth_clients::version.eq(current.version + 1),
            oauth_clients::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(StoreError::Stale {
                current: current.version + 1,
            });
        }
        get(conn, account_id, id)
    })
}

/// Deletes a client app.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        diesel::delete(oauth_clients::table.filter(oauth_clients::id.eq(id))).execute(conn)?;
        Ok(())
    })
}

/// Replaces a confidential client's secret; the old one stops working at once.
pub fn rotate_secret(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
) -> Result<(OAuthClient, String), StoreError> {
    write_transaction(conn, |conn| {
        let current = get(conn, account_id, id)?;
        if current.client_type != ClientType::Confidential {
            return Err(StoreError::Conflict(
                "a public client has no secret to rotate".into(),
            ));
        }
        let secret = secrets::generate(CLIENT_SECRET_PREFIX);
        diesel::update(oauth_clients::table.filter(oauth_clients::id.eq(id)))
            .set((
                oauth_clients::secret_digest.eq(Some(secret.digest.clone())),
                oauth_clients::secret_prefix.eq(Some(secret.display_prefix.clone())),
                oauth_clients::version.eq(current.version + 1),
                oauth_clients::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok((get(conn, account_id, id)?, secret.plaintext))
    })
}
