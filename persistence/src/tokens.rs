//! Personal access tokens: issued with a secret shown once, found again only by its digest.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::access::ScopeSet;
use domain::listing::{Page, PageSize, Position};
use domain::token::{Actor, ApiToken, Credential, Principal, TokenKind};
use domain::values::WebOrigin;
use subtle::ConstantTimeEq;

use crate::keyset::{id_position, into_page};
use crate::roles::RoleRow;
use crate::schema::{accounts, api_tokens, token_origins, users};
use crate::secrets;
use crate::users::UserRow;
use crate::{DbConnection, StoreError, now, to_utc};

/// How stale `last_used_at` may get before a request writes it again: one write a minute at
/// most, not one per request.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
struct TokenRow {
    id: i64,
    user_id: i64,
    kind: String,
    name: String,
    display_prefix: String,
    scopes: String,
    expires_at: Option<NaiveDateTime>,
    last_used_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
}

impl From<TokenRow> for ApiToken {
    fn from(row: TokenRow) -> ApiToken {
        ApiToken {
            id: row.id,
            user_id: row.user_id,
            kind: TokenKind::from_stored(&row.kind),
            allowed_origins: Vec::new(),
            name: row.name,
            display_prefix: row.display_prefix,
            scopes: ScopeSet::from_stored(&row.scopes),
            expires_at: row.expires_at.map(to_utc),
            last_used_at: row.last_used_at.map(to_utc),
            created_at: to_utc(row.created_at),
        }
    }
}

pub struct NewToken<'a> {
    pub kind: TokenKind,
    /// For JavaScript tokens: where they may be used from.
    pub origins: &'a [WebOrigin],
    pub user_id: i64,
    pub name: &'a str,
    pub scopes: &'a ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a token and returns it with its secret, which is not kept.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    token: &NewToken<'_>,
) -> Result<(ApiToken, String), StoreError> {
    let secret = secrets::generate(token.kind.prefix());
    let id: i64 = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::account_id.eq(account_id),
            api_tokens::user_id.eq(token.user_id),
            api_tokens::kind.eq(token.kind.as_str()),
            api_tokens::name.eq(token.name),
            api_tokens::display_prefix.eq(&secret.display_prefix),
            api_tokens::secret_digest.eq(&secret.digest),
            api_tokens::scopes.eq(token.scopes.to_stored()),
            api_tokens::expires_at.eq(token.expires_at.map(|t| t.naive_utc())),
            api_tokens::created_at.eq(now()),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?;
    for origin in token.origins {
        diesel::insert_into(token_origins::table)
            .values((
                token_origins::token_id.eq(id),
                token_origins::account_id.eq(account_id),
                token_origins::origin.eq(origin.as_str()),
            ))
            .execute(conn)?;
    }
    let created = get(conn, account_id, token.user_id, id)?;
    Ok((created, secret.plaintext))
}

/// A live (not revoked) token of this user.
pub fn get(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    id: i64,
) -> Result<ApiToken, StoreError> {
    let token = api_tokens::table
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::account_id.eq(account_id))
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .select(TokenRow::as_select())
        .first(conn)
        .optional()?
        .map(ApiToken::from)
        .ok_or(StoreError::NotFound)?;
    let mut tokens = [token];
    attach_origins(conn, &mut tokens)?;
    let [token] = tokens;
    Ok(token)
}

/// Fills `allowed_origins` of some tokens: one query for all of them.
fn attach_origins(conn: &mut DbConnection, tokens: &mut [ApiToken]) -> Result<(), StoreError> {
    let ids: Vec<i64> = tokens
        .iter()
        .filter(|t| t.kind == TokenKind::Javascript)
        .map(|t| t.id)
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, String)> = token_origins::table
        .filter(token_origins::token_id.eq_any(&ids))
        .select((token_origins::token_id, token_origins::origin))
        .order((token_origins::token_id, token_origins::origin))
        .load(conn)?;
    for token in tokens.iter_mut() {
        token.allowed_origins = rows
            .iter()
            .filter(|(id, _)| *id == token.id)
            .map(|(_, o)| o.clone())
            .collect();
    }
    Ok(())
}

/// Whether any live JavaScript token lists `origin`: what a CORS preflight, which carries no
/// token, can be answered with.
pub fn origin_is_listed(conn: &mut DbConnection, origin: &str) -> Result<bool, StoreError> {
    let at = now();
    let found = token_origins::table
        .inner_join(api_tokens::table)
        .filter(token_origins::origin.eq(origin))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(at)),
        )
        .select(token_origins::token_id)
        .first::<i64>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The user's live tokens, oldest first.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<ApiToken>, StoreError> {
    let mut query = api_tokens::table
        .filter(api_tokens::account_id.eq(account_id))
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::revoked_at.is_null())
        .select(TokenRow::as_select())
        .order(api_tokens::id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_tokens::id.gt(after.id));
    }
    let rows: Vec<TokenRow> = query.limit(size.get() + 1).load(conn)?;
    let mut page: Page<ApiToken> = into_page(rows, size, |row| id_position(row.id));
    attach_origins(conn, &mut page.items)?;
    Ok(page)
}

/// Revokes a live token of this user; from now on it authenticates nothing.
pub fn revoke(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    id: i64,
) -> Result<(), StoreError> {
    let revoked = diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::account_id.eq(account_id))
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .execute(conn)?;
    if revoked == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A caller found by a token, with the token's expiry (`None`: it does not expire).
pub type Authenticated = (Principal, Option<DateTime<Utc>>);

/// The caller a presented secret stands for, with the token's expiry, or `None` when it is
/// unknown, revoked, expired, or belongs to a deactivated user.
pub fn authenticate(
    conn: &mut DbConnection,
    presented: &str,
) -> Result<Option<Authenticated>, StoreError> {
    let digest = secrets::digest(presented);
    let found = api_tokens::table
        .inner_join(
            users::table
                .inner_join(accounts::table)
                .inner_join(crate::schema::roles::table),
        )
        .filter(api_tokens::secret_digest.eq(&digest))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            api_tokens::id,
            api_tokens::kind,
            api_tokens::secret_digest,
            api_tokens::scopes,
            api_tokens::expires_at,
            api_tokens::last_used_at,
            UserRow::as_select(),
            RoleRow::as_select(),
            accounts::name,
        ))
        .first::<(
            i64,
            String,
            String,
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            UserRow,
            RoleRow,
            String,
        )>(conn)
        .optional()?;
    let Some((
        token_id,
        kind,
        stored_digest,
        scopes,
        expires_at,
        last_used_at,
        user,
        role,
        account_name,
    )) = found
    else {
        return Ok(None);
    };
    // The index found the row; compare again in constant time so that no timing difference
    // depends on how much of the digest matched.
    if !bool::from(stored_digest.as_bytes().ct_eq(digest.as_bytes())) {
        return Ok(None);
    }
    let at = now();
    if expires_at.is_some_and(|e| e <= at) {
        return Ok(None);
    }
    let user = domain::user::User::from(crate::users::UserWithRole { user, role });
    if !user.active {
        return Ok(None);
    }
    if last_used_at.is_none_or(|t| (at - t).num_seconds() >= LAST_USED_RESOLUTION_SECONDS) {
        diesel::update(api_tokens::table.filter(api_tokens::id.eq(token_id)))
            .set(api_tokens::last_used_at.eq(at))
            .execute(conn)?;
    }
    let token_kind = TokenKind::from_stored(&kind);
    let allowed_origins = if token_kind == TokenKind::Javascript {
        token_origins::table
            .filter(token_origins::token_id.eq(token_id))
            .select(token_origins::origin)
            .load(conn)?
    } else {
        Vec::new()
    };
    let records = crate::units::record_scope(conn, &user)?;
    let principal = Principal {
        account_id: user.account_id,
        account_name,
        records,
        actor: Actor::User(user),
        credential: Credential::Token {
            id: token_id,
            kind: token_kind,
            allowed_origins,
        },
        scopes: ScopeSet::from_stored(&scopes),
    };
    Ok(Some((principal, expires_at.map(to_utc))))
}
