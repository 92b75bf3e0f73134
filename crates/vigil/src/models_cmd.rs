//! `vigil models list|verify|install`: what is in the model directory, checksums, installation.

use anyhow::{bail, Context};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use vigil_vision::models::{InstallOutcome, ModelState};
use vigil_vision::ModelDir;

use crate::settings::Storage;

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Show every model of the manifest and whether it is installed.
    List,
    /// Check every model's sha256; exits non-zero when one is missing or wrong.
    Verify,
    /// Copy (from a directory) or download (from an http(s) base URL) the models, checking each
    /// sha256 before it is put in place. With `DIR --project NAME`: install the bring-your-own
    /// model package in DIR (`manifest.json` + `model.onnx`) into that project's database.
    Install {
        /// A package directory (with `--project`).
        #[arg(requires = "project", conflicts_with = "from")]
        dir: Option<std::path::PathBuf>,
        /// Project id or name the package is installed for.
        #[arg(long, requires = "dir")]
        project: Option<String>,
        /// Source directory or base URL (`<url>/<file>` is fetched).
        #[arg(long, required_unless_present = "dir")]
        from: Option<String>,
        /// Only these model ids (comma-separated). [default: all]
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
}

fn state_text(s: &ModelState) -> String {
    match s {
        ModelState::Ok => "ok".into(),
        ModelState::Missing => "MISSING".into(),
        ModelState::ChecksumMismatch { actual } => format!("CHECKSUM MISMATCH (sha256 {actual})"),
        ModelState::Unreadable { message } => format!("UNREADABLE ({message})"),
    }
}

pub fn run(storage: &Storage, cmd: ModelsCommand) -> anyhow::Result<()> {
    let dir = ModelDir::resolve(storage.model_dir.as_deref(), Some(&storage.data_dir))
        .context("resolving the model directory")?;
    match cmd {
        ModelsCommand::List | ModelsCommand::Verify => {
            println!("model directory: {} ({:?})", dir.path.display(), dir.source);
            println!("{:<22} {:<34} {:<12} {:>10}  state", "id", "file", "license", "size");
            let statuses = dir.verify();
            let verify = matches!(cmd, ModelsCommand::Verify);
            let mut bad = 0;
            for s in &statuses {
                let size = s
                    .size
                    .map(|b| format!("{:.1} MB", b as f64 / 1e6))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<22} {:<34} {:<12} {:>10}  {}",
                    s.entry.id,
                    s.entry.file,
                    s.entry.license,
                    size,
                    state_text(&s.state)
                );
                if s.state != ModelState::Ok {
                    bad += 1;
                    if verify {
                        println!("    expected sha256 {}; get it from {}", s.entry.sha256, s.entry.source);
                    }
                }
            }
            if verify && bad > 0 {
                bail!("{bad} of {} models are missing or corrupt; install them with `vigil models install --from DIR|URL`", statuses.len());
            }
            if verify {
                println!("all {} models verified", statuses.len());
            }
        }
        ModelsCommand::Install {
            dir: Some(dir),
            project: Some(project),
            ..
        } => {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(install_package(storage, &dir, &project))
            })?;
        }
        ModelsCommand::Install { from, only, .. } => {
            let from = from.context("--from DIR|URL is required")?;
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            let only_refs: Vec<&str> = only.iter().map(String::as_str).collect();
            let mut progress = |p: &vigil_vision::models::InstallProgress| {
                bar.set_message(p.file.clone());
                if let Some(t) = p.bytes_total {
                    bar.set_length(t);
                }
                bar.set_position(p.bytes_done);
            };
            let done = dir
                .install_from(&from, (!only.is_empty()).then_some(&only_refs[..]), Some(&mut progress))
                .with_context(|| format!("installing models from {from}"))?;
            bar.finish_and_clear();
            for (id, outcome) in done {
                let what = if outcome == InstallOutcome::Installed {
                    "installed"
                } else {
                    "already present"
                };
                println!("{id:<22} {what}");
            }
            println!("models are in {}", dir.path.display());
        }
    }
    Ok(())
}

/// `vigil models install DIR --project NAME`: the package's manifest and model, checksum and
/// binding checked exactly as the upload route checks them.
async fn install_package(storage: &Storage, dir: &std::path::Path, project: &str) -> anyhow::Result<()> {
    let manifest_path = dir.join("manifest.json");
    let text =
        std::fs::read_to_string(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", manifest_path.display()))?;
    let model_path = dir.join("model.onnx");
    let model = std::fs::read(&model_path).with_context(|| format!("reading {}", model_path.display()))?;
    let store = crate::serve::open_store(storage).await?;
    let Some(p) = store.find_project(project).await? else {
        bail!("no project {project:?} (see `vigil iam project list`)");
    };
    let done = vigil_api::model_packages::install(&store, &p.id, &manifest, &model).await;
    store.close().await;
    match done {
        Ok(r) => {
            println!(
                "installed package {} for project {}: service {} (alg_id {})",
                r.package_id, p.name, r.service_name, r.alg_id
            );
            Ok(())
        }
        Err(e) => bail!("{} {}: {}", e.code.code(), e.params.join(","), e.detail),
    }
}
