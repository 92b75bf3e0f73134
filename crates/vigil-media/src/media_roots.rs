//! Local files a tenant may name (`file://` addresses, bare paths): only regular files inside
//! the administrator's media roots (`--media-roots`). The path is first checked as written
//! (after removing `.`/`..` lexically), so paths outside every root are refused without
//! touching the file system (no existence oracle); then canonicalised, so symlinks that lead
//! out of a root are refused; and only then looked at, so FIFOs and devices are refused without
//! being opened (opening a FIFO for reading would block the reader).
//!
//! What remains: a file swapped for a symlink between this check and libavformat's open. The
//! media roots are the administrator's directories; tenants cannot create files there.

use std::path::{Component, Path, PathBuf};

use crate::error::{ErrorKind, MediaError, Result};

fn refused(path: &Path, why: &str) -> MediaError {
    MediaError::new(ErrorKind::Refused, format!("local file {}: {why}", path.display()))
}

/// `path` with `.` and `..` resolved lexically (relative paths taken from the current
/// directory).
fn lexical(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The canonical path of `path` when it is a regular file inside one of `roots`.
pub fn confine(path: &Path, roots: &[PathBuf]) -> Result<PathBuf> {
    let written = lexical(path);
    // Roots as configured and as canonicalised (a root may itself be a symlink).
    let canonical_roots: Vec<PathBuf> = roots.iter().filter_map(|r| r.canonicalize().ok()).collect();
    let inside = |p: &Path, list: &[PathBuf]| list.iter().any(|r| p.starts_with(r));
    let written_roots: Vec<PathBuf> = roots.iter().map(|r| lexical(r)).collect();
    if !inside(&written, &written_roots) && !inside(&written, &canonical_roots) {
        return Err(refused(path, "outside the media roots"));
    }
    let canonical = written.canonicalize().map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Refused
        };
        MediaError::new(kind, format!("local file {}: {e}", path.display()))
    })?;
    if !inside(&canonical, &canonical_roots) {
        return Err(refused(path, "resolves outside the media roots"));
    }
    regular_file(&canonical)?;
    Ok(canonical)
}

/// Refuses anything but a regular file, without opening it.
pub fn regular_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path)
        .map_err(|e| MediaError::new(ErrorKind::NotFound, format!("local file {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(refused(path, "not a regular file"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confines_to_roots_without_symlink_escapes_or_fifos() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
        std::fs::write(root.join("sub/clip.mp4"), b"x").expect("write");
        std::fs::write(dir.path().join("secret"), b"s").expect("write");
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("escape.mp4")).expect("symlink");
        std::os::unix::fs::symlink(root.join("sub/clip.mp4"), root.join("inner.mp4")).expect("symlink");
        let fifo = root.join("fifo.mp4");
        let c = std::ffi::CString::new(fifo.to_str().expect("utf8")).expect("c");
        // SAFETY: plain libc call with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let roots = vec![root.clone()];

        assert!(confine(&root.join("sub/clip.mp4"), &roots).is_ok());
        assert!(confine(&root.join("inner.mp4"), &roots).is_ok());
        let kind = |p: PathBuf| confine(&p, &roots).err().map(|e| e.kind());
        assert_eq!(kind(dir.path().join("secret")), Some(ErrorKind::Refused));
        assert_eq!(kind(root.join("../secret")), Some(ErrorKind::Refused));
        assert_eq!(kind(root.join("escape.mp4")), Some(ErrorKind::Refused));
        assert_eq!(kind(fifo), Some(ErrorKind::Refused));
        assert_eq!(kind(root.join("sub")), Some(ErrorKind::Refused));
        assert_eq!(kind(root.join("none.mp4")), Some(ErrorKind::NotFound));
        // Outside every root: refused whether or not it exists.
        assert_eq!(kind(PathBuf::from("/etc/passwd")), Some(ErrorKind::Refused));
        assert_eq!(kind(PathBuf::from("/no/such/file")), Some(ErrorKind::Refused));
    }
}
