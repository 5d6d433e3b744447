//! Posts on the news feed and their comments: Markdown as written (never rendered here), who
//! wrote it, whom it mentions, and for posts the records they are about and whether they are
//! pinned. Links and the versioned update are shared plumbing.

use chrono::{DateTime, Utc};

use crate::access::Role;
use crate::links::{Links, RecordRef};
use crate::values::{Email, Markdown};

/// A post as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: i64,
    pub account_id: i64,
    pub body: String,
    /// `None` when an app acting for the account wrote it.
    pub author_id: Option<i64>,
    pub pinned: bool,
    pub links: Vec<RecordRef>,
    /// The team members its `@mentions` name, in id order.
    pub mention_ids: Vec<i64>,
    pub comment_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a post's writer gives.
#[derive(Debug, Clone, PartialEq)]
pub struct PostFields {
    pub body: Markdown,
    pub pinned: bool,
    pub links: Links,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostPatch {
    pub body: Option<Markdown>,
    pub pinned: Option<bool>,
    pub links: Option<Links>,
}

impl PostPatch {
    pub fn apply(self, current: &Post) -> PostFields {
        PostFields {
            body: self
                .body
                .unwrap_or_else(|| Markdown::from_stored(current.body.clone())),
            pinned: self.pinned.unwrap_or(current.pinned),
            links: self
                .links
                .unwrap_or_else(|| Links::from_stored(current.links.iter().copied())),
        }
    }
}

/// A comment on a post, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: i64,
    pub account_id: i64,
    pub post_id: i64,
    pub body: String,
    pub author_id: Option<i64>,
    pub mention_ids: Vec<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whether a team member (`editor`, with `role`) may change or delete what `author` wrote:
/// authors their own, admins anyone's.
pub fn may_edit(author: Option<i64>, editor: Option<(i64, Role)>) -> bool {
    match editor {
        Some((_, Role::Admin)) => true,
        Some((id, _)) => author == Some(id),
        None => false,
    }
}

/// The email addresses a Markdown text mentions, lower-cased, each once, in order: an `@` at
/// the start of a word followed by an address (`@ana@acme.com`). Code spans are skipped.
pub fn mentioned_emails(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut previous = ' ';
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            in_code = !in_code;
        } else if c == '@' && !in_code && !(previous.is_alphanumeric() || previous == '@') {
            let rest = &body[i + 1..];
            let end = rest
                .find(|ch: char| ch.is_whitespace() || ",;:!?()[]<>\"'`*".contains(ch))
                .unwrap_or(rest.len());
            let candidate = rest[..end].trim_end_matches('.');
            if candidate.contains('@')
                && let Ok(email) = Email::parse(candidate)
            {
                let normalized = email.normalized();
                if !found.contains(&normalized) {
                    found.push(normalized);
                }
            }
            // Skip the address, so that its own `@` starts nothing.
            for _ in 0..candidate.chars().count() {
                chars.next();
            }
            previous = 'a';
            continue;
        }
        previous = c;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_at_signs_before_addresses_outside_code() {
        assert_eq!(
            mentioned_emails(
                "Thanks @Ana@Acme.test and @bo@acme.test. Mail me at x@acme.test, `@no@acme.test`; @ana@acme.test again"
            ),
            vec!["ana@acme.test".to_owned(), "bo@acme.test".to_owned()]
        );
        assert!(mentioned_emails("@here and @ everyone").is_empty());
    }

    #[test]
    fn authors_edit_their_own_and_admins_anyones() {
        assert!(may_edit(Some(1), Some((1, Role::Member))));
        assert!(!may_edit(Some(1), Some((2, Role::Member))));
        assert!(may_edit(Some(1), Some((2, Role::Admin))));
        assert!(!may_edit(None, Some((2, Role::Member))));
        assert!(!may_edit(Some(1), None));
    }
}
