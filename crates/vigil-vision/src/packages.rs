//! Detector packages installed by operators (bring-your-own models): a process-wide registry
//! from [`PackageKey`] to the package's manifest and verified model file, filled by the worker
//! before it starts a task that uses one; the perceiver loads the detector from it like a
//! built-in ([`DetectorModel::Package`](crate::DetectorModel::Package)).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use vigil_core::model_package::PackageManifest;

/// Names one installed package in the process (derived from its model's SHA-256, so two tasks
/// of one package share a session and one inference per frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageKey(pub u64);

impl PackageKey {
    /// The key of a model by its lowercase hex SHA-256 (first 16 hex digits).
    pub fn from_sha256(hex: &str) -> PackageKey {
        PackageKey(u64::from_str_radix(hex.get(..16).unwrap_or("0"), 16).unwrap_or(0))
    }
}

/// An installed package: its manifest and the model file on this machine (checksum verified).
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredPackage {
    pub manifest: PackageManifest,
    pub model_path: PathBuf,
}

/// The process-wide registry.
#[derive(Default)]
pub struct PackageRegistry {
    map: RwLock<HashMap<PackageKey, Arc<RegisteredPackage>>>,
}

impl PackageRegistry {
    pub fn global() -> &'static PackageRegistry {
        static R: OnceLock<PackageRegistry> = OnceLock::new();
        R.get_or_init(PackageRegistry::default)
    }

    /// Registers (or replaces) a package; returns its key.
    pub fn insert(&self, package: RegisteredPackage) -> PackageKey {
        let key = PackageKey::from_sha256(&package.manifest.sha256);
        if let Ok(mut m) = self.map.write() {
            m.insert(key, Arc::new(package));
        }
        key
    }

    pub fn get(&self, key: PackageKey) -> Option<Arc<RegisteredPackage>> {
        self.map.read().ok().and_then(|m| m.get(&key).cloned())
    }
}
