"""Validates an OpenAPI document (path given) with openapi-spec-validator and prints its paths."""
import json
import sys

from openapi_spec_validator import validate

doc = json.load(open(sys.argv[1]))
validate(doc)
print(json.dumps(sorted(f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops)))
