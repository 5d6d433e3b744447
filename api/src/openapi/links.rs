//! OpenAPI links: from each create operation to the operations that take the id it returns,
//! so that stateful testers (and readers) chain calls the way an integrator does: create a
//! company, then read, patch, move, merge and delete that company.
//!
//! The links are added to the serialised document rather than through utoipa's `Link`, which
//! utoipa 5 serialises with snake-case keys (`operation_id`, `request_body`) that OpenAPI 3.1
//! does not know.
//!
//! The rules, derived from the paths so that every later resource gets its links for free:
//! - a `POST` on `P` that answers 201 with an `id` links to every operation on `P/{p}` and
//!   below whose only new path parameter is `p`, with `p` taken from `$response.body#/id` and
//!   the parameters `P` itself has taken from the create request's path;
//! - an operation on a member `M/{m}` of a record's collection that is another record (a
//!   project's contact, `/v1/projects/{id}/contacts/{contact_id}`) has no create that answers
//!   both ids: the list `GET M` links to it with `m` from its first item, and a `PUT M/{m}`
//!   (which answers the member) links to the other operations on the member with `m` from its
//!   answer; the record's own ids come from the request's path.

use serde_json::{Map, Value, json};

/// The methods an OpenAPI path item may hold operations under.
const METHODS: [&str; 5] = ["get", "put", "post", "patch", "delete"];

/// One operation of the document, as the links need it.
struct Operation {
    path: String,
    method: &'static str,
    id: String,
    /// The names of its query parameters.
    query: Vec<String>,
}

/// Adds the links to `document` (an OpenAPI 3.1 document as JSON).
pub fn add(document: &mut Value) {
    let operations = operations(document);
    let mut linked = Vec::new();
    for create in operations.iter().filter(|o| o.method == "post") {
        let Some(created) = created_id(document, create) else {
            continue;
        };
        let links: Map<String, Value> = operations
            .iter()
            .filter_map(|target| {
                link(create, &created, target)
                    .or_else(|| filter_link(create, target))
                    .map(|l| (link_name(&target.id), l))
            })
            .collect();
        if !links.is_empty() {
            linked.push((create.path.clone(), links));
        }
    }
    for (path, links) in linked {
        if let Some(response) = document.pointer_mut(&format!(
            "/paths/{}/post/responses/201",
            escape_pointer(&path)
        )) {
            response["links"] = Value::Object(links);
        }
    }
    for (pointer, links) in member_links(document, &operations) {
        if let Some(response) = document.pointer_mut(&pointer) {
            let existing = response
                .as_object_mut()
                .map(|r| r.entry("links").or_insert_with(|| json!({})));
            if let Some(Value::Object(existing)) = existing {
                existing.extend(links);
            }
        }
    }
}

/// The links of the second rule, by the JSON Pointer of the response they go on.
fn member_links(document: &Value, operations: &[Operation]) -> Vec<(String, Map<String, Value>)> {
    let mut found: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut add = |pointer: String, name: String, link: Value| match found
        .iter_mut()
        .find(|(p, _)| *p == pointer)
    {
        Some((_, links)) => {
            links.insert(name, link);
        }
        None => found.push((pointer, Map::from_iter([(name, link)]))),
    };
    for target in operations {
        let Some((collection, member)) = member_of(&target.path) else {
            continue;
        };
        let inherited = || {
            path_parameters(collection)
                .map(|p| (p.to_owned(), json!(format!("$request.path.{p}"))))
                .collect::<Map<String, Value>>()
        };
        let describe = |from: &str| {
            format!(
                "`{} {}` on {from}",
                target.method.to_uppercase(),
                target.path
            )
        };
        for source in operations {
            let (codes, expression, what): (&[&str], String, &str) = if source.method == "get"
                && source.path == collection
            {
                (
                    &["200"],
                    format!("$response.body#/data/0/{member}"),
                    "the first listed",
                )
            } else if source.method == "put" && source.path == target.path && source.id != target.id
            {
                (
                    &["200", "201"],
                    format!("$response.body#/{member}"),
                    "what this put",
                )
            } else {
                continue;
            };
            for code in codes {
                let pointer = format!(
                    "/paths/{}/{}/responses/{code}",
                    escape_pointer(&source.path),
                    source.method
                );
                let Some(schema) =
                    document.pointer(&format!("{pointer}/content/application~1json/schema"))
                else {
                    continue;
                };
                let holds = match source.method {
                    "get" => property(document, schema, "data")
                        .and_then(|data| data.get("items"))
                        .and_then(|items| property(document, items, member))
                        .is_some(),
                    _ => property(document, schema, member).is_some(),
                };
                if !holds {
                    continue;
                }
                let mut parameters = inherited();
                parameters.insert(member.to_owned(), json!(expression));
                add(
                    pointer,
                    link_name(&target.id),
                    json!({
                        "operationId": target.id,
                        "parameters": parameters,
                        "description": describe(what),
                    }),
                );
            }
        }
    }
    found
}

/// For a path that ends in a member of a record's collection (`/v1/projects/{id}/contacts/{contact_id}`):
/// the collection's path and the member's parameter, when the collection has path parameters
/// of its own (a record's) and the member's is a reference (`*_id`).
fn member_of(path: &str) -> Option<(&str, &str)> {
    let (collection, last) = path.rsplit_once('/')?;
    let member = last.strip_prefix('{')?.strip_suffix('}')?;
    let literal = collection.rsplit('/').next()?;
    let named = member.ends_with("_id") && !literal.starts_with('{');
    (named && collection.contains('{')).then_some((collection, member))
}

fn operations(document: &Value) -> Vec<Operation> {
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS.iter().filter_map(move |&method| {
                let operation = item.get(method)?;
                let id = operation.get("operationId")?.as_str()?;
                let query = operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| Some(p.get("name")?.as_str()?.to_owned()))
                    .collect();
                Some(Operation {
                    path: path.clone(),
                    method,
                    id: id.to_owned(),
                    query,
                })
            })
        })
        .collect()
}

/// The link from `create` to `target`, when `target` works on the record `create` made, whose
/// id `created` names (a runtime expression). Operations with path parameters below the record
/// are left to their own creates: their ids are not in this answer.
fn link(create: &Operation, created: &str, target: &Operation) -> Option<Value> {
    let rest = target.path.strip_prefix(&create.path)?.strip_prefix("/{")?;
    let (parameter, below) = rest.split_once('}')?;
    if !(below.is_empty() || below.starts_with('/')) || below.contains('{') {
        return None;
    }
    let mut parameters = Map::new();
    for inherited in path_parameters(&create.path) {
        parameters.insert(
            inherited.to_owned(),
            json!(format!("$request.path.{inherited}")),
        );
    }
    parameters.insert(parameter.to_owned(), json!(created));
    Some(json!({
        "operationId": target.id,
        "parameters": parameters,
        "description": format!(
            "`{} {}` on what this created",
            target.method.to_uppercase(),
            target.path
        ),
    }))
}

/// The link from a top-level create (`POST /v1/companies`) to an operation that filters by
/// what it made (`GET /v1/contacts?company_id=`).
fn filter_link(create: &Operation, target: &Operation) -> Option<Value> {
    let collection = create.path.strip_prefix("/v1/")?;
    if collection.contains('/') {
        return None;
    }
    let singular = match collection.strip_suffix("ies") {
        Some(stem) => format!("{stem}y"),
        None => collection.strip_suffix('s')?.to_owned(),
    };
    let parameter = format!("{}_id", singular.replace('-', "_"));
    target.query.iter().find(|q| **q == parameter)?;
    Some(json!({
        "operationId": target.id,
        "parameters": { parameter.clone(): "$response.body#/id" },
        "description": format!(
            "`{} {}` filtered by what this created (`{parameter}`)",
            target.method.to_uppercase(),
            target.path
        ),
    }))
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
}

/// Where the id of what `create` made is in its 201 answer, as a runtime expression:
/// `$response.body#/id` when it answers the record; when it answers the record's parent
/// instead (adding a phase answers the pipeline, whose `phases` holds the new one), the id of
/// the parent's first item of that collection, which always exists after the create.
fn created_id(document: &Value, create: &Operation) -> Option<String> {
    let pointer = format!(
        "/paths/{}/post/responses/201/content/application~1json/schema",
        escape_pointer(&create.path)
    );
    let schema = document.pointer(&pointer)?;
    property(document, schema, "id")?;
    let last = create.path.rsplit('/').next()?;
    match property(document, schema, last) {
        None => Some("$response.body#/id".to_owned()),
        Some(collection) => {
            let items = collection.get("items")?;
            property(document, items, "id")?;
            Some(format!("$response.body#/{last}/0/id"))
        }
    }
}

/// The schema of `schema`'s property `name`, looking through `$ref`s and `allOf` (a bounded
/// depth: the document's schemas nest a few levels at most).
fn property<'a>(document: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    fn find<'a>(
        document: &'a Value,
        schema: &'a Value,
        name: &str,
        depth: u8,
    ) -> Option<&'a Value> {
        if depth == 0 {
            return None;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let target = document.pointer(reference.strip_prefix('#')?)?;
            return find(document, target, name, depth - 1);
        }
        if let Some(found) = schema.get("properties").and_then(|p| p.get(name)) {
            return Some(found);
        }
        schema
            .get("allOf")?
            .as_array()?
            .iter()
            .find_map(|part| find(document, part, name, depth - 1))
    }
    find(document, schema, name, 6)
}

/// A link's name in the response's `links` map: the target's operation id, capitalised
/// (`GetCompany`), as OpenAPI's own examples name them.
fn link_name(operation_id: &str) -> String {
    let mut chars = operation_id.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `path` as one JSON Pointer reference token (RFC 6901: `~` as `~0`, `/` as `~1`).
fn escape_pointer(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        crate::openapi::document()
    }

    fn links(document: &Value, path: &str) -> Map<String, Value> {
        document
            .pointer(&format!(
                "/paths/{}/post/responses/201/links",
                escape_pointer(path)
            ))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn create_company_links_to_every_operation_on_the_company_and_its_contacts() {
        let document = document();
        let links = links(&document, "/v1/companies");
        let mut targets: Vec<&str> = links
            .values()
            .filter_map(|l| l["operationId"].as_str())
            .collect();
        targets.sort_unstable();
        assert_eq!(
            targets,
            [
                "deleteCompany",
                "followCompany",
                "getCompany",
                "getCompanySubscription",
                "getCompanyTimeline",
                "listCompanyProjects",
                "listCompanyTransitions",
                "listContacts",
                "listProjects",
                "mergeCompanies",
                "moveCompany",
                "unfollowCompany",
                "updateCompany"
            ]
        );
        assert_eq!(
            links["GetCompany"]["parameters"]["id"],
            "$response.body#/id"
        );
    }

    #[test]
    fn a_create_links_to_the_lists_that_filter_by_what_it_made() {
        let document = document();
        let link = &links(&document, "/v1/companies")["ListContacts"];
        assert_eq!(link["parameters"]["company_id"], "$response.body#/id");
        let links = links(&document, "/v1/pipelines");
        assert_eq!(
            links["ListCompanies"]["parameters"]["pipeline_id"],
            "$response.body#/id"
        );
    }

    #[test]
    fn links_use_the_keys_openapi_defines() {
        let document = document();
        let link = &links(&document, "/v1/webhooks")["TestWebhook"];
        assert_eq!(link["operationId"], "testWebhook");
        assert!(link.get("operation_id").is_none());
    }

    #[test]
    fn a_create_that_answers_its_parent_links_through_the_parent_collection() {
        // Adding a phase answers the pipeline: its `id` is the pipeline's, and the phases
        // hold at least the new one.
        let document = document();
        let parameters =
            &links(&document, "/v1/pipelines/{id}/phases")["UpdatePhase"]["parameters"];
        assert_eq!(parameters["id"], "$request.path.id");
        assert_eq!(parameters["phase_id"], "$response.body#/phases/0/id");
    }

    #[test]
    fn a_record_links_only_to_operations_whose_ids_its_answer_holds() {
        // A new pipeline may have no phases: the phase operations are not linked from it.
        let document = document();
        let links = links(&document, "/v1/pipelines");
        assert!(links.contains_key("GetBoard"));
        assert!(!links.contains_key("GetPhase"));
    }

    fn response_links(
        document: &Value,
        path: &str,
        method: &str,
        code: &str,
    ) -> Map<String, Value> {
        document
            .pointer(&format!(
                "/paths/{}/{method}/responses/{code}/links",
                escape_pointer(path)
            ))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn a_records_member_list_links_to_its_first_member() {
        let document = document();
        let links = response_links(&document, "/v1/projects/{id}/contacts", "get", "200");
        let remove = &links["RemoveProjectContact"]["parameters"];
        assert_eq!(remove["id"], "$request.path.id");
        assert_eq!(remove["contact_id"], "$response.body#/data/0/contact_id");
        let team = response_links(&document, "/v1/projects/{id}/team", "get", "200");
        assert_eq!(
            team["RemoveProjectTeamMember"]["parameters"]["user_id"],
            "$response.body#/data/0/user_id"
        );
    }

    #[test]
    fn putting_a_member_links_to_removing_it() {
        let document = document();
        for code in ["200", "201"] {
            let links = response_links(
                &document,
                "/v1/projects/{id}/contacts/{contact_id}",
                "put",
                code,
            );
            let remove = &links["RemoveProjectContact"]["parameters"];
            assert_eq!(remove["contact_id"], "$response.body#/contact_id", "{code}");
            assert_eq!(remove["id"], "$request.path.id");
        }
    }

    #[test]
    fn only_a_reference_below_a_record_is_a_member() {
        assert_eq!(
            member_of("/v1/projects/{id}/team/{user_id}"),
            Some(("/v1/projects/{id}/team", "user_id"))
        );
        assert_eq!(member_of("/v1/companies/{id}"), None);
        assert_eq!(member_of("/v1/projects/{id}/transitions"), None);
    }

    #[test]
    fn creates_without_an_id_in_their_answer_get_no_links() {
        // Rotating a webhook's secret answers 201 with the secret: nothing to chain on.
        let document = document();
        assert!(links(&document, "/v1/webhooks/{id}/secret").is_empty());
    }
}
