//! `vigil`: the Vigil server and its administration commands.

mod analyze_cmd;
mod iam_cmd;
mod job_supervisor;
mod jobs;
mod logging;
mod master_key;
mod metrics_listen;
mod models_cmd;
mod private_files;
mod serve;
mod settings;
mod tls;
mod worker_id;

use clap::{Parser, Subcommand};

/// mimalloc: API calls allocate many small rows and strings per request, where glibc's malloc
/// measured ~30 % of a list page's CPU (docs/scale.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "vigil",
    version,
    about = "Self-hosted video intelligent analysis, Huawei Cloud VIAS v2 compatible"
)]
struct Cli {
    #[command(flatten)]
    storage: settings::StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the API server (migrations run first).
    Serve(settings::ServeArgs),
    /// Run tasks only (no API), against the same database as the servers.
    Worker(settings::ServeArgs),
    /// Run one algorithm over a file or URL offline and print alarm JSON lines.
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users, projects and access keys.
    #[command(subcommand)]
    Iam(iam_cmd::IamCommand),
    /// List, verify and install the analysis models.
    #[command(subcommand)]
    Models(models_cmd::ModelsCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (storage, file_serve) = match settings::storage(&cli.storage) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let default_log = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    logging::init(storage.log.as_deref().unwrap_or(default_log), storage.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(&storage, &args, &file_serve).await,
            Command::Worker(args) => serve::run_worker(&storage, &args, &file_serve).await,
            Command::Analyze(args) => tokio::task::block_in_place(|| analyze_cmd::run(&storage, args)),
            Command::Migrate => serve::migrate_only(&storage).await,
            Command::Iam(cmd) => iam_cmd::run(&storage, cmd).await,
            Command::Models(cmd) => models_cmd::run(&storage, cmd),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
