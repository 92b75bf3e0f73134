//! Where the test inputs are: `shared/` next to the repository (or `$VIGIL_SHARED_DIR`) and the
//! composite cutouts in `tools/labels/assets/`. Every crate's tests sit two levels below the
//! repository root, so the same file serves `vigil-algorithms` and `vigil` (included by path).

use std::path::{Path, PathBuf};

/// `shared/` next to the repository (or `$VIGIL_SHARED_DIR`).
pub fn shared_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIGIL_SHARED_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// A clip of `shared/media`.
pub fn media(name: &str) -> PathBuf {
    shared_dir().join("media").join(name)
}

/// `tools/labels/assets/<name>`: the cutouts composited into clips (sources and licences there).
pub fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tools/labels/assets")
        .join(name)
}
