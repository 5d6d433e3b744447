//! No readable secrets at rest: the secrets the service must read back (webhook signing
//! secrets, TOTP secrets, the private keys that sign OAuth tokens) are sealed under the
//! operator key, so neither a table nor the SQLite file (with its WAL) holds them in any
//! usual encoding.

use crate::common::oauth::{client_credentials, machine_app, start_totp, stored_values, tables};
use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::json;

/// The forms a secret could be stored in: as is, hex (both cases), base64 (each alphabet,
/// padded or not) and, for TOTP, base32.
fn encodings(raw: &[u8]) -> Vec<String> {
    let mut forms = vec![
        hex::encode(raw),
        hex::encode_upper(raw),
        STANDARD.encode(raw),
        STANDARD_NO_PAD.encode(raw),
        URL_SAFE.encode(raw),
        URL_SAFE_NO_PAD.encode(raw),
        domain::totp::to_base32(raw)
            .trim_end_matches('=')
            .to_owned(),
    ];
    if let Ok(text) = std::str::from_utf8(raw) {
        forms.push(text.to_owned());
    }
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn no_table_nor_database_file_holds_a_secret_the_service_reads_back() {
    let app = spawn_app().await;

    // A webhook signing secret, shown once at creation and once more at rotation.
    let created = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "https://hooks.example.com/in", "events": ["company.created"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let webhook_secret = created.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(webhook_secret.starts_with("whsec_"), "{}", created.body);
    let rotated = app
        .post(&format!("/v1/webhooks/{}/secret", created.id()), json!({}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let rotated_secret = rotated.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // A TOTP secret.
    let totp_base32 = start_totp(&app, &app.token).await;
    let totp_raw = domain::totp::from_base32(&totp_base32)
        .unwrap_or_else(|| panic!("not base32: {totp_base32}"));

    // Signing keys: the first, made by a token request, and a rotated one.
    let client = machine_app(&app, &["companies:read"]).await;
    let issued = client_credentials(&app, &client, None).await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let keys = {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::rotate(&mut conn, app.db.vault())
            .unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::all(&mut conn, app.db.vault())
            .unwrap_or_else(|e| panic!("{e:?}"))
    };
    assert_eq!(keys.len(), 2);

    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        (
            "the webhook secret".into(),
            webhook_secret.clone().into_bytes(),
        ),
        (
            "the rotated webhook secret".into(),
            rotated_secret.into_bytes(),
        ),
        ("the TOTP secret".into(), totp_raw.clone()),
    ];
    for key in &keys {
        // The PKCS#8 document and the 32-byte Ed25519 seed inside it.
        use ed25519_dalek::pkcs8::DecodePrivateKey;
        let der = key.private_der.clone();
        let seed = ed25519_dalek::SigningKey::from_pkcs8_der(&der)
            .unwrap_or_else(|e| panic!("{e}"))
            .to_bytes();
        secrets.push((format!("signing key {} (seed)", key.kid), seed.to_vec()));
        secrets.push((format!("signing key {} (PKCS#8)", key.kid), der));
    }
    let needles: Vec<(String, String)> = secrets
        .iter()
        .flat_map(|(what, raw)| encodings(raw).into_iter().map(move |f| (what.clone(), f)))
        .collect();

    let mut scanned = 0;
    for table in tables(&app) {
        for (column, value) in stored_values(&app, &table) {
            scanned += 1;
            for (what, form) in &needles {
                assert!(
                    !value.contains(form.as_str()),
                    "{table}.{column} holds {what} readably"
                );
            }
        }
    }
    assert!(scanned > 50, "the scan read the data ({scanned} values)");

    // The sealed values still open to what was shown.
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        persistence::totp::status(&mut conn, app.admin_id)
            .map(|s| s.enrolled)
            .ok(),
        Some(true)
    );
    drop(conn);

    if persistence::Backend::of(&app.database_url) == persistence::Backend::Sqlite {
        let mut raw_needles: Vec<(String, Vec<u8>)> = needles
            .iter()
            .map(|(what, form)| (what.clone(), form.clone().into_bytes()))
            .collect();
        raw_needles.extend(secrets.iter().cloned());
        for suffix in ["", "-wal"] {
            let path = format!("{}{suffix}", app.database_url);
            let Ok(bytes) = std::fs::read(&path) else {
                assert!(!suffix.is_empty(), "cannot read {path}");
                continue;
            };
            for (what, needle) in &raw_needles {
                assert!(!contains(&bytes, needle), "{path} holds {what} readably");
            }
        }
    }
}

#[tokio::test]
async fn a_sealed_secret_moved_to_another_row_does_not_open() {
    let app = spawn_app().await;
    let make = |url: &'static str| {
        let app = &app;
        async move {
            app.post(
                "/v1/webhooks",
                json!({"target_url": url, "events": ["company.created"]}),
            )
            .await
            .id()
        }
    };
    let first = make("https://hooks.example.com/a").await;
    let second = make("https://hooks.example.com/b").await;
    use diesel::prelude::*;
    use persistence::schema::webhooks;
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let sealed: String = webhooks::table
        .filter(webhooks::id.eq(first))
        .select(webhooks::secret)
        .first(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let vault = app.db.vault();
    assert!(
        vault
            .open(&persistence::vault::Place::webhook_secret(first), &sealed)
            .is_ok()
    );
    diesel::update(webhooks::table.filter(webhooks::id.eq(second)))
        .set(webhooks::secret.eq(&sealed))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let moved = persistence::vault::stored::seal_plaintext(&mut conn, vault);
    assert!(
        matches!(moved, Err(persistence::StoreError::Sealed(_))),
        "{moved:?}"
    );
}

#[tokio::test]
async fn plaintext_secrets_of_an_older_database_are_sealed_at_start_and_keep_working() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "https://hooks.example.com/in", "events": ["company.created"]}),
        )
        .await;
    let id = created.id();
    let secret = created.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    use diesel::prelude::*;
    use persistence::schema::{users, webhooks};
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    // As a database from before sealing held them.
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
        .set(webhooks::secret.eq(&secret))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    diesel::update(users::table.filter(users::id.eq(app.admin_id)))
        .set(users::totp_secret.eq(Some("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    // A start runs the migrations, which seal them.
    app.db.migrate().unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let (stored, totp): (String, Option<String>) = (
        webhooks::table
            .filter(webhooks::id.eq(id))
            .select(webhooks::secret)
            .first(&mut conn)
            .unwrap_or_else(|e| panic!("{e}")),
        users::table
            .filter(users::id.eq(app.admin_id))
            .select(users::totp_secret)
            .first(&mut conn)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let vault = app.db.vault();
    assert!(persistence::vault::Vault::is_sealed(&stored), "{stored}");
    assert_eq!(
        vault
            .open(&persistence::vault::Place::webhook_secret(id), &stored)
            .ok(),
        Some(secret.into_bytes())
    );
    let totp = totp.unwrap_or_default();
    assert_eq!(
        vault
            .open(&persistence::vault::Place::totp_secret(app.admin_id), &totp)
            .ok(),
        domain::totp::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    );
    // Idempotent: a second start writes nothing.
    let again = persistence::vault::stored::seal_plaintext(&mut conn, vault)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(again.total(), 0);
    // And the listing still shows the secret's start.
    let listed = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(
        listed.body["secret_prefix"].as_str().map(str::len),
        Some(10)
    );
}
