"""The workspace's rust-version is no lower than that of any locked dependency.

A stated minimum that a dependency does not build with is false: this fails the build
when a dependency raises its own (`cargo metadata` reads it from each package).
"""

import json
import re
import subprocess
import sys


def version(text):
    return tuple(int(part) for part in (text.split(".") + ["0", "0"])[:3])


metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
with open("Cargo.toml", encoding="utf-8") as manifest:
    stated = re.search(r'^rust-version = "([0-9.]+)"', manifest.read(), re.M).group(1)
workspace = set(metadata["workspace_members"])
highest = max(
    (
        (version(p["rust_version"]), p["rust_version"], p["name"])
        for p in metadata["packages"]
        if p.get("rust_version") and p["id"] not in workspace
    ),
    default=((0, 0, 0), "0", "nothing"),
)
if highest[0] > version(stated):
    print(f"rust-version {stated} is too low: {highest[2]} needs {highest[1]}")
    sys.exit(1)
with open("README.md", encoding="utf-8") as readme:
    if f"({stated} or newer)" not in readme.read():
        print(f"README.md does not state the minimum Rust version {stated}")
        sys.exit(1)
print(f"rust-version {stated}: the highest a dependency needs is {highest[1]} ({highest[2]})")
