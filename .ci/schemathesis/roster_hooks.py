"""Schemathesis hooks for Roster: authenticate every request as an administrator.

The fuzzer is an administrator, so it can (and does) disable, rename or delete the
administrator it authenticates as, or revoke its token. When logging in stops
working, a new administrator is created with `roster users create-admin` (as an
operator would) and the fuzzing goes on under that one.
"""

import itertools
import json
import os
import subprocess

import requests
import schemathesis

BASE_URL = os.environ["ROSTER_FUZZ_URL"]
PASSWORD = os.environ["ROSTER_FUZZ_ADMIN_PASSWORD"]
_admins = itertools.count(1)
_email = os.environ["ROSTER_FUZZ_ADMIN_EMAIL"]


def _login(email):
    return requests.post(
        f"{BASE_URL}/api/v1/auth/token",
        json={"email": email, "password": PASSWORD},
        timeout=10,
    )


def _new_admin():
    email = f"fuzz-admin-{next(_admins)}@example.com"
    subprocess.run(
        [os.environ["ROSTER_FUZZ_BINARY"], "users", "create-admin", "--email", email],
        env={**os.environ, "ROSTER_ADMIN_PASSWORD": PASSWORD},
        check=True,
        capture_output=True,
    )
    return email


@schemathesis.auth(refresh_interval=60, retry_on=[401])
class AdminToken:
    def get(self, case, context):
        global _email
        response = _login(_email)
        if response.status_code != 200:
            _email = _new_admin()
            response = _login(_email)
        response.raise_for_status()
        return response.json()["access_token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """`POST /users/import` takes NDJSON: a generated string goes as it is (each line
    then a row the server judges), anything else as one JSON line."""
    if isinstance(value, bytes):
        return {"data": value}
    if isinstance(value, str):
        return {"data": value.encode("utf-8")}
    return {"data": json.dumps(value).encode("utf-8")}
