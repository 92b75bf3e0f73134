//! Password hashing off the async workers: argon2 takes tens of milliseconds of CPU and ~19 MiB,
//! so it runs on tokio's blocking pool, at most one per core at a time (parallel wrong
//! passwords queue here instead of freezing the API or exhausting memory). Unknown users are
//! checked against a dummy hash so that their answer takes as long as a wrong password.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

fn slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Semaphore::new(n.clamp(1, 16))
    })
}

/// A hash of a random password with the same parameters as real ones, made once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| vigil_core::password::hash(&uuid::Uuid::new_v4().to_string()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _slot = slots().acquire().await.ok()?;
    tokio::task::spawn_blocking(f).await.ok()
}

/// Verifies `password` against `phc`, or against the dummy hash when there is no user (always
/// false then), with the same cost either way.
pub async fn verify(password: String, phc: Option<String>) -> bool {
    blocking(move || match phc {
        Some(h) => vigil_core::password::verify(&password, &h),
        None => {
            let _ = vigil_core::password::verify(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

pub async fn hash(password: String) -> Option<String> {
    blocking(move || vigil_core::password::hash(&password))
        .await
        .filter(|h| !h.is_empty())
}
