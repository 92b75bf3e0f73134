"""Runs algorithms on a Vigil server through the official Huawei Cloud VAS Python SDK
(huaweicloudsdkvas), unchanged, with AK/SK credentials: one task per case on a clip file, alarms
to a webhook served by this script, waits until every task has SUCCEEDED and its alarms arrived.

usage: vas_sdk_algorithms.py http://HOST:PORT AK SK PROJECT_ID CASES_JSON
CASES_JSON: [{"service": "...", "url": "file:///...", "common": {...}}, ...]
Prints one JSON line per step and one {"service", "alarm"} line per alarm received; exits 1 on
the first failure.
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkvas.v2 import (CreateTasksRequest, CreateTasksRequestBody, ShowTaskRequest, TaskInput,
                                  TaskInputData, TaskOutput, TaskOutputWebhook, TaskServiceConfig, VasClient)

endpoint, ak, sk, project, cases_json = sys.argv[1:6]
cases = json.loads(cases_json)
received = []
lock = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=hook.serve_forever, daemon=True).start()
hook_url = "http://127.0.0.1:%d" % hook.server_address[1]

client = VasClient.new_builder() \
    .with_credentials(BasicCredentials(ak, sk, project)) \
    .with_endpoint(endpoint) \
    .build()


def fail(step, detail):
    print(json.dumps({"step": step, "ok": False, "detail": detail}, default=str), flush=True)
    sys.exit(1)


tasks = []
for i, case in enumerate(cases):
    service = case["service"]
    try:
        resp = client.create_tasks(CreateTasksRequest(service_name=service, body=CreateTasksRequestBody(
            name="sdk_alg_%d" % i, description="created by huaweicloudsdkvas", service_version="3.0",
            input=TaskInput(type="url", data=[TaskInputData(url=case["url"])]),
            output=TaskOutput(webhook=TaskOutputWebhook(url="%s/%d" % (hook_url, i),
                                                        headers={"content-type": "application/json"})),
            service_config=TaskServiceConfig(common=case["common"]))))
    except exceptions.ClientRequestException as e:
        fail("create " + service, {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg})
    task_id = resp.body[0].id
    print(json.dumps({"step": "create " + service, "ok": True, "task_id": task_id}), flush=True)
    tasks.append((i, service, task_id))

deadline = time.time() + 600
for i, service, task_id in tasks:
    while True:
        state = client.show_task(ShowTaskRequest(service_name=service, task_id=task_id)).state
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "ABNORMAL") or time.time() > deadline:
            fail("run " + service, state)
        time.sleep(0.5)
    print(json.dumps({"step": "run " + service, "ok": True, "state": state}), flush=True)

# Deliveries drain from the outbox after the task ends: wait until nothing new arrives for 3 s.
last, quiet_since = -1, time.time()
while time.time() - quiet_since < 3 and time.time() < deadline:
    with lock:
        n = len(received)
    if n != last:
        last, quiet_since = n, time.time()
    time.sleep(0.2)

with lock:
    for path, body in received:
        i = int(path.strip("/"))
        print(json.dumps({"service": cases[i]["service"], "alarm": body}, ensure_ascii=False), flush=True)
print(json.dumps({"step": "alarms", "ok": True, "count": len(received)}), flush=True)
