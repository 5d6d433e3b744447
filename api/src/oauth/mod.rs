//! The OAuth 2 authorization server's machinery that is neither HTTP nor SQL: the key ring
//! that signs and verifies access tokens, rate limits, and the HTML of the sign-in pages.

pub mod keys;
pub mod limits;
pub mod pages;
