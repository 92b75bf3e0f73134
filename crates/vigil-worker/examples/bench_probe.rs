//! Cost of the source-health prober (run by `scripts/bench_probe.sh`): N registered sources
//! (the real clips of `../shared/media` repeated, as `file://` URL sources in a fresh SQLite
//! store) probed with the default options, exactly as `vigil serve` does — open, decode the 2 s
//! window, 13 quality labels, JPEG snapshot, store write, label-change check, and scene
//! recommendations with the COCO detector when due.
//!
//! Round 1 includes a scene recommendation for every source (none stored yet); round 2 is the
//! steady state (recommendations are refreshed only every `--scene-interval`, 6 h by default,
//! or after a scene change). CPU time is the whole process's (user + system, all threads, from
//! /proc/self/stat), so it includes libavcodec, swscale, ONNX Runtime and SQLite.
//!
//! Usage: bench_probe [N] [SHARED_DIR]   (N = 100, SHARED_DIR = ../shared of the checkout)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use vigil_media::{Prober, DEFAULT_PROBE_INTERVAL};
use vigil_store::video_sources::NewSource;
use vigil_store::Store;
use vigil_vision::{BackendConfig, ModelDir};
use vigil_worker::scene_recommend::SceneRecommender;
use vigil_worker::source_health::{StoreTargets, DEFAULT_SCENE_INTERVAL};

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (indices 11, 12 here), in clock ticks (100/s on Linux).
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(100);
    let shared = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let mut clips: Vec<PathBuf> = std::fs::read_dir(shared.join("media"))
        .expect("media directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
        .collect();
    clips.sort();
    assert!(!clips.is_empty(), "no clips in {}", shared.join("media").display());

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("vigil.db").display()))
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    let project = vigil_core::ids::new_hex32_id();
    store.create_project(&project, "bench").await.expect("project");
    for i in 0..n {
        let clip = &clips[i % clips.len()];
        store
            .create_source(
                NewSource {
                    project_id: project.clone(),
                    name: format!("cam-{i:03}"),
                    access_type: "cloud".into(),
                    source_type: "url".into(),
                    type_config: format!(
                        "<type_config><url_address>file://{}</url_address></type_config>",
                        clip.display()
                    ),
                    password_sealed: None,
                    latitude: String::new(),
                    longitude: String::new(),
                    tags: Vec::new(),
                    group_ids: Vec::new(),
                    stream_path: String::new(),
                },
                i64::MAX,
            )
            .await
            .expect("source");
    }
    let models = ModelDir::at(shared.join("models")).expect("model dir");
    let mut targets = StoreTargets::new(store.clone(), None);
    targets.scenes = Some(Arc::new(SceneRecommender::new(models, BackendConfig::default())));
    let targets = Arc::new(targets);
    let prober = Prober::default();
    // Load the detector before measuring (a one-off at startup).
    let t_load = Instant::now();
    let loaded = targets.scenes.as_ref().is_some_and(|s| s.available());
    println!(
        "detector loaded: {loaded} ({:.0} ms); {n} sources from {} clips",
        t_load.elapsed().as_secs_f64() * 1e3,
        clips.len()
    );

    let mut rounds = Vec::new();
    for round in 1..=3 {
        let (c0, t0) = (cpu_seconds(), Instant::now());
        let probed = prober.run_once(&targets).await;
        let (cpu, wall) = (cpu_seconds() - c0, t0.elapsed().as_secs_f64());
        println!(
            "round {round}: {probed} probes, wall {wall:.2} s, cpu {cpu:.2} s = {:.1} ms cpu per probe",
            cpu * 1e3 / probed.max(1) as f64
        );
        rounds.push(cpu);
    }
    let per_source: Vec<_> = store.all_sources().await.expect("sources");
    let online = per_source.iter().filter(|s| s.status == 1).count();
    let labelled: Vec<String> = per_source
        .iter()
        .filter(|s| !s.quality.is_empty())
        .map(|s| format!("{}={:?}", s.name, s.quality))
        .collect();
    let recommended = per_source.iter().filter(|s| !s.scene_recommend.is_empty()).count();
    println!("online {online}/{n}, with scene tags {recommended}/{n}, labelled: {labelled:?}");

    // What each clip looks like to the prober (its first source).
    for (i, clip) in clips.iter().enumerate().take(n) {
        if let Some(s) = per_source.iter().find(|s| s.name == format!("cam-{i:03}")) {
            let name = clip
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            println!("  {name}: quality {:?}, scene {:?}", s.quality, s.scene_recommend);
        }
    }
    let steady = (rounds[1] + rounds[2]) / 2.0;
    let scene_extra = (rounds[0] - steady).max(0.0);
    let interval = DEFAULT_PROBE_INTERVAL.as_secs_f64();
    let scene_interval = DEFAULT_SCENE_INTERVAL.as_secs_f64();
    let pct = 100.0 * (steady / interval + scene_extra / scene_interval);
    println!(
        "steady round: {steady:.2} s cpu for {n} sources ({:.1} ms per probe); scene recommendations: {scene_extra:.2} s cpu per {:.0} h",
        steady * 1e3 / n as f64,
        scene_interval / 3600.0
    );
    println!(
        "average load at the default interval ({interval:.0} s): {pct:.2} % of one core (target < 5 %){}",
        if pct < 5.0 { "" } else { "  ** OVER TARGET **" }
    );
    // The interval that would just meet the target, for the docs.
    println!(
        "shortest interval under 5 %: {:.0} s",
        (steady / (0.05 - scene_extra / scene_interval)).max(0.0)
    );
}
