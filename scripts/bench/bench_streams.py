#!/usr/bin/python3
"""Runs the measurements of scripts/bench_streams.sh (read its header for what each line means).

Standard library only (runs on the system python3, which also runs the GStreamer RTSP server).
Each Vigil run: a fresh data dir, the RTSP server serving one mount per stream, `vigil serve`,
sources and tasks created through the API, /proc sampled once a second, then the JSON log's
`pipeline stats` lines parsed. Each Python run: `pybaseline.py realtime` (one invocation per
distinct input video, run concurrently, results summed).
"""
import argparse
import datetime
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

TARGET_FPS = 5.0  # analysed frames/s per stream, both engines
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The intrusion zone: the lower part of a 1280x720 frame, as pybaseline.py's POLYGON_1280x720.
ROI_LOWER = {"polygons": [{"data": [[0, 330], [1280, 330], [1280, 720], [0, 720]], "name": "lower"}]}
# People flow: one line across the pedestrians' walkway (they walk mostly left-right).
ROI_FLOW_LINE = {"lines": [{"data": [[640, 330], [640, 719]],
                            "properties": {"side1_name": "west", "side2_name": "east"}}]}
READER_THREAD = "vigil-media-re"  # comm of vigil-media's reader threads (decode + demux), truncated


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ /proc sampling
def proc_ticks(pid):
    """utime + stime of a process (or /proc/<pid>/task/<tid>), in clock ticks; None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[11]) + int(fields[12])


def thread_ticks(pid, prefix):
    """{tid: ticks} of the threads of `pid` whose name starts with `prefix`."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if not f.read().startswith(prefix):
                    continue
        except OSError:
            continue
        t = proc_ticks(f"{pid}/task/{tid}")
        if t is not None:
            out[tid] = t
    return out


def machine_ticks():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    total = sum(v[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total


def sample(vigil_pid, rtsp_pid):
    return dict(t=time.time(), vigil=proc_ticks(vigil_pid), rtsp=proc_ticks(rtsp_pid),
                readers=thread_ticks(vigil_pid, READER_THREAD), machine=machine_ticks())


def window_cpu(samples, t_a, t_b):
    """CPU seconds between the first sample at or after t_a and the last at or before t_b."""
    inside = [s for s in samples if t_a - 0.5 <= s["t"] <= t_b + 0.5 and s["vigil"] is not None]
    if len(inside) < 2:
        return None
    a, b = inside[0], inside[-1]
    secs = b["t"] - a["t"]
    readers = sum(tk - a["readers"].get(tid, 0) for tid, tk in b["readers"].items())
    lost = [tid for tid in a["readers"] if tid not in b["readers"]]
    busy = (b["machine"][0] - a["machine"][0]) / max(b["machine"][1] - a["machine"][1], 1)
    return dict(secs=secs, vigil=(b["vigil"] - a["vigil"]) / CLK_TCK,
                rtsp=((b["rtsp"] or 0) - (a["rtsp"] or 0)) / CLK_TCK,
                readers=readers / CLK_TCK, readers_lost=len(lost),
                machine_pct=busy * 100.0 * os.cpu_count())


# ------------------------------------------------------------------------------ Vigil
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base, self.headers, self.project = base, {}, None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **self.headers})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.headers, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"{method} {path}: HTTP {e.code}: {e.read()[:500]!r}") from None

    def login(self):
        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": "admin", "password": "pw"}}}, "scope": {"project": {"name": "default"}}}}
        h, j = self.call("POST", "/v3/auth/tokens", body)
        self.headers = {"X-Auth-Token": h["X-Subject-Token"]}
        self.project = j["token"]["project"]["id"]

    def v2(self, method, path, body=None):
        return self.call(method, f"/v2/{self.project}{path}", body)[1]


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parse_stats(path):
    """{task_id: [(unix time, delivered, dropped, detector_runs, gated), ...]} from the JSON log."""
    series = {}
    with open(path, errors="replace") as f:
        for line in f:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            fl = v.get("fields", {})
            if fl.get("message") != "pipeline stats":
                continue
            ts = re.sub(r"(\.\d{6})\d*", r"\1", v["timestamp"]).replace("Z", "+00:00")
            t = datetime.datetime.fromisoformat(ts).timestamp()
            series.setdefault(str(fl["task_id"]), []).append(
                (t, fl.get("delivered", 0), fl.get("dropped", 0), fl.get("detector_runs"), fl.get("gated")))
    return series


def run_vigil(a, label, streams, tasks, analysis_fps=5.0, serve_args=()):
    """streams: [(mount, file)]; tasks: [(service, stream index, common)]; serve_args: extra
    `vigil serve` options. Returns a result dict."""
    work = os.path.abspath(a.work)
    data = os.path.join(work, "data")
    subprocess.run(["rm", "-rf", data], check=True)
    rtsp_port, http_port = free_port(), free_port()
    logf = os.path.join(work, f"serve-{label}.log")
    rtsp = subprocess.Popen(["/usr/bin/python3", a.rtsp_server, str(rtsp_port)] + [f"{m}={p}" for m, p in streams],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, VIGIL_ADMIN_PASSWORD="pw", VIGIL_LOG="info")
    with open(logf, "w") as lf:
        srv = subprocess.Popen([a.vigil, "--data-dir", data, "--log-json", "true", "serve",
                                "--listen", f"127.0.0.1:{http_port}", "--probe-interval", "0",
                                "--analysis-fps", str(analysis_fps), "--rate-limit", "0", *serve_args],
                               stdout=subprocess.DEVNULL, stderr=lf, env=env)
    api = Api(f"http://127.0.0.1:{http_port}")
    samples, task_ids, alarms, states = [], [], {}, {}
    try:
        for _ in range(120):
            if srv.poll() is not None:
                raise RuntimeError(f"vigil serve exited ({srv.returncode}); see {logf}")
            try:
                urllib.request.urlopen(api.base + "/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.5)
        api.login()
        src_ids = []
        for m, _ in streams:
            tc = f"<type_config><url_address>rtsp://127.0.0.1:{rtsp_port}/{m}</url_address></type_config>"
            src_ids.append(api.v2("POST", "/source", {"video_source_name": m, "access_type": "cloud",
                                                      "type": "url", "type_config": tc})["video_source_id"])
        for k, (service, si, common) in enumerate(tasks):
            j = api.v2("POST", f"/services/{service}/tasks", {
                "name": f"t{k}", "input": {"type": "video_source", "data": [{"video_source_id": src_ids[si]}]},
                "output": {"event_center": True}, "config": {"common": common}})
            task_ids.append((j["tasks"][0]["id"], service))
        # The first stats line of each task comes ~10 s after its pipeline starts; the window
        # between a task's first and last lines is the measurement (start-up excluded).
        end = time.time() + a.duration + 14
        while time.time() < end:
            samples.append(sample(srv.pid, rtsp.pid))
            if srv.poll() is not None:
                raise RuntimeError(f"vigil serve exited ({srv.returncode}); see {logf}")
            time.sleep(1.0)
        samples.append(sample(srv.pid, rtsp.pid))
        try:  # context only: a failure here does not spoil the measurement
            for tid, _ in task_ids:
                alarms[tid] = api.v2("GET", f"/vigil/alarms?task_id={tid}&limit=1").get("total", 0)
            for t in api.v2("GET", "/tasks?limit=100").get("tasks", []):
                states[t["state"]] = states.get(t["state"], 0) + 1
        except (RuntimeError, OSError, ValueError) as e:
            log(f"warning: alarm/task state query failed: {e}")
    finally:
        stop(srv)
        stop(rtsp)
    series = parse_stats(logf)
    per_task, firsts, lasts = [], [], []
    for tid, service in task_ids:
        s = series.get(tid, [])
        if len(s) < 2 or s[-1][0] <= s[0][0]:
            per_task.append(dict(task=tid, service=service, reporting=False))
            continue
        (t0, d0, x0, r0, g0), (t1, d1, x1, r1, g1) = s[0], s[-1]
        firsts.append(t0)
        lasts.append(t1)
        dd, dx = d1 - d0, max(x1 - x0, 0)  # dropped restarts at 0 when the source re-subscribes
        per_task.append(dict(task=tid, service=service, reporting=True, rate=dd / (t1 - t0), window=t1 - t0,
                             delivered=dd, dropped=dx, alarms=alarms.get(tid, 0),
                             detector_runs_per_s=None if r0 is None else (r1 - r0) / (t1 - t0),
                             gated=None if g0 is None else g1 - g0))
    res = dict(engine="vigil", label=label, streams=len(streams), tasks=per_task, states=states, log=logf)
    if firsts and max(firsts) < min(lasts):
        res["cpu"] = window_cpu(samples, max(firsts), min(lasts))
    return res


def vigil_summary(r):
    """Sweep verdict: every stream reporting, slowest >= 99 % of 5/s, drops < 1 % of sampled."""
    ok = [t for t in r["tasks"] if t["reporting"]]
    delivered = sum(t["delivered"] for t in ok)
    dropped = sum(t["dropped"] for t in ok)
    cpu = r.get("cpu")
    s = dict(reporting=len(ok), slowest=min((t["rate"] for t in ok), default=0.0),
             drop_pct=100.0 * dropped / (delivered + dropped) if delivered + dropped else 100.0,
             cpu_ms=1e3 * cpu["vigil"] / cpu["secs"] / r["streams"] if cpu and cpu["secs"] > 0 else float("nan"))
    # The counts are read at log instants, not frame instants: allow one frame of quantisation.
    s["sustained"] = (s["reporting"] == r["streams"]
                      and all(t["delivered"] + 1 >= 0.99 * TARGET_FPS * t["window"] for t in ok)
                      and s["drop_pct"] < 1.0 and not math.isnan(s["cpu_ms"]))
    runs = [t["detector_runs_per_s"] for t in ok if t["detector_runs_per_s"] is not None]
    s["detail"] = (f"reporting {len(ok)}/{r['streams']}"
                   + (f", window {cpu['secs']:.0f} s, vigil {100 * cpu['vigil'] / cpu['secs']:.0f}% cpu, "
                      f"machine {cpu['machine_pct']:.0f}%/{100 * os.cpu_count()}, "
                      f"rtsp server {1e3 * cpu['rtsp'] / cpu['secs'] / r['streams']:.0f} ms/stream-s" if cpu else
                      ", no measurement window")
                   + (f", detector runs {sum(runs) / len(runs):.2f}/s per stream" if runs else "")
                   + (f", gated {sum(t['gated'] or 0 for t in ok)}" if any(t.get('gated') for t in ok) else "")
                   + f", alarms {sum(t['alarms'] for t in ok)}, task states {r['states']}")
    return s


# ------------------------------------------------------------------------------ Python baseline
def run_python(a, label, groups):
    """groups: [(video, n)], run concurrently; returns the summed summary."""
    procs = []
    for k, (video, n) in enumerate(groups):
        out = os.path.join(os.path.abspath(a.work), f"py-{label}-{k}.json")
        lf = open(os.path.join(os.path.abspath(a.work), f"py-{label}-{k}.log"), "w")
        p = subprocess.Popen([a.py, "-W", "ignore", a.pybaseline, "realtime", "--streams", str(n),
                              "--duration", str(a.duration), "--video", video, "--json", out],
                             stdout=lf, stderr=subprocess.STDOUT)
        procs.append((p, out, lf))
    results = []
    for p, out, lf in procs:
        try:
            p.wait(timeout=a.duration + 300)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        lf.close()
        if p.returncode != 0 or not os.path.exists(out):
            raise RuntimeError(f"pybaseline failed ({p.returncode}); see {lf.name}")
        with open(out) as f:
            results.append(json.load(f))
    per = [s for r in results for s in r["per_stream"]]
    n = sum(n for _, n in groups)
    sampled = sum(r["summary"]["sampled"] for r in results)
    dropped = sum(r["summary"]["dropped"] for r in results)
    s = dict(streams=n, reporting=len(per), slowest=min((p["analysed"] / a.duration for p in per), default=0.0),
             drop_pct=100.0 * dropped / max(sampled, 1),
             cpu_ms=1e3 * sum(p["cpu_s"] for p in per) / max(len(per), 1) / a.duration,
             keeps_up=all(r["summary"]["keeps_up"] for r in results))
    s["sustained"] = s["keeps_up"] and s["reporting"] == n and s["slowest"] >= 0.99 * TARGET_FPS
    worst = max(r["summary"]["worst_lag_p99_ms"] for r in results)
    sysc = [r["summary"]["system_cpu_pct_of_2cores"] for r in results]
    other = [r["summary"]["other_cpu_pct"] for r in results]
    s["detail"] = (f"reporting {len(per)}/{n}, keeps_up {s['keeps_up']}, worst p99 lag {worst:.0f} ms, "
                   f"machine {sum(sysc) / len(sysc):.0f}%/200 (other {sum(other) / len(other):.0f}%), "
                   f"intrusions {sum(p['intrusions'] for p in per)}, invocations {len(groups)}")
    s["raw"] = [r["summary"] for r in results]
    return s


# ------------------------------------------------------------------------------ modes
def inputs_for(a, n):
    """Stream i's input file: all pedestrian, or (--mix) the first half pedestrian and the rest
    alternately car park / standing desk."""
    if not a.mix:
        return [a.ped] * n
    half = (n + 1) // 2
    return [a.ped] * half + [(a.carpark, a.desk)[i % 2] for i in range(n - half)]


def common(a, extra=None):
    c = {"target_roi": json.dumps(ROI_LOWER)}
    if a.gating:
        c["motion_gating_sw"] = 1
    c.update(extra or {})
    return c


def yn(b):
    return "yes" if b else "no "


def fmt(s):
    return (f"sustained {yn(s['sustained'])} drops {s['drop_pct']:5.2f}% slowest {s['slowest']:4.2f}/s "
            f"cpu {s['cpu_ms']:4.0f} ms/stream-s")


def guarded(run):
    """A run that fails (engine crashed, API refused) is a 'not sustained' row, not the end of the sweep."""
    try:
        return run()
    except (RuntimeError, OSError, ValueError, KeyError) as e:
        return dict(sustained=False, drop_pct=100.0, slowest=0.0, cpu_ms=float("nan"), detail=f"FAILED: {e}")


def sweep(a, report):
    ns = [int(x) for x in a.streams.split()]
    rows = []
    for n in ns:
        files = inputs_for(a, n)
        loops = [a.loop_of[f] for f in files]
        v = guarded(lambda: vigil_summary(run_vigil(a, f"n{n}", [(f"s{i + 1}", p) for i, p in enumerate(loops)],
                                                    [("c-intrusiondetection-cloud", i, common(a)) for i in range(n)])))
        time.sleep(3)
        groups = [(f, files.count(f)) for f in dict.fromkeys(files)]
        p = guarded(lambda: run_python(a, f"n{n}", groups))
        ratio = v["cpu_ms"] / p["cpu_ms"] if p["cpu_ms"] else float("nan")
        print(f"N={n:<3d} vigil: {fmt(v)} | python: {fmt(p)} | ratios: cpu vigil/python {ratio:.2f}", flush=True)
        print(f"       vigil  detail: {v['detail']}", flush=True)
        print(f"       python detail: {p['detail']}", flush=True)
        rows.append(dict(n=n, vigil=v, python=p))
        report["sweep"] = rows
        time.sleep(3)
    vs = [r["n"] for r in rows if r["vigil"]["sustained"]]
    ps = [r["n"] for r in rows if r["python"]["sustained"]]
    vmax, pmax = max(vs, default=0), max(ps, default=0)
    st_target = 2.5 if (a.gating and a.mix) else 1.5
    note = []
    if vmax == ns[-1]:
        note.append(f"vigil sustained the largest N tried: its maximum is >= {vmax}")
    if pmax == ns[-1]:
        note.append(f"python sustained the largest N tried: its maximum is >= {pmax}")
    if pmax == 0:
        note.append("python sustained none of the N tried")
    sratio = f"{vmax / pmax:.2f}" if pmax else "n/a"
    print(f"max sustained streams (N tried: {a.streams}): vigil {vmax}, python {pmax} -> vigil/python {sratio} "
          f"(target >= {st_target}x){' [' + '; '.join(note) + ']' if note else ''}")
    both = [r for r in rows if r["vigil"]["sustained"] and r["python"]["sustained"]]
    if both:
        r = both[-1]
        c = r["vigil"]["cpu_ms"] / r["python"]["cpu_ms"]
        print(f"cpu per stream-second at N={r['n']} (largest N both sustain): vigil {r['vigil']['cpu_ms']:.0f} ms, "
              f"python {r['python']['cpu_ms']:.0f} ms -> vigil/python {c:.2f} (target <= 0.7x)")
    else:
        print("cpu per stream-second: no N that both sustain")


def several_tasks(a, report, key, label, tasks):
    """One camera: intrusion alone, then `tasks` together on it; prints the CPU ratio."""
    ped = a.loop_of[a.ped]
    one = run_vigil(a, "one-task", [("s1", ped)], [("c-intrusiondetection-cloud", 0, common(a))])
    time.sleep(3)
    many = run_vigil(a, key, [("s1", ped)], [(service, 0, cfg) for service, cfg in tasks])
    report[key] = dict(one=one, many=many)

    def cpu(r):
        c = r.get("cpu")
        return 1e3 * c["vigil"] / c["secs"] if c and c["secs"] > 0 else float("nan")

    def per(r):
        return ", ".join(f"{t['service'].split('-')[1]} {t['rate']:.2f}/s alarms {t['alarms']}"
                         + (f" det {t['detector_runs_per_s']:.1f}/s" if t.get("detector_runs_per_s") is not None else "")
                         if t["reporting"] else f"{t['service']} NOT reporting" for t in r["tasks"])
    c1, cn = cpu(one), cpu(many)
    print(f"{label} on one camera: intrusion alone {c1:.0f} ms/s, {label} {cn:.0f} ms/s -> ratio {cn / c1:.2f} "
          f"(target <= 1.3)", flush=True)
    print(f"       one task: {per(one)}\n       {label}: {per(many)}", flush=True)


def three_tasks(a, report):
    flow = common(a, {"target_roi": json.dumps(ROI_FLOW_LINE), "region_detection_sw": 0})
    crowd = common(a, {"sampling_time_interval": 1})
    several_tasks(a, report, "three_tasks", "intrusion + people flow + crowd density",
                  [("c-intrusiondetection-cloud", common(a)), ("c-flowcount-cloud", flow), ("c-crowdcount-cloud", crowd)])


def mixed_load(a, report):
    """Issue 10's mixed load: intrusion, vehicle detection and crowd density on the same camera."""
    vehicles = {"target_roi": json.dumps(ROI_FLOW_LINE)}
    crowd = common(a, {"sampling_time_interval": 1})
    several_tasks(a, report, "mixed", "intrusion + vehicle detection + crowd density",
                  [("c-intrusiondetection-cloud", common(a)), ("c-vehicle-detection-cloud", vehicles),
                   ("c-crowdcount-cloud", crowd)])


# --per-algorithm: one task per run on the pedestrian stream, each implemented algorithm in turn.
# The config is the ROI of the intrusion line (lower part of the frame) plus what the algorithm
# requires; services without a cloud variant run their edge name.
PER_ALGORITHM = [
    ("c-intrusiondetection-cloud", {}),
    ("c-flowcount-cloud", {"target_roi": json.dumps(ROI_FLOW_LINE), "region_detection_sw": 0}),
    ("c-crowdcount-cloud", {"sampling_time_interval": 1}),
    ("c-staffonduty-cloud", {}),
    ("c-abandon-detection-cloud", {}),
    ("c-sharedbicycledetection-cloud", {"target_roi": json.dumps(
        {"polygons": [{"data": ROI_LOWER["polygons"][0]["data"], "name": "illegal01"}]})}),
    ("c-traffic-abnormal-park-cloud", {}),
    ("c-vehicle-detection-cloud", {"target_roi": json.dumps(ROI_FLOW_LINE)}),
    ("c-fire-exit-occupation-cloud", {}),
    ("c-non-motor-detection-cloud", {}),
    ("c-highpoint-crowdcount-cloud", {}),
    ("c-urban-umbrella-cloud", {}),
    ("c-retrograde-detection-edge", {"target_roi": json.dumps(ROI_FLOW_LINE)}),
    ("c-highpoint-overspeed-edge", {"calibration": {"image_points": [[300, 400], [980, 400], [1200, 700], [80, 700]],
                                                    "ground_points_m": [[0, 30], [12, 30], [12, 0], [0, 0]]}}),
    ("c-vehicle-statistics-edge", {}),
    ("ship-intrusion-cloud", {}),
    ("c-pose-action-recog-cloud", {"fall_detection_sw": 1}),
    ("c-fightdetect-cloud", {}),
    ("c-event-action-recog-cloud", {"phoning_detection_sw": 1}),
    ("c-wear-mask-recog-cloud", {}),
    ("c-object-attri-recog-cloud", {}),
    ("c-smoke-and-fire-cloud", {}),
    ("drainage-recognition-cloud", {}),
    ("cali-water-ruler-river-cloud", {}),
    ("w-ponding-detection-cloud", {}),
    ("c-urban-soil-exposure-cloud", {}),
    ("c-cyanobacteria-cloud", {}),
    ("floating-cloud", {}),
]
# Pose tasks (MoveNet MultiPose per analysed frame) are the heavy ones: their line also gives
# streams per core.
POSE_SERVICES = ("c-pose-action-recog", "c-fightdetect", "c-event-action-recog")


def per_algorithm(a, report):
    """CPU per stream of each algorithm alone on one 720p25 camera (vigil process, ms per second)."""
    ped = a.loop_of[a.ped]
    wanted = set(a.algorithms.split()) if a.algorithms else None
    rows = {}
    for service, extra in PER_ALGORITHM:
        base = service.rsplit("-", 1)[0]
        if wanted and base not in wanted and service not in wanted:
            continue
        r = run_vigil(a, "alg-" + base, [("s1", ped)], [(service, 0, common(a, extra))])
        rows[service] = r
        time.sleep(2)
        c = r.get("cpu")
        t = r["tasks"][0]
        if not c or c["secs"] <= 0 or not t["reporting"]:
            print(f"{base:32s} NOT measured (task not reporting; log {r['log']})", flush=True)
            continue
        ms = 1e3 * c["vigil"] / c["secs"]
        line = (f"{base:32s} cpu {ms:6.0f} ms per stream-s, analysed {t['rate']:.2f}/s, alarms {t['alarms']}"
                + (f" -> {1e3 / ms:.1f} streams per core" if base in POSE_SERVICES else ""))
        print(line, flush=True)
    report["per_algorithm"] = rows


def sampling(a, report):
    ped = a.loop_of[a.ped]
    runs = {}
    # 5 fps (samples on reference pictures), 5 fps at the exact due times, every frame.
    for label, fps, extra in (("fps5", 5, ()), ("fps5-exact", 5, ("--exact-sample-times", "true")),
                              ("fps25", 25, ())):
        runs[label] = run_vigil(a, label, [("s1", ped)], [("c-intrusiondetection-cloud", 0, common(a))],
                                analysis_fps=fps, serve_args=extra)
        time.sleep(3)
    report["sampling"] = runs

    def dec(r):
        c = r.get("cpu")
        return (1e3 * c["readers"] / c["secs"], 1e3 * c["vigil"] / c["secs"], c["readers_lost"]) if c else (
            float("nan"), float("nan"), 0)
    (d5, p5, l5), (dx, px, lx), (d25, p25, l25) = dec(runs["fps5"]), dec(runs["fps5-exact"]), dec(runs["fps25"])
    rate = [t["rate"] if t["reporting"] else 0.0 for r in runs.values() for t in r["tasks"]]
    print(f"sampling 5 of 25 fps vs every frame: decode cpu {d5:.0f} ms/s vs {d25:.0f} ms/s -> ratio {d5 / d25:.2f} "
          f"(target <= 0.6); at the exact due times (--exact-sample-times) {dx:.0f} ms/s -> {dx / d25:.2f}", flush=True)
    print(f"       reader threads only (demux + decode); whole process {p5:.0f} / {px:.0f} vs {p25:.0f} ms/s; "
          f"analysed {rate[0]:.2f} / {rate[1]:.2f} vs {rate[2]:.2f}/s"
          + (f"; reader threads that ended in the window: {l5 + lx + l25}" if l5 + lx + l25 else ""), flush=True)


def main():
    ap = argparse.ArgumentParser()
    for k in ("vigil", "py", "pybaseline", "rtsp_server", "work", "ped", "carpark", "desk", "streams", "loops"):
        ap.add_argument("--" + k.replace("_", "-"))
    ap.add_argument("--duration", type=float, required=True)
    for k in ("gating", "mix", "sweep", "three_tasks", "mixed", "sampling", "per_algorithm"):
        ap.add_argument("--" + k.replace("_", "-"), action="store_true")
    ap.add_argument("--algorithms", default="")
    a = ap.parse_args()
    # --loops "ORIG=LOOPED ...": the long copies served over RTSP (the run outlasts the 60 s file)
    a.loop_of = dict(kv.split("=", 1) for kv in a.loops.split())
    report = dict(args={k: v for k, v in vars(a).items()}, started=time.time())
    try:
        if a.sweep:
            sweep(a, report)
        if a.three_tasks:
            three_tasks(a, report)
        if a.mixed:
            mixed_load(a, report)
        if a.sampling:
            sampling(a, report)
        if a.per_algorithm:
            per_algorithm(a, report)
    finally:
        out = os.path.join(a.work, time.strftime("results-%Y%m%d-%H%M%S.json"))
        with open(out, "w") as f:
            json.dump(report, f, indent=1, default=str)
        log(f"raw results: {out}")


if __name__ == "__main__":
    main()
