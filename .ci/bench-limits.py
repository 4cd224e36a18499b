#!/usr/bin/env python3
"""What the limits cost per request (`just bench-limits`; needs wrk and Redis).

Starts the release binary on a fresh SQLite file three times: without rate limits,
with a `read` quota counted in memory, and with the same quota and the login throttle
counted in Redis (`limits.redis.url`). The quota is too large to be reached, so every
request is counted and none refused. Prints one Markdown table: requests/s and p50/p99
of an authenticated GET /users/me (wrk, BENCH_CONNECTIONS connections), and p50 of one
client's logins (the throttle's admit and success, in memory or in Redis, around one
argon2 hash).

Usage: bench-limits.py BINARY
Environment: BENCH_DURATION (s, default 6), BENCH_CONNECTIONS (32), BENCH_REDIS
(default redis://127.0.0.1:6379).
"""

import importlib.util
import os
import shutil
import sys
import tempfile

spec = importlib.util.spec_from_file_location(
    "bench_http", os.path.join(os.path.dirname(__file__), "bench-http.py")
)
bench_http = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_http)

REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379")
QUOTA = {
    "ROSTER__LIMITS__RATE__READ__REQUESTS": "1000000000",
    "ROSTER__LIMITS__RATE__READ__WINDOW": "1h",
}
SETUPS = {
    "no rate limit, throttle in memory": {},
    "read quota in memory, throttle in memory": QUOTA,
    "read quota and throttle in Redis": dict(
        QUOTA,
        ROSTER__LIMITS__REDIS__URL=REDIS,
        ROSTER__LIMITS__REDIS__KEY_PREFIX=f"bench-{os.getpid()}",
    ),
}
ADMIN = bench_http.ADMIN


def measure(binary, work, extra):
    saved = dict(os.environ)
    os.environ.update(extra)
    try:
        server = bench_http.Server(binary, "sqlite", work)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        base = server.base
        token = bench_http.request(
            base + "/api/v1/auth/token", {"email": ADMIN[0], "password": ADMIN[1]}
        )["access_token"]
        bench_http.wrk(base + "/api/v1/users/me", token=token, duration=2)
        reads = bench_http.wrk(base + "/api/v1/users/me", token=token)
        script = os.path.join(work, "login.lua")
        with open(script, "w") as lua:
            lua.write(bench_http.LOGIN_LUA % ADMIN)
        logins = bench_http.wrk(
            base + "/api/v1/auth/token", script=script, connections=1, duration=3
        )
        return reads, logins
    finally:
        server.stop()


def main():
    binary = os.path.abspath(sys.argv[1])
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    results = {}
    for name, extra in SETUPS.items():
        work = tempfile.mkdtemp(prefix="roster-bench-limits-")
        try:
            results[name] = measure(binary, work, extra)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"SQLite; wrk -t2 -c{bench_http.CONNECTIONS} -d{bench_http.DURATION}s on "
          f"loopback; {os.cpu_count()} cores\n")
    print("| setup | GET /users/me requests/s | p50 ms | p99 ms | non-2xx | one client's login p50 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (reads, logins) in results.items():
        print(f"| {name} | {reads['rate']:,.0f} | {reads['p50']:.2f} | {reads['p99']:.2f} | "
              f"{reads['errors']} | {logins['p50']:.2f} |")


if __name__ == "__main__":
    main()
