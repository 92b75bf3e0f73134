//! Paging of the Video Center lists: ListVideoSources and ListVideoGroups. Each oracle below is
//! the in-memory filter and sort these endpoints used before they paged in SQL, run over the
//! project's rows read straight from the tables (counters recounted from `tasks` and
//! `source_templates`, so the stored counters are checked too). Every filter × sort × direction
//! is walked page by page and must give the oracle's items and counts, ties in every sort key.

use std::collections::HashMap;

use serde_json::{json, Value};
use sqlx::Row;
use vigil_store::tasks::{NewTask, TemplateWrite};

use crate::common::{url_source, Backend, TestServer};

const PAGE: usize = 5;
const URL: &str = "<type_config><url_address>rtsp://h/s</url_address></type_config>";
const OBS: &str = "<type_config><bucket>videos</bucket><path>a.mp4</path></type_config>";
const CAMERA: &str = "<type_config><device_id>dev1</device_id><name>c</name></type_config>";

async fn sql(s: &TestServer, q: &str) {
    use sqlx::Executor;
    s.store.pool().execute(q).await.unwrap();
}

async fn rows(s: &TestServer, q: &str) -> Vec<sqlx::any::AnyRow> {
    sqlx::query(q)
        .bind(&s.a.project_id)
        .fetch_all(s.store.pool())
        .await
        .unwrap()
}

fn str_list(v: &Value, list: &str, key: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {v}"))
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

fn new_task(name: String, source: &str) -> NewTask {
    NewTask {
        name,
        description: String::new(),
        creator: String::new(),
        service_name: "c-intrusiondetection-cloud".into(),
        service_version: "3.0".into(),
        placement: "cloud".into(),
        video_source_id: Some(source.to_string()),
        input: "{}".into(),
        output: "{}".into(),
        config: "{}".into(),
        schedule: None,
        legacy: false,
        resource_order_id: String::new(),
        edge_pool_id: String::new(),
        batch_id: None,
        schedule_status: String::new(),
    }
}

fn template(source: &str, name: &str) -> TemplateWrite {
    TemplateWrite {
        source_id: source.to_string(),
        name: name.to_string(),
        roi: "{}".into(),
        service_config: "{}".into(),
    }
}

/// Group names and access types.
const GROUPS: &[(&str, &str)] = &[
    ("Alpha", "cloud"),
    ("alpha_two", "cloud"),
    ("Beta", "edge"),
    ("Gamma", "cloud"),
    ("delta", "edge"),
    ("echo", "cloud"),
    ("Fox", "edge"),
    ("golf", "cloud"),
    ("Hotel", "cloud"),
];
/// A source: name, access type, type, tags, indexes of its groups in [`GROUPS`], status level.
type SourceSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [usize],
    i64,
);
const SOURCES: &[SourceSeed] = &[
    ("Front Door", "cloud", "url", &["door"], &[0], 1),
    ("back DOOR", "cloud", "obs", &[], &[0, 1], 2),
    ("Yard cam", "edge", "camera", &["yard"], &[2], 9),
    ("Lobby", "cloud", "url", &["door", "Door"], &[], 1),
    ("door 5", "cloud", "url", &["Door"], &[1, 8], 2),
    ("Dock", "edge", "url", &[], &[2], 2),
    ("Garage", "cloud", "obs", &["yard"], &[0, 3], 1),
    ("Roof", "edge", "camera", &[], &[4], 2),
    ("Hall a", "cloud", "url", &[], &[3], 9),
    ("hall B", "cloud", "url", &["x"], &[8], 1),
    ("Gate_1", "cloud", "url", &[], &[0], 2),
    ("Gate.2", "cloud", "url", &[], &[], 2),
    ("大门", "cloud", "url", &["门"], &[1], 2),
    ("Side (b)", "cloud", "url", &[], &[7], 2),
];

/// Groups and sources of project a (ids in seed order), with ties in every sort key: tasks,
/// templates and batch links written through the store (the counters' writers) or raw SQL.
async fn seed(s: &TestServer) -> (Vec<String>, Vec<String>) {
    let mut groups = Vec::new();
    for (name, access) in GROUPS {
        let (st, v) = s
            .post(
                "/v2/{p}/video-group",
                json!({"video_group_name": name, "access_type": access}),
            )
            .await;
        assert_eq!(st, 200, "{v}");
        groups.push(v["video_group_id"].as_str().unwrap().to_string());
    }
    let mut sources = Vec::new();
    for (name, access, ty, tags, gs, _) in SOURCES {
        let tc = match *ty {
            "obs" => OBS,
            "camera" => CAMERA,
            _ => URL,
        };
        let gids: Vec<&String> = gs.iter().map(|g| &groups[*g]).collect();
        let body = json!({"video_source_name": name, "access_type": access, "type": ty, "type_config": tc,
                          "video_group_ids": gids, "tag": tags});
        let (st, v) = s.post("/v2/{p}/source", body).await;
        assert_eq!(st, 200, "{v}");
        sources.push(v["video_source_id"].as_str().unwrap().to_string());
    }
    for (id, seed) in sources.iter().zip(SOURCES) {
        let health = vigil_store::video_sources::SourceHealth {
            status: seed.5,
            stream_path: None,
            image: None,
            quality: vec![],
            scene_recommend: None,
        };
        s.store.set_source_health(id, health).await.unwrap();
    }
    // Tasks: 3 → 2, 1 → 1, 5 → 2 then 1 (one moves to 7), 9 → 1 then 0 (deleted), 12 → 2.
    let p = &s.a.project_id;
    let mut tasks = Vec::new();
    for (n, src) in [3, 3, 1, 5, 5, 9, 12, 12].iter().enumerate() {
        tasks.push(new_task(format!("task-{n}"), &sources[*src]));
    }
    // Templates: 2 → 1, 6 → 2 (one saved twice), 10 → 1, 13 → 2.
    let templates = vec![
        template(&sources[2], "c-a"),
        template(&sources[6], "c-a"),
        template(&sources[6], "c-b"),
        template(&sources[6], "c-a"),
        template(&sources[10], "c-b"),
    ];
    let ids = s.store.create_tasks(p, tasks, templates, 1000).await.unwrap();
    let mut moved = s.store.get_task(p, &ids[4]).await.unwrap();
    moved.video_source_id = Some(sources[7].clone());
    s.store
        .update_task(
            &moved,
            vec![template(&sources[13], "c-a"), template(&sources[13], "c-c")],
        )
        .await
        .unwrap();
    s.store.delete_task(p, &ids[5]).await.unwrap();
    // Ties in the time keys, and batch tasks on groups (0 → 2, 2 → 1, 5 → 1).
    let list = |ids: &[&String]| ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(",");
    let (v, g) = (&sources, &groups);
    for (table, column, ids) in [
        ("video_sources", "create_at = 1000", [&v[0], &v[1], &v[2]]),
        ("video_sources", "create_at = 2000", [&v[5], &v[6], &v[6]]),
        ("video_groups", "create_at = 1000", [&g[0], &g[1], &g[4]]),
        ("video_groups", "modify_at = 3000", [&g[2], &g[3], &g[7]]),
    ] {
        sql(s, &format!("UPDATE {table} SET {column} WHERE id IN ({})", list(&ids))).await;
    }
    for (batch, group) in [("b1", 0), ("b2", 0), ("b1", 2), ("b3", 5)] {
        sql(
            s,
            &format!(
                "INSERT INTO batch_task_groups (batch_id, group_id) VALUES ('{batch}', '{}')",
                g[group]
            ),
        )
        .await;
    }
    // Another project's rows count nowhere.
    let (st, _) = s
        .call_as(
            &s.b,
            reqwest::Method::POST,
            "/v2/{p}/source",
            Some(url_source("Front Door")),
        )
        .await;
    assert_eq!(st, 200);
    (groups, sources)
}

/// A source as the old list saw it (`SourceDetail`), read from the tables.
#[derive(Debug, Clone)]
struct Src {
    id: String,
    name: String,
    status: i64,
    source_type: String,
    access_type: String,
    tags: Vec<String>,
    create_at: i64,
    /// (id, name), oldest group first.
    groups: Vec<(String, String)>,
    num_tasks: i64,
    num_templates: i64,
}

async fn load_sources(s: &TestServer) -> Vec<Src> {
    let count = |q: &'static str| async move {
        let mut m: HashMap<String, i64> = HashMap::new();
        for r in rows(s, q).await {
            m.insert(r.get::<String, _>(0), r.get::<i64, _>(1));
        }
        m
    };
    let tasks = count(
        "SELECT t.video_source_id, COUNT(*) FROM tasks t WHERE t.project_id = $1 AND t.video_source_id IS NOT NULL \
         GROUP BY t.video_source_id",
    )
    .await;
    let templates = count(
        "SELECT p.source_id, COUNT(*) FROM source_templates p JOIN video_sources v ON v.id = p.source_id \
         WHERE v.project_id = $1 GROUP BY p.source_id",
    )
    .await;
    let mut groups: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for r in rows(
        s,
        "SELECT m.source_id, g.id, g.name FROM video_group_members m JOIN video_groups g ON g.id = m.group_id \
         WHERE g.project_id = $1 ORDER BY g.create_at, g.id",
    )
    .await
    {
        groups.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
    }
    rows(
        s,
        "SELECT id, name, status, source_type, access_type, tags, create_at FROM video_sources WHERE project_id = $1",
    )
    .await
    .iter()
    .map(|r| {
        let id: String = r.get(0);
        Src {
            name: r.get(1),
            status: r.get(2),
            source_type: r.get(3),
            access_type: r.get(4),
            tags: serde_json::from_str(&r.get::<String, _>(5)).unwrap(),
            create_at: r.get(6),
            groups: groups.remove(&id).unwrap_or_default(),
            num_tasks: tasks.get(&id).copied().unwrap_or(0),
            num_templates: templates.get(&id).copied().unwrap_or(0),
            id,
        }
    })
    .collect()
}

/// The values of a query string's parameter: repeated keys and comma-joined lists.
fn values(q: &str, key: &str) -> Vec<String> {
    form_urlencoded::parse(q.as_bytes())
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

fn value(q: &str, key: &str) -> Option<String> {
    values(q, key).pop()
}

/// The filtering parameters of ListVideoSources.
#[derive(Debug, Clone, Default)]
struct SourceFilter {
    scope: Option<String>,
    scope_name: Option<String>,
    status: Vec<String>,
    source_type: Vec<String>,
    video_group_id: Vec<String>,
    access_type: Vec<String>,
    platform_name: Option<String>,
    tag: Option<String>,
}

impl SourceFilter {
    fn parse(q: &str) -> Self {
        Self {
            scope: value(q, "scope"),
            scope_name: value(q, "scope_name"),
            status: values(q, "status"),
            source_type: values(q, "type"),
            video_group_id: values(q, "video_group_id"),
            access_type: values(q, "access_type"),
            platform_name: value(q, "platform_name"),
            tag: value(q, "tag"),
        }
    }

    /// `ListVideoSourcesParams::matches` before issue 15.
    fn matches(&self, d: &Src) -> bool {
        let scope_ok = match &self.scope {
            None => true,
            Some(text) => {
                let text = text.to_lowercase();
                if self.scope_name.as_deref() == Some("group_name") {
                    d.groups.iter().any(|g| g.1.to_lowercase().contains(&text))
                } else {
                    d.name.to_lowercase().contains(&text)
                }
            }
        };
        let level = d.status.to_string();
        scope_ok
            && self.platform_name.is_none()
            && (self.status.is_empty() || self.status.contains(&level))
            && (self.source_type.is_empty() || self.source_type.contains(&d.source_type))
            && (self.video_group_id.is_empty() || d.groups.iter().any(|g| self.video_group_id.contains(&g.0)))
            && (self.access_type.is_empty() || self.access_type.contains(&d.access_type))
            && self.tag.as_ref().is_none_or(|t| d.tags.contains(t))
    }
}

/// `PagedSwitch::sort_and_page`'s order: ascending by (key, id), reversed for desc.
fn oracle_order<T>(mut items: Vec<T>, key: impl Fn(&T) -> (i64, String), ascending: bool) -> Vec<T> {
    items.sort_by_key(|x| key(x));
    if !ascending {
        items.reverse();
    }
    items
}

/// Where a list endpoint puts its items and counts.
struct ListShape {
    path: &'static str,
    list: &'static str,
    id: &'static str,
    matched: &'static str,
    total: &'static str,
}

const SOURCE_LIST: ListShape = ListShape {
    path: "/v2/{p}/source/sources",
    list: "video_source_list",
    id: "video_source_id",
    matched: "video_source_number",
    total: "total_number",
};

const GROUP_LIST: ListShape = ListShape {
    path: "/v2/{p}/video-group/groups",
    list: "video_group_list",
    id: "video_group_id",
    matched: "video_group_number",
    total: "total_number",
};

/// Walks every page of the list for query `q` (and the unpaged list), comparing the items with
/// the oracle's `want` (`check` compares one item with its oracle row) and the counts.
async fn walk<T: HasId>(
    s: &TestServer,
    shape: &ListShape,
    q: &str,
    want: &[T],
    total: usize,
    check: impl Fn(&Value, &T),
) {
    let want_ids: Vec<&str> = want.iter().map(|x| x.id()).collect();
    let mut got = Vec::new();
    // One page past the last, which must be empty.
    for page in 1..=want.len().div_ceil(PAGE) + 1 {
        let q = format!("{q}&is_paged=true&page_size={PAGE}&page_num={page}");
        let (st, v) = s.get(&format!("{}?{q}", shape.path)).await;
        assert_eq!(st, 200, "{q}: {v}");
        assert_eq!(v[shape.matched], want.len(), "{q}");
        assert_eq!(v[shape.total], total, "{q}");
        let items = v[shape.list].as_array().unwrap();
        for (n, item) in items.iter().enumerate() {
            check(item, &want[(page - 1) * PAGE + n]);
        }
        got.extend(str_list(&v, shape.list, shape.id));
    }
    assert_eq!(got, want_ids, "{q} paged");
    let (_, v) = s.get(&format!("{}?{q}", shape.path)).await;
    assert_eq!(str_list(&v, shape.list, shape.id), want_ids, "{q} unpaged");
    assert_eq!(v[shape.matched], want.len(), "{q} unpaged");
}

trait HasId {
    fn id(&self) -> &str;
}

impl HasId for Src {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for Grp {
    fn id(&self) -> &str {
        &self.id
    }
}

async fn sources_paging(b: Backend) {
    let s = TestServer::start(b).await;
    let (groups, _) = seed(&s).await;
    let all = load_sources(&s).await;
    assert_eq!(all.len(), SOURCES.len());
    // `{gN}`: the id of group N.
    let filters = [
        "",
        "scope=door",
        "scope=DOOR&scope_name=source_name",
        "scope=a",
        "scope=oor",
        "scope=ate_",
        "scope=E.2",
        "scope=(b)",
        "scope=ALL B",
        "scope=%",
        "scope=大门",
        "scope=门",
        "scope=alp&scope_name=group_name",
        "scope=ETA&scope_name=group_name",
        "scope=_&scope_name=group_name",
        "status=1",
        "status=2&status=9",
        "type=url",
        "type=obs,camera",
        "video_group_id={g0}",
        "video_group_id={g1},{g2}",
        "video_group_id={g5}",
        "access_type=edge",
        "access_type=cloud&access_type=edge",
        "platform_name=hcs",
        "tag=door",
        "tag=Door",
        "tag=门",
        "tag=doo",
        "scope=o&status=1,2&access_type=cloud",
    ]
    .map(|q| {
        let q = (0..groups.len()).fold(q.to_string(), |q, n| q.replace(&format!("{{g{n}}}"), &groups[n]));
        (SourceFilter::parse(&q), q)
    });
    let check = |item: &Value, d: &Src| {
        assert_eq!(item["num_tasks"], d.num_tasks, "{}", d.name);
        assert_eq!(item["num_service_config_templates"], d.num_templates, "{}", d.name);
        let gids: Vec<&str> = d.groups.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(str_list(item, "video_packages", "video_group_id"), gids, "{}", d.name);
        assert!(item.get("image").is_none());
    };
    for (filter, q) in &filters {
        let hits: Vec<Src> = all.iter().filter(|d| filter.matches(d)).cloned().collect();
        for sort in ["create_at", "num_task", "num_template"] {
            let key = |d: &Src| {
                let k = match sort {
                    "num_task" => d.num_tasks,
                    "num_template" => d.num_templates,
                    _ => d.create_at,
                };
                (k, d.id.clone())
            };
            for dir in ["asc", "desc"] {
                let want = oracle_order(hits.clone(), key, dir == "asc");
                let q = format!("{q}&sort_name={sort}&order_by={dir}");
                walk(&s, &SOURCE_LIST, &q, &want, all.len(), check).await;
            }
        }
        // Defaults: create_at, desc.
        let want = oracle_order(hits, |d| (d.create_at, d.id.clone()), false);
        walk(&s, &SOURCE_LIST, q, &want, all.len(), check).await;
    }
    s.finish().await;
}

/// A group as the old list saw it (`GroupRecord`), read from the tables.
#[derive(Debug, Clone)]
struct Grp {
    id: String,
    name: String,
    access_type: String,
    create_at: i64,
    modify_at: i64,
    /// (status, type) of each member source.
    members: Vec<(i64, String)>,
    num_batch_task: i64,
}

impl Grp {
    fn count(&self, level: i64) -> usize {
        self.members.iter().filter(|m| m.0 == level).count()
    }

    fn types(&self) -> Vec<String> {
        let mut t: Vec<String> = self.members.iter().map(|m| m.1.clone()).collect();
        t.sort();
        t.dedup();
        t
    }
}

async fn load_groups(s: &TestServer) -> Vec<Grp> {
    let mut members: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for r in rows(
        s,
        "SELECT m.group_id, v.status, v.source_type FROM video_group_members m \
         JOIN video_sources v ON v.id = m.source_id WHERE v.project_id = $1",
    )
    .await
    {
        members.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
    }
    rows(
        s,
        "SELECT g.id, g.name, g.access_type, g.create_at, g.modify_at, \
         (SELECT COUNT(*) FROM batch_task_groups b WHERE b.group_id = g.id) FROM video_groups g WHERE g.project_id = $1",
    )
    .await
    .iter()
    .map(|r| {
        let id: String = r.get(0);
        Grp {
            name: r.get(1),
            access_type: r.get(2),
            create_at: r.get(3),
            modify_at: r.get(4),
            num_batch_task: r.get(5),
            members: members.remove(&id).unwrap_or_default(),
            id,
        }
    })
    .collect()
}

/// The filtering parameters of ListVideoGroups.
#[derive(Debug, Clone, Default)]
struct GroupFilter {
    name: Option<String>,
    status: Option<String>,
    access_type: Vec<String>,
    has_task: Option<bool>,
    source_type: Vec<String>,
}

impl GroupFilter {
    fn parse(q: &str) -> Self {
        Self {
            name: value(q, "name"),
            status: value(q, "status"),
            access_type: values(q, "access_type"),
            has_task: value(q, "has_task").map(|h| h == "true"),
            source_type: values(q, "type"),
        }
    }

    /// `ListVideoGroupsParams::matches` before issue 15.
    fn matches(&self, g: &Grp) -> bool {
        let name_ok = self
            .name
            .as_ref()
            .is_none_or(|n| g.name.to_lowercase().contains(&n.to_lowercase()));
        let status_ok = match self.status.as_deref() {
            Some("1") => g.count(1) > 0,
            Some("2") => g.count(2) > 0,
            Some("9") => g.count(9) > 0,
            _ => true,
        };
        let types = g.types();
        name_ok
            && status_ok
            && (self.access_type.is_empty() || self.access_type.contains(&g.access_type))
            && self.has_task.is_none_or(|h| h == (g.num_batch_task > 0))
            && (self.source_type.is_empty() || types.iter().any(|t| self.source_type.contains(t)))
    }
}

async fn groups_paging(b: Backend) {
    let s = TestServer::start(b).await;
    seed(&s).await;
    let all = load_groups(&s).await;
    assert_eq!(all.len(), GROUPS.len());
    let filters = [
        "",
        "name=alpha",
        "name=ALP",
        "name=o",
        "name=_",
        "status=1",
        "status=2",
        "status=9",
        "access_type=edge",
        "access_type=cloud,edge",
        "has_task=true",
        "has_task=false",
        "type=camera",
        "type=obs&type=url",
        "name=a&has_task=false&access_type=cloud",
    ];
    let check = |item: &Value, g: &Grp| {
        assert_eq!(item["num_video_source"], g.members.len(), "{}", g.name);
        assert_eq!(item["group_status"]["num_online"], g.count(1), "{}", g.name);
        assert_eq!(item["group_status"]["num_offline"], g.count(2), "{}", g.name);
        assert_eq!(item["group_status"]["num_exception"], g.count(9), "{}", g.name);
        assert_eq!(item["num_batch_task"], g.num_batch_task, "{}", g.name);
        assert_eq!(item["type"], g.types().join(","), "{}", g.name);
    };
    for q in filters {
        let filter = GroupFilter::parse(q);
        let hits: Vec<Grp> = all.iter().filter(|g| filter.matches(g)).cloned().collect();
        for sort in ["create_at", "modify_at", "num_video_source", "num_task"] {
            let key = |g: &Grp| {
                let k = match sort {
                    "modify_at" => g.modify_at,
                    "num_video_source" => g.members.len() as i64,
                    "num_task" => g.num_batch_task,
                    _ => g.create_at,
                };
                (k, g.id.clone())
            };
            for dir in ["asc", "desc"] {
                let want = oracle_order(hits.clone(), key, dir == "asc");
                let q = format!("{q}&sort_name={sort}&order_by={dir}");
                walk(&s, &GROUP_LIST, &q, &want, all.len(), check).await;
            }
        }
        let want = oracle_order(hits, |g| (g.create_at, g.id.clone()), false);
        walk(&s, &GROUP_LIST, q, &want, all.len(), check).await;
    }
    s.finish().await;
}

/// (num_tasks, num_templates) of each source as the list reads them.
async fn stored_counters(s: &TestServer) -> HashMap<String, (i64, i64)> {
    let items = s.store.list_sources(&s.a.project_id).await.unwrap();
    items
        .into_iter()
        .map(|i| (i.source.id, (i.num_tasks, i.num_templates)))
        .collect()
}

/// The stored counters equal the rows they count after every writer: task create, move, delete,
/// batch delete; template save.
async fn source_counters(b: Backend) {
    let s = TestServer::start(b).await;
    let (groups, sources) = seed(&s).await;
    let p = s.a.project_id.clone();
    // A batch's tasks on two sources, then the batch deleted.
    let batch = vigil_store::batch_tasks::BatchRecord {
        id: String::new(),
        project_id: p.clone(),
        name: "batch".into(),
        description: String::new(),
        service_name: "c-intrusiondetection-cloud".into(),
        service_version: "3.0".into(),
        batch_input: "{}".into(),
        output: "{}".into(),
        config: "{}".into(),
        schedule: None,
        resource_order_id: String::new(),
        created_at: 0,
        updated_at: 0,
        group_ids: vec![],
    };
    let bid = s.store.save_batch(batch, 100).await.unwrap();
    let mut tasks = Vec::new();
    for (n, src) in [0, 0, 11].iter().enumerate() {
        let mut t = new_task(format!("batch-{n}"), &sources[*src]);
        t.batch_id = Some(bid.clone());
        tasks.push(t);
    }
    s.store.create_tasks(&p, tasks, vec![], 1000).await.unwrap();
    let recounted = |all: Vec<Src>| {
        all.into_iter()
            .map(|d| (d.id, (d.num_tasks, d.num_templates)))
            .collect::<HashMap<_, _>>()
    };
    let before = stored_counters(&s).await;
    assert_eq!(before, recounted(load_sources(&s).await));
    assert_eq!(before[&sources[0]], (2, 0));
    assert_eq!(before[&sources[5]], (1, 0));
    assert_eq!(before[&sources[7]], (1, 0));
    assert_eq!(before[&sources[6]], (0, 2));
    s.store.delete_batch(&p, &bid).await.unwrap();
    let after = stored_counters(&s).await;
    assert_eq!(after, recounted(load_sources(&s).await));
    assert_eq!(after[&sources[0]], (0, 0));
    // The detail shows the same templates, each with its tasks of that algorithm.
    let (_, d) = s.get(&format!("/v2/{{p}}/source/sources/{}", sources[6])).await;
    assert_eq!(str_list(&d, "service_config_templates", "name"), vec!["c-a", "c-b"]);
    let (_, d) = s.get(&format!("/v2/{{p}}/source/sources/{}", sources[12])).await;
    assert_eq!(d["video_packages"][0]["video_group_id"], json!(groups[1]));
    s.finish().await;
}

/// A database at version 12 (one source counter row per project) upgrades: migration 0013 makes
/// that row slot 0, and creates and deletes go on from the same total.
async fn source_count_migration(b: Backend) {
    let s = TestServer::start(b).await;
    for k in 0..7 {
        let (st, v) = s.post("/v2/{p}/source", url_source(&format!("cam-{k}"))).await;
        assert!(st.is_success(), "{v}");
    }
    for q in [
        "DROP TABLE project_source_counts",
        "CREATE TABLE project_source_counts (project_id TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        "INSERT INTO project_source_counts (project_id, n) \
         SELECT project_id, COUNT(*) FROM video_sources GROUP BY project_id",
        "DELETE FROM vigil_migrations WHERE version = 13",
    ] {
        sql(&s, q).await;
    }
    assert_eq!(s.store.migrate().await.unwrap(), 1);
    let total = || async {
        let (_, v) = s
            .get("/v2/{p}/source/sources?is_paged=true&page_size=5&page_num=1")
            .await;
        v["total_number"].as_i64().expect("total_number")
    };
    assert_eq!(total().await, 7);
    let (st, v) = s.post("/v2/{p}/source", url_source("cam-7")).await;
    assert!(st.is_success(), "{v}");
    let (st, v) = s
        .delete(&format!("/v2/{{p}}/source/{}", v["video_source_id"].as_str().unwrap()))
        .await;
    assert!(st.is_success(), "{v}");
    let (st, v) = s.post("/v2/{p}/source", url_source("cam-8")).await;
    assert!(st.is_success(), "{v}");
    assert_eq!(total().await, 8);
    s.finish().await;
}

/// Name searches follow creates, renames and deletes of sources and tasks, and PostgreSQL's
/// trigram indexes exist.
async fn name_search_follows_writes(b: Backend) {
    let s = TestServer::start(b).await;
    let mut ids = Vec::new();
    for name in ["North Gate", "south gate", "Gatehouse roof", "Dock"] {
        let (st, v) = s.post("/v2/{p}/source", url_source(name)).await;
        assert!(st.is_success(), "{v}");
        ids.push(v["video_source_id"].as_str().unwrap().to_string());
    }
    let names = |q: &'static str| {
        let s = &s;
        async move {
            let (st, v) = s
                .get(&format!(
                    "/v2/{{p}}/source/sources?is_paged=true&page_size=50&scope={q}"
                ))
                .await;
            assert_eq!(st, 200, "{v}");
            let mut n = str_list(&v, "video_source_list", "video_source_name");
            n.sort();
            assert_eq!(v["video_source_number"].as_i64(), Some(n.len() as i64), "{v}");
            n
        }
    };
    assert_eq!(names("GATE").await, ["Gatehouse roof", "North Gate", "south gate"]);
    let (st, v) = s
        .put(
            &format!("/v2/{{p}}/source/{}", ids[0]),
            json!({"video_source_name": "North door"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    // A write that keeps the name still finds it.
    let (st, v) = s
        .put(
            &format!("/v2/{{p}}/source/{}", ids[1]),
            json!({"video_source_name": "south gate", "tag": ["x"]}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(names("gate").await, ["Gatehouse roof", "south gate"]);
    assert_eq!(names("door").await, ["North door"]);
    assert!(names("north gate").await.is_empty());
    let (st, v) = s.delete(&format!("/v2/{{p}}/source/{}", ids[2])).await;
    assert!(st.is_success(), "{v}");
    assert_eq!(names("gate").await, ["south gate"]);
    assert_eq!(names("ouse").await, Vec::<String>::new());
    let (st, v) = s.post("/v2/{p}/source", url_source("Gatehouse roof")).await;
    assert!(st.is_success(), "{v}");
    assert_eq!(names("house").await, ["Gatehouse roof"]);

    // Tasks: renamed through the store, found by their new name only.
    let p = &s.a.project_id;
    let task_ids = s
        .store
        .create_tasks(p, vec![new_task("Watch west".into(), &ids[3])], vec![], 1000)
        .await
        .unwrap();
    let by_name = |n: &'static str| {
        let s = &s;
        async move {
            let q = vigil_store::task_list::TaskPageQuery {
                name: Some(n.to_string()),
                limit: 100,
                ..Default::default()
            };
            let page = s.store.task_page(&s.a.project_id, &q).await.unwrap();
            page.into_iter().map(|t| t.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(by_name("WEST").await, ["Watch west"]);
    let mut t = s.store.get_task(p, &task_ids[0]).await.unwrap();
    t.name = "Watch east".into();
    s.store.update_task(&t, vec![]).await.unwrap();
    assert!(by_name("west").await.is_empty());
    assert_eq!(by_name("east").await, ["Watch east"]);
    s.store.delete_task(p, &task_ids[0]).await.unwrap();
    assert!(by_name("east").await.is_empty());

    if b == Backend::Postgres {
        let found = rows(
            &s,
            "SELECT indexname::text FROM pg_indexes WHERE indexname IN ('video_sources_name_trgm', 'tasks_name_trgm') \
             ORDER BY indexname",
        )
        .await;
        let found: Vec<String> = found.iter().map(|r| r.get::<String, _>(0)).collect();
        assert_eq!(found, ["tasks_name_trgm", "video_sources_name_trgm"]);
    }
    s.finish().await;
}

crate::both_backends!(
    sources_paging,
    groups_paging,
    source_counters,
    source_count_migration,
    name_search_follows_writes
);

/// A role that may not create `pg_trgm` still migrates and searches (by reading the rows); once
/// a superuser has created the extension, the next start makes the trigram indexes.
#[tokio::test]
async fn name_search_without_the_right_to_create_pg_trgm() {
    use sqlx::Executor;
    let base = crate::common::postgres_base_url();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (db, role) = (format!("vigil_t_{suffix}"), format!("vigil_r_{suffix}"));
    let admin = vigil_store::Store::connect(&base).await.unwrap();
    // A password for servers that do not trust local connections (a freshly installed one).
    for q in [
        format!("CREATE ROLE {role} LOGIN PASSWORD 'vigil-test'"),
        format!("CREATE DATABASE {db}"),
    ] {
        admin.pool().execute(q.as_str()).await.unwrap();
    }
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let db_admin = vigil_store::Store::connect(&format!("{prefix}/{db}")).await.unwrap();
    // Tables in `public`, but no CREATE on the database: what a trusted extension needs.
    db_admin
        .pool()
        .execute(format!("GRANT ALL ON SCHEMA public TO {role}").as_str())
        .await
        .unwrap();
    let host = prefix.rsplit_once('@').map_or(prefix, |(_, h)| h);
    let url = format!("postgres://{role}:vigil-test@{host}/{db}");
    let indexes = || async {
        let rows = sqlx::query(
            "SELECT COUNT(*) FROM pg_indexes WHERE indexname IN ('video_sources_name_trgm', 'tasks_name_trgm')",
        )
        .fetch_one(db_admin.pool())
        .await
        .unwrap();
        rows.get::<i64, _>(0)
    };
    let store = vigil_store::Store::connect(&url).await.unwrap();
    store.migrate().await.expect("migrates without pg_trgm");
    assert_eq!(indexes().await, 0);
    let q = vigil_store::source_list::SourcePageQuery {
        scope: Some("gate".into()),
        page: Some((0, 50)),
        ..Default::default()
    };
    let page = store.source_page("p", &q).await.expect("searches without the index");
    assert!(page.items.is_empty());
    store.close().await;
    db_admin.pool().execute("CREATE EXTENSION pg_trgm").await.unwrap();
    let store = vigil_store::Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(indexes().await, 2);
    store.close().await;
    db_admin.close().await;
    for q in [format!("DROP DATABASE {db} WITH (FORCE)"), format!("DROP ROLE {role}")] {
        admin.pool().execute(q.as_str()).await.unwrap();
    }
    admin.close().await;
}

/// PostgreSQL's page reads run on their own pool. A read connection the server dropped (a
/// restart) fails at most the statement that next uses it, is closed, and the page after is
/// served: whether the drop came right after its last use or after 5 s idle (when it is pinged
/// before use).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_read_connections_are_replaced() {
    let s = TestServer::start(Backend::Postgres).await;
    let (st, _) = s.post("/v2/{p}/source", url_source("cam-1")).await;
    assert!(st.is_success());
    let page = "/v2/{p}/source/sources?is_paged=true&page_size=50&page_num=1";
    let served = || async {
        let (st, v) = s.get(page).await;
        assert!(st.is_success(), "{v}");
        assert_eq!(str_list(&v, "video_source_list", "video_source_name"), vec!["cam-1"]);
    };
    let reads = "FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'vigil page reads'";
    for _ in 0..3 {
        served().await;
    }
    let open: i64 = sqlx::query(&format!("SELECT COUNT(*) {reads}"))
        .fetch_one(s.store.pool())
        .await
        .unwrap()
        .get(0);
    assert!(open >= 1, "the pages ran on the read connections");
    let kill = format!("SELECT pg_terminate_backend(pid) {reads}");
    for idle_ms in [0, 5_500] {
        // A page may run its statements on several read connections; each dead one may fail
        // one request, and no more.
        let killed = sqlx::query(&kill).fetch_all(s.store.pool()).await.unwrap().len();
        assert!(killed >= 1);
        tokio::time::sleep(std::time::Duration::from_millis(idle_ms)).await;
        let mut failed = 0;
        while !s.get(page).await.0.is_success() {
            failed += 1;
            assert!(
                failed <= killed,
                "{failed} pages failed after {killed} connections were dropped"
            );
        }
        for _ in 0..3 {
            served().await;
        }
    }
    s.finish().await;
}
