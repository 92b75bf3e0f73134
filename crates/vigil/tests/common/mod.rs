//! Shared helpers of the binary's tests: the real `vigil` binary, the test Python, free ports.

#![allow(dead_code)]

pub mod api;
pub mod pg;
pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

/// The Python with huaweicloudsdkcore and openapi-spec-validator (`scripts/setup.sh` makes it).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("VIGIL_TEST_PYTHON") {
        return p.into();
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.vigil/venv/bin/python");
    assert!(
        p.exists(),
        "no test Python: run scripts/setup.sh or set VIGIL_TEST_PYTHON"
    );
    p
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `../shared` of the checkout (or `VIGIL_SHARED_DIR`): real videos, models, tools.
pub fn shared() -> PathBuf {
    std::env::var_os("VIGIL_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    stderr_lines: std::sync::mpsc::Receiver<String>,
}

impl Server {
    pub fn start(data: &Path, extra_env: &[(&str, &str)]) -> Self {
        Self::start_with(data, extra_env, &[])
    }

    pub fn start_with(data: &Path, extra_env: &[(&str, &str)], extra_args: &[&str]) -> Self {
        let port = free_port();
        let mut cmd = vigil();
        cmd.args([
            "--data-dir",
            data.to_str().unwrap(),
            "--log-json",
            "true",
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra_args)
        .env_remove("VIGIL_ADMIN_PASSWORD")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let s = Self {
            child,
            port,
            stderr_lines: rx,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::blocking::get(s.url("/health"))
                .map(|r| r.status() == 200)
                .unwrap_or(false)
            {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("vigil serve did not answer /health within 30 s");
    }

    /// A server for tests on real video: admin password `pw`, analysis at 5 fps, no rate limit,
    /// `roots` as its media roots, the source prober every `probe_interval_s` seconds (0 = off),
    /// then `extra` arguments.
    pub fn start_for_video(
        data: &Path,
        roots: &[&Path],
        env: &[(&str, &str)],
        probe_interval_s: u32,
        extra: &[&str],
    ) -> Self {
        let roots: Vec<String> = roots
            .iter()
            .map(|p| {
                p.canonicalize()
                    .unwrap_or_else(|_| p.to_path_buf())
                    .display()
                    .to_string()
            })
            .collect();
        let (probe, roots) = (probe_interval_s.to_string(), roots.join(","));
        let mut args = vec![
            "--probe-interval",
            &probe,
            "--analysis-fps",
            "5",
            "--rate-limit",
            "0",
            "--media-roots",
            &roots,
        ];
        args.extend_from_slice(extra);
        let mut all_env = vec![("VIGIL_ADMIN_PASSWORD", "pw")];
        all_env.extend_from_slice(env);
        Self::start_with(data, &all_env, &args)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn drain_logs(&self) -> Vec<String> {
        self.stderr_lines.try_iter().collect()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "vigil serve did not stop within 15 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
