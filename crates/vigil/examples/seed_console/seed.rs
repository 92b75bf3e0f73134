//! The seeding itself, shared by the `seed_console` example and the browser test's short
//! page-load check (`tests/console_browser.rs` includes this file).

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use vigil_core::alarm::{encode_image, Alarm};
use vigil_store::alarms::ImportedAlarm;
use vigil_store::tasks::NewTask;
use vigil_store::video_sources::{NewSource, SourceHealth};
use vigil_store::Store;
use vigil_vision::render::{Canvas, RED};

/// How much to seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub cameras: usize,
    pub tasks: usize,
    pub alarms: usize,
    /// Alarms are spread over this many days before now.
    pub days: i64,
    /// One alarm in this many carries a picture (1: every one).
    pub picture_every: usize,
    /// The same seed gives the same names, spread and pictures.
    pub seed: u64,
}

/// Progress of one phase: (phase, done, of).
pub type Progress<'a> = &'a dyn Fn(&str, usize, usize);

/// (service name, event type) of the seeded tasks and their alarms.
const KINDS: &[(&str, u64)] = &[
    ("c-intrusiondetection-cloud", 196_609),
    ("c-intrusiondetection-cloud", 196_610),
    ("c-flowcount-cloud", 131_073),
    ("c-crowdcount-cloud", 524_288),
];
/// Alarms per transaction.
const BATCH: usize = 2_000;

/// A small street-like picture with a red box where the "target" is, as alarm JPEGs look.
fn picture(rng: &mut StdRng, w: u32, h: u32) -> anyhow::Result<(Vec<u8>, [i64; 4])> {
    let mut c = Canvas {
        width: w,
        height: h,
        data: vec![0; (w * h * 3) as usize],
    };
    let (wi, hi) = (i64::from(w), i64::from(h));
    let tint: u8 = rng.gen_range(0..40);
    c.fill_rect(0, 0, wi, hi / 3, [200 - tint, 170, 140]);
    c.fill_rect(0, hi / 3, wi, hi, [90 + tint, 100, 105]);
    c.fill_rect(wi / 6, hi / 3 - hi / 6, wi / 3, hi / 3, [60, 60, 150]);
    let bw = rng.gen_range(wi / 12..wi / 6);
    let bh = bw * 2;
    let x = rng.gen_range(0..wi - bw);
    let y = rng.gen_range(hi / 3..hi - bh);
    c.fill_rect(x + 2, y + 2, x + bw - 2, y + bh - 2, [40, 50, 70]);
    for (x0, y0, x1, y1) in [
        (x, y, x + bw, y + 2),
        (x, y + bh - 2, x + bw, y + bh),
        (x, y, x + 2, y + bh),
        (x + bw - 2, y, x + bw, y + bh),
    ] {
        c.fill_rect(x0, y0, x1, y1, RED);
    }
    Ok((c.encode_jpeg(70)?, [x, y, bw, bh]))
}

fn payload(event_type: u64, rng: &mut StdRng, bbox: [i64; 4]) -> serde_json::Value {
    let [x, y, w, h] = bbox;
    let box_json = json!({"x": x, "y": y, "w": w, "h": h});
    match event_type {
        131_073 => json!({"event_set": [{"line_name": "gate", "side1_count": rng.gen_range(0..6),
                                         "side2_count": rng.gen_range(0..6)}]}),
        524_288 => json!({"event_set": [{"region_name": "plaza", "count": rng.gen_range(20..90),
                                         "bounding_box": box_json}]}),
        _ => json!({"event_set": [{"bounding_box": box_json, "target_id": rng.gen_range(1..5000),
                                   "region_name": "walkway", "start_position": "out"}]}),
    }
}

/// Seeds `project_id` with `plan`'s cameras (with health and snapshots), tasks (in a mix of
/// states) and alarms; returns the camera ids.
pub async fn seed(store: &Store, project_id: &str, plan: &Plan, progress: Progress<'_>) -> anyhow::Result<Vec<String>> {
    let pid = project_id.to_string();
    let mut rng = StdRng::seed_from_u64(plan.seed);

    // Cameras, with health and a snapshot each (most online, some offline or abnormal).
    let mut cameras = Vec::with_capacity(plan.cameras);
    for n in 0..plan.cameras {
        let name = format!(
            "cam-{:04} {}",
            n + 1,
            ["gate", "lobby", "car park", "platform", "corridor"][n % 5]
        );
        let addr = format!(
            "rtsp://10.{}.{}.{}:554/stream1",
            n / 65_536 % 256,
            n / 256 % 256,
            n % 256
        );
        let id = store
            .create_source(
                NewSource {
                    project_id: pid.clone(),
                    name,
                    access_type: "cloud".into(),
                    source_type: "url".into(),
                    type_config: format!("<type_config><url_address>{addr}</url_address></type_config>"),
                    password_sealed: None,
                    latitude: String::new(),
                    longitude: String::new(),
                    tags: vec![["north", "south", "east", "west"][n % 4].into()],
                    group_ids: vec![],
                    stream_path: addr.clone(),
                },
                i64::MAX,
            )
            .await
            .with_context(|| format!("camera {n} (is the database already seeded?)"))?;
        let status = match n % 20 {
            0 => 2,
            1 => 9,
            _ => 1,
        };
        let image = if status == 1 {
            Some(encode_image(&picture(&mut rng, 320, 180)?.0))
        } else {
            None
        };
        store
            .set_source_health(
                &id,
                SourceHealth {
                    status,
                    stream_path: None,
                    image,
                    quality: vec![],
                    scene_recommend: None,
                },
            )
            .await?;
        cameras.push(id);
        progress("cameras", cameras.len(), plan.cameras);
    }

    // Tasks, one camera each, in a realistic mix of states.
    let mut tasks = Vec::with_capacity(plan.tasks);
    for n in 0..plan.tasks {
        let (service, event_type) = KINDS[n % KINDS.len()];
        let camera = cameras
            .get(n % cameras.len().max(1))
            .cloned()
            .context("tasks need at least one camera")?;
        let roi = r#"{"polygons":[{"data":[[0,150],[150,150],[150,280],[0,280]],"name":"walkway"}]}"#;
        let ids = store
            .create_tasks(
                &pid,
                vec![NewTask {
                    name: format!(
                        "task-{:03}-{}",
                        n + 1,
                        service.trim_start_matches("c-").trim_end_matches("-cloud")
                    ),
                    description: String::new(),
                    creator: "seed".into(),
                    service_name: service.into(),
                    service_version: "1.0".into(),
                    placement: "cloud".into(),
                    video_source_id: Some(camera.clone()),
                    input: json!({"type": "video_source", "data": [{"video_source_id": camera}]}).to_string(),
                    output: json!({"event_center": true}).to_string(),
                    config: json!({"common": {"target_roi": roi}}).to_string(),
                    schedule: None,
                    legacy: false,
                    resource_order_id: String::new(),
                    edge_pool_id: String::new(),
                    batch_id: None,
                    schedule_status: String::new(),
                }],
                vec![],
                i64::MAX,
            )
            .await?;
        let id = ids.into_iter().next().context("task id")?;
        let (state, error) = match n % 10 {
            0 => ("ABNORMAL", ("VIAS.0010031", "the camera did not answer")),
            1 | 2 => ("STOPPED", ("", "")),
            _ => ("RUNNING", ("", "")),
        };
        store.set_task_state(&id, state, "", error).await?;
        tasks.push((id, camera, event_type));
        progress("tasks", tasks.len(), plan.tasks);
    }

    // Alarms: a pool of pictures reused (distinct pictures cost seeding time, not realism).
    if plan.alarms > 0 && tasks.is_empty() {
        anyhow::bail!("alarms need at least one task");
    }
    let pictures: Vec<(String, [i64; 4])> = (0..64)
        .map(|_| picture(&mut rng, 192, 108).map(|(j, b)| (encode_image(&j), b)))
        .collect::<anyhow::Result<_>>()?;
    let now_ms = chrono_ms();
    let span_ms = plan.days.max(1) * 86_400_000;
    let mut done = 0;
    while done < plan.alarms {
        let n = BATCH.min(plan.alarms - done);
        let mut batch = Vec::with_capacity(n);
        for k in done..done + n {
            // Older alarms first, so created_at grows with each row as in real life.
            let created = now_ms - span_ms + (span_ms * k as i64) / plan.alarms as i64 + rng.gen_range(0..1000);
            let (task_id, camera, event_type) = &tasks[rng.gen_range(0..tasks.len())];
            let (image, bbox) = &pictures[rng.gen_range(0..pictures.len())];
            batch.push(ImportedAlarm {
                alarm: Alarm {
                    event_type: *event_type,
                    task_id: task_id.clone(),
                    stream_id: camera.clone(),
                    timestamp: (created / 1000) as u64,
                    message_id: Alarm::new_message_id(),
                    image_base64: (k % plan.picture_every.max(1) == 0).then(|| image.clone()),
                    alarm_type: None,
                    data: payload(*event_type, &mut rng, *bbox),
                    extra: Default::default(),
                },
                video_source_id: Some(camera.clone()),
                created_at: created,
            });
        }
        store.import_alarms(&pid, &batch).await?;
        done += n;
        progress("alarms", done, plan.alarms);
    }
    Ok(cameras)
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
