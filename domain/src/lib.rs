//! Clientline's domain: the entities, the values that cannot hold bad data, and the rules
//! (permissions, org-chart cycles, the last admin). No I/O, no diesel, no actix lives here.

/// An enumeration whose variants each have one wire name, written once: the enum, `ALL`
/// (every variant, in the order written) and `as_str`, so that a new variant is added in one
/// place and every list of them (parsers, error messages, the spec's enums) follows.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $wire:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in the order written.
            pub const ALL: [$name; [$($wire),+].len()] = [$($name::$variant),+];

            /// Its wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }
    };
}

/// `parse` for a [`wire_enum!`]: one of its wire names, or a 422 code that lists them.
macro_rules! parse_choice {
    ($name:ident) => {
        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.as_str() == raw)
                    .ok_or_else(|| {
                        ValueError::new(
                            "invalid_choice",
                            format!(
                                "must be one of {}",
                                Self::ALL.map(|v| v.as_str()).join(", ")
                            ),
                        )
                    })
            }
        }
    };
}

pub mod access;
pub mod company;
pub mod computed;
pub mod contact;
pub mod enquiry;
pub mod event;
pub mod feed;
pub mod fields;
pub mod filter;
pub mod idempotency;
pub mod links;
pub mod listing;
pub mod meeting;
pub mod merge;
pub mod oauth;
pub mod password;
pub mod pipeline;
pub mod post;
pub mod project;
pub mod roles;
pub mod search;
pub mod task;
pub mod token;
pub mod totp;
pub mod units;
pub mod user;
pub mod validation;
pub mod values;
pub mod views;
pub mod webhook;

pub use validation::{FieldError, Invalid};
