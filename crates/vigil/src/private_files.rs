//! The data dir and the secrets in it are the server's alone: the directory is created 0700,
//! the SQLite database (whose `-wal`/`-shm` files SQLite creates with the database's mode),
//! `master.key` and `admin-password` 0600, each at creation.

use std::fs::{DirBuilder, File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Creates `dir` (and missing parents) with mode 0700; an existing one is left as it is
/// (`audit` warns about it).
pub fn create_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    let mut b = DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))
}

fn options(new: bool) -> OpenOptions {
    let mut o = OpenOptions::new();
    o.write(true);
    if new {
        o.create_new(true);
    } else {
        o.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// Creates a new file with mode 0600; fails if it exists.
pub fn create_new(path: &Path) -> anyhow::Result<File> {
    options(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Writes `content` to `path` with mode 0600 (also when the file existed with another mode).
pub fn write(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = options(false)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(content.as_bytes())?;
    Ok(())
}

/// The file behind a `sqlite:` URL (`sqlite://PATH[?…]`), unless it is in memory.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// Creates the SQLite database file 0600 before SQLite does (SQLite gives its `-wal` and
/// `-shm` files the database's mode).
pub fn prepare_sqlite(url: &str) -> anyhow::Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    if path.exists() {
        return Ok(());
    }
    match create_new(&path) {
        Ok(_) => Ok(()),
        // Created meanwhile by another process: fine.
        Err(_) if path.exists() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Warns (once, at `serve` start) about a data dir, database or key that other users can read.
pub fn audit(data_dir: &Path, database: &str) {
    warn_if_open(data_dir, 0o077);
    if let Some(db) = sqlite_file(database) {
        warn_if_open(&db, 0o077);
    }
    warn_if_open(&data_dir.join("master.key"), 0o077);
}

fn warn_if_open(path: &Path, mask: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let mode = m.permissions().mode() & 0o777;
            if mode & mask != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "readable by other users; chmod it 0700 (directories) or 0600 (files)");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mask);
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn sqlite_paths() {
        assert_eq!(sqlite_file("sqlite://d/vigil.db").unwrap().to_str(), Some("d/vigil.db"));
        assert_eq!(
            sqlite_file("sqlite:///abs/v.db?mode=rwc").unwrap().to_str(),
            Some("/abs/v.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x/y"), None);
    }
}
