//! Shared helpers for vigil-vision integration tests: locating `shared/`, decoding frames with
//! the ffmpeg CLI, the Python reference interpreter, and ground-truth scoring.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vigil_vision::{BBox, Detection, ImageBgr, ModelDir};

/// `VIGIL_SHARED_DIR`, else `<repo>/../shared` (CI places a copy of `shared/` beside the clone).
pub fn shared_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIGIL_SHARED_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(d);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        p.join("models").is_dir(),
        "shared/ not found at {} (set VIGIL_SHARED_DIR)",
        p.display()
    );
    p.canonicalize().unwrap_or(p)
}

pub fn model_dir() -> ModelDir {
    ModelDir::at(shared_dir().join("models")).expect("embedded manifest")
}

pub fn media(name: &str) -> PathBuf {
    shared_dir().join("media").join(name)
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `VIGIL_TEST_PYTHON`, else the project venv.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_TEST_PYTHON").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    repo_root().join(".vigil/venv/bin/python")
}

pub fn video_size(video: &Path) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(video)
        .output()
        .expect("ffprobe runs");
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.trim().split(',').map(|v| v.parse::<u32>().expect("ffprobe size"));
    (it.next().expect("width"), it.next().expect("height"))
}

/// Raw BGR24 bytes of the given frames (decode order) concatenated; `None` = every frame.
pub fn raw_frames(video: &Path, indices: Option<&[usize]>) -> Vec<u8> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-loglevel", "error", "-i"]).arg(video);
    if let Some(idx) = indices {
        let sel: Vec<String> = idx.iter().map(|i| format!("eq(n\\,{i})")).collect();
        cmd.args(["-vf", &format!("select='{}'", sel.join("+")), "-vsync", "0"]);
    }
    cmd.args(["-f", "rawvideo", "-pix_fmt", "bgr24", "-"]);
    let out = cmd.output().expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn frames(video: &Path, indices: Option<&[usize]>) -> Vec<ImageBgr> {
    let (w, h) = video_size(video);
    let raw = raw_frames(video, indices);
    let fsz = (w * h * 3) as usize;
    assert_eq!(raw.len() % fsz, 0);
    let v: Vec<ImageBgr> = raw
        .chunks_exact(fsz)
        .map(|c| ImageBgr::from_packed(w, h, c.to_vec()).expect("frame"))
        .collect();
    if let Some(idx) = indices {
        assert_eq!(v.len(), idx.len(), "ffmpeg returned a different number of frames");
    }
    v
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "vigil-vision-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// One labelled frame: boxes with class ids and ignore regions.
pub struct GtFrame {
    pub index: usize,
    pub boxes: Vec<(BBox, u32)>,
    pub ignore: Vec<BBox>,
}

pub fn load_gt(file: &str, default_class: u32) -> Vec<GtFrame> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).expect("gt file")).expect("gt json");
    let mut out = Vec::new();
    for (k, f) in v["frames"].as_object().expect("frames") {
        let bx = |a: &serde_json::Value| {
            let n: Vec<f32> = a
                .as_array()
                .expect("box")
                .iter()
                .map(|x| x.as_f64().expect("num") as f32)
                .collect();
            (
                BBox::new(n[0], n[1], n[2], n[3]),
                n.get(4).map(|c| *c as u32).unwrap_or(default_class),
            )
        };
        out.push(GtFrame {
            index: k.parse().expect("frame index"),
            boxes: f["boxes"].as_array().expect("boxes").iter().map(bx).collect(),
            ignore: f["ignore"]
                .as_array()
                .expect("ignore")
                .iter()
                .map(|a| bx(a).0)
                .collect(),
        });
    }
    out.sort_by_key(|f| f.index);
    out
}

/// True/false positives and misses for one class at IoU >= 0.5 (greedy by score). Detections
/// whose box lies mostly (>= 50 % of its area) inside an ignore region are not counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    pub fn add(&mut self, o: Score) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
    }
}

pub fn score_frame(dets: &[Detection], gt: &GtFrame, class: u32) -> Score {
    let mut dets: Vec<&Detection> = dets.iter().filter(|d| d.class_id == class).collect();
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let gts: Vec<&BBox> = gt.boxes.iter().filter(|b| b.1 == class).map(|b| &b.0).collect();
    let mut used = vec![false; gts.len()];
    let mut s = Score::default();
    for d in dets {
        let mut best = (0.5f32, None);
        for (i, g) in gts.iter().enumerate() {
            let iou = d.bbox.iou(g);
            if !used[i] && iou >= best.0 {
                best = (iou, Some(i));
            }
        }
        match best.1 {
            Some(i) => {
                used[i] = true;
                s.tp += 1;
            }
            None => {
                let a = d.bbox.area().max(1.0);
                let ignored = gt.ignore.iter().any(|r| {
                    let inter = BBox::new(
                        d.bbox.x1.max(r.x1),
                        d.bbox.y1.max(r.y1),
                        d.bbox.x2.min(r.x2),
                        d.bbox.y2.min(r.y2),
                    );
                    inter.area() / a >= 0.5
                });
                if !ignored {
                    s.fp += 1;
                }
            }
        }
    }
    s.fn_ = used.iter().filter(|u| !**u).count();
    s
}

/// Calls `f(index, frame)` for every frame of the clip, streaming from ffmpeg (constant memory).
pub fn for_each_frame(video: &Path, mut f: impl FnMut(usize, ImageBgr)) -> usize {
    use std::io::Read;
    let (w, h) = video_size(video);
    let mut child = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(video)
        .args(["-f", "rawvideo", "-pix_fmt", "bgr24", "-"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    let mut out = child.stdout.take().expect("stdout");
    let fsz = (w * h * 3) as usize;
    let mut n = 0;
    loop {
        let mut buf = vec![0u8; fsz];
        match out.read_exact(&mut buf) {
            Ok(()) => {
                f(n, ImageBgr::from_packed(w, h, buf).expect("frame"));
                n += 1;
            }
            Err(_) => break,
        }
    }
    assert!(child.wait().expect("ffmpeg exits").success());
    n
}
