"""The README demo: registers the sample pedestrian video (served over RTSP, replayed in a loop)
as a video source, creates an intrusion task and a people-flow task, prints the web console's
address and prints alarms as they arrive. Run by scripts/run.sh; stops with Ctrl-C.

usage: demo.py API_BASE_URL USER PASSWORD RTSP_URL
"""
import json
import sys
import time

import requests

base, user, password, rtsp = sys.argv[1:5]
auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": user, "password": password}}},
                 "scope": {"project": {"name": "default"}}}}
r = requests.post(f"{base}/v3/auth/tokens", json=auth, timeout=10)
r.raise_for_status()
token, project = r.headers["X-Subject-Token"], r.json()["token"]["project"]["id"]
h = {"X-Auth-Token": token}
api = f"{base}/v2/{project}"


def call(method, path, body=None):
    resp = requests.request(method, api + path, headers=h, json=body, timeout=30)
    if resp.status_code >= 400:
        print(f"  {method} {path}: {resp.status_code} {resp.text}")
    return resp


sources = call("GET", "/source/sources?scope=campus%20demo").json()["video_source_list"]
if sources:
    src = sources[0]["video_source_id"]
else:
    src = call("POST", "/source", {"video_source_name": "campus demo", "access_type": "cloud", "type": "url",
                                   "type_config": f"<type_config><url_address>{rtsp}</url_address></type_config>"}).json()["video_source_id"]
print(f"video source {src} -> {rtsp}")

line = {"data": [[150, 150], [150, 330]], "properties": {"side1_name": "west", "side2_name": "east"}}
area = {"data": [[0, 150], [150, 150], [150, 280], [0, 280]], "name": "road_west"}
tasks = {}
for service, name, common in [
    ("c-intrusiondetection-cloud", "demo_intrusion", {"target_roi": json.dumps({"polygons": [area]}), "render_result_sw": 1, "render_roi_sw": 1}),
    ("c-flowcount-cloud", "demo_flow", {"target_roi": json.dumps({"lines": [line]}), "line_count_interval": 10, "region_detection_sw": 0}),
]:
    existing = call("GET", f"/tasks?task_name={name}").json()["tasks"]
    if existing:
        tasks[existing[0]["id"]] = name
        if existing[0]["state"] in ("STOPPED", "FAILED", "START_FAILED", "SUCCEEDED"):
            call("PUT", f"/tasks/{existing[0]['id']}/action/start")
        continue
    body = {"name": name, "input": {"type": "video_source", "data": [{"video_source_id": src}]},
            "output": {"event_center": True}, "config": {"common": common}}
    tid = call("POST", f"/services/{service}/tasks", body).json()["tasks"][0]["id"]
    tasks[tid] = name
    print(f"task {name} ({service}) created: {tid}")

print(f"web console: {base}/console/  (sign in as {user} / {password}, project default: cameras, regions, tasks, live alarms)")
print(f"metrics:     {base}/metrics")
print("waiting for alarms (the clip loops every 80 s; Ctrl-C stops the demo)...")
seen = set()
while True:
    for tid, name in tasks.items():
        state = call("GET", f"/tasks/{tid}").json().get("state")
        alarms = call("GET", f"/vigil/alarms?task_id={tid}&limit=20").json().get("alarms", [])
        for a in reversed(alarms):
            if a["message_id"] in seen:
                continue
            seen.add(a["message_id"])
            data = a["data"]
            if a["event_type"] == 131073:
                counts = ", ".join(f"{e.get('side1_name', 'side1')} {e['side1_count']} / {e.get('side2_name', 'side2')} {e['side2_count']}" for e in data["event_set"])
                print(f"[{name} {state}] people flow in the last {data['interval']} s: {counts}")
            else:
                boxes = [e["bounding_box"] for e in data.get("event_set", [])]
                print(f"[{name} {state}] intrusion into road_west: {len(boxes)} target(s) {boxes}  picture: {a['image_url']}")
    time.sleep(3)
