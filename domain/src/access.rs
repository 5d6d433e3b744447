//! The one permission model: a caller's effective rights are its role's rights narrowed by the
//! scopes of the token it presented.

use std::collections::BTreeSet;
use std::fmt;

use crate::validation::ValueError;

/// A team member's role in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new("invalid_choice", "must be one of admin, member, viewer")
            })
    }

    /// What the role may do at most; a token can only narrow it.
    pub fn rights(self) -> ScopeSet {
        use Resource::*;
        let mut set = ScopeSet::default();
        for resource in Resource::ALL {
            set.insert(Scope::Read(resource));
        }
        // Everyone manages their own tokens, and saves their own views and lists.
        set.insert(Scope::Write(Tokens));
        set.insert(Scope::Write(Views));
        match self {
            Role::Viewer => {}
            Role::Member => {
                // The records members work on; configuration (pipelines, users, webhooks,
                // client apps) stays with admins.
                set.insert(Scope::Write(Companies));
                set.insert(Scope::Write(Contacts));
                set.insert(Scope::Write(Projects));
                set.insert(Scope::Write(Tasks));
                set.insert(Scope::Write(Meetings));
                set.insert(Scope::Write(Posts));
                set.insert(Scope::Write(Enquiries));
            }
            Role::Admin => {
                for resource in Resource::ALL {
                    set.insert(Scope::Write(resource));
                }
                set.insert(Scope::Admin);
            }
        }
        set
    }
}

wire_enum! {
    /// The kinds of records a scope speaks of.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Resource {
        Companies = "companies",
        Contacts = "contacts",
        Pipelines = "pipelines",
        Projects = "projects",
        Tasks = "tasks",
        Meetings = "meetings",
        Posts = "posts",
        Enquiries = "enquiries",
        Fields = "fields",
        Views = "views",
        Users = "users",
        Tokens = "tokens",
    }
}

impl Resource {
    /// Whether the resource is the firm's CRM data (records and their pipelines), as opposed
    /// to the account's administration (team members, tokens). A JavaScript token asked for
    /// without scopes reads only CRM data.
    pub fn is_crm_data(self) -> bool {
        !matches!(self, Resource::Users | Resource::Tokens)
    }
}

/// `<resource>:read`, `<resource>:write` or `admin` (which holds every other scope); and
/// `enquiries:create`, the one right of a public web form's intake token, which `write`
/// holds too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Read(Resource),
    Write(Resource),
    Create(Resource),
    Admin,
}

/// The scope that only creates: what an intake token of a public web form carries.
pub const INTAKE: Scope = Scope::Create(Resource::Enquiries);

impl Scope {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw == "admin" {
            return Ok(Scope::Admin);
        }
        let unknown = || {
            ValueError::new(
                "unknown_scope",
                format!(
                    "`{raw}` is not a scope; scopes are <resource>:read, <resource>:write, enquiries:create or admin, resources being {}",
                    Resource::ALL
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        };
        let (resource, verb) = raw.split_once(':').ok_or_else(unknown)?;
        let resource = Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == resource)
            .ok_or_else(unknown)?;
        match verb {
            "read" => Ok(Scope::Read(resource)),
            "write" => Ok(Scope::Write(resource)),
            "create" if Scope::Create(resource) == INTAKE => Ok(INTAKE),
            _ => Err(unknown()),
        }
    }

    /// The scope in words, for the consent page.
    pub fn describe(self) -> String {
        match self {
            Scope::Read(r) => format!("See your {}", r.as_str()),
            Scope::Write(r) => format!("Create, change and delete {}", r.as_str()),
            Scope::Create(r) => format!("Submit new {} (and nothing else)", r.as_str()),
            Scope::Admin => "Administer the whole account, with every permission".to_owned(),
        }
    }

    /// Every scope there is, in the order they are documented.
    pub fn all() -> Vec<Scope> {
        let mut all = Vec::new();
        for resource in Resource::ALL {
            all.push(Scope::Read(resource));
            all.push(Scope::Write(resource));
            if Scope::Create(resource) == INTAKE {
                all.push(INTAKE);
            }
        }
        all.push(Scope::Admin);
        all
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Read(r) => write!(f, "{}:read", r.as_str()),
            Scope::Write(r) => write!(f, "{}:write", r.as_str()),
            Scope::Create(r) => write!(f, "{}:create", r.as_str()),
            Scope::Admin => f.write_str("admin"),
        }
    }
}

/// A set of scopes. `admin` in the set grants every scope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub fn insert(&mut self, scope: Scope) {
        self.0.insert(scope);
    }

    /// Parses a list of scope names, naming the index of the first bad one.
    pub fn parse_list(raw: &[String]) -> Result<Self, ValueError> {
        let mut set = ScopeSet::default();
        for (i, name) in raw.iter().enumerate() {
            set.insert(Scope::parse(name.trim()).map_err(|e| e.at(format!("[{i}]")))?);
        }
        Ok(set)
    }

    /// Parses the space-separated form stored with a token.
    pub fn from_stored(raw: &str) -> Self {
        Self(
            raw.split_whitespace()
                .filter_map(|s| Scope::parse(s).ok())
                .collect(),
        )
    }

    pub fn to_stored(&self) -> String {
        self.names().join(" ")
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(Scope::to_string).collect()
    }

    /// The scopes of `self` that `other` grants too.
    pub fn intersect(&self, other: &ScopeSet) -> ScopeSet {
        let mut set = ScopeSet::default();
        for scope in Scope::all() {
            if self.grants(scope) && other.grants(scope) {
                set.insert(scope);
            }
        }
        set
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes that allow more than reading.
    pub fn writes(&self) -> Vec<Scope> {
        self.0
            .iter()
            .copied()
            .filter(|s| !matches!(s, Scope::Read(_)))
            .collect()
    }

    /// Only the read scopes of this set (with `admin` standing for all of them).
    pub fn read_only(&self) -> ScopeSet {
        let mut set = ScopeSet::default();
        for resource in Resource::ALL {
            if self.grants(Scope::Read(resource)) {
                set.insert(Scope::Read(resource));
            }
        }
        set
    }

    /// The read scopes of this set for CRM data only: what a JavaScript token gets when it is
    /// asked for without scopes (`users:read` and `tokens:read` must be asked for by name).
    pub fn crm_reads(&self) -> ScopeSet {
        let mut set = ScopeSet::default();
        for resource in Resource::ALL.into_iter().filter(|r| r.is_crm_data()) {
            if self.grants(Scope::Read(resource)) {
                set.insert(Scope::Read(resource));
            }
        }
        set
    }

    pub fn grants(&self, scope: Scope) -> bool {
        self.0.contains(&Scope::Admin)
            || self.0.contains(&scope)
            || matches!(scope, Scope::Create(r) if self.0.contains(&Scope::Write(r)))
    }

    /// Whether this is an intake token's set: `enquiries:create` and nothing else.
    pub fn is_intake(&self) -> bool {
        self.0.len() == 1 && self.0.contains(&INTAKE)
    }

    /// Every scope of `self` is granted by `other`.
    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.grants(*s))
    }

    /// The scopes of `self` that `other` does not grant.
    pub fn not_granted_by(&self, other: &ScopeSet) -> Vec<Scope> {
        self.0
            .iter()
            .copied()
            .filter(|s| !other.grants(*s))
            .collect()
    }
}

/// Why a caller may not do something. `Forbidden`: the role never allows it.
/// `InsufficientScope`: the role would, but the token was not given that scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    Forbidden { needed: Scope },
    InsufficientScope { needed: Scope },
}

/// What a caller may do: the actor's ceiling (a user's role, or an app's grant) and its
/// token's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rights {
    ceiling: ScopeSet,
    token_scopes: ScopeSet,
}

impl Rights {
    pub fn new(ceiling: ScopeSet, token_scopes: ScopeSet) -> Self {
        Self {
            ceiling,
            token_scopes,
        }
    }

    pub fn for_role(role: Role, token_scopes: ScopeSet) -> Self {
        Self::new(role.rights(), token_scopes)
    }

    pub fn token_scopes(&self) -> &ScopeSet {
        &self.token_scopes
    }

    pub fn require(&self, needed: Scope) -> Result<(), Denied> {
        if !self.ceiling.grants(needed) {
            Err(Denied::Forbidden { needed })
        } else if !self.token_scopes.grants(needed) {
            Err(Denied::InsufficientScope { needed })
        } else {
            Ok(())
        }
    }

    /// The scopes a new token of this caller may carry at most.
    pub fn effective(&self) -> ScopeSet {
        let mut set = ScopeSet::default();
        for scope in Scope::all() {
            if self.ceiling.grants(scope) && self.token_scopes.grants(scope) {
                set.insert(scope);
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> ScopeSet {
        let owned: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        ScopeSet::parse_list(&owned).unwrap_or_default()
    }

    #[test]
    fn viewers_read_but_never_write_records() {
        let rights = Rights::for_role(Role::Viewer, scopes(&["admin"]));
        assert!(rights.require(Scope::Read(Resource::Companies)).is_ok());
        assert_eq!(
            rights.require(Scope::Write(Resource::Companies)),
            Err(Denied::Forbidden {
                needed: Scope::Write(Resource::Companies)
            })
        );
    }

    #[test]
    fn a_token_narrows_the_role() {
        let rights = Rights::for_role(Role::Admin, scopes(&["companies:read"]));
        assert!(rights.require(Scope::Read(Resource::Companies)).is_ok());
        assert_eq!(
            rights.require(Scope::Read(Resource::Contacts)),
            Err(Denied::InsufficientScope {
                needed: Scope::Read(Resource::Contacts)
            })
        );
    }

    #[test]
    fn effective_rights_are_the_intersection() {
        let rights = Rights::for_role(Role::Member, scopes(&["admin"]));
        let effective = rights.effective();
        assert!(effective.grants(Scope::Write(Resource::Contacts)));
        assert!(!effective.grants(Scope::Write(Resource::Users)));
        assert!(!effective.grants(Scope::Admin));
    }

    #[test]
    fn writing_enquiries_holds_creating_them_but_not_the_reverse() {
        let writer = scopes(&["enquiries:write"]);
        assert!(writer.grants(INTAKE));
        let intake = scopes(&["enquiries:create"]);
        assert!(intake.is_intake());
        assert!(!intake.grants(Scope::Write(Resource::Enquiries)));
        assert!(!intake.grants(Scope::Read(Resource::Enquiries)));
        assert!(
            Rights::for_role(Role::Member, intake)
                .require(INTAKE)
                .is_ok()
        );
        assert!(
            Rights::for_role(Role::Viewer, scopes(&["admin"]))
                .require(INTAKE)
                .is_err()
        );
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::all() {
            assert_eq!(Scope::parse(&scope.to_string()), Ok(scope));
        }
        assert!(Scope::parse("companies:delete").is_err());
        assert!(Scope::parse("companies:create").is_err());
        assert_eq!(Scope::parse("enquiries:create"), Ok(INTAKE));
        assert!(Scope::parse("ships:read").is_err());
    }
}
