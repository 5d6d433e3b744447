//! Units: an account's teams, territories and subsidiaries, as a tree; which units a team
//! member belongs to; and which records a member sees, from their role's visibility and
//! their units ([`RecordScope`]).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use crate::roles::Visibility;
use crate::validation::ValueError;
use crate::{FieldError, Invalid};

wire_enum! {
    /// What a unit stands for; the tree works the same for every kind.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum UnitKind {
        Team = "team",
        Territory = "territory",
        Subsidiary = "subsidiary",
        Department = "department",
        Other = "other",
    }
}
parse_choice!(UnitKind);

/// The most units an account holds: a subtree is worked out from the whole tree in memory.
pub const MAX_UNITS: usize = 1000;
/// The deepest a unit sits below a root (a root is at depth 1).
pub const MAX_DEPTH: usize = 16;
/// The longest unit name, in characters.
pub const MAX_NAME: usize = 100;
/// The most units one team member belongs to.
pub const MAX_MEMBERSHIPS: usize = 50;

/// A unit as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitSpec {
    pub name: String,
    pub kind: UnitKind,
    /// `None` for a root.
    pub parent_id: Option<i64>,
    pub description: Option<String>,
}

impl UnitSpec {
    /// Checks the parts a unit alone decides: a name of 1 to [`MAX_NAME`] characters.
    pub fn check(&self) -> Result<(), Invalid> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(Invalid::one(
                "name",
                "invalid_length",
                format!("must be 1 to {MAX_NAME} characters"),
            ));
        }
        Ok(())
    }
}

/// A unit of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: i64,
    pub spec: UnitSpec,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The shape of an account's units: each unit's parent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    parents: HashMap<i64, Option<i64>>,
}

impl Tree {
    pub fn new(edges: impl IntoIterator<Item = (i64, Option<i64>)>) -> Self {
        Tree {
            parents: edges.into_iter().collect(),
        }
    }

    pub fn contains(&self, id: i64) -> bool {
        self.parents.contains_key(&id)
    }

    pub fn len(&self) -> usize {
        self.parents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parents.is_empty()
    }

    /// The units `roots` name and every unit below them, in id order. Unknown ids are
    /// dropped.
    pub fn subtree(&self, roots: &[i64]) -> Vec<i64> {
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for (&id, parent) in &self.parents {
            if let Some(parent) = parent {
                children.entry(*parent).or_default().push(id);
            }
        }
        let mut seen = BTreeSet::new();
        let mut stack: Vec<i64> = roots
            .iter()
            .copied()
            .filter(|r| self.contains(*r))
            .collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id)
                && let Some(below) = children.get(&id)
            {
                stack.extend(below);
            }
        }
        seen.into_iter().collect()
    }

    /// How many units deep `id` sits (a root is 1), following parents; `None` for a cycle.
    fn depth(&self, id: i64) -> Option<usize> {
        let mut depth = 0;
        let mut at = Some(id);
        while let Some(current) = at {
            depth += 1;
            if depth > self.parents.len() + 1 {
                return None;
            }
            at = self.parents.get(&current).copied().flatten();
        }
        Some(depth)
    }

    /// Checks that `unit` (`None`: a new unit) may hang under `parent`: the parent exists,
    /// is not the unit or below it, and the tree stays at most [`MAX_DEPTH`] deep.
    pub fn check_parent(&self, unit: Option<i64>, parent: Option<i64>) -> Result<(), Invalid> {
        let Some(parent) = parent else {
            return Ok(());
        };
        let refuse = |code: &'static str, message: String| {
            Err(Invalid(vec![FieldError::new("parent_id", code, message)]))
        };
        if !self.contains(parent) {
            return refuse(
                "unknown_unit",
                "there is no such unit in this account".into(),
            );
        }
        let mut moved = self.clone();
        let id = unit.unwrap_or(i64::MIN);
        moved.parents.insert(id, Some(parent));
        if let Some(unit) = unit
            && moved.subtree(&[unit]).contains(&parent)
        {
            return refuse(
                "cycle",
                "a unit cannot sit below itself or one of its own subunits".into(),
            );
        }
        let deepest = moved
            .subtree(&[id])
            .into_iter()
            .filter_map(|u| moved.depth(u))
            .max()
            .unwrap_or(0);
        if deepest > MAX_DEPTH {
            return refuse(
                "too_deep",
                format!("units nest at most {MAX_DEPTH} levels deep"),
            );
        }
        Ok(())
    }
}

/// The units a team member belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    pub primary: Option<i64>,
    /// The other units, in id order.
    pub secondary: Vec<i64>,
}

impl Memberships {
    /// Every unit, the primary one first.
    pub fn all(&self) -> Vec<i64> {
        self.primary
            .into_iter()
            .chain(self.secondary.iter().copied())
            .collect()
    }

    /// Checks a membership as written: at most [`MAX_MEMBERSHIPS`] units, each once, the
    /// primary one not among the secondary ones, every one in `tree`.
    pub fn check(&self, tree: &Tree) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if let Some(primary) = self.primary
            && !tree.contains(primary)
        {
            invalid.push(unknown("primary_unit_id"));
        }
        if self.secondary.len() > MAX_MEMBERSHIPS {
            invalid.push(FieldError::new(
                "unit_ids",
                "too_many",
                format!("at most {MAX_MEMBERSHIPS} units"),
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, id) in self.secondary.iter().enumerate() {
            if !tree.contains(*id) {
                invalid.push(unknown(&format!("unit_ids[{i}]")));
            } else if Some(*id) == self.primary || !seen.insert(*id) {
                invalid.push(FieldError::new(
                    format!("unit_ids[{i}]"),
                    "duplicate",
                    "names a unit twice (or the primary unit)",
                ));
            }
        }
        invalid.into_result()
    }
}

fn unknown(field: &str) -> FieldError {
    FieldError::new(
        field,
        "unknown_unit",
        "there is no such unit in this account",
    )
}

/// The check of a record's `unit_id` as written: a unit of the account.
pub fn check_record_unit(tree: &Tree, unit: Option<i64>) -> Result<(), ValueError> {
    match unit {
        Some(id) if !tree.contains(id) => Err(ValueError::new(
            "unknown_unit",
            "there is no such unit in this account",
        )),
        _ => Ok(()),
    }
}

/// Which companies, contacts and projects a caller sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RecordScope {
    /// Every record of the account: roles that see `all`, and apps acting for the account.
    #[default]
    All,
    /// The records the user owns, and those of `units`.
    Limited { user_id: i64, units: Vec<i64> },
}

impl RecordScope {
    /// What a role's visibility lets a member see, given their units and the account's tree.
    pub fn of(
        visibility: Visibility,
        user_id: i64,
        memberships: &Memberships,
        tree: &Tree,
    ) -> Self {
        let units = match visibility {
            Visibility::All => return RecordScope::All,
            Visibility::Own => Vec::new(),
            Visibility::Unit => {
                let mut units = memberships.all();
                units.sort_unstable();
                units
            }
            Visibility::UnitAndBelow => tree.subtree(&memberships.all()),
        };
        RecordScope::Limited { user_id, units }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, RecordScope::All)
    }

    /// Whether an event (or feed entry) about a record of `record_type` whose payload is
    /// `data` is in sight: for companies, contacts and projects, by the owner and unit the
    /// payload carries (the record's, or a `company`, `contact` or `project` inside it);
    /// every other kind is.
    pub fn sees_event(&self, record_type: &str, data: &serde_json::Value) -> bool {
        if self.is_all() || !matches!(record_type, "company" | "contact" | "project") {
            return true;
        }
        let record = if data.get("owner_id").is_some() || data.get("unit_id").is_some() {
            data
        } else {
            data.get(record_type).unwrap_or(data)
        };
        let id = |key: &str| record.get(key).and_then(serde_json::Value::as_i64);
        self.sees(id("owner_id"), id("unit_id"))
    }

    /// Whether a record owned by `owner` in `unit` is in sight.
    pub fn sees(&self, owner: Option<i64>, unit: Option<i64>) -> bool {
        match self {
            RecordScope::All => true,
            RecordScope::Limited { user_id, units } => {
                owner == Some(*user_id) || unit.is_some_and(|u| units.contains(&u))
            }
        }
    }
}

/// A unit filter of a list, board or stats (`unit_id`, `include_subunits`): the units it
/// keeps records of.
pub fn unit_filter(tree: &Tree, unit: i64, include_subunits: bool) -> Vec<i64> {
    if include_subunits {
        tree.subtree(&[unit])
    } else {
        vec![unit]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1 > 2 > 3, and 4 on its own.
    fn tree() -> Tree {
        Tree::new([(1, None), (2, Some(1)), (3, Some(2)), (4, None)])
    }

    #[test]
    fn a_subtree_holds_the_unit_and_everything_below_it() {
        assert_eq!(tree().subtree(&[2]), vec![2, 3]);
        assert_eq!(tree().subtree(&[1, 4]), vec![1, 2, 3, 4]);
        assert_eq!(tree().subtree(&[99]), Vec::<i64>::new());
    }

    #[test]
    fn a_unit_cannot_move_below_itself() {
        assert!(tree().check_parent(Some(1), Some(3)).is_err());
        assert!(tree().check_parent(Some(2), Some(2)).is_err());
        assert!(tree().check_parent(Some(3), Some(4)).is_ok());
        assert!(tree().check_parent(None, Some(99)).is_err());
    }

    #[test]
    fn the_tree_has_a_depth_limit() {
        let deep = Tree::new((1..=MAX_DEPTH as i64).map(|i| (i, (i > 1).then_some(i - 1))));
        assert!(deep.check_parent(None, Some(MAX_DEPTH as i64 - 1)).is_ok());
        assert!(deep.check_parent(None, Some(MAX_DEPTH as i64)).is_err());
    }

    #[test]
    fn visibility_decides_which_units_a_member_sees() {
        let member = Memberships {
            primary: Some(2),
            secondary: vec![4],
        };
        let unit = RecordScope::of(Visibility::Unit, 7, &member, &tree());
        assert!(unit.sees(None, Some(2)) && unit.sees(None, Some(4)));
        assert!(!unit.sees(None, Some(3)) && !unit.sees(None, None));
        assert!(unit.sees(Some(7), None), "their own records stay in sight");
        let below = RecordScope::of(Visibility::UnitAndBelow, 7, &member, &tree());
        assert!(below.sees(None, Some(3)) && !below.sees(None, Some(1)));
        let own = RecordScope::of(Visibility::Own, 7, &member, &tree());
        assert!(!own.sees(None, Some(2)) && own.sees(Some(7), Some(1)));
        assert!(RecordScope::of(Visibility::All, 7, &member, &tree()).sees(None, None));
    }

    #[test]
    fn memberships_name_known_units_once() {
        let twice = Memberships {
            primary: Some(1),
            secondary: vec![1, 2, 2, 9],
        };
        let invalid = twice.check(&tree()).err();
        assert_eq!(invalid.map(|i| i.0.len()), Some(3));
    }
}
