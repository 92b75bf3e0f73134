//! The server master key that seals secrets at rest: `VIGIL_MASTER_KEY` (64 hex characters) or
//! `<data-dir>/master.key`, created with mode 0600 on first use.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use vigil_core::secret_box::SecretBox;

pub fn load(data_dir: &Path) -> anyhow::Result<SecretBox> {
    if let Ok(hex) = std::env::var("VIGIL_MASTER_KEY") {
        return SecretBox::from_hex(&hex).context("VIGIL_MASTER_KEY is invalid");
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        let hex = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return SecretBox::from_hex(&hex).with_context(|| format!("{} is not a valid master key", path.display()));
    }
    crate::private_files::create_dir(data_dir)?;
    let hex = SecretBox::generate_hex_key();
    let mut f = crate::private_files::create_new(&path)?;
    f.write_all(hex.as_bytes())?;
    tracing::info!(path = %path.display(), "created a new master key; back it up, secrets cannot be read without it");
    SecretBox::from_hex(&hex).context("generated master key")
}
