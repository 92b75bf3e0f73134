//! Pool-aware scheduling: which tasks this node may run, and the `stream_count` capacity of
//! algorithm deployments. A task's required pool is its legacy `edge_pool_id` when set, else
//! the pool of its algorithm's running deployment in its project (`cloud` = any node). A node
//! runs only tasks with no required pool or whose pool counts it as a member.

use std::collections::HashMap;

use vigil_core::catalog::Catalog;
use vigil_store::algorithm_deployments::{Deployment, SERVICE_RUNNING, SERVICE_STOPPED};
use vigil_store::edge_pools::EdgePoolRecord;
use vigil_store::tasks::TaskRecord;
use vigil_store::{Store, StoreError};

/// What a PENDING task shows while its algorithm's deployment is at capacity.
pub fn capacity_status(stream_count: i64) -> String {
    format!("waiting for deployment capacity (stream_count {stream_count})")
}

/// What a PENDING task shows while the edge pool it is pinned to does not exist.
pub fn missing_pool_status(pool_id: &str) -> String {
    format!("waiting for edge pool {pool_id}, which does not exist in this project")
}

/// Whether this node may run a task, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The task is pinned to a pool this node is not a member of (or that does not exist).
    OtherPool(String),
    /// The algorithm's deployment is stopped: none of its tasks runs.
    ServiceStopped,
}

/// The scheduling view of one tick: every pool and deployment, and this node.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    node_id: String,
    node_pools: Vec<String>,
    pools: HashMap<String, EdgePoolRecord>,
    deployments: HashMap<(String, String), Deployment>,
    /// alg_id by (project, service name), filled as tasks are looked at.
    alg_ids: HashMap<(String, String), Option<String>>,
}

impl Placement {
    pub fn new(node_id: &str, node_pools: &[String], pools: Vec<EdgePoolRecord>, deployments: Vec<Deployment>) -> Self {
        Self {
            node_id: node_id.to_string(),
            node_pools: node_pools.to_vec(),
            pools: pools.into_iter().map(|p| (p.id.clone(), p)).collect(),
            deployments: deployments
                .into_iter()
                .map(|d| ((d.project_id.clone(), d.alg_id.clone()), d))
                .collect(),
            alg_ids: HashMap::new(),
        }
    }

    /// Two reads: every pool and every deployment.
    pub async fn load(store: &Store, node_id: &str, node_pools: &[String]) -> Result<Self, StoreError> {
        Ok(Self::new(
            node_id,
            node_pools,
            store.all_edge_pools().await?,
            store.all_deployments().await?,
        ))
    }

    /// Nothing pins or limits any task (the common case: no pools, no deployments).
    pub fn is_open(&self) -> bool {
        self.pools.is_empty() && self.deployments.is_empty()
    }

    /// A task's algorithm id: the catalogue's for a built-in service name, else the model
    /// package's for a partner service (one store read per service name and tick).
    pub async fn alg_id(
        &mut self,
        store: &Store,
        project_id: &str,
        service_name: &str,
    ) -> Result<Option<String>, StoreError> {
        if let Some((spec, _)) = Catalog::by_service_name(service_name) {
            return Ok(Some(spec.alg_id()));
        }
        let key = (project_id.to_string(), service_name.to_string());
        if let Some(hit) = self.alg_ids.get(&key) {
            return Ok(hit.clone());
        }
        let found = if self.deployments.keys().any(|(p, _)| p == project_id) {
            store.partner_alg_id(project_id, service_name).await?
        } else {
            None // no deployment in the project: the alg_id would not change anything
        };
        self.alg_ids.insert(key, found.clone());
        Ok(found)
    }

    /// The deployment of a task's algorithm in its project.
    pub fn deployment(&self, project_id: &str, alg_id: Option<&str>) -> Option<&Deployment> {
        self.deployments.get(&(project_id.to_string(), alg_id?.to_string()))
    }

    /// The pool a task must run in, if any.
    pub fn required_pool(&self, task: &TaskRecord, alg_id: Option<&str>) -> Option<String> {
        if !task.edge_pool_id.is_empty() {
            return Some(task.edge_pool_id.clone());
        }
        self.deployment(&task.project_id, alg_id)
            .and_then(|d| d.required_pool())
            .map(str::to_string)
    }

    /// Whether the project has an edge pool with this id.
    pub fn pool_exists(&self, project_id: &str, pool_id: &str) -> bool {
        self.pools.get(pool_id).is_some_and(|p| p.project_id == project_id)
    }

    fn member_of(&self, pool: &EdgePoolRecord) -> bool {
        pool.nodes.iter().any(|id| id == &self.node_id) || self.node_pools.iter().any(|p| p == &pool.name)
    }

    /// Whether this node may run the task.
    pub fn verdict(&self, task: &TaskRecord, alg_id: Option<&str>) -> Verdict {
        if task.edge_pool_id.is_empty()
            && self
                .deployment(&task.project_id, alg_id)
                .is_some_and(|d| d.status == SERVICE_STOPPED)
        {
            return Verdict::ServiceStopped;
        }
        match self.required_pool(task, alg_id) {
            None => Verdict::Allowed,
            Some(id) => match self.pools.get(&id) {
                Some(p) if p.project_id == task.project_id && self.member_of(p) => Verdict::Allowed,
                _ => Verdict::OtherPool(id),
            },
        }
    }

    /// The `stream_count` limiting the task's algorithm, when its deployment runs.
    pub fn capacity(&self, task: &TaskRecord, alg_id: Option<&str>) -> Option<i64> {
        self.deployment(&task.project_id, alg_id)
            .filter(|d| d.status == SERVICE_RUNNING && d.stream_count > 0)
            .map(|d| d.stream_count)
    }

    /// The tasks of the project that share `alg_id` and hold a live lease, oldest first.
    pub async fn live_of_alg(
        &mut self,
        store: &Store,
        project_id: &str,
        alg_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for (id, service) in store.live_leased_tasks(project_id).await? {
            if self.alg_id(store, project_id, &service).await?.as_deref() == Some(alg_id) {
                out.push(id);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::algorithm_deployments::CLOUD_POOL;

    fn pool(id: &str, project: &str, name: &str, listed: &[&str]) -> EdgePoolRecord {
        EdgePoolRecord {
            id: id.into(),
            project_id: project.into(),
            name: name.into(),
            description: String::new(),
            ief_service_instance_id: String::new(),
            nodes: listed.iter().map(|s| s.to_string()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn dep(project: &str, alg: &str, pool: &str, status: &str, n: i64) -> Deployment {
        Deployment {
            project_id: project.into(),
            alg_id: alg.into(),
            pool_id: pool.into(),
            stream_count: n,
            deploy_config: "{}".into(),
            envs: "{}".into(),
            status: status.into(),
            created_at: 1,
            updated_at: 1,
        }
    }

    fn task(project: &str, edge_pool_id: &str) -> TaskRecord {
        TaskRecord {
            id: "t".into(),
            project_id: project.into(),
            name: "t".into(),
            description: String::new(),
            creator: String::new(),
            service_name: "c-intrusiondetection-cloud".into(),
            service_version: "3.0".into(),
            placement: "cloud".into(),
            video_source_id: None,
            input: "{}".into(),
            output: "{}".into(),
            config: "{}".into(),
            schedule: None,
            legacy: false,
            resource_order_id: String::new(),
            edge_pool_id: edge_pool_id.into(),
            batch_id: None,
            state: "PENDING".into(),
            status: String::new(),
            error_code: String::new(),
            error_message: String::new(),
            schedule_status: String::new(),
            revision: 1,
            lease_owner: None,
            lease_expires_at: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn pinned_tasks_run_only_on_members() {
        let pools = vec![pool("pa", "p1", "pool-a", &[]), pool("pb", "p1", "pool-b", &["w9"])];
        let deps = vec![
            dep("p1", "alg-a", "pa", SERVICE_RUNNING, 10),
            dep("p1", "alg-c", CLOUD_POOL, SERVICE_RUNNING, 10),
            dep("p1", "alg-s", "pa", SERVICE_STOPPED, 10),
        ];
        let in_a = Placement::new("w1", &["pool-a".into()], pools.clone(), deps.clone());
        let listed_in_b = Placement::new("w9", &[], pools.clone(), deps.clone());
        let none = Placement::new("w5", &[], pools, deps);
        let plain = task("p1", "");
        for p in [&in_a, &listed_in_b, &none] {
            assert_eq!(p.verdict(&plain, None), Verdict::Allowed);
            assert_eq!(p.verdict(&plain, Some("alg-c")), Verdict::Allowed, "cloud = any node");
            assert_eq!(p.verdict(&plain, Some("alg-s")), Verdict::ServiceStopped);
        }
        // Deployed to pool-a: only its member w1.
        assert_eq!(in_a.verdict(&plain, Some("alg-a")), Verdict::Allowed);
        assert_eq!(none.verdict(&plain, Some("alg-a")), Verdict::OtherPool("pa".into()));
        // Legacy edge_pool_id wins over the deployment; members by name and by listing.
        let legacy_b = task("p1", "pb");
        assert_eq!(listed_in_b.verdict(&legacy_b, Some("alg-a")), Verdict::Allowed);
        assert_eq!(in_a.verdict(&legacy_b, None), Verdict::OtherPool("pb".into()));
        // A pool of another project or an unknown pool pins the task to no node.
        assert_eq!(in_a.verdict(&task("p2", "pa"), None), Verdict::OtherPool("pa".into()));
        assert_eq!(
            in_a.verdict(&task("p1", "nope"), None),
            Verdict::OtherPool("nope".into())
        );
    }

    #[test]
    fn capacity_comes_from_running_deployments() {
        let deps = vec![
            dep("p1", "a", "cloud", SERVICE_RUNNING, 2),
            dep("p1", "b", "cloud", SERVICE_STOPPED, 2),
        ];
        let p = Placement::new("w", &[], vec![], deps);
        let t = task("p1", "");
        assert_eq!(p.capacity(&t, Some("a")), Some(2));
        assert_eq!(p.capacity(&t, Some("b")), None);
        assert_eq!(p.capacity(&t, None), None);
        assert!(!p.is_open());
        assert!(Placement::new("w", &[], vec![], vec![]).is_open());
    }
}
