//! The OpenAPI document, generated from the handlers' annotations. Errors every operation can
//! answer with (401, 403, 500, and for bodies 400/413/415/422, for ids 404) are added here
//! once rather than repeated on each handler.

use utoipa::openapi::header::Header;
use utoipa::openapi::path::Operation;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, AuthorizationCode, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder,
    OAuth2, Scopes, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Object, RefOr, Required, ResponseBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField, problem_response};
use crate::idempotency::Documentation as IdempotencyKeyDocs;
use crate::routes::{
    agenda, calendar, companies, contacts, enquiries, events, feed, fields, follow_ups, health,
    import, me, meetings, oauth_clients, pipelines, posts, projects, query, roles, search, tasks,
    tokens, units, users, views,
};
use crate::wire;

mod bounds;
mod links;
mod webhooks;
use webhooks::Webhooks;

/// The published document, as served at `/openapi.json` and committed as
/// `openapi/openapi.json`: [`ApiDoc`] with the links between operations added.
pub fn document() -> serde_json::Value {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    links::add(&mut document);
    bounds::add(&mut document);
    document
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clientline API",
        description = "A headless CRM: companies, contacts and the pipelines clients move through.\n\n\
            Authenticate with `Authorization: Bearer <token>`. Errors are RFC 9457 problem+json. \
            Lists are keyset-paginated: pass `next_cursor` back as `cursor`. Every record has a \
            `version`, answered as `ETag`; send it back in `If-Match` on PATCH and DELETE.",
        license(name = "Apache-2.0")
    ),
    paths(
        health::healthz, health::readyz,
        me::show, agenda::show, calendar::show, me::change_password, me::show_totp, me::enrol_totp, me::confirm_totp, me::remove_totp,
        users::list, users::create, users::show, users::update, users::deactivate,
        tokens::list, tokens::create, tokens::show, tokens::revoke,
        companies::list, companies::create, companies::show, companies::update, companies::delete,
        companies::history, companies::transition, companies::merge, contacts::merge,
        projects::list, projects::create, projects::show, projects::update, projects::delete,
        projects::history, projects::transition, projects::list_of_company, projects::merge,
        projects::list_contacts, projects::put_contact, projects::remove_contact,
        projects::list_team, projects::put_member, projects::remove_member,
        enquiries::list, enquiries::create, enquiries::show, enquiries::update, enquiries::delete,
        enquiries::close, enquiries::reopen, enquiries::matches, enquiries::convert,
        posts::list, posts::create, posts::show, posts::update, posts::delete,
        posts::list_comments, posts::create_comment, posts::show_comment, posts::update_comment, posts::delete_comment,
        meetings::list, meetings::create, meetings::show, meetings::update, meetings::delete,
        views::list_views, views::create_view, views::show_view, views::update_view, views::delete_view,
        views::list_lists, views::create_list, views::show_list, views::update_list, views::delete_list,
        views::members, views::add_members, views::remove_members, views::remove_member,
        fields::list, fields::create, fields::show, fields::update, fields::delete, fields::schema,
        roles::list, roles::create, roles::show, roles::update, roles::delete,
        units::list, units::create, units::show, units::update, units::delete, units::memberships, units::set_memberships,
        tasks::list, tasks::create, tasks::show, tasks::update, tasks::delete, tasks::complete, tasks::reopen,
        contacts::list, contacts::create, contacts::show, contacts::update, contacts::delete,
        pipelines::list, pipelines::create, pipelines::show, pipelines::update, pipelines::delete,
        pipelines::add_phase, pipelines::reorder_phases, pipelines::show_phase, pipelines::update_phase, pipelines::remove_phase,
        pipelines::board, pipelines::stats, follow_ups::list,
        oauth_clients::list, oauth_clients::create, oauth_clients::show, oauth_clients::update,
        oauth_clients::delete, oauth_clients::rotate_secret,
        events::list, events::show,
        feed::list, feed::companies::timeline, feed::contacts::timeline, feed::projects::timeline,
        feed::companies::show_subscription, feed::companies::follow, feed::companies::unfollow,
        feed::contacts::show_subscription, feed::contacts::follow, feed::contacts::unfollow,
        feed::projects::show_subscription, feed::projects::follow, feed::projects::unfollow,
        import::companies, import::contacts, import::projects,
        search::search,
        query::companies, query::contacts, query::projects,
        crate::routes::webhooks::list, crate::routes::webhooks::create,
        crate::routes::webhooks::show, crate::routes::webhooks::update,
        crate::routes::webhooks::delete, crate::routes::webhooks::test,
        crate::routes::webhooks::rotate_secret, crate::routes::webhooks::deliveries,
    ),
    components(schemas(
        Problem, ProblemField, health::Health,
        wire::me::MeOut, wire::me::AccountOut, wire::me::MeClientOut, wire::me::TotpOut, wire::me::TotpEnrolment, wire::me::TotpCode,
        wire::users::UserOut, wire::users::UserList, wire::users::UserCreate, wire::users::UserUpdate, wire::users::PasswordChange,
        wire::tokens::TokenOut, wire::tokens::CreatedTokenOut, wire::tokens::TokenList, wire::tokens::TokenCreate,
        wire::companies::CompanyOut, wire::companies::CompanyList, wire::companies::CompanyCreate, wire::companies::CompanyUpdate,
        wire::contacts::ContactOut, wire::contacts::ContactList, wire::contacts::ContactCreate, wire::contacts::ContactUpdate,
        wire::companies::PhaseTimeOut,
        wire::pipelines::PipelineOut, wire::pipelines::PipelineList, wire::pipelines::PhaseOut,
        wire::pipelines::PipelineCreate, wire::pipelines::PipelineUpdate, wire::pipelines::PhaseCreate,
        wire::pipelines::PhaseUpdate, wire::pipelines::PhaseOrder, wire::pipelines::BoardOut,
        wire::pipelines::BoardColumnOut, wire::pipelines::CardOut, wire::pipelines::StatsOut, wire::pipelines::PhaseStatsOut,
        wire::transitions::MoveRequest, wire::transitions::MoveOut, wire::transitions::TransitionOut,
        wire::transitions::TransitionList, wire::transitions::ActorOut, wire::transitions::TransitionStepOut,
        wire::projects::ProjectOut, wire::projects::ProjectList, wire::projects::ProjectCreate,
        wire::projects::ProjectUpdate, wire::projects::MoneyOut, wire::projects::ProjectMoveOut,
        wire::projects::ProjectTransitionOut, wire::projects::ProjectTransitionList,
        wire::views::ViewOut, wire::views::ViewList, wire::views::ViewCreate, wire::views::ViewUpdate,
        wire::views::ListOut, wire::views::ListList, wire::views::ListCreate, wire::views::ListUpdate,
        wire::views::MembersBody, wire::views::MembersChanged, wire::views::MemberPage,
        wire::fields::FieldOut, wire::fields::FieldList, wire::fields::FieldCreate, wire::fields::FieldUpdate, wire::fields::OptionBody,
        wire::roles::RoleOut, wire::roles::RoleList, wire::roles::RoleCreate, wire::roles::RoleUpdate, wire::roles::FieldRuleBody,
        wire::units::UnitOut, wire::units::UnitList, wire::units::UnitCreate, wire::units::UnitUpdate, wire::units::MembershipsBody,
        wire::tasks::TaskOut, wire::tasks::TaskList, wire::tasks::TaskCreate, wire::tasks::TaskUpdate,
        wire::links::LinkOut,
        wire::agenda::AgendaOut, wire::agenda::AgendaTasks, wire::agenda::AgendaMeetings,
        wire::agenda::AgendaFollowUps, wire::agenda::AgendaEnquiries, wire::agenda::AgendaFollowUpOut,
        wire::enquiries::EnquiryOut, wire::enquiries::EnquiryList, wire::enquiries::EnquiryCreate,
        wire::enquiries::EnquiryUpdate, wire::enquiries::EnquiryClose, wire::enquiries::EnquiryConversion,
        wire::enquiries::MatchOut, wire::enquiries::MatchesOut,
        wire::posts::PostOut, wire::posts::PostList, wire::posts::PostCreate, wire::posts::PostUpdate,
        wire::posts::CommentOut, wire::posts::CommentList, wire::posts::CommentBody,
        wire::meetings::MeetingOut, wire::meetings::MeetingList, wire::meetings::MeetingCreate,
        wire::meetings::MeetingUpdate, wire::meetings::AttendeeOut,
        follow_ups::FollowUpOut, follow_ups::FollowUpList,
        wire::oauth_clients::OAuthClientOut, wire::oauth_clients::OAuthClientWithSecretOut,
        wire::oauth_clients::OAuthClientList, wire::oauth_clients::OAuthClientCreate, wire::oauth_clients::OAuthClientUpdate,
        wire::events::EventOut, wire::events::EventList, wire::events::EventActorOut, wire::events::EventRecordOut,
        wire::events::EventDataOut, wire::merges::MergeRequest,
        wire::feed::FeedList, wire::feed::SubscriptionOut,
        wire::search::SearchResults, wire::search::SearchHitOut,
        wire::query::Filter, wire::query::CompanyQuery, wire::query::ContactQuery, wire::query::ProjectQuery,
        wire::import::ImportReport, wire::import::ImportRowOut, wire::import::ImportProblem,
        wire::webhooks::WebhookOut, wire::webhooks::WebhookWithSecretOut, wire::webhooks::WebhookList,
        wire::webhooks::WebhookCreate, wire::webhooks::WebhookUpdate, wire::webhooks::DeliveryOut, wire::webhooks::DeliveryList,
    )),
    modifiers(&Security, &IdempotencyKeyDocs, &CommonErrors, &Webhooks, &FreeFormObjects),
    tags(
        (name = "me", description = "The caller"),
        (name = "users", description = "Team members of the account"),
        (name = "tokens", description = "Your access tokens: personal, JavaScript and calendar"),
        (name = "companies", description = "Companies"),
        (name = "contacts", description = "Contacts"),
        (name = "projects", description = "Projects on their own pipelines: the work a firm pitches for and delivers"),
        (name = "views", description = "Saved views (a record type's filter, sort and columns, private or shared; applied with `?view_id=` on its list) and lists of records, static or dynamic (a view's records)"),
        (name = "units", description = "Units: the account's teams, territories, subsidiaries and departments as a tree, and the units each team member belongs to; records belong to a unit, and roles see records by unit"),
        (name = "roles", description = "Roles: the built-in admin, member and viewer and the account's custom roles, each with its rights (the ceiling of its members' tokens), field-level security (hidden, read or write per field) and record visibility"),
        (name = "fields", description = "The account's own fields: typed custom fields of companies, contacts and projects (select options are tiny+'s categories), checked on every write, and each record type's JSON Schema for forms"),
        (name = "tasks", description = "Tasks: what someone must do, by a day or a time, linked to the records it is about"),
        (name = "enquiries", description = "Enquiries: inbound requests as the enquirer wrote them (also from public web forms), converted into a company, contact and project in one step"),
        (name = "posts", description = "Posts on the news feed and their comments: Markdown as written, @mentions, links to records"),
        (name = "meetings", description = "Meetings: when, where, who attends with their responses, linked to the records they are about"),
        (name = "pipelines", description = "Pipelines, phases, the board, follow-ups and stats"),
        (name = "oauth", description = "OAuth 2 client apps registered by account admins"),
        (name = "feed", description = "The news feed, each record's timeline, and following records"),
        (name = "search", description = "One search across companies, contacts, projects, enquiries, tasks and meetings"),
        (name = "events", description = "The events feed: every change, for polling integrations"),
        (name = "webhooks", description = "Webhook subscriptions (REST hooks), test pings and the delivery log; the document's `webhooks` section shows what Clientline POSTs to a subscription's target, one entry per event type"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token (`clt_pat_...`), created with POST /v1/tokens or printed when an account is created; or a JavaScript token (`clt_js_...`, read scopes only), accepted only from the origins listed for it; or, on GET /v1/me/calendar.ics alone, a calendar token (`clt_cal_...`).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "calendar_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "A calendar token (`clt_cal_...`, POST /v1/tokens with `\"kind\": \"calendar\"`) in the URL, for calendar apps that cannot send headers: it reads GET /v1/me/calendar.ics and nothing else.",
            ))),
        );
        let scopes = || {
            Scopes::from_iter(
                domain::access::Scope::all()
                    .into_iter()
                    .map(|s| (s.to_string(), s.describe())),
            )
        };
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::AuthorizationCode(AuthorizationCode::with_refresh_url(
                        "/oauth/authorize",
                        "/oauth/token",
                        scopes(),
                        "/oauth/token",
                    )),
                    Flow::ClientCredentials(ClientCredentials::with_refresh_url(
                        "/oauth/token",
                        scopes(),
                        "/oauth/token",
                    )),
                ],
                "OAuth 2 for registered client apps: authorization code with PKCE (S256) acting for a team member, or client credentials acting for the account. Access tokens are RFC 9068 JWTs (`typ: at+jwt`), signed with EdDSA only and checked as RFC8725 recommends: the algorithm is fixed by the server, never taken from the token, and issuer, audience and expiry are verified. Server metadata at /.well-known/oauth-authorization-server.",
            )),
        );
        // Every operation that takes a bearer token takes an OAuth access token with the same
        // scopes: one permission model.
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                item.get.as_mut(),
                item.post.as_mut(),
                item.patch.as_mut(),
                item.put.as_mut(),
                item.delete.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                let Some(security) = operation.security.as_mut() else {
                    continue;
                };
                let bearer_scopes: Option<Vec<String>> = security.iter().find_map(|req| {
                    serde_json::to_value(req)
                        .ok()?
                        .get("bearer")
                        .and_then(|s| serde_json::from_value::<Vec<String>>(s.clone()).ok())
                });
                if let Some(scopes) = bearer_scopes {
                    security.push(SecurityRequirement::new("oauth2", scopes));
                }
            }
        }
    }
}

struct CommonErrors;

fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| problem_response(description));
}

/// List-valued query parameters are written comma-separated (`types=a,b`): OpenAPI's form
/// style without explode, so that generated clients send them as the server reads them.
fn comma_separated_lists(operation: &mut Operation) {
    for parameter in operation.parameters.iter_mut().flatten() {
        let is_list = matches!(&parameter.schema, Some(RefOr::T(Schema::Array(_))));
        if is_list && matches!(parameter.parameter_in, ParameterIn::Query) {
            parameter.style = Some(ParameterStyle::Form);
            parameter.explode = Some(false);
        }
    }
}

/// A GET that answers its record with an ETag, so that `If-None-Match` can make it 304 (the
/// middleware only does so for GET and HEAD).
fn is_conditional_read(operation: &Operation) -> bool {
    let ok = operation.responses.responses.get("200");
    matches!(ok, Some(RefOr::T(response)) if response.headers.contains_key("ETag"))
        && operation.request_body.is_none()
        && !operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.name == "If-None-Match")
}

/// Every `/v1` answer says where its caller stands in its quota; 429 also when to retry.
fn document_rate_limit_headers(operation: &mut Operation) {
    let text = |description: &str| {
        let mut header = Header::new(Object::with_type(Type::String));
        header.description = Some(description.to_owned());
        header
    };
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        response.headers.insert(
            "RateLimit-Policy".to_owned(),
            text("The caller's quota, as `\"default\";q=<requests>;w=<window seconds>` (IETF HTTPAPI rate-limit fields)"),
        );
        response.headers.insert(
            "RateLimit".to_owned(),
            text("Where the caller stands: `\"default\";r=<requests left>;t=<seconds until the window resets>`"),
        );
        if status == "429" {
            response.headers.insert(
                "Retry-After".to_owned(),
                text("Seconds until the quota has room again"),
            );
        }
    }
}

/// Whether an operation on `path` writes the fields of a company, contact or project from its
/// body, so that field-level security may refuse it (`api::field_security`).
fn writes_fields(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').skip(2).collect();
    match parts.as_slice() {
        ["enquiries", _, "convert"] => true,
        [records] | [records, "import" | "{id}"] => {
            matches!(*records, "companies" | "contacts" | "projects")
        }
        _ => false,
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let secured = path.starts_with("/v1/");
            let has_id = path.contains('{');
            let operations = [
                (item.get.as_mut(), false),
                (item.post.as_mut(), true),
                (item.patch.as_mut(), true),
                (item.put.as_mut(), true),
                (item.delete.as_mut(), true),
            ];
            for (operation, writes) in operations {
                let reads = !writes;
                let Some(operation) = operation else { continue };
                comma_separated_lists(operation);
                if writes && secured {
                    add(
                        operation,
                        "409",
                        "A conflict: concurrent changes kept conflicting with this one (`lock_conflict`), the first request with this Idempotency-Key is still running, or the change conflicts with existing data; nothing was changed. Retry after `Retry-After` where it is sent",
                    );
                }
                let fields_written = operation.request_body.is_some() && writes_fields(path);
                if secured {
                    add(
                        operation,
                        "429",
                        "This token (or, without a valid token, this address) has used its request quota for the window; retry after `Retry-After`",
                    );
                    add(
                        operation,
                        "400",
                        "The request is malformed (a query parameter, a header)",
                    );
                    add(
                        operation,
                        "414",
                        "The request target (path and query) is longer than 8 KiB",
                    );
                    add(
                        operation,
                        "431",
                        "The request has more than 64 header fields, or they take more than 16 KiB",
                    );
                    add(
                        operation,
                        "401",
                        "The access token is missing, unknown, revoked or expired",
                    );
                    add(
                        operation,
                        "403",
                        if fields_written {
                            "The role or the token's scopes do not allow this (`forbidden`, `insufficient_scope`), or the body writes a field the role may only read (`field_forbidden`, each such field named in `errors`)"
                        } else {
                            "The role or the token's scopes do not allow this (`forbidden`, `insufficient_scope`)"
                        },
                    );
                }
                if has_id {
                    add(operation, "404", "No such record in this account");
                }
                let conditional = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| p.name == "If-Match");
                if conditional {
                    add(
                        operation,
                        "412",
                        "The record changed since the ETag in If-Match",
                    );
                }
                if reads && is_conditional_read(operation) {
                    operation.parameters.get_or_insert_with(Vec::new).push(
                        ParameterBuilder::new()
                            .name("If-None-Match")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .description(Some(
                                "The ETag you last read: while the record is still at that version the answer is 304 with no body",
                            ))
                            .schema(Some(Object::with_type(Type::String)))
                            .build(),
                    );
                    operation.responses.responses.insert(
                        "304".to_owned(),
                        RefOr::T(
                            ResponseBuilder::new()
                                .description("Not modified: the record is still at the version in If-None-Match")
                                .header("ETag", Header::new(Object::with_type(Type::String)))
                                .build(),
                        ),
                    );
                }
                if operation.request_body.is_some() {
                    add(operation, "400", "The body is not valid JSON");
                    add(
                        operation,
                        "408",
                        "The body did not arrive whole in time (`body_timeout`); the connection is closed",
                    );
                    add(operation, "413", "The body is larger than the limit");
                    add(operation, "415", "The body is not `application/json`");
                    add(
                        operation,
                        "422",
                        "The body is well-formed but invalid: `errors` names each bad field",
                    );
                }
                add(operation, "500", "An unexpected error; it has been logged");
                add(
                    operation,
                    "503",
                    "The database is unreachable; retry shortly",
                );
                if secured {
                    document_rate_limit_headers(operation);
                }
            }
        }
    }
}

/// Free-form objects (custom fields, an event's `data.object` and `previous`) say so:
/// `additionalProperties: true` on every object schema that names no properties, so that
/// typed clients can put values in them.
struct FreeFormObjects;

fn mark_free_form(schema: &mut Schema) {
    use utoipa::openapi::schema::{AdditionalProperties, SchemaType};
    match schema {
        Schema::Object(object) => {
            let is_object = match &object.schema_type {
                SchemaType::Type(t) => *t == Type::Object,
                SchemaType::Array(types) => types.contains(&Type::Object),
                SchemaType::AnyValue => false,
            };
            if is_object && object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(true)));
            }
            for property in object.properties.values_mut() {
                if let RefOr::T(inner) = property {
                    mark_free_form(inner);
                }
            }
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items
                && let RefOr::T(inner) = items.as_mut()
            {
                mark_free_form(inner);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(|i| {
            if let RefOr::T(inner) = i {
                mark_free_form(inner);
            }
        }),
        Schema::AllOf(all) => all.items.iter_mut().for_each(|i| {
            if let RefOr::T(inner) = i {
                mark_free_form(inner);
            }
        }),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(|i| {
            if let RefOr::T(inner) = i {
                mark_free_form(inner);
            }
        }),
        _ => {}
    }
}

impl Modify for FreeFormObjects {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for schema in components.schemas.values_mut() {
            if let RefOr::T(schema) = schema {
                // A component that is itself an empty object is a shape, not free-form.
                if let Schema::Object(object) = schema {
                    for property in object.properties.values_mut() {
                        if let RefOr::T(inner) = property {
                            mark_free_form(inner);
                        }
                    }
                } else {
                    mark_free_form(schema);
                }
            }
        }
    }
}
