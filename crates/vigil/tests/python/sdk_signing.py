"""Signs requests to a Vigil server exactly as the official Huawei Cloud Python SDK core does
(huaweicloudsdkcore BasicCredentials + SDK-HMAC-SHA256 signer) and checks the answers.

usage: sdk_signing.py HOST:PORT AK SK PROJECT_ID OTHER_PROJECT_ID
Prints one JSON object per check; exits 1 if any check fails.
"""
import datetime
import json
import sys

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest

host, ak, sk, project, other_project = sys.argv[1:6]
failures = 0


def call(method, path, query=None, body=None, key=(ak, sk), cred_project=project, date=None):
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    if date:
        headers["X-Sdk-Date"] = date
    req = SdkRequest(method=method, schema="http", host=host, resource_path=path,
                     query_params=query or [], header_params=headers,
                     body=json.dumps(body) if body is not None else "")
    BasicCredentials(key[0], key[1], cred_project).sign_request(req)
    r = requests.request(method, f"http://{host}{req.uri}", headers=req.header_params, data=req.body, timeout=30)
    try:
        payload = r.json()
    except ValueError:
        payload = r.text
    return r.status_code, payload


def check(name, got, want_status, want_code=None):
    global failures
    status, payload = got
    ok = status == want_status and (want_code is None or (isinstance(payload, dict) and payload.get("error_code") == want_code))
    failures += 0 if ok else 1
    print(json.dumps({"check": name, "ok": ok, "status": status, "body": payload}, ensure_ascii=False), flush=True)
    return payload


base = f"/v2/{project}"
created = check("create source (signed POST)", call("POST", f"{base}/source", body={
    "video_source_name": "sdk cam", "access_type": "cloud", "type": "url",
    "type_config": "<type_config><url_address>rtsp://127.0.0.1/x</url_address></type_config>", "tag": ["sdk"]}), 200)
listed = check("list sources with repeated query values", call("GET", f"{base}/source/sources",
    query=[("status", ["1", "2"]), ("is_paged", True), ("page_size", 10), ("scope", "sdk cam")]), 200)
if isinstance(listed, dict) and listed.get("video_source_number") != 1:
    failures += 1
    print(json.dumps({"check": "list finds the created source", "ok": False, "body": listed}))
if isinstance(created, dict):
    check("show source", call("GET", f"{base}/source/sources/{created['video_source_id']}"), 200)
check("wrong secret key", call("GET", f"{base}/source/sources", key=(ak, sk + "x")), 401, "VIAS.00010005")
old = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
check("expired X-Sdk-Date", call("GET", f"{base}/source/sources", date=old), 401, "VIAS.00010005")
check("wrong project", call("GET", f"/v2/{other_project}/source/sources", cred_project=other_project), 403, "IVA.0009")
sys.exit(1 if failures else 0)
