"""Drives a Vigil server with the official Huawei Cloud VAS Python SDK (huaweicloudsdkvas),
unchanged, with AK/SK credentials: create, list, show, update, stop, start and delete a task.

usage: vas_sdk.py http://HOST:PORT AK SK PROJECT_ID
Prints one JSON line per step; exits 1 on the first failure.
"""
import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkvas.v2 import (CreateTasksRequest, CreateTasksRequestBody, DeleteTaskRequest,
                                  ListTasksDetailsRequest, ShowTaskRequest, StartTaskRequest, StopTaskRequest,
                                  TaskInput, TaskInputData, TaskOutput, TaskOutputWebhook, TaskServiceConfig,
                                  UpdateTaskRequest, UpdateTaskRequestBody, VasClient)

endpoint, ak, sk, project = sys.argv[1:5]
client = VasClient.new_builder() \
    .with_credentials(BasicCredentials(ak, sk, project)) \
    .with_endpoint(endpoint) \
    .build()
SERVICE = "c-intrusiondetection-cloud"


def step(name, fn, check):
    try:
        resp = fn()
        body = resp.to_dict() if hasattr(resp, "to_dict") else resp
        ok = check(resp)
    except exceptions.ClientRequestException as e:
        body, ok = {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg}, False
    print(json.dumps({"step": name, "ok": bool(ok), "body": body}, ensure_ascii=False, default=str), flush=True)
    if not ok:
        sys.exit(1)
    return resp


roi = json.dumps({"polygons": [{"data": [[0, 0], [0, 576], [768, 576], [768, 0]], "name": "all"}]})
created = step("create", lambda: client.create_tasks(CreateTasksRequest(service_name=SERVICE, body=CreateTasksRequestBody(
    name="sdk_task", description="created by huaweicloudsdkvas", service_version="3.0",
    input=TaskInput(type="url", data=[TaskInputData(url="rtsp://127.0.0.1:8554/pedestrians")]),
    output=TaskOutput(webhook=TaskOutputWebhook(url="http://127.0.0.1:9/alarms", headers={"content-type": "application/json"})),
    service_config=TaskServiceConfig(common={"target_roi": roi, "person_detection_sw": 1})))),
    lambda r: len(r.body) == 1 and len(r.body[0].id) == 32)
task_id = created.body[0].id
step("list", lambda: client.list_tasks_details(ListTasksDetailsRequest(service_name=SERVICE, limit=10, offset=0, order="created_at:DESC")),
     lambda r: r.count == 1 and r.tasks[0].id == task_id and r.tasks[0].name == "sdk_task")
step("show", lambda: client.show_task(ShowTaskRequest(service_name=SERVICE, task_id=task_id)),
     lambda r: r.id == task_id and r.service_config.common["person_detection_sw"] == 1 and r.service_title.zh == "入侵检测")
step("update", lambda: client.update_task(UpdateTaskRequest(service_name=SERVICE, task_id=task_id, body=UpdateTaskRequestBody(
    name="sdk_task_renamed", service_config=TaskServiceConfig(common={"target_roi": roi, "car_detection_sw": 1})))),
    lambda r: r.name == "sdk_task_renamed" and r.service_config.common["car_detection_sw"] == 1)
step("stop", lambda: client.stop_task(StopTaskRequest(service_name=SERVICE, task_id=task_id)), lambda r: True)
step("show stopped", lambda: client.show_task(ShowTaskRequest(service_name=SERVICE, task_id=task_id)),
     lambda r: r.state in ("STOPPED", "STOPPING"))
step("start", lambda: client.start_task(StartTaskRequest(service_name=SERVICE, task_id=task_id)), lambda r: True)
step("show started", lambda: client.show_task(ShowTaskRequest(service_name=SERVICE, task_id=task_id)),
     lambda r: r.state in ("PENDING", "STARTING", "RUNNING", "ABNORMAL"))
step("delete", lambda: client.delete_task(DeleteTaskRequest(service_name=SERVICE, task_id=task_id)), lambda r: True)
try:
    client.show_task(ShowTaskRequest(service_name=SERVICE, task_id=task_id))
    print(json.dumps({"step": "show deleted", "ok": False}))
    sys.exit(1)
except exceptions.ClientRequestException as e:
    ok = e.status_code == 404
    print(json.dumps({"step": "show deleted", "ok": ok, "status": e.status_code, "error_code": e.error_code}))
    sys.exit(0 if ok else 1)
