//! This process's worker id: the host name plus a random id persisted in the data dir, unique
//! per process. Two processes with one id would both think they hold the same task leases and
//! both run (and alarm for) the same tasks, so a `serve` and a `worker` (or two `worker`s) on one
//! host and data dir must differ, while a restarted process should get its old id back and
//! resume its leases at once instead of waiting for them to expire.
//!
//! `<data-dir>/worker-ids/<n>` are id slots, each holding a random id written once. A process
//! takes the first slot it can lock exclusively (`flock`) and holds the lock until it exits
//! (the kernel drops it even on SIGKILL), so a concurrent process takes another slot and a
//! restarted one finds its slot free again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use rand::Rng;

/// More slots than processes will ever share one data dir.
const MAX_SLOTS: usize = 1024;

/// A locked id slot; the lock lasts as long as this value.
#[derive(Debug)]
pub struct Slot {
    pub id: String,
    pub path: PathBuf,
    _lock: File,
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vigil".into())
}

/// A stored slot id is kept only when it looks like one we wrote.
fn valid(stored: &str) -> bool {
    (8..=64).contains(&stored.len()) && stored.chars().all(|c| c.is_ascii_alphanumeric())
}

fn open(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Takes the first free slot under `<data_dir>/worker-ids`, creating its id when it has none.
pub fn acquire(data_dir: &Path) -> anyhow::Result<Slot> {
    let dir = data_dir.join("worker-ids");
    crate::private_files::create_dir(&dir)?;
    for n in 0..MAX_SLOTS {
        let path = dir.join(n.to_string());
        let mut file = open(&path).with_context(|| format!("cannot open worker id slot {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => continue,
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock worker id slot {}", path.display()))
            }
        }
        let mut stored = String::new();
        let _ = file.read_to_string(&mut stored);
        let stored = stored.trim();
        let suffix = if valid(stored) {
            stored.to_string()
        } else {
            let fresh = format!("{:012x}", rand::thread_rng().gen::<u64>() & 0xffff_ffff_ffff);
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(format!("{fresh}\n").as_bytes())?;
            file.sync_all()?;
            fresh
        };
        return Ok(Slot {
            id: format!("{}-{suffix}", host_name()),
            path,
            _lock: file,
        });
    }
    anyhow::bail!(
        "all {MAX_SLOTS} worker id slots under {} are taken by running processes",
        dir.display()
    )
}

/// This process's worker id: `--worker-id` when given, else a slot of `data_dir` locked for the
/// rest of the process's life (the first call decides; later calls return the same id).
pub fn for_process(data_dir: &Path, configured: Option<String>) -> anyhow::Result<String> {
    static HELD: OnceLock<Slot> = OnceLock::new();
    if let Some(id) = configured.filter(|s| !s.trim().is_empty()) {
        tracing::info!(worker = %id, "worker id (configured)");
        return Ok(id);
    }
    if let Some(slot) = HELD.get() {
        return Ok(slot.id.clone());
    }
    let slot = acquire(data_dir)?;
    tracing::info!(worker = %slot.id, slot = %slot.path.display(), "worker id");
    Ok(HELD.get_or_init(|| slot).id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_holders_differ_and_a_freed_slot_keeps_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let a = acquire(dir.path()).unwrap();
        let b = acquire(dir.path()).unwrap();
        assert_ne!(a.id, b.id);
        assert!(a.id.starts_with(&format!("{}-", host_name())), "{}", a.id);
        let first = a.id.clone();
        drop(a);
        // The next process takes the freed slot and its id, not a new one.
        let c = acquire(dir.path()).unwrap();
        assert_eq!(c.id, first);
        let d = acquire(dir.path()).unwrap();
        assert!(d.id != b.id && d.id != c.id);
        // A damaged slot gets a fresh id instead of an empty one.
        drop(c);
        std::fs::write(dir.path().join("worker-ids/0"), "").unwrap();
        let e = acquire(dir.path()).unwrap();
        assert_ne!(e.id, first);
        assert!(e.id.len() > host_name().len() + 8, "{}", e.id);
    }
}
