//! `Idempotency-Key` on POST under /v1: a retry with the same key and the same request gets
//! the first answer again instead of running the request twice (Stripe's semantics).
//!
//! A middleware on the /v1 scope. It authenticates (a key belongs to the account and to the
//! exact token that sent it) and leaves the `Caller` for the handler, buffers the body to
//! fingerprint the request, claims the key, runs the handler, and keeps its answer. Answers
//! hold secrets shown once (new tokens, client and webhook secrets) and personal data, so a
//! kept body is sealed with ChaCha20-Poly1305 under a key derived from the bearer token and
//! the idempotency key: what the database holds replays for nobody without both. Its OpenAPI
//! description lives here too, added to every POST under /v1 by [`Documentation`].

use std::sync::atomic::{AtomicI64, Ordering};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{Duration, Utc};
use domain::FieldError;
use domain::idempotency::{HEADER, IdempotencyKey, LEASE_SECONDS, MAX_KEY_LEN, is_kept};
use persistence::idempotency::{Claimed, KeyId, StoredAnswer, Terms};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, problem_response};
use crate::extract::{BodyLimit, Caller, bearer_token, body_limit, declared_length, read_limited};
use crate::state::AppState;

/// Marks an answer that is a replay of a kept one.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The headers of an answer that a replay repeats; the others (request id, CORS) belong to
/// the request at hand.
const KEPT_HEADERS: [HeaderName; 3] = [header::ETAG, header::LOCATION, header::CONTENT_TYPE];

/// Separates the sealing key from every other use of a token's bytes.
const SEAL_LABEL: &[u8] = b"clientline/idempotency-key/response-seal/v1";

/// The middleware. Requests other than POST, and POSTs without the header, pass untouched.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(state), true) = (
        state,
        req.method() == Method::POST && req.headers().contains_key(HEADER),
    ) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let key = match key_of(req.headers()) {
        Ok(key) => key,
        Err(e) => return Ok(req.error_response(e)),
    };
    // The lookup's future holds a clone of the request; it is done before routing goes on.
    let caller = match Caller::authenticate(req.request()).await {
        Ok(caller) => caller,
        Err(e) => return Ok(req.error_response(e)),
    };
    let token = match bearer_token(req.request()) {
        Ok(token) => token,
        Err(e) => return Ok(req.error_response(e)),
    };
    let id = KeyId {
        account_id: caller.account_id(),
        token_digest: persistence::secrets::digest(&token),
        key: key.as_str().to_owned(),
    };
    req.extensions_mut().insert(caller);
    let limit = body_limit(req.request());
    let body = match read_body(&mut req, limit).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let digest = request_digest(req.method().as_str(), req.path(), req.query_string(), &body);
    let terms = Terms {
        ttl: Duration::from_std(state.settings.idempotency_ttl).unwrap_or(Duration::hours(24)),
        lease: Duration::seconds(LEASE_SECONDS),
    };
    let claimed = {
        let id = id.clone();
        state
            .run(move |conn| persistence::idempotency::claim(conn, &id, &digest, Utc::now(), terms))
            .await
    };
    let seal = Seal::new(&token, &key);
    match claimed {
        Err(e) => Ok(req.error_response(e)),
        Ok(Claimed::Mismatch) => Ok(req.error_response(ApiError::IdempotencyKeyReused)),
        Ok(Claimed::InFlight { .. }) => Ok(req.error_response(ApiError::IdempotencyInProgress)),
        Ok(Claimed::Replay(answer)) => Ok(match replay(&answer, &seal) {
            Ok(response) => req.into_response(response),
            Err(e) => req.error_response(e),
        }),
        Ok(Claimed::Started { run_id }) => {
            req.set_payload(Payload::from(body));
            let run = Run {
                state,
                id,
                run_id,
                seal,
            };
            run.call(req, next).await
        }
    }
}

/// The key in the header, or a 400 that names the header.
fn key_of(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let bad = |code: &'static str, message: String| {
        ApiError::BadRequest(
            format!(
                "the {HEADER} header {message}; send 1 to {MAX_KEY_LEN} printable ASCII characters, such as a UUID"
            ),
            vec![FieldError::new(HEADER, code, message)],
        )
    };
    let mut values = headers.get_all(HEADER);
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(bad("repeated", "must be sent once".to_owned()));
    };
    IdempotencyKey::parse(value.as_bytes()).map_err(|e| bad(e.code, e.message))
}

/// Reads the whole body, within the limit the handler would apply.
async fn read_body(req: &mut ServiceRequest, limit: BodyLimit) -> Result<Bytes, ApiError> {
    let declared = declared_length(req.headers());
    let payload = req.parts_mut().1.take();
    read_limited(declared, payload, limit).await
}

/// The fingerprint a retry must match: SHA-256 over the method, path, query string and body
/// bytes, each preceded by its length so that no two requests share one.
pub fn request_digest(method: &str, path: &str, query: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes(), query.as_bytes(), body] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

/// A request that holds its key: runs the handler and keeps or releases the answer.
struct Run {
    state: web::Data<AppState>,
    id: KeyId,
    run_id: String,
    seal: Seal,
}

impl Run {
    async fn call(
        self,
        req: ServiceRequest,
        next: Next<impl MessageBody + 'static>,
    ) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
        let response = match next.call(req).await {
            Ok(response) => response,
            Err(e) => {
                self.release().await;
                return Err(e);
            }
        };
        if !is_kept(response.status().as_u16()) {
            self.release().await;
            return Ok(response.map_into_boxed_body());
        }
        let (request, response) = response.into_parts();
        let (head, body) = response.into_parts();
        let bytes = match actix_web::body::to_bytes(body).await {
            Ok(bytes) => bytes,
            Err(e) => {
                self.release().await;
                let e: Box<dyn std::error::Error> = e.into();
                let failed = ApiError::Internal(format!("the answer could not be read: {e}"));
                return Ok(ServiceResponse::new(request, failed.error_response()));
            }
        };
        let status = head.status().as_u16();
        let kept: Vec<(&str, &str)> = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                let value = head.headers().get(name)?.to_str().ok()?;
                Some((name.as_str(), value))
            })
            .collect();
        let headers = serde_json::to_string(&kept).unwrap_or_else(|_| "[]".to_owned());
        maybe_purge(&self.state);
        match self.seal.seal(&associated(status, &headers), &bytes) {
            Some(sealed) => {
                self.keep(StoredAnswer {
                    status,
                    headers,
                    body: sealed,
                })
                .await;
            }
            None => self.release().await,
        }
        Ok(ServiceResponse::new(
            request,
            head.set_body(BoxBody::new(bytes)),
        ))
    }

    async fn keep(self, answer: StoredAnswer) {
        let Run {
            state, id, run_id, ..
        } = self;
        let kept = state
            .run(move |conn| persistence::idempotency::complete(conn, &id, &run_id, &answer))
            .await;
        match kept {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "an idempotency key's lease ran out before its answer was kept; a retry ran again"
            ),
            // The answer still goes out; the key stays in flight until its lease runs out.
            Err(e) => tracing::error!(error = ?e, "the answer to an idempotency key was not kept"),
        }
    }

    async fn release(self) {
        let Run {
            state, id, run_id, ..
        } = self;
        let released = state
            .run(move |conn| persistence::idempotency::release(conn, &id, &run_id))
            .await;
        if let Err(e) = released {
            tracing::error!(error = ?e, "an idempotency key was not released; it frees when its lease runs out");
        }
    }
}

/// A kept answer as it was first sent, marked as a replay.
fn replay(answer: &StoredAnswer, seal: &Seal) -> Result<HttpResponse, ApiError> {
    let broken = |what: &str| ApiError::Internal(format!("a kept idempotent answer {what}"));
    let body = seal
        .open(&associated(answer.status, &answer.headers), &answer.body)
        .ok_or_else(|| broken("does not open with its key"))?;
    let status = StatusCode::from_u16(answer.status).map_err(|_| broken("has a bad status"))?;
    let headers: Vec<(String, String)> =
        serde_json::from_str(&answer.headers).map_err(|_| broken("has unreadable headers"))?;
    let mut response = HttpResponse::build(status);
    for header in headers {
        response.insert_header(header);
    }
    response.insert_header((REPLAYED, "true"));
    Ok(response.body(body))
}

/// What a sealed body is bound to besides its key: the status and headers kept beside it in
/// clear, so that neither can be altered unnoticed.
fn associated(status: u16, headers: &str) -> Vec<u8> {
    format!("{status}\n{headers}").into_bytes()
}

/// ChaCha20-Poly1305 under SHA-256(label, token, idempotency key). One key can seal several
/// answers over time (after a released run, after expiry), so every seal takes a random
/// 96-bit nonce, stored in front of the ciphertext.
struct Seal(ChaCha20Poly1305);

impl Seal {
    fn new(token: &str, key: &IdempotencyKey) -> Seal {
        let mut hasher = Sha256::new();
        hasher.update(SEAL_LABEL);
        hasher.update((token.len() as u64).to_be_bytes());
        hasher.update(token.as_bytes());
        hasher.update(key.as_str().as_bytes());
        let bytes: [u8; 32] = hasher.finalize().into();
        Seal(ChaCha20Poly1305::new(&Key::from(bytes)))
    }

    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Option<String> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let payload = chacha20poly1305::aead::Payload {
            msg: plaintext,
            aad,
        };
        let sealed = self.0.encrypt(&Nonce::from(nonce), payload).ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(STANDARD.encode(out))
    }

    fn open(&self, aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let raw = STANDARD.decode(sealed).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let payload = chacha20poly1305::aead::Payload {
            msg: ciphertext,
            aad,
        };
        self.0.decrypt(Nonce::from_slice(nonce), payload).ok()
    }
}

/// When this process last purged expired keys (Unix seconds).
static LAST_PURGE: AtomicI64 = AtomicI64::new(0);

/// Purges expired keys now and then, in the background. The throttle is per process: with
/// several replicas each purges at most this often, which is cheap (one indexed delete). A
/// periodic maintenance loop can call `persistence::idempotency::purge_expired` instead.
fn maybe_purge(state: &web::Data<AppState>) {
    const EVERY_SECONDS: i64 = 10 * 60;
    let now = Utc::now();
    let last = LAST_PURGE.load(Ordering::Relaxed);
    if now.timestamp() - last < EVERY_SECONDS
        || LAST_PURGE
            .compare_exchange(last, now.timestamp(), Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let state = state.clone();
    actix_web::rt::spawn(async move {
        let purged = state
            .run(move |conn| persistence::idempotency::purge_expired(conn, now))
            .await;
        match purged {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = ?e, "purging expired idempotency keys failed"),
        }
    });
}

/// Documents the header, and the answers it adds, on every POST under /v1.
pub struct Documentation;

impl utoipa::Modify for Documentation {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{RefOr, Required};

        let text = || ObjectBuilder::new().schema_type(Type::String);
        let parameter = ParameterBuilder::new()
            .name(HEADER)
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(format!(
                "Makes the POST safe to retry: a retry with the same key and the same request \
                 (method, path, query and body) by the same token answers the first status, \
                 body, `ETag`, `Location` and `Content-Type` again, with `Idempotent-Replayed: \
                 true`, without doing the work twice. Successes and 4xx answers (except 401, \
                 403, 409 and 429) are kept for at least 24 hours; other answers are not, so a \
                 retry runs again. 1 to {MAX_KEY_LEN} printable ASCII characters; a UUID is a \
                 good key."
            )))
            .schema(Some(
                text()
                    .min_length(Some(1))
                    .max_length(Some(MAX_KEY_LEN))
                    .pattern(Some("^[ -~]+$")),
            ))
            .build();
        let replayed = HeaderBuilder::new()
            .schema(text().enum_values(Some(["true"])))
            .description(Some(
                "`true` when this is the kept answer to an earlier request with the same Idempotency-Key",
            ))
            .build();
        let retry_after = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait before retrying"))
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let Some(operation) = item.post.as_mut().filter(|_| path.starts_with("/v1/")) else {
                continue;
            };
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(parameter.clone());
            let responses = &mut operation.responses.responses;
            for (status, response) in responses.iter_mut() {
                if let (true, RefOr::T(response)) = (status.starts_with('2'), response) {
                    response
                        .headers
                        .insert("Idempotent-Replayed".to_owned(), replayed.clone());
                }
            }
            let answers = [
                (
                    "400",
                    "The Idempotency-Key header is malformed (empty, over 255 characters, or not printable ASCII)",
                ),
                // The body is read before the handler runs, also where none is expected.
                ("413", "The body is larger than the limit"),
                (
                    "409",
                    "`idempotency_request_in_progress`: the first request with this Idempotency-Key is still running; retry after Retry-After",
                ),
                (
                    "422",
                    "`idempotency_key_reused`: the Idempotency-Key was used for a different request",
                ),
            ];
            for (status, why) in answers {
                let response = responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem_response(why));
                if let RefOr::T(response) = response {
                    if !response.description.contains(why) {
                        response.description = format!("{}; or: {why}", response.description);
                    }
                    if status == "409" {
                        response
                            .headers
                            .insert("Retry-After".to_owned(), retry_after.clone());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn a_sealed_body_opens_with_the_same_token_and_key() {
        let sealed = Seal::new("clt_pat_a", &key("k1"))
            .seal(b"201\n[]", b"{\"secret\":\"s3cr3t\"}")
            .unwrap_or_default();
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(
            Seal::new("clt_pat_a", &key("k1")).open(b"201\n[]", &sealed),
            Some(b"{\"secret\":\"s3cr3t\"}".to_vec())
        );
    }

    #[test]
    fn a_sealed_body_does_not_open_with_another_token_key_or_status() {
        let sealed = Seal::new("clt_pat_a", &key("k1"))
            .seal(b"201\n[]", b"body")
            .unwrap_or_default();
        assert_eq!(
            Seal::new("clt_pat_b", &key("k1")).open(b"201\n[]", &sealed),
            None
        );
        assert_eq!(
            Seal::new("clt_pat_a", &key("k2")).open(b"201\n[]", &sealed),
            None
        );
        assert_eq!(
            Seal::new("clt_pat_a", &key("k1")).open(b"200\n[]", &sealed),
            None
        );
    }

    #[test]
    fn requests_differing_in_any_part_have_different_digests() {
        let base = request_digest("POST", "/v1/companies", "", b"{}");
        assert_ne!(base, request_digest("POST", "/v1/contacts", "", b"{}"));
        assert_ne!(base, request_digest("POST", "/v1/companies", "a=1", b"{}"));
        assert_ne!(base, request_digest("POST", "/v1/companies", "", b"{ }"));
        // Length prefixes keep parts from running into each other.
        assert_ne!(
            request_digest("POST", "/v1/a", "b", b""),
            request_digest("POST", "/v1/ab", "", b"")
        );
        assert_eq!(base, request_digest("POST", "/v1/companies", "", b"{}"));
    }
}
