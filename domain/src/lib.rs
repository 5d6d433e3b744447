//! Clientline's domain: the entities, the values that cannot hold bad data, and the rules
//! (permissions, org-chart cycles, the last admin). No I/O, no diesel, no actix lives here.

pub mod access;
pub mod company;
pub mod contact;
pub mod event;
pub mod idempotency;
pub mod listing;
pub mod merge;
pub mod oauth;
pub mod password;
pub mod pipeline;
pub mod project;
pub mod token;
pub mod totp;
pub mod user;
pub mod validation;
pub mod values;
pub mod webhook;

pub use validation::{FieldError, Invalid};
