//! The published contract: `openapi/openapi.json`, generated from the code's annotations.
//! The test beside it fails when the committed file and the code disagree.

/// The command that rewrites `openapi/openapi.json` from the code.
pub const REGENERATE: &str = "cargo run -p openapi --bin generate-openapi";

/// The OpenAPI document the server serves at `/openapi.json`, pretty-printed.
pub fn generate() -> String {
    let document = api::openapi::document();
    let mut json = serde_json::to_string_pretty(&document).unwrap_or_default();
    json.push('\n');
    json
}

/// Where the committed document lives.
pub fn committed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")
}
