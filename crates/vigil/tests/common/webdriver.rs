//! A thin W3C WebDriver client (over blocking reqwest) driving headless Chromium through
//! `chromedriver`: sessions, navigation, CSS lookups, clicks, keys, scripts, pointer actions and
//! screenshots, plus the waiting helpers browser tests need. Debian's `chromium` and
//! `chromium-driver` packages provide the two binaries (`scripts/test.sh` installs them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key W3C WebDriver names element references with.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A WebDriver error answer (`error`, `message`), or a transport failure.
#[derive(Debug)]
pub struct WdError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// An element reference of the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

impl Element {
    fn json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }
}

/// Position and size of an element in CSS pixels of the viewport's document.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Whether the browser tests can run here: both binaries present. Where they are not, a run in
/// CI (`CI=true`) fails, and a local run skips with a loud message.
pub fn browser_or_skip(test: &str) -> bool {
    let ok = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if ok {
        return true;
    }
    let msg = format!(
        "{test}: {CHROMIUM} or {CHROMEDRIVER} is missing (Debian packages chromium, chromium-driver; scripts/test.sh installs them)"
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}; browser tests may not be skipped in CI");
    }
    eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
    false
}

/// Where tests save screenshots: `$VIGIL_ARTEFACTS_DIR`, else `target/console-screenshots/`.
pub fn artefacts_dir() -> PathBuf {
    let dir = std::env::var_os("VIGIL_ARTEFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots"));
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// One chromedriver process and one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::blocking::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium session of 1400×900.
    pub fn start() -> Self {
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http
                .get(format!("{base}/status"))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A profile of our own: no state leaks between tests or from the machine's user.
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--window-size=1400,900", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
                         format!("--user-data-dir={}", profile.path().display())]
            },
            "timeouts": {"implicit": 0, "pageLoad": 30000, "script": 30000}
        }}});
        let mut b = Browser {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let v = b.raw("POST", "/session", Some(caps)).expect("new WebDriver session");
        b.session = v["sessionId"].as_str().expect("sessionId").to_string();
        b
    }

    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or_else(|| json!({}))),
        };
        let resp = req.send().map_err(|e| WdError {
            error: "transport".into(),
            message: e.to_string(),
        })?;
        let ok = resp.status().is_success();
        let v: Value = resp.json().map_err(|e| WdError {
            error: "bad answer".into(),
            message: e.to_string(),
        })?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if ok {
            Ok(value)
        } else {
            Err(WdError {
                error: value["error"].as_str().unwrap_or("unknown").into(),
                message: value["message"]
                    .as_str()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .into(),
            })
        }
    }

    /// A command of this session (`path` after `/session/{id}`).
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    pub fn current_url(&self) -> String {
        self.cmd("GET", "/url", None)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    /// Elements in `args` are passed with [`Browser::el_arg`].
    pub fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    pub fn el_arg(e: &Element) -> Value {
        e.json()
    }

    pub fn find(&self, css: &str) -> Option<Element> {
        self.find_all(css).into_iter().next()
    }

    pub fn find_all(&self, css: &str) -> Vec<Element> {
        self.elements("/elements", css)
    }

    /// The elements a CSS search under `path` (the page, or one element) answers; none on error.
    fn elements(&self, path: &str, css: &str) -> Vec<Element> {
        self.cmd("POST", path, Some(json!({"using": "css selector", "value": css})))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e[ELEMENT_KEY].as_str().map(|id| Element(id.to_string())))
            .collect()
    }

    /// `[data-test="name"]`.
    pub fn test_id(name: &str) -> String {
        format!("[data-test=\"{name}\"]")
    }

    /// Polls `ok` every 100 ms until it answers `Some`, or fails naming `what` after `timeout`.
    pub fn wait_for<T>(&self, what: &str, timeout: Duration, mut ok: impl FnMut(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = ok(self) {
                return v;
            }
            if Instant::now() > deadline {
                let shot = artefacts_dir().join(format!("timeout-{}.png", slug(what)));
                self.screenshot(&shot);
                panic!(
                    "timed out after {timeout:?} waiting for {what} (page {}; screenshot {})",
                    self.current_url(),
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The first element matching `css` that is displayed, waiting up to `timeout`.
    pub fn wait(&self, css: &str, timeout: Duration) -> Element {
        self.wait_for(css, timeout, |b| b.find_all(css).into_iter().find(|e| b.displayed(e)))
    }

    pub fn displayed(&self, e: &Element) -> bool {
        self.cmd("GET", &format!("/element/{}/displayed", e.0), None)
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    }

    pub fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), None)
            .unwrap_or_else(|err| panic!("click: {err}"));
    }

    /// Clicks the first displayed match of `css`, waiting for it.
    pub fn click_css(&self, css: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let e = self.wait(css, timeout);
            // A re-render between finding and clicking detaches the element: find it again.
            match self.cmd("POST", &format!("/element/{}/click", e.0), None) {
                Ok(_) => return,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(err) => panic!("click {css}: {err}"),
            }
        }
    }

    pub fn clear(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), None)
            .unwrap_or_else(|err| panic!("clear: {err}"));
    }

    pub fn send_keys(&self, e: &Element, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .unwrap_or_else(|err| panic!("send keys: {err}"));
    }

    /// Replaces an input's value by typing, as a user would.
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css, Duration::from_secs(10));
        self.clear(&e);
        self.send_keys(&e, text);
    }

    /// Chooses the `<option>` of a `<select>` whose value is `value`, firing input and change
    /// events as a user's choice does.
    pub fn select(&self, css: &str, value: &str) {
        let e = self.wait(css, Duration::from_secs(10));
        let found = self.exec(
            "const s = arguments[0]; const v = arguments[1];
             if (![...s.options].some(o => o.value === v)) return false;
             s.value = v; s.dispatchEvent(new Event('input', {bubbles: true}));
             s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
            vec![e.json(), json!(value)],
        );
        assert_eq!(found, json!(true), "{css} has no option {value}");
    }

    pub fn text(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), None)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    pub fn attr(&self, e: &Element, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{}/attribute/{name}", e.0), None)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
    }

    pub fn prop(&self, e: &Element, name: &str) -> Value {
        self.cmd("GET", &format!("/element/{}/property/{name}", e.0), None)
            .unwrap_or(Value::Null)
    }

    pub fn rect(&self, e: &Element) -> Rect {
        let v = self
            .cmd("GET", &format!("/element/{}/rect", e.0), None)
            .unwrap_or_else(|err| panic!("rect: {err}"));
        let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
        Rect {
            x: f("x"),
            y: f("y"),
            width: f("width"),
            height: f("height"),
        }
    }

    /// Elements matching `css` inside `parent`.
    pub fn find_in(&self, parent: &Element, css: &str) -> Vec<Element> {
        self.elements(&format!("/element/{}/elements", parent.0), css)
    }

    /// Mouse clicks at fractional positions `(fx, fy)` of `e`'s box (0,0 top left, 1,1 bottom
    /// right), as W3C pointer actions: real pointerdown/up events at those coordinates. The
    /// element is scrolled to the middle of the viewport first; points are computed from its
    /// client rectangle (an element origin would be its *visible* part's centre). With
    /// `double_last` the last point is double-clicked.
    pub fn click_points(&self, e: &Element, points: &[(f64, f64)], double_last: bool) {
        let r = self.exec(
            "const e = arguments[0]; e.scrollIntoView({block: 'center', inline: 'center'});
             const r = e.getBoundingClientRect();
             return [r.left, r.top, r.width, r.height, innerWidth, innerHeight];",
            vec![e.json()],
        );
        let f = |i: usize| r[i].as_f64().unwrap_or(0.0);
        let (left, top, width, height, vw, vh) = (f(0), f(1), f(2), f(3), f(4), f(5));
        let mut actions = Vec::new();
        for (i, (fx, fy)) in points.iter().enumerate() {
            let x = (left + fx * width).round();
            let y = (top + fy * height).round();
            assert!(
                (0.0..vw).contains(&x) && (0.0..vh).contains(&y),
                "point ({fx}, {fy}) of the element lies outside the {vw}x{vh} viewport"
            );
            actions.push(
                json!({"type": "pointerMove", "duration": 0, "origin": "viewport", "x": x as i64, "y": y as i64}),
            );
            let clicks = if double_last && i + 1 == points.len() { 2 } else { 1 };
            for _ in 0..clicks {
                actions.push(json!({"type": "pointerDown", "button": 0}));
                actions.push(json!({"type": "pointerUp", "button": 0}));
            }
            actions.push(json!({"type": "pause", "duration": 60}));
        }
        let body = json!({"actions": [{"type": "pointer", "id": "mouse",
                                       "parameters": {"pointerType": "mouse"}, "actions": actions}]});
        self.cmd("POST", "/actions", Some(body))
            .unwrap_or_else(|err| panic!("pointer actions: {err}"));
        let _ = self.cmd("DELETE", "/actions", None);
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let Ok(v) = self.cmd("GET", "/screenshot", None) else {
            return;
        };
        let Some(png) = v.as_str().and_then(|b64| base64_decode(b64).ok()) else {
            return;
        };
        let _ = std::fs::write(path, png);
    }

    /// A screenshot named `name.png` in the artefacts directory; returns its path.
    pub fn shot(&self, name: &str) -> PathBuf {
        let path = artefacts_dir().join(format!("{name}.png"));
        self.screenshot(&path);
        path
    }

    /// The console's page-ready marker (`document.body.dataset.ready`, set by `markReady`).
    pub fn ready_page(&self) -> Option<String> {
        self.exec(
            "return document.body ? (document.body.dataset.ready || null) : null;",
            vec![],
        )
        .as_str()
        .map(String::from)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.raw("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(60)
        .collect()
}

fn base64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s)
}
