"""schemathesis extensions for crates/vigil/tests/schemathesis.rs.

`vigil_not_a_server_error` replaces schemathesis' `not_a_server_error`: every 5xx fails except
the one the VIAS contract prescribes for a refusal, HTTP 500 with `VIAS.00010012` ("This
operation is not allowed.", e.g. stopping a stopped task; spec section 7). Huawei's SDKs raise
their server exception for it, so Vigil keeps the status; the body says it is a refusal.
"""

import json

import schemathesis

CONTRACT_500 = "VIAS.00010012"


@schemathesis.check
def vigil_not_a_server_error(ctx, response, case):
    if response.status_code < 500:
        return None
    try:
        code = json.loads(response.text).get("error_code")
    except (ValueError, AttributeError):
        code = None
    if response.status_code == 500 and code == CONTRACT_500:
        return None
    raise AssertionError(f"server error {response.status_code}: {response.text[:500]}")
