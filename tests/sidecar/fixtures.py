"""Hasura-style YAML fixtures, run against a live sidecar.

Each file in tests/sidecar/fixtures/ is a mapping:

    description: what the file covers
    setup:    [requests]      # run in order before the cases; each must answer 200
    cases:    [case]
    teardown: [requests]      # always run, failures only reported

A request or case is Hasura's test-case shape: `url` (path, default /v1/query), `headers`
(added to the admin secret unless `admin: false`), `query` (the JSON body), `status`
(expected HTTP status, default 200) and, for cases, `response`: the expected JSON body.
Responses are compared with key order inside GraphQL `data` (its keys follow the selection
set), unless a case says `key_order: false`; other objects compare unordered.

    python tests/sidecar/fixtures.py [file.yaml ...]     # default: every file, sorted

Environment: GRAFT_URL (the sidecar), GRAFT_ADMIN_SECRET.
"""

import glob
import json
import os
import sys

import requests
import yaml

from checks import check, finish

URL = os.environ["GRAFT_URL"]
SECRET = os.environ["GRAFT_ADMIN_SECRET"]
HERE = os.path.dirname(os.path.abspath(__file__))


def send(item):
    headers = {} if item.get("admin", True) is False else {"x-hasura-admin-secret": SECRET}
    headers.update({k: str(v) for k, v in (item.get("headers") or {}).items()})
    path = item.get("url", "/v1/query")
    return requests.post(f"{URL}{path}", json=item.get("query"), headers=headers, timeout=30)


def same(expected, actual, key_order, in_data=False):
    """Equal JSON; with key_order, objects under a GraphQL `data` key (whose keys follow the
    selection set) must also list their keys in the same order. Other objects (error bodies,
    metadata answers) are unordered, as JSON objects are."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if key_order and in_data and list(expected) != list(actual):
            return False
        return set(expected) == set(actual) and all(
            same(v, actual[k], key_order, in_data or k == "data") for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(e, a, key_order, in_data) for e, a in zip(expected, actual))
    # 1 and 1.0 are the same JSON number; True is not 1.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return expected == actual


def run_file(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    name = os.path.splitext(os.path.basename(path))[0]
    for i, req in enumerate(doc.get("setup") or []):
        r = send(req)
        if r.status_code != req.get("status", 200):
            check(f"{name}: setup step {i + 1}", False, f"{r.status_code} {r.text}")
            break
    try:
        for i, case in enumerate(doc.get("cases") or []):
            label = f"{name}: {case.get('description', f'case {i + 1}')}"
            r = send(case)
            try:
                body = r.json()
            except ValueError:
                body = r.text
            ok = r.status_code == case.get("status", 200)
            if "response" in case:
                ok = ok and same(case["response"], body, case.get("key_order", True))
            check(label, ok, f"status {r.status_code}, body {json.dumps(body)[:800]}\n      expected {case.get('status', 200)} {json.dumps(case.get('response'))[:800]}")
    finally:
        for req in doc.get("teardown") or []:
            r = send(req)
            if r.status_code != req.get("status", 200):
                print(f"  (teardown of {name}: {r.status_code} {r.text[:200]})")


def main(args):
    files = args or sorted(glob.glob(os.path.join(HERE, "fixtures", "*.yaml")))
    for path in files:
        run_file(path)
    finish("fixtures")


if __name__ == "__main__":
    main(sys.argv[1:])
