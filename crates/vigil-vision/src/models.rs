//! Model management: the embedded manifest, model directory resolution, checksum verification
//! and installation. The `vigil models list|verify|install` CLI is a thin wrapper over this.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Result, VisionError};

/// The manifest text shipped in the crate (`crates/vigil-vision/models.toml`).
pub const MANIFEST_TOML: &str = include_str!("../models.toml");

/// One manifest entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ModelEntry {
    /// Stable id used in code (`yolox_nano`, `yunet`, ...).
    pub id: String,
    /// File name inside the model directory.
    pub file: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    pub license: String,
    /// Where to download the file.
    pub source: String,
    /// Input layout summary.
    pub input: String,
    /// Decoder family (`yolox`, `yunet`, `movenet`, `ctc`, `labels`, ...).
    pub decoder: String,
}

/// The list of known models.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ModelManifest {
    #[serde(rename = "model")]
    pub models: Vec<ModelEntry>,
}

impl ModelManifest {
    /// The manifest embedded in this build.
    pub fn embedded() -> Result<Self> {
        Self::parse(MANIFEST_TOML)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let m: ModelManifest = toml::from_str(text).map_err(|e| VisionError::Manifest(e.to_string()))?;
        for e in &m.models {
            if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(VisionError::Manifest(format!(
                    "model {}: sha256 must be 64 hex digits",
                    e.id
                )));
            }
        }
        Ok(m)
    }

    pub fn get(&self, id: &str) -> Result<&ModelEntry> {
        self.models
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| VisionError::UnknownModel(id.to_string()))
    }
}

/// Where a model directory came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelDirSource {
    /// `--model-dir`
    CommandLine,
    /// `VIGIL_MODEL_DIR`
    Environment,
    /// `<data-dir>/models`
    DataDir,
    /// `../shared/models` of a development checkout
    DevCheckout,
}

/// State of one model file in a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    Ok,
    Missing,
    ChecksumMismatch { actual: String },
    Unreadable { message: String },
}

/// Result of [`ModelDir::verify`] for one manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStatus {
    pub entry: ModelEntry,
    pub path: PathBuf,
    pub size: Option<u64>,
    pub state: ModelState,
}

/// Progress of an installation, reported per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallProgress {
    pub file: String,
    pub bytes_done: u64,
    /// Total when known.
    pub bytes_total: Option<u64>,
}

/// What `install_from` did with one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallOutcome {
    Installed,
    AlreadyPresent,
}

/// A resolved model directory plus the manifest.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub path: PathBuf,
    pub source: ModelDirSource,
    pub manifest: ModelManifest,
}

/// Hex sha256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| VisionError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| VisionError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where to look for project-relative files (`.vigil/`, `shared/`): the working directory and
/// the executable's directory; callers walk their ancestors.
pub(crate) fn search_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Some(d) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        roots.push(d);
    }
    roots
}

fn dev_checkout_candidates() -> Vec<PathBuf> {
    let roots = search_roots();
    let mut out = Vec::new();
    for r in roots {
        for anc in r.ancestors() {
            out.push(anc.join("shared").join("models"));
            out.push(anc.join("..").join("shared").join("models"));
        }
    }
    out
}

impl ModelDir {
    /// Resolves the model directory, first match wins: `cli` (`--model-dir`, must exist),
    /// `VIGIL_MODEL_DIR` (must exist), `<data_dir>/models` (if it exists), and a development
    /// checkout's `shared/models` found from the working directory or the executable upwards
    /// (this includes `../shared/models` next to the repository).
    pub fn resolve(cli: Option<&Path>, data_dir: Option<&Path>) -> Result<ModelDir> {
        let manifest = ModelManifest::embedded()?;
        let mk = |path: PathBuf, source| ModelDir {
            path,
            source,
            manifest: manifest.clone(),
        };
        if let Some(p) = cli {
            if !p.is_dir() {
                return Err(VisionError::NoModelDir {
                    tried: format!("--model-dir {} (not a directory)", p.display()),
                });
            }
            return Ok(mk(p.to_path_buf(), ModelDirSource::CommandLine));
        }
        if let Some(v) = std::env::var_os("VIGIL_MODEL_DIR").filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            if !p.is_dir() {
                return Err(VisionError::NoModelDir {
                    tried: format!("VIGIL_MODEL_DIR={} (not a directory)", p.display()),
                });
            }
            return Ok(mk(p, ModelDirSource::Environment));
        }
        let mut tried = Vec::new();
        if let Some(d) = data_dir {
            let p = d.join("models");
            if p.is_dir() {
                return Ok(mk(p, ModelDirSource::DataDir));
            }
            tried.push(p.display().to_string());
        }
        for p in dev_checkout_candidates() {
            if p.join(&manifest.models[0].file).is_file() {
                let p = p.canonicalize().unwrap_or(p);
                return Ok(mk(p, ModelDirSource::DevCheckout));
            }
        }
        tried.push("shared/models of a development checkout".into());
        Err(VisionError::NoModelDir {
            tried: tried.join(", "),
        })
    }

    /// A model directory at an explicit path (no search).
    pub fn at(path: impl Into<PathBuf>) -> Result<ModelDir> {
        Ok(ModelDir {
            path: path.into(),
            source: ModelDirSource::CommandLine,
            manifest: ModelManifest::embedded()?,
        })
    }

    /// Checks every manifest entry: present, readable, checksum matches.
    pub fn verify(&self) -> Vec<ModelStatus> {
        self.manifest.models.iter().map(|e| self.status_of(e)).collect()
    }

    fn status_of(&self, e: &ModelEntry) -> ModelStatus {
        let path = self.path.join(&e.file);
        let size = std::fs::metadata(&path).ok().map(|m| m.len());
        let state = if size.is_none() {
            ModelState::Missing
        } else {
            match sha256_file(&path) {
                Ok(h) if h == e.sha256 => ModelState::Ok,
                Ok(h) => ModelState::ChecksumMismatch { actual: h },
                Err(err) => ModelState::Unreadable {
                    message: err.to_string(),
                },
            }
        };
        ModelStatus {
            entry: e.clone(),
            path,
            size,
            state,
        }
    }

    /// Path of model `id` after checking it exists and its checksum matches. Errors name the
    /// file, the expected checksum and where to get it. Results are memoised per process.
    pub fn model_path(&self, id: &str) -> Result<PathBuf> {
        use std::collections::HashSet;
        use std::sync::{Mutex, OnceLock};
        static VERIFIED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
        let e = self.manifest.get(id)?;
        let path = self.path.join(&e.file);
        let cache = VERIFIED.get_or_init(|| Mutex::new(HashSet::new()));
        if cache.lock().map(|c| c.contains(&path)).unwrap_or(false) {
            return Ok(path);
        }
        match self.status_of(e).state {
            ModelState::Ok => {
                if let Ok(mut c) = cache.lock() {
                    c.insert(path.clone());
                }
                Ok(path)
            }
            ModelState::Missing => Err(VisionError::ModelMissing {
                file: e.file.clone(),
                dir: self.path.clone(),
                sha256: e.sha256.clone(),
                source_url: e.source.clone(),
            }),
            ModelState::ChecksumMismatch { actual } => Err(VisionError::ModelChecksum {
                path,
                expected: e.sha256.clone(),
                actual,
                source_url: e.source.clone(),
            }),
            ModelState::Unreadable { message } => Err(VisionError::Manifest(message)),
        }
    }

    /// Reads a verified text file (label lists) as lines.
    pub fn read_lines(&self, id: &str) -> Result<Vec<String>> {
        let p = self.model_path(id)?;
        let text = std::fs::read_to_string(&p).map_err(|e| VisionError::io(&p, e))?;
        Ok(text.lines().map(|l| l.trim_end_matches('\r').to_string()).collect())
    }

    /// Installs every manifest file from `from` (a directory, or an `http(s)://` base URL whose
    /// `<base>/<file>` is fetched) into this directory. Each file is written to a temporary
    /// name, its sha256 checked, then renamed into place; a mismatch leaves nothing behind.
    /// `only` restricts to some ids. Files already present with the right checksum are skipped.
    pub fn install_from(
        &self,
        from: &str,
        only: Option<&[&str]>,
        mut progress: Option<&mut dyn FnMut(&InstallProgress)>,
    ) -> Result<Vec<(String, InstallOutcome)>> {
        std::fs::create_dir_all(&self.path).map_err(|e| VisionError::io(&self.path, e))?;
        let mut done = Vec::new();
        for e in &self.manifest.models {
            if only.is_some_and(|o| !o.contains(&e.id.as_str())) {
                continue;
            }
            if self.status_of(e).state == ModelState::Ok {
                done.push((e.id.clone(), InstallOutcome::AlreadyPresent));
                continue;
            }
            let dest = self.path.join(&e.file);
            let tmp = self.path.join(format!(".{}.partial", e.file));
            let mut out = std::fs::File::create(&tmp).map_err(|err| VisionError::io(&tmp, err))?;
            let mut hasher = Sha256::new();
            let copy = |reader: &mut dyn Read,
                        total: Option<u64>,
                        out: &mut std::fs::File,
                        hasher: &mut Sha256,
                        progress: &mut Option<&mut dyn FnMut(&InstallProgress)>|
             -> Result<()> {
                let mut buf = vec![0u8; 1 << 16];
                let mut n_done = 0u64;
                loop {
                    let n = reader.read(&mut buf).map_err(|err| VisionError::io(&tmp, err))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    out.write_all(&buf[..n]).map_err(|err| VisionError::io(&tmp, err))?;
                    n_done += n as u64;
                    if let Some(p) = progress.as_mut() {
                        p(&InstallProgress {
                            file: e.file.clone(),
                            bytes_done: n_done,
                            bytes_total: total,
                        });
                    }
                }
                Ok(())
            };
            let res = if from.starts_with("http://") || from.starts_with("https://") {
                let url = format!("{}/{}", from.trim_end_matches('/'), e.file);
                fetch_url(&url, &mut |r, total| {
                    copy(r, total, &mut out, &mut hasher, &mut progress)
                })
            } else {
                let src = Path::new(from).join(&e.file);
                match std::fs::File::open(&src) {
                    Ok(mut f) => {
                        let total = f.metadata().ok().map(|m| m.len());
                        copy(&mut f, total, &mut out, &mut hasher, &mut progress)
                    }
                    Err(err) => Err(VisionError::io(&src, err)),
                }
            };
            drop(out);
            if let Err(err) = res {
                let _ = std::fs::remove_file(&tmp);
                return Err(err);
            }
            let actual = hex(&hasher.finalize());
            if actual != e.sha256 {
                let _ = std::fs::remove_file(&tmp);
                return Err(VisionError::ModelChecksum {
                    path: dest,
                    expected: e.sha256.clone(),
                    actual,
                    source_url: from.to_string(),
                });
            }
            std::fs::rename(&tmp, &dest).map_err(|err| VisionError::io(&dest, err))?;
            done.push((e.id.clone(), InstallOutcome::Installed));
        }
        Ok(done)
    }
}

/// Receives a body reader and its length when known.
type Sink<'a> = &'a mut dyn FnMut(&mut dyn Read, Option<u64>) -> Result<()>;

#[cfg(feature = "download")]
fn fetch_url(url: &str, sink: Sink<'_>) -> Result<()> {
    let derr = |m: String| VisionError::Download {
        url: url.to_string(),
        message: m,
    };
    let resp = ureq::get(url).call().map_err(|e| derr(e.to_string()))?;
    let total = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut body = resp.into_body();
    let mut reader = body.with_config().limit(1 << 31).reader();
    sink(&mut reader, total)
}

#[cfg(not(feature = "download"))]
fn fetch_url(url: &str, _sink: Sink<'_>) -> Result<()> {
    Err(VisionError::Download {
        url: url.to_string(),
        message: "built without the `download` feature".into(),
    })
}
