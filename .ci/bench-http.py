#!/usr/bin/env python3
"""The request hot path under load (`just bench-http`; needs wrk).

Starts the release binary on a fresh SQLite file and on a fresh PostgreSQL database
in turn, drives wrk against it on loopback, and prints one Markdown table: requests/s
and p50/p99 for /health, authenticated GET /users/{id}, GET /users?limit=50,
GET /users/me, refreshes (each connection renewing its own session, spending each
refresh token once) and logins; the argon2 limit for logins (cores / one hash's time); and
the server's RSS idle, at its peak during a login storm, and 15 s after the storm.

Usage: bench-http.py BINARY [sqlite|postgres ...]
Environment: BENCH_DURATION (s, default 6), BENCH_CONNECTIONS (32), BENCH_SESSIONS
(0 for a binary from before sessions existed),
BENCH_STORM (s of the login storm, default 60), DATABASE_URL_ADMIN (PostgreSQL server,
default postgres://postgres@127.0.0.1:5432/postgres).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

DURATION = int(os.environ.get("BENCH_DURATION", "6"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
STORM = int(os.environ.get("BENCH_STORM", "60"))
PG_ADMIN = os.environ.get(
    "DATABASE_URL_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres"
)
ADMIN = ("admin@example.com", "bench admin password")
USERS = 60

LOGIN_LUA = """
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"email": "%s", "password": "%s"}'
"""

# Each request spends a refresh token that no other request in flight holds, and each
# answer gives the next one back: a queue per wrk thread, filled with one session per
# connection. A refused refresh (which would end its session) shows as non-2xx.
REFRESH_LUA = """
local sessions = %s
local count = 0
function setup(thread)
  count = count + 1
  thread:set("id", count)
end
function init(args)
  queue = {}
  for _, token in ipairs(sessions[id]) do table.insert(queue, token) end
end
-- wrk builds one request per thread before the run and never sends it: that one
-- must not take a token.
local primed = false
function request()
  if not primed then
    primed = true
    return wrk.format("POST", nil, {["content-type"] = "application/json"}, "{}")
  end
  local token = table.remove(queue, 1) or "spent"
  return wrk.format("POST", nil, {["content-type"] = "application/json"},
    '{"grant_type": "refresh_token", "refresh_token": "' .. token .. '"}')
end
function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if token then table.insert(queue, token) end
end
"""


def refresh_script(path, base, threads, per_thread):
    """False for a build without sessions (no refresh token), as when benching an older
    binary for comparison."""
    groups = []
    for _ in range(threads):
        tokens = [
            request(
                base + "/api/v1/auth/token", {"email": ADMIN[0], "password": ADMIN[1]}
            ).get("refresh_token")
            for _ in range(per_thread)
        ]
        groups.append("{" + ", ".join(f'"{t}"' for t in tokens) + "}")
        if None in tokens:
            return False
    with open(path, "w") as lua:
        lua.write(REFRESH_LUA % ("{" + ", ".join(groups) + "}"))
    return True


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None, token=None, method=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wrk(url, token=None, script=None, connections=CONNECTIONS, duration=DURATION):
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if token:
        command += ["-H", f"authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(
        command + [url], check=True, capture_output=True, text=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {
        "rate": rate,
        "p50": percentile(output, "50%"),
        "p99": percentile(output, "99%"),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


def percentile(output, which):
    match = re.search(rf"^\s+{re.escape(which)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Server:
    def __init__(self, binary, backend, work):
        self.backend = backend
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database = None
        env = dict(
            os.environ,
            ROSTER__SERVER__PORT=str(self.port),
            ROSTER__LOG__LEVEL="warn",
            ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL=ADMIN[0],
            ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD=ADMIN[1],
            # A storm of logins from one address is the point here, not a brute force.
            ROSTER__AUTH__THROTTLE__MAX_HASHES_PER_CLIENT="1000000000",
            ROSTER__AUTH__THROTTLE__MAX_FAILURES_PER_CLIENT="1000000000",
            ROSTER__AUTH__THROTTLE__MAX_FAILURES_PER_ACCOUNT="1000000000",
            ROSTER__AUTH__THROTTLE__MAX_FAILURES_PER_ACCOUNT_FROM_CLIENT="1000000000",
        )
        if os.environ.get("BENCH_SESSIONS", "1") == "1":
            # BENCH_SESSIONS=0 for a binary from before sessions, which refuses these keys.
            env["ROSTER__AUTH__THROTTLE__MAX_REFRESHES_PER_SESSION"] = "1000000000"
            env["ROSTER__AUTH__SESSIONS__MAX_PER_USER"] = "1000"
        if backend == "postgres":
            self.database = f"roster_bench_{os.getpid()}"
            psql(f'CREATE DATABASE "{self.database}"')
            env["DATABASE_URL"] = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.database
        else:
            env.pop("DATABASE_URL", None)
        self.log = open(os.path.join(work, f"{backend}.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve"], cwd=work, env=env, stdout=self.log, stderr=self.log
        )
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/health", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"the server exited: see {self.log.name}")
                time.sleep(0.1)
        sys.exit("the server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        if self.database:
            psql(f'DROP DATABASE IF EXISTS "{self.database}"')


def psql(statement):
    subprocess.run(
        ["psql", PG_ADMIN, "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
        check=True,
        capture_output=True,
    )


def storm(server, script, read_url, token):
    """A login storm: peak RSS sampled every 50 ms, reads measured in its middle, then
    RSS 15 s after."""
    peak = 0
    done = threading.Event()
    reads = {}

    def read_during():
        time.sleep(min(10, STORM / 3))
        reads["row"] = wrk(read_url, token=token, connections=CONNECTIONS // 2)

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(server.process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    reader = threading.Thread(target=read_during)
    sampler.start()
    reader.start()
    result = wrk(server.base + "/api/v1/auth/token", script=script, duration=STORM)
    done.set()
    sampler.join()
    reader.join()
    time.sleep(15)
    return result, reads["row"], peak, rss_kib(server.process.pid)


def bench(binary, backend, work):
    server = Server(binary, backend, work)
    try:
        idle = rss_kib(server.process.pid)
        token = request(
            server.base + "/api/v1/auth/token", {"email": ADMIN[0], "password": ADMIN[1]}
        )["access_token"]
        me = request(server.base + "/api/v1/users/me", token=token)["id"]
        for i in range(USERS):
            request(
                server.base + "/api/v1/users",
                {"email": f"user{i}@example.com", "name": f"User {i}",
                 "password": "a long enough bench password"},
                token=token,
            )
        script = os.path.join(work, "login.lua")
        with open(script, "w") as lua:
            lua.write(LOGIN_LUA % ADMIN)
        rows = {}
        # A warm-up: connections made, pages touched.
        wrk(server.base + f"/api/v1/users/{me}", token=token, duration=2)
        rows["GET /health"] = wrk(server.base + "/health")
        rows["GET /users/{id}"] = wrk(server.base + f"/api/v1/users/{me}", token=token)
        rows["GET /users?limit=50"] = wrk(server.base + "/api/v1/users?limit=50", token=token)
        rows["GET /users/me"] = wrk(server.base + "/api/v1/users/me", token=token)
        refresh = os.path.join(work, "refresh.lua")
        threads = min(2, CONNECTIONS)
        if refresh_script(refresh, server.base, threads, CONNECTIONS // threads):
            rows["POST /auth/token (refreshes)"] = wrk(
                server.base + "/api/v1/auth/token", script=refresh
            )
        one = wrk(server.base + "/api/v1/auth/token", script=script, connections=1, duration=3)
        logins, reads, peak, after = storm(
            server, script, server.base + f"/api/v1/users/{me}", token
        )
        rows["POST /auth/token (logins)"] = logins
        rows[f"GET /users/{{id}} during the storm (-c{CONNECTIONS // 2})"] = reads
        cores = os.cpu_count() or 1
        hash_ms = one["p50"]
        return rows, {
            "idle": idle, "peak": peak, "after": after,
            "hash_ms": hash_ms, "limit": cores * 1000.0 / hash_ms,
        }
    finally:
        server.stop()


def main():
    binary = sys.argv[1]
    backends = sys.argv[2:] or ["sqlite", "postgres"]
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    work = tempfile.mkdtemp(prefix="roster-bench-")
    try:
        results = {backend: bench(binary, backend, work) for backend in backends}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrk -t2 -c{CONNECTIONS} -d{DURATION}s on loopback; login storm {STORM} s; "
          f"{os.cpu_count()} cores\n")
    print("| backend | request | requests/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---:|---:|---:|---:|")
    for backend, (rows, _) in results.items():
        for name, row in rows.items():
            print(f"| {backend} | {name} | {row['rate']:,.0f} | {row['p50']:.2f} | "
                  f"{row['p99']:.2f} | {row['errors']} |")
    print()
    print("| backend | one login (ms) | argon2 limit (logins/s) | RSS idle | RSS peak (storm) | RSS 15 s after |")
    print("|---|---:|---:|---:|---:|---:|")
    for backend, (_, memory) in results.items():
        print(f"| {backend} | {memory['hash_ms']:.1f} | {memory['limit']:.0f} | "
              f"{memory['idle'] / 1024:.0f} MiB | {memory['peak'] / 1024:.0f} MiB | "
              f"{memory['after'] / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
