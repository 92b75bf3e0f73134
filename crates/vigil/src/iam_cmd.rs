//! `vigil iam …`: users, projects, grants and access keys.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use rand::Rng;
use serde_json::json;
use vigil_store::Store;

use crate::settings::Storage;

#[derive(Subcommand, Debug)]
pub enum IamCommand {
    /// Users who can obtain tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// Projects: the scope of every VIAS resource.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Let a user act in a project.
    Grant {
        #[arg(long)]
        user: String,
        /// Project id or name.
        #[arg(long)]
        project: String,
    },
    /// AK/SK pairs for signed requests.
    #[command(subcommand, name = "access-key")]
    AccessKey(AccessKeyCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; prints a generated password when none is given.
    Create {
        #[arg(long)]
        name: String,
        /// Password; also read from VIGIL_USER_PASSWORD. [default: generated and printed]
        #[arg(long, env = "VIGIL_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Project id or name to grant right away.
        #[arg(long)]
        project: Option<String>,
    },
    /// List users and their projects as JSON.
    List,
    /// Delete a user with their keys and tokens.
    Delete {
        #[arg(long)]
        name: String,
    },
    /// Revoke every token of a user (e.g. after a leak); access keys stay.
    RevokeTokens {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Create a project (id: 32 lowercase hex characters).
    Create {
        #[arg(long)]
        name: String,
    },
    /// List projects as JSON.
    List,
    /// Delete a project with everything in it: its tasks are stopped and deleted, and its
    /// batch tasks, video sources and groups, alarms, grants, keys and tokens deleted.
    Delete {
        /// Project id or name.
        #[arg(long)]
        project: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccessKeyCommand {
    /// Create a key pair and print it as JSON (the only time the secret is shown).
    Create {
        #[arg(long)]
        user: String,
        /// Project id or name. [default: the user's only project]
        #[arg(long)]
        project: Option<String>,
    },
    /// List access keys (never secrets) as JSON.
    List,
    /// Delete an access key.
    Delete {
        #[arg(long)]
        access: String,
    },
}

/// Random letters and digits.
pub fn random_secret(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

/// An argon2 hash of `password`, computed on the blocking pool: it takes tens of milliseconds
/// of CPU, which must not stall the async runtime's threads.
pub async fn hash_password(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || vigil_core::password::hash(&password)).await?;
    anyhow::ensure!(!hash.is_empty(), "cannot hash the password");
    Ok(hash)
}

fn random_access_key() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..20).map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char).collect()
}

async fn project(store: &Store, id_or_name: &str) -> anyhow::Result<vigil_store::iam::Project> {
    store
        .find_project(id_or_name)
        .await?
        .ok_or_else(|| anyhow!("no project with id or name {id_or_name:?}"))
}

async fn user(store: &Store, name: &str) -> anyhow::Result<vigil_store::iam::User> {
    store
        .find_user(name)
        .await?
        .ok_or_else(|| anyhow!("no user named {name:?}"))
}

fn print(v: serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
}

pub async fn run(storage: &Storage, cmd: IamCommand) -> anyhow::Result<()> {
    let store = crate::serve::open_store(storage).await?;
    let result = dispatch(storage, &store, cmd).await;
    store.close().await;
    result
}

async fn dispatch(storage: &Storage, store: &Store, cmd: IamCommand) -> anyhow::Result<()> {
    match cmd {
        IamCommand::User(UserCommand::Create {
            name,
            password,
            project: p,
        }) => {
            if name.is_empty() || name.len() > 64 {
                bail!("user names are 1 to 64 characters");
            }
            let generated = password.is_none();
            let password = password.unwrap_or_else(|| random_secret(20));
            let id = vigil_core::ids::new_hex32_id();
            store.create_user(&id, &name, &hash_password(&password).await?).await?;
            if let Some(p) = p {
                store.grant_project(&id, &project(store, &p).await?.id).await?;
            }
            let mut out = json!({"id": id, "name": name});
            if generated {
                out["password"] = json!(password);
            }
            print(out);
        }
        IamCommand::User(UserCommand::List) => {
            let users = store.list_users().await?;
            print(json!(users
                .iter()
                .map(|u| json!({"id": u.id, "name": u.name, "projects": u.projects, "created_at": u.created_at}))
                .collect::<Vec<_>>()));
        }
        IamCommand::User(UserCommand::Delete { name }) => {
            store.delete_user(&name).await?;
            println!("deleted user {name}");
        }
        IamCommand::User(UserCommand::RevokeTokens { name }) => {
            let u = user(store, &name).await?;
            let n = store.revoke_user_tokens(&u.id, None).await?;
            println!("revoked {n} tokens of user {name}");
        }
        IamCommand::Project(ProjectCommand::Create { name }) => {
            let p = store.create_project(&vigil_core::ids::new_hex32_id(), &name).await?;
            print(json!({"id": p.id, "name": p.name}));
        }
        IamCommand::Project(ProjectCommand::List) => {
            let ps = store.list_projects().await?;
            print(json!(ps
                .iter()
                .map(|p| json!({"id": p.id, "name": p.name}))
                .collect::<Vec<_>>()));
        }
        IamCommand::Project(ProjectCommand::Delete { project: p }) => {
            let p = project(store, &p).await?;
            let d = store.delete_project(&p.id).await?;
            print(json!({"deleted": p.id, "tasks": d.tasks, "batch_tasks": d.batch_tasks,
                         "video_sources": d.video_sources, "video_groups": d.video_groups}));
        }
        IamCommand::Grant { user: u, project: p } => {
            let (u, p) = (user(store, &u).await?, project(store, &p).await?);
            store.grant_project(&u.id, &p.id).await?;
            println!("granted {} project {}", u.name, p.id);
        }
        IamCommand::AccessKey(AccessKeyCommand::Create { user: u, project: p }) => {
            let u = user(store, &u).await?;
            let project_id = match p {
                Some(p) => project(store, &p).await?.id,
                None if u.projects.len() == 1 => u.projects[0].clone(),
                None => bail!(
                    "user {} has {} projects; choose one with --project",
                    u.name,
                    u.projects.len()
                ),
            };
            if !u.projects.contains(&project_id) {
                bail!(
                    "user {} has no grant on project {project_id}; run `vigil iam grant` first",
                    u.name
                );
            }
            let secrets = crate::master_key::load(&storage.data_dir).context("loading the master key")?;
            let (access, secret) = (random_access_key(), random_secret(40));
            store
                .insert_access_key(&access, &u.id, &project_id, &secrets.seal(&secret))
                .await?;
            print(json!({"access": access, "secret": secret, "project_id": project_id}));
        }
        IamCommand::AccessKey(AccessKeyCommand::List) => {
            let keys = store.list_access_keys().await?;
            print(json!(keys
                .iter()
                .map(|k| json!({"access": k.access, "user": k.user_name, "project_id": k.project_id, "created_at": k.created_at}))
                .collect::<Vec<_>>()));
        }
        IamCommand::AccessKey(AccessKeyCommand::Delete { access }) => {
            store.delete_access_key(&access).await?;
            println!("deleted access key {access}");
        }
    }
    Ok(())
}
