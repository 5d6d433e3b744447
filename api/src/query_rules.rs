//! One strictness rule for query strings on every `/v1` operation, read from the OpenAPI
//! document: a parameter the operation does not document is refused with 400 naming the ones
//! it takes, so that spec and behaviour cannot disagree. Values must be UTF-8 without control
//! characters. Typed parsing of the documented parameters stays with the `Query` extractor.

use std::sync::LazyLock;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use domain::FieldError;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};

use crate::error::ApiError;

/// The query parameters each operation documents.
pub struct QueryRules {
    routes: Vec<Route>,
}

struct Route {
    method: Method,
    /// The path's segments; `None` for a path parameter such as `{id}`.
    segments: Vec<Option<String>>,
    allowed: Vec<String>,
}

static RULES: LazyLock<QueryRules> =
    LazyLock::new(|| QueryRules::from_document(&crate::ApiDoc::openapi()));

impl QueryRules {
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let mut routes = Vec::new();
        for (path, item) in &document.paths.paths {
            let segments: Vec<Option<String>> = path
                .trim_start_matches('/')
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            let operations: [(Method, Option<&Operation>); 5] = [
                (Method::GET, item.get.as_ref()),
                (Method::POST, item.post.as_ref()),
                (Method::PUT, item.put.as_ref()),
                (Method::PATCH, item.patch.as_ref()),
                (Method::DELETE, item.delete.as_ref()),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let allowed = operation
                    .parameters
                    .iter()
                    .flatten()
                    .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                    .map(|p| p.name.clone())
                    .collect();
                routes.push(Route {
                    method,
                    segments: segments.clone(),
                    allowed,
                });
            }
        }
        QueryRules { routes }
    }

    /// The parameters the operation at `method` and `path` takes; `None` for a path the
    /// document does not have (the router answers those).
    fn allowed(&self, method: &Method, path: &str) -> Option<&[String]> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|r| r.method == *method && r.segments.len() == parts.len())
            .filter(|r| {
                r.segments
                    .iter()
                    .zip(&parts)
                    .all(|(s, p)| s.as_deref().is_none_or(|s| s == *p))
            })
            // `/v1/companies/import` before `/v1/companies/{id}`: the most literal route.
            .max_by_key(|r| r.segments.iter().filter(|s| s.is_some()).count())
            .map(|r| r.allowed.as_slice())
    }

    /// Checks `query` against what the operation documents.
    pub fn check(&self, method: &Method, path: &str, query: &str) -> Result<(), ApiError> {
        check_values(query)?;
        let Some(allowed) = self.allowed(method, path) else {
            return Ok(());
        };
        for (name, _) in form_urlencoded::parse(query.as_bytes()) {
            if !allowed.iter().any(|a| *a == name) {
                let takes = if allowed.is_empty() {
                    "this operation takes no query parameters".to_owned()
                } else {
                    format!("this operation takes: {}", allowed.join(", "))
                };
                let shown = shorten(&name);
                return Err(ApiError::BadRequest(
                    format!("unknown query parameter `{shown}`; {takes}"),
                    vec![FieldError::new(
                        shown,
                        "unknown_parameter",
                        format!("is not a parameter of this operation; {takes}"),
                    )],
                ));
            }
        }
        Ok(())
    }
}

/// A parameter name as a problem shows it: at most 64 characters, so that a long name is not
/// echoed back whole.
fn shorten(name: &str) -> String {
    const SHOWN: usize = 64;
    match name.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &name[..end]),
        None => name.to_owned(),
    }
}

/// Every name and value must decode to UTF-8 text without control characters (NUL above all,
/// which PostgreSQL cannot store or compare).
fn check_values(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |raw: &str| {
            let spaced = raw.replace('+', " ");
            let bytes: Vec<u8> = percent_encoding::percent_decode_str(&spaced).collect();
            String::from_utf8(bytes).ok()
        };
        let name = decode(raw_name).unwrap_or_else(|| raw_name.to_owned());
        let bad = |code: &'static str, message: &str| {
            ApiError::BadRequest(
                format!("query parameter `{name}` {message}"),
                vec![FieldError::new(name.clone(), code, message)],
            )
        };
        let Some(value) = decode(raw_name).and(decode(raw_value)) else {
            return Err(bad(
                "invalid_encoding",
                "must be UTF-8 text, percent-encoded",
            ));
        };
        if value.chars().chain(name.chars()).any(char::is_control) {
            return Err(bad(
                "control_character",
                "must not contain control characters",
            ));
        }
    }
    Ok(())
}

/// Refuses, before any handler runs, a `/v1` request whose query string breaks the rule.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.path().starts_with("/v1/")
        && !req.query_string().is_empty()
        && let Err(refused) = RULES.check(req.method(), req.path(), req.query_string())
    {
        let response = actix_web::ResponseError::error_response(&refused);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> &'static QueryRules {
        &RULES
    }

    #[test]
    fn a_documented_parameter_passes() {
        assert!(
            rules()
                .check(&Method::GET, "/v1/companies", "limit=5&q=acme")
                .is_ok()
        );
    }

    #[test]
    fn an_undocumented_parameter_is_named_with_the_allowed_ones() {
        let refused = rules().check(&Method::GET, "/v1/companies/7", "expand=contacts");
        let Err(ApiError::BadRequest(detail, fields)) = refused else {
            panic!("expected a bad request, got {refused:?}");
        };
        assert!(detail.contains("`expand`"), "{detail}");
        assert!(detail.contains("takes no query parameters"), "{detail}");
        assert_eq!(fields[0].code, "unknown_parameter");
    }

    #[test]
    fn the_most_literal_route_wins() {
        assert!(
            rules()
                .check(&Method::POST, "/v1/companies/import", "mode=upsert")
                .is_ok()
        );
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_refused() {
        for query in ["q=%FF", "q=a%00b", "%C3=1"] {
            assert!(
                matches!(
                    rules().check(&Method::GET, "/v1/companies", query),
                    Err(ApiError::BadRequest(..))
                ),
                "{query}"
            );
        }
    }
}
