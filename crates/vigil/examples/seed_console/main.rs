//! Seeds a Vigil database with a large, realistic project for the console's page-load benchmark
//! (`scripts/bench_console.sh`): cameras with snapshots and health, tasks in every state, and
//! event-center alarms with small annotated JPEGs spread over cameras, tasks, event types and
//! the last days.
//!
//! ```text
//! cargo run --release -p vigil --example seed_console -- --data-dir /tmp/vigil-bench \
//!     --cameras 1000 --alarms 100000
//! ```
//!
//! The project (default `default`) must exist: start `vigil serve` on the database once first.
//! Everything goes through the store's functions; alarms in bulk (`Store::import_alarms`, 2,000
//! per transaction).

mod seed;

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use vigil_store::Store;

#[derive(Parser, Debug)]
#[command(about = "Seed a Vigil database with cameras, tasks and alarms for the console benchmark")]
struct Args {
    /// Database URL: sqlite://PATH or postgres://…
    #[arg(long, conflicts_with = "data_dir")]
    database_url: Option<String>,
    /// Data directory of `vigil serve` (its database is <data-dir>/vigil.db).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Project id or name.
    #[arg(long, default_value = "default")]
    project: String,
    #[arg(long, default_value_t = 1000)]
    cameras: usize,
    /// Tasks, each on one camera (the default task quota is 200).
    #[arg(long, default_value_t = 200)]
    tasks: usize,
    #[arg(long, default_value_t = 100_000)]
    alarms: usize,
    /// Alarms are spread over this many days before now.
    #[arg(long, default_value_t = 7)]
    days: i64,
    /// One alarm in this many carries a picture (1: every one; a million pictures take ~5 GB).
    #[arg(long, default_value_t = 1)]
    picture_every: usize,
    /// Random seed: the same seed gives the same names, spread and pictures.
    #[arg(long, default_value_t = 13)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let url = match (&args.database_url, &args.data_dir) {
        (Some(u), _) => u.clone(),
        (None, Some(d)) => format!("sqlite://{}", d.join("vigil.db").display()),
        (None, None) => bail!("give --database-url or --data-dir"),
    };
    let store = Store::connect(&url).await.context("open the database")?;
    store.migrate().await?;
    let Some(project) = store.find_project(&args.project).await? else {
        bail!(
            "project {:?} does not exist: start `vigil serve` on this database once first",
            args.project
        );
    };
    let plan = seed::Plan {
        cameras: args.cameras,
        tasks: args.tasks,
        alarms: args.alarms,
        days: args.days,
        picture_every: args.picture_every,
        seed: args.seed,
    };
    let bars: RefCell<HashMap<String, ProgressBar>> = RefCell::default();
    let progress = |phase: &str, done: usize, of: usize| {
        let mut bars = bars.borrow_mut();
        let pb = bars.entry(phase.to_string()).or_insert_with(|| {
            let pb = ProgressBar::new(of as u64);
            pb.set_style(
                ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            pb.set_message(phase.to_string());
            pb
        });
        pb.set_position(done as u64);
        if done >= of {
            pb.finish();
        }
    };
    let started = Instant::now();
    let cameras = seed::seed(&store, &project.id, &plan, &progress).await?;
    store.close().await;
    println!(
        "seeded project {} ({}): {} cameras, {} tasks, {} alarms in {:.1} s",
        project.name,
        project.id,
        cameras.len(),
        plan.tasks,
        plan.alarms,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
