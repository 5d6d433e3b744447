//! Accounts and their team members.

use chrono::{DateTime, Utc};

use crate::roles::UserRole;

/// One customer firm: the tenant every record belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A team member of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    pub name: String,
    /// The role the member holds, with what it grants.
    pub role: UserRole,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn is_active_admin(&self) -> bool {
        self.active && self.role.is_admin()
    }
}

/// The last active admin of an account cannot be demoted or deactivated: someone must be able
/// to manage the team. `remaining_admins` counts the active admins other than `user`.
pub fn check_admin_remains(
    user: &User,
    new_role_is_admin: bool,
    new_active: bool,
    remaining_admins: i64,
) -> Result<(), LastAdmin> {
    let stays_admin = new_active && new_role_is_admin;
    if user.is_active_admin() && !stays_admin && remaining_admins == 0 {
        Err(LastAdmin)
    } else {
        Ok(())
    }
}

/// Refusal: the change would leave the account without an active admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastAdmin;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn admin() -> User {
        User {
            id: 1,
            account_id: 1,
            email: "a@example.com".into(),
            name: "A".into(),
            role: UserRole::builtin(Role::Admin),
            active: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_last_admin_stays() {
        assert_eq!(
            check_admin_remains(&admin(), false, true, 0),
            Err(LastAdmin)
        );
        assert_eq!(
            check_admin_remains(&admin(), true, false, 0),
            Err(LastAdmin)
        );
        assert_eq!(check_admin_remains(&admin(), false, true, 1), Ok(()));
        assert_eq!(check_admin_remains(&admin(), true, true, 0), Ok(()));
    }
}
