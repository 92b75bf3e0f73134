"""Drives the Algorithm Center and Operation Center routes of a Vigil server through the official
Huawei Cloud Python SDK core (huaweicloudsdkcore: client builder, BasicCredentials AK/SK
signing, HTTP, error handling and model deserialisation).

huaweicloudsdkvas (3.1.219, the newest on PyPI) ships only the seven task operations, so this
script declares the eight missing operations the way the SDK generator writes them: request
metadata for ``Client._call_api`` and response models (``openapi_types``/``attribute_map``) from
spec §4.2-4.6; the VasClient instance (official builder, unchanged) deserialises into them.

usage: vas_sdk_algorithm_center.py http://HOST:PORT AK SK PROJECT_ID POOL_NAME
POOL_NAME is a pool the server's own worker node joined by configuration (``--pool``).
Prints one JSON line per step; exits 1 on the first failure.
"""
import json
import sys
import time
import types

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.sdk_response import SdkResponse
from huaweicloudsdkvas.v2 import VasClient

endpoint, ak, sk, project, pool_name = sys.argv[1:6]
models = types.ModuleType("vigil_algorithm_center_models")


def model(name, fields, response=False):
    """A model class as the SDK generator writes them: ``fields`` maps attribute -> SDK type."""

    def __init__(self, **kwargs):
        if response:
            SdkResponse.__init__(self)
        for attr in fields:
            setattr(self, attr, kwargs.get(attr))

    def to_dict(self):
        def plain(v):
            if hasattr(v, "to_dict"):
                return v.to_dict()
            if isinstance(v, list):
                return [plain(x) for x in v]
            if isinstance(v, dict):
                return {k: plain(x) for k, x in v.items()}
            return v
        return {a: plain(getattr(self, a)) for a in fields if getattr(self, a) is not None}

    klass = type(name, (SdkResponse,) if response else (object,), {
        "openapi_types": dict(fields), "attribute_map": {a: a for a in fields},
        "__init__": __init__, "to_dict": to_dict})
    setattr(models, name, klass)
    return klass


S, I, B, L = "str", "int", "bool", "list[str]"
model("ServicesListInfoDto", {
    "alg_id": S, "service_id": S, "service_name": S, "package_id": S, "package_name": S, "company": S,
    "alg_version": S, "function_version": S, "tags": L, "created_at": I, "alg_status": S, "deploy_type": S,
    "alg_class": S, "request_mode": S, "description": S, "error_msg": S, "can_update": B, "new_alg_id": S})
model("ListUserServicesResponse", {"count": I, "total": I, "service_list": "list[ServicesListInfoDto]"}, True)
model("ServiceApiDto", {"request_type": S, "zh": S, "en": S, "request_url": S})
model("AcceleratorDto", {"type": S, "name": S, "cuda_version": S, "driver_version_section": S})
model("DeploymentConstraintsDto", {
    "request_mode": S, "cpu_type": S, "accelerators": "list[AcceleratorDto]", "input_types": L,
    "output_types": L, "service_config": S, "task_config": S})
model("ShowServiceDetailResponse", {
    "service_id": S, "service_name": S, "logo": S, "function_version": S, "release_flag": B, "description": S,
    "created_at": I, "updated_at": I, "release_at": I, "api": S, "pool_id": S, "alg_name": S, "alg_id": S,
    "request_mode": S, "package_name": S, "package_id": S, "alg_version": S, "alg_versions": L, "diagram": S,
    "service_api_list": "list[ServiceApiDto]", "deployment_constraints": "DeploymentConstraintsDto",
    "company": S, "tags": L, "deploy_type": S, "alg_class": S, "alg_status": S, "error_msg": S}, True)
model("DeployAlgorithmResponse", {"alg_name": S}, True)
model("StopDeployAlgorithmResponse", {"alg_id": S}, True)
model("CreateEdgePoolResponse", {"id": S}, True)
model("EdgePoolListItemDto", {
    "id": S, "name": S, "state": S, "project_id": S, "workspace_id": S, "created_at": I, "updated_at": I,
    "description": S})
model("ListEdgePoolsResponse", {"count": I, "edge_pools": "list[EdgePoolListItemDto]"}, True)
model("AcceleratorInfo", {"name": S, "driver_version": S, "type": S, "capacity": S})
model("EdgeNodeInfoDto", {
    "id": S, "name": S, "description": S, "state": S, "cpu": I, "arch": S, "enable_gpu": B, "enable_npu": B,
    "memory": I, "gpu_info": "list[AcceleratorInfo]", "npu_info": "list[AcceleratorInfo]"})
model("ShowEdgePoolInfoResponse", {
    "id": S, "name": S, "description": S, "state": S, "project_id": S, "workspace_id": S, "created_at": I,
    "updated_at": I, "nodes": "list[EdgeNodeInfoDto]"}, True)
model("DeleteEdgePoolResponse", {"body": S}, True)

client = VasClient.new_builder() \
    .with_credentials(BasicCredentials(ak, sk, project)) \
    .with_endpoint(endpoint) \
    .build()
client.model_package = models


def call(operation, method, path, path_params=None, query=None, body=None, multi=()):
    """One operation through the SDK core, as a generated ``_<operation>_http_info`` + ``_call_api``."""
    return client._call_api(
        method=method, resource_path=path, path_params=path_params or {}, query_params=query or [],
        header_params={"Content-Type": "application/json"}, body=json.dumps(body) if body is not None else None,
        post_params={}, cname=None, response_type=f"{operation}Response", response_headers=[],
        collection_formats={k: "multi" for k in multi}, request_type=f"{operation}Request")


def raw(resp):
    return json.loads(resp.raw_content.decode("utf-8"))


def step(name, fn, check):
    try:
        resp = fn()
        body = resp.to_dict() if hasattr(resp, "to_dict") else resp
        ok = check(resp)
    except exceptions.ServiceResponseException as e:
        body, ok = {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg}, False
    print(json.dumps({"step": name, "ok": bool(ok), "body": body}, ensure_ascii=False, default=str), flush=True)
    if not ok:
        sys.exit(1)
    return resp


def error_step(name, fn, status, code):
    try:
        fn()
        ok, body = False, "no error"
    except exceptions.ServiceResponseException as e:
        body = {"status": e.status_code, "error_code": e.error_code, "error_msg": e.error_msg}
        ok = e.status_code == status and e.error_code == code
    print(json.dumps({"step": name, "ok": ok, "body": body}, ensure_ascii=False), flush=True)
    if not ok:
        sys.exit(1)


LIST_KEYS = {"alg_id", "service_id", "service_name", "package_id", "package_name", "company", "alg_version",
             "function_version", "tags", "created_at", "alg_status", "deploy_type", "alg_class", "request_mode"}
SERVICE = "c-intrusiondetection-cloud"

listed = step("ListUserServices", lambda: call(
    "ListUserServices", "GET", "/v2/{project_id}/algorithm/services/user",
    query=[("is_paged", True), ("page_size", 50), ("page_num", 1), ("order_by", "asc"), ("sort_name", "created_at"),
           ("alg_status", ["service_running", "service_stopped"])], multi=("alg_status",)),
    lambda r: r.total >= 28 and r.count == len(r.service_list) == min(50, r.total)
    and all(LIST_KEYS <= set(s) for s in raw(r)["service_list"])
    and all(s.alg_class in ("self", "partner") and s.deploy_type in ("cloud", "edge") and s.request_mode == "async"
            and s.alg_status in ("service_running", "service_stopped") for s in r.service_list))
named = step("ListUserServices name_like", lambda: call(
    "ListUserServices", "GET", "/v2/{project_id}/algorithm/services/user", query=[("name_like", "intrusiondetection")]),
    lambda r: [s.service_name for s in r.service_list] == [SERVICE] and r.total == 1)
svc = named.service_list[0]
detail = step("ShowServiceDetail", lambda: call(
    "ShowServiceDetail", "GET", "/v2/{project_id}/algorithm/services/{service_id}",
    path_params={"service_id": svc.service_id}),
    lambda r: r.service_id == svc.service_id and r.alg_id == svc.alg_id and r.service_name == SERVICE
    and r.pool_id == "cloud" and r.alg_class == "self" and r.company == "Vigil"
    and r.deployment_constraints.request_mode == "async"
    and r.deployment_constraints.cpu_type in ("x86_64", "aarch64")
    and set(r.deployment_constraints.input_types) >= {"URL", "EdgeCamera"}
    and json.loads(r.deployment_constraints.task_config)["type"] == "object"
    and "target_roi" in json.loads(r.deployment_constraints.task_config)["properties"]
    and json.loads(r.deployment_constraints.service_config)["additionalProperties"] is False
    and len(r.service_api_list) >= 1 and all(a.request_url for a in r.service_api_list))
error_step("ShowServiceDetail unknown id", lambda: call(
    "ShowServiceDetail", "GET", "/v2/{project_id}/algorithm/services/{service_id}",
    path_params={"service_id": "00000000-0000-4000-8000-000000000000"}), 400, "VIAS.00010002")

created = step("CreateEdgePool", lambda: call(
    "CreateEdgePool", "POST", "/v2/{project_id}/edge-pools",
    body={"name": pool_name, "description": "nodes joined by --pool", "nodes": []}),
    lambda r: isinstance(r.id, str) and len(r.id) > 0)
pool_id = created.id
error_step("CreateEdgePool duplicate name", lambda: call(
    "CreateEdgePool", "POST", "/v2/{project_id}/edge-pools", body={"name": pool_name, "nodes": []}),
    400, "VIAS.00010003")
step("ListEdgePools", lambda: call(
    "ListEdgePools", "GET", "/v2/{project_id}/edge-pools",
    query=[("is_paged", True), ("page_size", 10), ("page_num", 1), ("name_like", pool_name), ("order_by", "desc"),
           ("sort_name", "created_at")]),
    lambda r: r.count == 1 and r.edge_pools[0].id == pool_id and r.edge_pools[0].name == pool_name
    and r.edge_pools[0].project_id == project and isinstance(r.edge_pools[0].created_at, int)
    and r.edge_pools[0].state in ("Running", "Abnormal"))
step("ShowEdgePoolInfo", lambda: call(
    "ShowEdgePoolInfo", "GET", "/v2/{project_id}/edge-pools/{id}", path_params={"id": pool_id}),
    lambda r: r.id == pool_id and r.state == "Running" and len(r.nodes) == 1
    and r.nodes[0].state == "Running" and r.nodes[0].cpu >= 1 and r.nodes[0].memory >= 1
    and r.nodes[0].arch in ("x86_64", "aarch64") and isinstance(r.nodes[0].enable_gpu, bool)
    and isinstance(r.nodes[0].gpu_info, list) and r.nodes[0].npu_info == [])

step("DeployAlgorithm", lambda: call(
    "DeployAlgorithm", "POST", "/v2/{project_id}/algorithm/{alg_id}/deploy", path_params={"alg_id": svc.alg_id},
    body={"pool_id": pool_id, "stream_count": 4, "deploy_config": {}, "envs": {"SDK_TEST": "1"}}),
    lambda r: isinstance(r.alg_name, str) and len(r.alg_name) > 0)
step("ShowServiceDetail deployed", lambda: call(
    "ShowServiceDetail", "GET", "/v2/{project_id}/algorithm/services/{service_id}",
    path_params={"service_id": svc.service_id}),
    lambda r: r.pool_id == pool_id and r.alg_status == "service_running" and raw(r).get("stream_count") == 4)
error_step("DeployAlgorithm unknown pool", lambda: call(
    "DeployAlgorithm", "POST", "/v2/{project_id}/algorithm/{alg_id}/deploy", path_params={"alg_id": svc.alg_id},
    body={"pool_id": "no-such-pool"}), 400, "VIAS.00010002")
error_step("DeleteEdgePool in use", lambda: call(
    "DeleteEdgePool", "DELETE", "/v2/{project_id}/edge-pools/{id}", path_params={"id": pool_id}),
    500, "VIAS.00010012")
step("StopDeployAlgorithm", lambda: call(
    "StopDeployAlgorithm", "PUT", "/v2/{project_id}/algorithm/{alg_id}/deploy/stop", path_params={"alg_id": svc.alg_id}),
    lambda r: r.alg_id == svc.alg_id)
step("ListUserServices stopped", lambda: call(
    "ListUserServices", "GET", "/v2/{project_id}/algorithm/services/user", query=[("alg_status", ["service_stopped"])],
    multi=("alg_status",)),
    lambda r: [s.alg_id for s in r.service_list] == [svc.alg_id] and r.service_list[0].alg_status == "service_stopped")
# The same signed request within the same second is refused as a replay (VIAS.00010005).
time.sleep(1.1)
error_step("StopDeployAlgorithm again", lambda: call(
    "StopDeployAlgorithm", "PUT", "/v2/{project_id}/algorithm/{alg_id}/deploy/stop", path_params={"alg_id": svc.alg_id}),
    500, "VIAS.00010012")
step("DeleteEdgePool", lambda: call(
    "DeleteEdgePool", "DELETE", "/v2/{project_id}/edge-pools/{id}", path_params={"id": pool_id}),
    lambda r: r.body == "success")
error_step("ShowEdgePoolInfo deleted", lambda: call(
    "ShowEdgePoolInfo", "GET", "/v2/{project_id}/edge-pools/{id}", path_params={"id": pool_id}), 400, "VIAS.00010002")
