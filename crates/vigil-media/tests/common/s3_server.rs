//! A real S3-compatible server for tests: moto's `moto_server` (installed into the test
//! virtualenv by scripts/setup.sh) on a loopback port, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vigil_core::object_storage::S3Endpoint;

pub struct S3Server {
    pub port: u16,
    child: Child,
}

fn moto_server() -> PathBuf {
    let next_to_python = std::env::var_os("VIGIL_TEST_PYTHON")
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(|d| d.join("moto_server")));
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.vigil/venv/bin/moto_server");
    next_to_python
        .into_iter()
        .chain([checkout])
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("moto_server not found: run scripts/setup.sh (it installs moto[server] into .vigil/venv)")
        })
}

impl S3Server {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let server = S3Server { port, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.request("GET", "/", &[]).is_none() {
            assert!(Instant::now() < deadline, "moto_server did not answer on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Credentials moto accepts (it checks signatures' shape, not the keys).
    pub fn endpoint(&self) -> S3Endpoint {
        S3Endpoint {
            endpoint: format!("http://127.0.0.1:{}", self.port),
            region: "us-east-1".into(),
            access_key_id: "vigil-test".into(),
            secret_access_key: "vigil-test-secret".into(),
        }
    }

    pub fn create_bucket(&self, name: &str) {
        assert_eq!(
            self.request("PUT", &format!("/{name}"), &[]),
            Some(200),
            "creating bucket {name}"
        );
    }

    /// Uploads an object (moto takes unsigned uploads; reads need signatures).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        assert_eq!(
            self.request("PUT", &format!("/{bucket}/{key}"), body),
            Some(200),
            "uploading {bucket}/{key}"
        );
    }

    /// One HTTP/1.1 request; the status code, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        s.write_all(head.as_bytes()).ok()?;
        s.write_all(body).ok()?;
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
