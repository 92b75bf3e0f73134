//! Embeds the built web console (`console/dist`, made by `scripts/build_console.sh`) into the
//! binary. Without a build the server serves a page that says how to make one, so `cargo build`
//! never needs Node.js.

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dist = manifest.join("../../console/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-env-changed=VIGIL_CONSOLE_DIST");
    let dist = std::env::var_os("VIGIL_CONSOLE_DIST")
        .map(PathBuf::from)
        .unwrap_or(dist);
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out =
        String::from("/// (path under /console/, absolute file) of the built console; empty when not built.\n");
    out.push_str("pub static CONSOLE_FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        let _ = writeln!(out, "    ({rel:?}, include_bytes!({:?})),", abs.display().to_string());
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("console_files.rs");
    std::fs::write(dest, out).expect("write console_files.rs");
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let abs = p.canonicalize().unwrap_or_else(|_| p.clone());
            out.push((rel.to_string_lossy().replace('\\', "/"), abs));
        }
    }
}
