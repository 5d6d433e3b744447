//! Rewrites `openapi/openapi.json` from the code's annotations.

fn main() -> std::io::Result<()> {
    let path = openapi::committed_path();
    std::fs::write(&path, openapi::generate())?;
    println!("wrote {}", path.display());
    Ok(())
}
