//! JSON request bodies: size-limited, `application/json` only, unknown fields refused, and
//! every failure reported with the path of the field at fault.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;
use crate::wire::deserialize::parse;

/// A JSON body deserialized into `T` (which should deny unknown fields).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let content_type_ok = is_json(req);
        let declared = declared_length(req.headers());
        let payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = read_limited(declared, payload, limit).await?;
            parse(&bytes).map(Body)
        })
    }
}

/// The body's length as the request declares it in `Content-Length`.
pub(crate) fn declared_length(headers: &header::HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// How much of a body a request may send, and how long it may take to send it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit {
    pub bytes: usize,
    pub time: Duration,
}

/// Reads a whole body within `limit`: one that declares more bytes is refused before a byte
/// is read, and one that has not arrived whole in time is answered 408 (the connection is
/// closed, since the rest of the body may still be on its way). The one reader of bodies, for
/// this extractor, the idempotency layer and the imports.
pub(crate) async fn read_limited<S, E>(
    declared: Option<usize>,
    mut payload: S,
    limit: BodyLimit,
) -> Result<web::Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let BodyLimit { bytes: limit, time } = limit;
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let deadline = tokio::time::Instant::now() + time;
    let mut bytes = web::BytesMut::new();
    loop {
        let next = tokio::time::timeout_at(deadline, payload.next())
            .await
            .map_err(|_| ApiError::BodyTimeout {
                seconds: time.as_secs(),
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(format!("the body could not be read: {e}"), Vec::new())
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// The largest body `req` may send, and how long it may take: the one place that says it,
/// for this extractor and for the idempotency layer that buffers bodies before the handler
/// runs.
pub(crate) fn body_limit(req: &HttpRequest) -> BodyLimit {
    let Some(settings) = req.app_data::<web::Data<AppState>>().map(|s| &s.settings) else {
        return BodyLimit {
            bytes: 256 * 1024,
            time: Duration::from_secs(30),
        };
    };
    // Imports carry up to 10,000 rows: they have a limit of their own.
    let import = req.method() == actix_web::http::Method::POST && req.path().ends_with("/import");
    BodyLimit {
        bytes: if import {
            settings.import_body_limit
        } else {
            settings.body_limit
        },
        time: settings.body_timeout,
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}
