//! The committed contract must be exactly what the code generates, so that every change to
//! the API shows up in review as a diff of `openapi/openapi.json`.

#[test]
fn committed_openapi_json_matches_the_code() {
    let committed = std::fs::read_to_string(openapi::committed_path()).unwrap_or_default();
    let generated = openapi::generate();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date with the code. Regenerate it with:\n\n    {}\n",
        openapi::REGENERATE
    );
}
