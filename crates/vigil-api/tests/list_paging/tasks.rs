//! Paging of the Task Center and Operation Center lists: ListTasks, ListTasksDetails (legacy
//! VAS), ListBatchTasks and ListEdgePools. Each oracle below is the in-memory filter and sort
//! these endpoints used before they paged in SQL; every filter × sort × direction is walked page
//! by page and must give the oracle's items and counts, with ties in every sort key.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use vigil_core::catalog::{AlgorithmSpec, Catalog};
use vigil_store::batch_tasks::BatchRecord;
use vigil_store::nodes::NodeRecord;
use vigil_store::tasks::{NewTask, TaskRecord};

use crate::common::{url_source, Backend, TestServer};

const INTRUSION: &str = "c-intrusiondetection-cloud";
const FLOW: &str = "c-flowcount-cloud";
const PARTNER: &str = "partner-rule";
/// A millisecond epoch (≥ 10^11, so the legacy time filters read it as milliseconds).
const BASE_MS: i64 = 1_700_000_000_000;

fn q(pairs: &[(&str, String)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Sources (name, group indexes) and groups of the seed, created through the API.
struct Seed {
    sources: Vec<(String, String, Vec<usize>)>,
    groups: Vec<(String, String)>,
}

async fn seed_sources(s: &TestServer) -> Seed {
    let names = ["Gate North", "gate south", "Yard", "dock"];
    let mut sources = Vec::new();
    for n in names {
        let (st, v) = s.post("/v2/{p}/source", url_source(n)).await;
        assert_eq!(st, 200, "{v}");
        sources.push((
            v["video_source_id"].as_str().unwrap().to_string(),
            n.to_string(),
            Vec::new(),
        ));
    }
    let mut groups = Vec::new();
    for (gi, (name, members)) in [("north", [0usize, 1]), ("south", [1, 2])].into_iter().enumerate() {
        let ids: Vec<&String> = members.iter().map(|m| &sources[*m].0).collect();
        let (st, v) = s
            .post(
                "/v2/{p}/video-group",
                json!({"video_group_name": name, "access_type": "cloud", "video_source_ids": ids}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        groups.push((v["video_group_id"].as_str().unwrap().to_string(), name.to_string()));
        for m in members {
            sources[m].2.push(gi);
        }
    }
    Seed { sources, groups }
}

fn new_task(name: String, service: &str, version: &str, source: Option<String>, batch: Option<String>) -> NewTask {
    NewTask {
        name,
        description: String::new(),
        creator: "u".into(),
        service_name: service.into(),
        service_version: version.into(),
        placement: "cloud".into(),
        video_source_id: source,
        input: "{}".into(),
        output: "{}".into(),
        config: "{}".into(),
        schedule: None,
        legacy: false,
        resource_order_id: String::new(),
        edge_pool_id: String::new(),
        batch_id: batch,
        schedule_status: String::new(),
    }
}

/// 24 tasks over three services, four sources (plus none and a dangling one), three states
/// (and a stop-deploy stop), two batches; creation and update times tie in threes and fours.
async fn seed_tasks(s: &TestServer, seed: &Seed, batches: &[String]) -> Vec<TaskRecord> {
    let p = &s.a.project_id;
    let services = [INTRUSION, FLOW, PARTNER];
    let mut tasks = Vec::new();
    for i in 0..24usize {
        let source = match i % 6 {
            4 => None,
            5 => Some("0123456789abcdef0123456789abcdef".to_string()),
            k => Some(seed.sources[k].0.clone()),
        };
        let batch = match i % 5 {
            0 | 1 => None,
            _ if batches.is_empty() => None,
            k => batches.get(k % batches.len()).cloned(),
        };
        let name = if i % 2 == 0 {
            format!("Watch_{i}")
        } else {
            format!("watch_{i}")
        };
        let version = if i % 4 == 0 { "3.1" } else { "3.0" };
        tasks.push(new_task(name, services[i % 3], version, source, batch));
    }
    let ids = s.store.create_tasks(p, tasks, vec![], 1000).await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        let (state, status) = match i % 4 {
            0 => ("PENDING", ""),
            1 => ("RUNNING", ""),
            2 => ("STOPPED", ""),
            _ => ("STOPPED", "stopped_no_service"),
        };
        let created = BASE_MS + (i as i64 / 3) * 1000;
        let updated = BASE_MS + (i as i64 % 4) * 1000;
        s.store
            .execute_raw(&format!(
                "UPDATE tasks SET state = '{state}', status = '{status}', created_at = {created}, \
                 updated_at = {updated} WHERE id = '{id}'"
            ))
            .await
            .unwrap();
    }
    s.store.list_tasks(p).await.unwrap()
}

fn spec_of(service: &str) -> Option<&'static AlgorithmSpec> {
    Catalog::by_service_name(service).map(|(s, _)| s)
}

/// Today's ListTasks filter (`ListTasksParams::matches` over a task view).
fn task_matches(f: &HashMap<&str, String>, t: &TaskRecord, seed: &Seed) -> bool {
    let src = t
        .video_source_id
        .as_ref()
        .and_then(|id| seed.sources.iter().find(|s| &s.0 == id));
    let source_name = src.map(|s| s.1.clone()).unwrap_or_default();
    let group_ids: Vec<&String> = src
        .map(|s| s.2.iter().map(|g| &seed.groups[*g].0).collect())
        .unwrap_or_default();
    let spec = spec_of(&t.service_name);
    let title_ok = f
        .get("title")
        .is_none_or(|title| spec.is_some_and(|s| s.title == title.as_str() || s.title_en.eq_ignore_ascii_case(title)));
    let contains =
        |hay: &str, needle: Option<&String>| needle.is_none_or(|n| hay.to_lowercase().contains(&n.to_lowercase()));
    let groups_ok = f
        .get("video_group_id")
        .is_none_or(|g| g.split(',').any(|id| group_ids.iter().any(|x| *x == id.trim())));
    let company_ok = f
        .get("company")
        .is_none_or(|c| c.split(',').any(|x| x.trim().eq_ignore_ascii_case("vigil")));
    f.get("source_data_type").map(String::as_str) != Some("sync_task")
        && title_ok
        && contains(&source_name, f.get("camera_name"))
        && f.get("task_state").is_none_or(|s| s == &t.state)
        && contains(&t.name, f.get("task_name"))
        && f.get("batch_id")
            .is_none_or(|b| t.batch_id.as_deref() == Some(b.as_str()))
        && groups_ok
        && company_ok
        && f.get("alg_id").is_none_or(|a| spec.is_some_and(|s| &s.alg_id() == a))
}

async fn list_tasks_pages(b: Backend) {
    let s = TestServer::start(b).await;
    let seed = seed_sources(&s).await;
    let batches = vec!["b-one".to_string(), "b-two".to_string()];
    let all = seed_tasks(&s, &seed, &batches).await;
    let intrusion = spec_of(INTRUSION).unwrap();
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("title", intrusion.title.to_string())],
        vec![("title", intrusion.title_en.to_uppercase())],
        vec![("alg_id", intrusion.alg_id())],
        vec![
            ("alg_id", intrusion.alg_id()),
            ("title", spec_of(FLOW).unwrap().title.to_string()),
        ],
        vec![("camera_name", "GATE".into())],
        vec![("task_state", "RUNNING".into())],
        vec![("task_name", "WATCH_1".into())],
        vec![("batch_id", "b-one".into())],
        vec![("video_group_id", seed.groups[0].0.clone())],
        vec![("video_group_id", format!("{}, {}", seed.groups[1].0, seed.groups[0].0))],
        vec![("company", "other,VIGIL".into())],
        vec![("company", "other".into())],
        vec![("source_data_type", "sync_task".into())],
        vec![
            ("source_data_type", "async_task".into()),
            ("task_state", "STOPPED".into()),
        ],
    ];
    for f in &filters {
        let fm: HashMap<&str, String> = f.iter().cloned().collect();
        for dir in ["asc", "desc"] {
            let mut want: Vec<&String> = all
                .iter()
                .filter(|t| task_matches(&fm, t, &seed))
                .map(|t| &t.id)
                .collect();
            if dir == "desc" {
                want.reverse();
            }
            let mut got = Vec::new();
            for page in 1.. {
                let mut pairs = f.clone();
                pairs.extend([
                    ("sort_dir", dir.to_string()),
                    ("page_size", "5".into()),
                    ("page", page.to_string()),
                ]);
                let (st, v) = s.get(&format!("/v2/{{p}}/tasks?{}", q(&pairs))).await;
                assert_eq!(st, 200, "{v}");
                let items = v["tasks"].as_array().unwrap();
                assert_eq!(v["count"], items.len(), "{f:?} {dir} page {page}");
                got.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
                if items.len() < 5 {
                    break;
                }
            }
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "ListTasks {f:?} {dir}");
        }
    }
    s.finish().await;
}

/// Today's ListTasksDetails filter and sort.
fn legacy_oracle<'a>(
    all: &'a [TaskRecord],
    service: &str,
    f: &HashMap<&str, String>,
    order: &str,
) -> Vec<&'a TaskRecord> {
    let ms = |v: &String| {
        let v: i64 = v.parse().unwrap();
        if v < 100_000_000_000 {
            v * 1000
        } else {
            v
        }
    };
    let mut tasks: Vec<&TaskRecord> = all
        .iter()
        .filter(|t| {
            t.service_name == service
                && f.get("service_version").is_none_or(|v| &t.service_version == v)
                && f.get("state").is_none_or(|s| &t.state == s)
                && f.get("name_like").is_none_or(|n| t.name.contains(n.as_str()))
                && f.get("id_like").is_none_or(|n| t.id.contains(n.as_str()))
                && f.get("created_since").is_none_or(|v| t.created_at >= ms(v))
                && f.get("created_until").is_none_or(|v| t.created_at <= ms(v))
        })
        .collect();
    match order {
        "name:ASC" => tasks.sort_by(|a, b| a.name.cmp(&b.name)),
        "name:DESC" => tasks.sort_by(|a, b| b.name.cmp(&a.name)),
        "created_at:ASC" => tasks.sort_by_key(|t| t.created_at),
        "updated_at:ASC" => tasks.sort_by_key(|t| t.updated_at),
        "updated_at:DESC" => tasks.sort_by_key(|t| std::cmp::Reverse(t.updated_at)),
        _ => tasks.sort_by_key(|t| std::cmp::Reverse(t.created_at)),
    }
    tasks
}

async fn legacy_task_pages(b: Backend) {
    let s = TestServer::start(b).await;
    let seed = seed_sources(&s).await;
    let all = seed_tasks(&s, &seed, &[]).await;
    let id_part = all[0].id[..1].to_string();
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("service_version", "3.1".into())],
        vec![("state", "STOPPED".into())],
        vec![("name_like", "Watch".into())],
        vec![("id_like", id_part)],
        vec![("created_since", (BASE_MS + 2000).to_string())],
        vec![("created_until", ((BASE_MS + 5000) / 1000).to_string())],
    ];
    let orders = [
        "",
        "name:ASC",
        "name:DESC",
        "created_at:ASC",
        "created_at:DESC",
        "updated_at:ASC",
        "updated_at:DESC",
    ];
    for service in [INTRUSION, PARTNER] {
        for f in &filters {
            let fm: HashMap<&str, String> = f.iter().cloned().collect();
            for order in orders {
                let want: Vec<&String> = legacy_oracle(&all, service, &fm, order)
                    .into_iter()
                    .map(|t| &t.id)
                    .collect();
                let mut got = Vec::new();
                for offset in (0..).step_by(3) {
                    let mut pairs = f.clone();
                    pairs.extend([("offset", offset.to_string()), ("limit", "3".into())]);
                    if !order.is_empty() {
                        pairs.push(("order", order.into()));
                    }
                    let (st, v) = s
                        .get(&format!("/v2/{{p}}/services/{service}/tasks?{}", q(&pairs)))
                        .await;
                    assert_eq!(st, 200, "{v}");
                    assert_eq!(v["count"], want.len(), "{service} {f:?} {order}");
                    let items = v["tasks"].as_array().unwrap();
                    got.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
                    if items.len() < 3 {
                        break;
                    }
                }
                assert_eq!(got.iter().collect::<Vec<_>>(), want, "legacy {service} {f:?} {order}");
            }
        }
    }
    s.finish().await;
}

const STATE_KEYS: [&str; 18] = [
    "pending",
    "recovering",
    "starting",
    "upgrading",
    "create_failed",
    "start_failed",
    "running",
    "stopping",
    "stopped",
    "abnormal",
    "succeeded",
    "failed",
    "deleting",
    "freezing",
    "frozen",
    "stopped_no_service",
    "scheduling",
    "lack_of_resources",
];

/// Today's ListBatchTasks: every item (filtered) with its sort keys, in batch creation order.
fn batch_oracle(
    batches: &[BatchRecord],
    tasks: &[TaskRecord],
    seed: &Seed,
    p: &HashMap<&str, String>,
) -> Vec<(i64, i64, Value)> {
    let mut rows = Vec::new();
    for b in batches {
        let spec = Catalog::by_service_name(&b.service_name);
        let mine: Vec<_> = tasks.iter().filter(|t| t.batch_id.as_deref() == Some(&b.id)).collect();
        let group_names: Vec<&str> = seed
            .groups
            .iter()
            .filter(|g| b.group_ids.contains(&g.0))
            .map(|g| g.1.as_str())
            .collect();
        let source_names: Vec<&str> = mine
            .iter()
            .filter_map(|t| {
                seed.sources
                    .iter()
                    .find(|d| Some(&d.0) == t.video_source_id.as_ref())
                    .map(|d| d.1.as_str())
            })
            .collect();
        let mut counters: BTreeMap<&str, i64> = STATE_KEYS.iter().map(|k| (*k, 0)).collect();
        for t in &mine {
            let key = if t.state == "STOPPED" && t.status == "stopped_no_service" {
                t.status.clone()
            } else {
                t.state.to_lowercase()
            };
            if let Some(c) = counters.get_mut(key.as_str()) {
                *c += 1;
            }
        }
        let title = spec.map(|(s, _)| s.title).unwrap_or("");
        let keep = p.get("video_group").is_none_or(|vg| {
            vg.split(',')
                .any(|x| b.group_ids.iter().any(|g| g == x.trim()) || group_names.contains(&x.trim()))
        }) && p
            .get("task_state")
            .is_none_or(|s| counters.get(s.as_str()).copied().unwrap_or(0) > 0)
            && p.get("name_like").is_none_or(|n| {
                let field = if p.get("type_like").map(String::as_str) == Some("publish_service_name") {
                    &b.service_name
                } else {
                    &b.name
                };
                field.to_lowercase().contains(&n.to_lowercase())
            })
            && p.get("manufacturer").is_none_or(|m| m.eq_ignore_ascii_case("vigil"))
            && p.get("title").is_none_or(|t| t == title);
        if !keep {
            continue;
        }
        let item = json!({
            "id": b.id, "batch_task_name": b.name, "video_source_name": source_names.join(","),
            "video_group_name": group_names.join(","), "alg_name": title, "company": "Vigil",
            "type": spec.map(|(_, pl)| pl.as_str()).unwrap_or("cloud"), "num_task": mine.len(), "created_at": b.created_at,
            "batch_task_status_info": counters,
        });
        rows.push((b.created_at, mine.len() as i64, item));
    }
    rows
}

async fn batch_task_pages(b: Backend) {
    let s = TestServer::start(b).await;
    let p = s.a.project_id.clone();
    let seed = seed_sources(&s).await;
    // Seven batches: creation times tie in pairs, task counts tie too.
    let mut batch_ids = Vec::new();
    for i in 0..7usize {
        let groups = match i % 3 {
            0 => vec![seed.groups[0].0.clone()],
            1 => vec![seed.groups[0].0.clone(), seed.groups[1].0.clone()],
            _ => vec!["gone-group".to_string()],
        };
        let rec = BatchRecord {
            id: String::new(),
            project_id: p.clone(),
            name: if i % 2 == 0 {
                format!("Gate_{i}")
            } else {
                format!("yard_{i}")
            },
            description: String::new(),
            service_name: [INTRUSION, FLOW, PARTNER][i % 3].into(),
            service_version: "3.0".into(),
            batch_input: "{}".into(),
            output: "{}".into(),
            config: "{}".into(),
            schedule: None,
            resource_order_id: String::new(),
            group_ids: groups,
            created_at: 0,
            updated_at: 0,
        };
        let id = s.store.save_batch(rec, 100).await.unwrap();
        s.store
            .execute_raw(&format!(
                "UPDATE batch_tasks SET created_at = {} WHERE id = '{id}'",
                BASE_MS + (i as i64 / 2) * 1000
            ))
            .await
            .unwrap();
        batch_ids.push(id);
    }
    let tasks = seed_tasks(&s, &seed, &batch_ids[..5]).await;
    let mut batches = Vec::new();
    for id in &batch_ids {
        batches.push(s.store.get_batch(&p, id).await.unwrap());
    }
    batches.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("video_group", seed.groups[1].0.clone())],
        vec![("video_group", "nothing, north".into())],
        vec![("task_state", "running".into())],
        vec![("task_state", "stopped".into())],
        vec![("task_state", "stopped_no_service".into())],
        vec![("task_state", "frozen".into())],
        vec![("name_like", "GATE".into())],
        vec![
            ("type_like", "publish_service_name".into()),
            ("name_like", "FLOW".into()),
        ],
        vec![("manufacturer", "VIGIL".into())],
        vec![("manufacturer", "acme".into())],
        vec![("title", spec_of(INTRUSION).unwrap().title.into())],
    ];
    for f in &filters {
        let fm: HashMap<&str, String> = f.iter().cloned().collect();
        for sort in ["created_at", "task_count"] {
            for dir in ["asc", "desc"] {
                let mut rows = batch_oracle(&batches, &tasks, &seed, &fm);
                let by_count = sort == "task_count";
                rows.sort_by_key(|(created, count, _)| if by_count { (*count, *created) } else { (*created, 0) });
                if dir == "desc" {
                    rows.reverse();
                }
                let want: Vec<Value> = rows.into_iter().map(|r| r.2).collect();
                let base = [("sort_name", sort.to_string()), ("order_by", dir.to_string())];
                let mut pairs = f.clone();
                pairs.extend(base.clone());
                let (st, v) = s.get(&format!("/v2/{{p}}/batch-tasks?{}", q(&pairs))).await;
                assert_eq!(st, 200, "{v}");
                assert_eq!(
                    v["batch_task_list"].as_array().unwrap(),
                    &want,
                    "unpaged {f:?} {sort} {dir}"
                );
                let mut got = Vec::new();
                for page in 1.. {
                    let mut pairs = pairs.clone();
                    pairs.extend([
                        ("is_paged", "true".into()),
                        ("page_size", "5".into()),
                        ("page_num", page.to_string()),
                    ]);
                    let (st, v) = s.get(&format!("/v2/{{p}}/batch-tasks?{}", q(&pairs))).await;
                    assert_eq!(st, 200, "{v}");
                    assert_eq!(v["count"], want.len(), "{f:?} {sort} {dir}");
                    let items = v["batch_task_list"].as_array().unwrap();
                    got.extend(items.iter().cloned());
                    if items.len() < 5 {
                        break;
                    }
                }
                assert_eq!(got, want, "paged {f:?} {sort} {dir}");
            }
        }
    }
    s.finish().await;
}

async fn edge_pool_pages(b: Backend) {
    let s = TestServer::start(b).await;
    // One heartbeating node joins pool-a and pool-b by name: those two are Running.
    let node = NodeRecord {
        id: "w1".into(),
        name: "host-w1".into(),
        description: String::new(),
        cpu: 4,
        arch: "x86_64".into(),
        memory: 1024,
        gpu_info: vec![],
        npu_info: vec![],
        version: "0".into(),
        pools: vec!["pool-a".into(), "pool-b".into()],
        lease_ttl: 600_000,
        started_at: 0,
        heartbeat_at: 0,
    };
    s.store.upsert_node(&node).await.unwrap();
    let mut pools = Vec::new();
    for (i, name) in ["pool-a", "pool-b", "pool-c", "yard-a", "yard-b", "dock-x", "pool-d"]
        .iter()
        .enumerate()
    {
        let (st, v) = s.post("/v2/{p}/edge-pools", json!({"name": name})).await;
        assert_eq!(st, 200, "{v}");
        let id = v["id"].as_str().unwrap().to_string();
        let (created, updated) = (BASE_MS + (i as i64 / 2) * 1000, BASE_MS + (i as i64 % 3) * 1000);
        s.store
            .execute_raw(&format!(
                "UPDATE edge_pools SET created_at = {created}, updated_at = {updated} WHERE id = '{id}'"
            ))
            .await
            .unwrap();
        let state = if i < 2 { "Running" } else { "Abnormal" };
        pools.push((id, name.to_string(), created, updated, state));
    }
    let filters: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("name_like", "pool".into())],
        vec![("name_like", "-a".into())],
        vec![("state", "Running".into())],
        vec![("state", "Abnormal".into()), ("name_like", "yard".into())],
    ];
    for f in &filters {
        let fm: HashMap<&str, String> = f.iter().cloned().collect();
        for sort in ["created_at", "updated_at"] {
            for dir in ["asc", "desc"] {
                // Today's filter and `PagedSwitch::sort_and_page`.
                let mut want: Vec<_> = pools
                    .iter()
                    .filter(|p| fm.get("name_like").is_none_or(|n| p.1.contains(n.as_str())))
                    .filter(|p| fm.get("state").is_none_or(|st| p.4 == st))
                    .collect();
                want.sort_by_key(|p| (if sort == "updated_at" { p.3 } else { p.2 }, p.0.clone()));
                if dir == "desc" {
                    want.reverse();
                }
                let want: Vec<&String> = want.iter().map(|p| &p.0).collect();
                let mut got = Vec::new();
                for page in 1.. {
                    let mut pairs = f.clone();
                    pairs.extend([
                        ("sort_name", sort.to_string()),
                        ("order_by", dir.to_string()),
                        ("is_paged", "true".into()),
                        ("page_size", "2".into()),
                        ("page_num", page.to_string()),
                    ]);
                    let (st, v) = s.get(&format!("/v2/{{p}}/edge-pools?{}", q(&pairs))).await;
                    assert_eq!(st, 200, "{v}");
                    assert_eq!(v["count"], want.len(), "{f:?} {sort} {dir}");
                    let items = v["edge_pools"].as_array().unwrap();
                    for it in items {
                        let p = pools.iter().find(|p| p.0 == it["id"]).unwrap();
                        assert_eq!(it["state"], p.4, "{it}");
                    }
                    got.extend(items.iter().map(|t| t["id"].as_str().unwrap().to_string()));
                    if items.len() < 2 {
                        break;
                    }
                }
                assert_eq!(got.iter().collect::<Vec<_>>(), want, "edge pools {f:?} {sort} {dir}");
            }
        }
    }
    s.finish().await;
}

crate::both_backends!(list_tasks_pages, legacy_task_pages, batch_task_pages, edge_pool_pages);
