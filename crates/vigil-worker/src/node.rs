//! This worker as an Operation Center node: host facts (cores, architecture, memory, GPUs),
//! registration at start and a heartbeat on every tick.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use vigil_store::nodes::{Accelerator, NodeRecord};
use vigil_store::{Store, StoreError};

/// What the host offers; probed once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFacts {
    pub host_name: String,
    pub cpu: i64,
    pub arch: String,
    pub memory_mib: i64,
    pub gpus: Vec<Accelerator>,
}

/// Longest wait for `nvidia-smi`; a hung driver must not hold up the worker.
const GPU_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

impl HostFacts {
    /// Probes the host once (`nvidia-smi` runs at most once per process, bounded in time).
    pub fn get() -> &'static HostFacts {
        static FACTS: OnceLock<HostFacts> = OnceLock::new();
        FACTS.get_or_init(|| HostFacts {
            host_name: host_name(),
            cpu: std::thread::available_parallelism()
                .map(|n| n.get() as i64)
                .unwrap_or(1),
            arch: std::env::consts::ARCH.to_string(),
            memory_mib: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|t| mem_total_mib(&t))
                .unwrap_or(0),
            gpus: nvidia_smi().map(|out| parse_nvidia_smi(&out)).unwrap_or_default(),
        })
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vigil".into())
}

/// `MemTotal:  16314788 kB` → MiB.
pub fn mem_total_mib(meminfo: &str) -> Option<i64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Lines of `nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader`,
/// e.g. `NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB`.
pub fn parse_nvidia_smi(out: &str) -> Vec<Accelerator> {
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            if f.len() < 3 || f[0].is_empty() {
                return None;
            }
            Some(Accelerator {
                name: f[0].to_string(),
                driver_version: f[1].to_string(),
                kind: "GPU".into(),
                capacity: f[2].split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0),
            })
        })
        .collect()
}

/// Runs `nvidia-smi` with a deadline; None when absent, failing or too slow.
fn nvidia_smi() -> Option<String> {
    let mut child = Command::new("nvidia-smi")
        .args(["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + GPU_PROBE_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => break,
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!("nvidia-smi did not answer in time; the node reports no GPU");
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().ok()?;
    String::from_utf8(out.stdout).ok()
}

/// Pool names from flags and `VIGIL_POOLS`: repeatable and comma separated, trimmed, empty
/// items dropped, duplicates removed (order kept).
pub fn parse_pools<S: AsRef<str>>(values: &[S]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for p in v.as_ref().split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if !out.iter().any(|o| o == p) {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// The node row of this worker.
pub fn node_record(id: &str, name: &str, pools: &[String], lease_ttl: Duration) -> NodeRecord {
    let facts = HostFacts::get();
    NodeRecord {
        id: id.to_string(),
        name: if name.trim().is_empty() {
            facts.host_name.clone()
        } else {
            name.trim().to_string()
        },
        description: String::new(),
        cpu: facts.cpu,
        arch: facts.arch.clone(),
        memory: facts.memory_mib,
        gpu_info: facts.gpus.clone(),
        npu_info: Vec::new(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        pools: pools.to_vec(),
        lease_ttl: lease_ttl.as_millis() as i64,
        started_at: 0,
        heartbeat_at: 0,
    }
}

/// Registration state of this worker's node row.
#[derive(Debug, Default)]
pub struct NodeBeat {
    registered: bool,
}

impl NodeBeat {
    /// Registers on the first call (the host probe runs off the async threads), then one
    /// UPDATE per call; registers again when the row was removed.
    pub async fn beat(
        &mut self,
        store: &Store,
        id: &str,
        name: &str,
        pools: &[String],
        lease_ttl: Duration,
    ) -> Result<(), StoreError> {
        if self.registered && store.heartbeat_node(id).await? {
            return Ok(());
        }
        let (id_owned, name_owned, pools_owned) = (id.to_string(), name.to_string(), pools.to_vec());
        let record = tokio::task::spawn_blocking(move || node_record(&id_owned, &name_owned, &pools_owned, lease_ttl))
            .await
            .map_err(|e| StoreError::Corrupt(format!("host probe failed: {e}")))?;
        store.upsert_node(&record).await?;
        self.registered = true;
        tracing::info!(node = %id, name = %record.name, pools = ?record.pools, cpu = record.cpu,
            gpus = record.gpu_info.len(), "node registered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_nvidia_smi_lines() {
        assert_eq!(
            mem_total_mib("MemTotal:       16314788 kB\nMemFree: 1 kB\n"),
            Some(15932)
        );
        assert_eq!(mem_total_mib("nothing"), None);
        let g = parse_nvidia_smi("NVIDIA H100 80GB HBM3, 550.54.15, 81559 MiB\n\n");
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].name, "NVIDIA H100 80GB HBM3");
        assert_eq!(g[0].driver_version, "550.54.15");
        assert_eq!(g[0].capacity, 81559);
        assert_eq!(g[0].kind, "GPU");
    }

    #[test]
    fn pools_from_repeated_and_comma_values() {
        assert_eq!(parse_pools(&["a, b", "b", "", "c,,"]), ["a", "b", "c"]);
        assert!(parse_pools::<&str>(&[]).is_empty());
    }
}
