//! Embeds every file under `decision/` into the binary, so the catalog needs no files at run time and adding a
//! data file needs no code change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml" || e == "csv") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(std::io::Error::other)?);
    let decision = root.join("decision");
    println!("cargo:rerun-if-changed=decision");
    let mut files = Vec::new();
    collect(&decision, &mut files)?;
    files.sort();
    let mut code =
        String::from("/// Every decision file, as (path relative to decision/, contents).\n");
    code.push_str("pub static DECISION_FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        let relative = file
            .strip_prefix(&decision)
            .map_err(std::io::Error::other)?;
        let relative = relative.to_string_lossy().replace('\\', "/");
        let _ = writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        );
        println!("cargo:rerun-if-changed={}", file.display());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(std::io::Error::other)?);
    std::fs::write(out.join("decision_files.rs"), code)
}
