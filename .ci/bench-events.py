#!/usr/bin/env python3
"""The outbox's cost and the relay's rate (`just bench-events`).

1. What a write costs: sequential PATCH /users/{id} (one keep-alive connection,
   p50/p99 of 2,000) and concurrent ones (8 clients, each renaming its own user, 400
   each: writes/s), on SQLite and PostgreSQL, for each binary given (say, one built
   before the outbox and one after), with events to the log (the embedded default).
2. How fast the relay empties a backlog into NATS JetStream: N events stored in the
   outbox beforehand (by SQL, as writes would leave them), then the server started with
   `events.nats.url`; the time until none is undelivered, and the stream's count.

Usage: bench-events.py BINARY[=LABEL] [BINARY[=LABEL] ...]
Environment: BENCH_EVENTS (backlog size, default 50000), BENCH_NATS
(nats://127.0.0.1:4222), DATABASE_URL_ADMIN (postgres://postgres@127.0.0.1:5432/postgres).
The relay part runs for the last binary only.
"""

import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

EVENTS = int(os.environ.get("BENCH_EVENTS", "50000"))
NATS = os.environ.get("BENCH_NATS", "nats://127.0.0.1:4222")
PG_ADMIN = os.environ.get("DATABASE_URL_ADMIN", "postgres://postgres@127.0.0.1:5432/postgres")
ADMIN = ("admin@example.com", "bench admin password")
SEQUENTIAL = 2000
CLIENTS, PER_CLIENT = 8, 400
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid():
    value = (int(time.time() * 1000) << 80) | random.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, statement):
    return subprocess.run(
        ["psql", url, "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", statement],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


class Database:
    def __init__(self, backend, work):
        self.backend = backend
        if backend == "postgres":
            self.name = f"roster_bench_events_{os.getpid()}_{random.getrandbits(20)}"
            psql(PG_ADMIN, f'CREATE DATABASE "{self.name}"')
            self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        else:
            self.path = os.path.join(work, f"bench-{random.getrandbits(20)}.db")
            self.url = f"sqlite://{self.path}"

    def query(self, statement):
        if self.backend == "postgres":
            return psql(self.url, statement)
        with sqlite3.connect(self.path, timeout=30) as conn:
            rows = conn.execute(statement).fetchall()
            return str(rows[0][0]) if rows else ""

    def fill_outbox(self, count):
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        rows = [(ulid(), ulid(), 1, "user.created", "{}", "system") for _ in range(count)]
        if self.backend == "postgres":
            data = "".join("\t".join(map(str, r)) + f"\t{now}+00\n" for r in rows)
            subprocess.run(
                ["psql", self.url, "-q", "-v", "ON_ERROR_STOP=1", "-c",
                 "COPY outbox (id, user_id, user_version, kind, data, actor, occurred_at) FROM STDIN"],
                input=data, text=True, check=True, capture_output=True,
            )
        else:
            with sqlite3.connect(self.path) as conn:
                conn.executemany(
                    "INSERT INTO outbox (id, user_id, user_version, kind, data, actor, occurred_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [r + (now + ".000000Z",) for r in rows],
                )

    def drop(self):
        if self.backend == "postgres":
            psql(PG_ADMIN, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Server:
    def __init__(self, binary, database, work, extra=None):
        self.port = free_port()
        env = dict(
            os.environ,
            DATABASE_URL=database.url,
            ROSTER__SERVER__PORT=str(self.port),
            ROSTER__LOG__LEVEL="warn",
            ROSTER__AUTH__BOOTSTRAP_ADMIN__EMAIL=ADMIN[0],
            ROSTER__AUTH__BOOTSTRAP_ADMIN__PASSWORD=ADMIN[1],
            **(extra or {}),
        )
        self.log = open(os.path.join(work, f"server-{self.port}.log"), "w")
        self.process = subprocess.Popen([binary, "serve"], cwd=work, env=env,
                                        stdout=self.log, stderr=self.log)
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1)
                break
            except OSError:
                if self.process.poll() is not None:
                    sys.exit(f"the server exited: see {self.log.name}")
                time.sleep(0.1)
        self.token = self.call("POST", "/api/v1/auth/token",
                               {"email": ADMIN[0], "password": ADMIN[1]})[1]["access_token"]

    def connection(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def call(self, method, path, body=None, conn=None, content_type="application/json"):
        own = conn is None
        conn = conn or self.connection()
        headers = {"content-type": content_type}
        if getattr(self, "token", None):
            headers["authorization"] = f"Bearer {self.token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        text = response.read()
        if own:
            conn.close()
        return response.status, (json.loads(text) if text else None)

    def user(self, n):
        status, body = self.call("POST", "/api/v1/users", {
            "email": f"bench{n}@example.com", "name": "Bench", "password": "correct horse battery staple"})
        assert status == 201, (status, body)
        return body["id"]

    def rename(self, conn, user, n):
        started = time.perf_counter()
        status, _ = self.call("PATCH", f"/api/v1/users/{user}", {"name": f"Name {n}"},
                              conn=conn, content_type="application/merge-patch+json")
        assert status == 200, status
        return time.perf_counter() - started

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def writes(binary, backend, work):
    database = Database(backend, work)
    server = Server(binary, database, work)
    try:
        user = server.user(0)
        conn = server.connection()
        for n in range(100):  # warm-up
            server.rename(conn, user, n)
        latencies = sorted(server.rename(conn, user, n) for n in range(SEQUENTIAL))
        conn.close()
        users = [server.user(n + 1) for n in range(CLIENTS)]

        def client(user):
            own = server.connection()
            for n in range(PER_CLIENT):
                server.rename(own, user, n)
            own.close()

        threads = [threading.Thread(target=client, args=(u,)) for u in users]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = CLIENTS * PER_CLIENT / (time.perf_counter() - started)
        return {
            "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000,
            "rate": rate,
        }
    finally:
        server.stop()
        database.drop()


def relay(binary, backend, work):
    database = Database(backend, work)
    subprocess.run([binary, "migrate", "run"], env=dict(os.environ, DATABASE_URL=database.url),
                   check=True, capture_output=True, cwd=work)
    database.fill_outbox(EVENTS)
    stream = f"BENCH_{ulid()}"
    started = time.perf_counter()
    server = Server(binary, database, work, {
        "ROSTER__EVENTS__NATS__URL": NATS,
        "ROSTER__EVENTS__NATS__STREAM": stream,
        "ROSTER__EVENTS__NATS__SUBJECT_PREFIX": f"bench.{stream.lower()}",
    })
    try:
        while int(database.query("SELECT count(*) FROM outbox WHERE delivered_at IS NULL") or 0) > 0:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        return {"events": EVENTS, "seconds": elapsed, "rate": EVENTS / elapsed}
    finally:
        server.stop()
        database.drop()


def main():
    binaries = []
    for arg in sys.argv[1:]:
        path, _, label = arg.partition("=")
        binaries.append((path, label or os.path.basename(os.path.dirname(os.path.dirname(path)))))
    if not binaries:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as work:
        print("| backend | binary | PATCH p50 (sequential) | PATCH p99 | PATCH writes/s (8 clients) |")
        print("|---|---|---|---|---|")
        for backend in ("sqlite", "postgres"):
            for path, label in binaries:
                row = writes(path, backend, work)
                print(f"| {backend} | {label} | {row['p50']:.2f} ms | {row['p99']:.2f} ms | {row['rate']:,.0f} |",
                      flush=True)
        print()
        print("| backend | backlog | drained in | events/s into JetStream |")
        print("|---|---|---|---|")
        for backend in ("sqlite", "postgres"):
            row = relay(binaries[-1][0], backend, work)
            print(f"| {backend} | {row['events']:,} | {row['seconds']:.2f} s | {row['rate']:,.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
