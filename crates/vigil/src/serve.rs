//! `vigil serve` and `vigil migrate`.

use anyhow::Context;
use vigil_api::AppState;
use vigil_store::Store;

use crate::settings::{self, ServeArgs, Storage};

/// Opens the database (creating the data dir for SQLite) and applies migrations.
pub async fn open_store(storage: &Storage) -> anyhow::Result<Store> {
    if storage.database.starts_with("sqlite:") {
        crate::private_files::create_dir(&storage.data_dir)?;
        crate::private_files::prepare_sqlite(&storage.database)?;
    }
    let store = Store::connect_with(&storage.database, storage.db)
        .await
        .with_context(|| format!("cannot open database {}", vigil_store::redact(&storage.database)))?;
    let applied = store.migrate().await.context("database migration failed")?;
    tracing::info!(database = %vigil_store::redact(&storage.database), applied, "database ready");
    Ok(store)
}

pub async fn migrate_only(storage: &Storage) -> anyhow::Result<()> {
    let store = open_store(storage).await?;
    store.close().await;
    println!("migrations applied");
    Ok(())
}

/// On an empty database: an admin user (`VIGIL_ADMIN_USER`, default `admin`) with
/// `VIGIL_ADMIN_PASSWORD` or a generated password, and a project `default`. A generated
/// password goes to `<data-dir>/admin-password` (0600), never to the log or the terminal.
async fn bootstrap_admin(store: &Store, data_dir: &std::path::Path) -> anyhow::Result<()> {
    if store.count_users().await? > 0 {
        for p in store.list_projects().await? {
            tracing::info!(project_id = %p.id, project = %p.name, "project");
        }
        return Ok(());
    }
    let user = std::env::var("VIGIL_ADMIN_USER").unwrap_or_else(|_| "admin".into());
    let (password, generated) = match std::env::var("VIGIL_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::iam_cmd::random_secret(20), true),
    };
    let user_id = vigil_core::ids::new_hex32_id();
    let hash = crate::iam_cmd::hash_password(&password).await?;
    store.create_user(&user_id, &user, &hash).await?;
    let project = match store.find_project("default").await? {
        Some(p) => p,
        None => {
            store
                .create_project(&vigil_core::ids::new_hex32_id(), "default")
                .await?
        }
    };
    store.grant_project(&user_id, &project.id).await?;
    if generated {
        crate::private_files::create_dir(data_dir)?;
        let file = data_dir.join("admin-password");
        crate::private_files::write(&file, &format!("{password}\n"))?;
        tracing::info!(user, path = %file.display(), "first start: the generated admin password is in this file (mode 0600); change it and delete the file");
    }
    tracing::info!(user, project_id = %project.id, "created the admin user and the default project");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

/// Background jobs of `serve`: the prober, and the worker unless `--no-worker`.
fn spawn_background(
    storage: &Storage,
    args: &ServeArgs,
    file: &ServeArgs,
    store: &Store,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mut jobs: Vec<_> = crate::jobs::prober(storage, args, file, store, stop.clone())?
        .into_iter()
        .collect();
    if !args.no_worker.or(file.no_worker).unwrap_or(false) {
        jobs.extend(crate::jobs::worker(storage, args, file, store, stop)?);
    }
    Ok(jobs)
}

/// `vigil worker`: runs tasks against the shared database, without the API.
pub async fn run_worker(storage: &Storage, args: &ServeArgs, file: &ServeArgs) -> anyhow::Result<()> {
    let store = open_store(storage).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = crate::metrics_listen::start(args, file, &store, stop_rx.clone()).await?;
    let jobs = crate::jobs::worker(storage, args, file, &store, stop_rx)?;
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    for job in jobs.into_iter().chain(metrics) {
        let _ = job.await;
    }
    store.close().await;
    Ok(())
}

pub async fn run(storage: &Storage, args: &ServeArgs, file: &ServeArgs) -> anyhow::Result<()> {
    let (listen, config) = settings::api_config(args, file)?;
    let store = open_store(storage).await?;
    let secrets = crate::master_key::load(&storage.data_dir)?;
    bootstrap_admin(&store, &storage.data_dir).await?;
    crate::private_files::audit(&storage.data_dir, &storage.database);
    let tls = match settings::tls_files(args, file)? {
        Some((cert, key)) => Some(crate::tls::server_config(&cert, &key)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    tracing::info!(listen = %local, public_url = %vigil_store::redact(&config.public_url), tls = tls.is_some(), "Vigil API listening");
    if vigil_api::console::is_built() {
        tracing::info!(url = %format!("{}/console/", config.public_url.trim_end_matches('/')), "web console");
    } else {
        tracing::warn!("the web console is not built into this binary: run scripts/build_console.sh, then rebuild");
    }
    // Connect info gives the login throttle the client's address.
    let app = vigil_api::router(AppState::new(store.clone(), secrets, config))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = crate::metrics_listen::start(args, file, &store, stop_rx.clone()).await?;
    let background = spawn_background(storage, args, file, &store, stop_rx)?;
    let shutdown = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
        // Open alarm streams never end by themselves; graceful shutdown would wait on them.
        vigil_api::alarm_stream::close_all();
    };
    match tls {
        Some(config) => {
            use axum::serve::ListenerExt;
            // `tap_io` gives axum's connect-info support for custom listeners.
            let tls_listener = crate::tls::TlsListener::new(listener, config)?.tap_io(|_| {});
            axum::serve(tls_listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .context("server error")?;
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .context("server error")?;
        }
    }
    for job in background.into_iter().chain(metrics) {
        let _ = job.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
