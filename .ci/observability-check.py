#!/usr/bin/env python3
"""Checks the alert rules and Grafana dashboards against a real `/metrics` scrape.

Usage: observability-check.py SCRAPE_FILE [PROMETHEUS_URL]

Every metric name used by a PromQL expression in deploy/observability/alerts.yml and
deploy/observability/grafana/dashboards/*.json must appear in the scrape (taken from
the running server after some traffic, by .ci/metrics-check.sh), so that renaming a
metric cannot silently blank a panel or disarm an alert. Also checked: each alert's
runbook link names a heading of docs/operations.md, each dashboard's panel ids are
unique and its panels fit the 24-column grid, and every data source it names is
provisioned.

With PROMETHEUS_URL (a Prometheus that scraped the same server during the traffic),
every panel's query is also run there, its Grafana variables replaced (all jobs and
instances, a 1m rate interval): Prometheus must accept it, and it must return series,
except the panels of failures the traffic does not cause (5xx, 429).
"""

import json
import pathlib
import re
import sys
import urllib.parse
import urllib.request

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
OBSERVABILITY = ROOT / "deploy" / "observability"
# Series Prometheus makes itself, never in a scrape.
SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2",
}
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"


def metric_names(expression):
    """The metric names a PromQL expression selects (a tokenizer, not a parser: enough
    for the expressions we write, and it errs towards reporting more names)."""
    names = set()
    for match in re.finditer(rf"label_values\(\s*({NAME})\s*(\{{[^}}]*\}})?\s*,", expression):
        names.add(match.group(1))
    text = re.sub(r"label_values\([^)]*\)", " ", expression)
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )
    text = re.sub(r"\$\w+", " ", text)
    text = re.sub(r"(?<![\w:])\d+(\.\d+)?([eE][+-]?\d+)?[smhdwy]?\b", " ", text)
    for match in re.finditer(rf"({NAME})(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def scraped_names(path):
    names = set()
    for line in pathlib.Path(path).read_text().splitlines():
        if line and not line.startswith("#"):
            names.add(re.match(NAME, line).group(0))
    return names


def anchors(markdown):
    found = set()
    for line in markdown.splitlines():
        heading = re.match(r"#+\s+(.*)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def alert_expressions(problems):
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    headings = anchors((ROOT / "docs" / "operations.md").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert") or rule.get("record")
            runbook = rule.get("annotations", {}).get("runbook_url", "")
            anchor = runbook.partition("docs/operations.md#")[2]
            if rule.get("alert") and anchor not in headings:
                problems.append(f"alert {name}: runbook {runbook!r} names no heading of docs/operations.md")
            yield f"alert {name}", rule["expr"]


def dashboard_expressions(problems):
    datasources = yaml.safe_load((OBSERVABILITY / "grafana" / "datasources.yaml").read_text())
    uids = {source["uid"] for source in datasources["datasources"]}
    for path in sorted((OBSERVABILITY / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        ids = set()
        variables = {variable["name"] for variable in dashboard["templating"]["list"]}
        for variable in dashboard["templating"]["list"]:
            query = variable.get("query")
            if variable["type"] == "query":
                yield f"{path.name} variable {variable['name']}", query["query"]
        for panel in dashboard["panels"]:
            where = f"{path.name} panel {panel['id']} ({panel['title']})"
            if panel["id"] in ids:
                problems.append(f"{where}: the id is used twice")
            ids.add(panel["id"])
            grid = panel["gridPos"]
            if grid["x"] + grid["w"] > 24:
                problems.append(f"{where}: wider than the grid")
            source = panel.get("datasource", {}).get("uid")
            if source and source.lstrip("${").rstrip("}") not in variables and source not in uids:
                problems.append(f"{where}: data source {source!r} is not provisioned")
            for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", []):
                for uid in re.findall(r'"uid":"([^"]+)"', link["url"]):
                    if uid not in uids:
                        problems.append(f"{where}: link to data source {uid!r}, not provisioned")
            for target in panel.get("targets", []):
                yield f"{where} {target['refId']}", target["expr"]


# Panels whose series exist only once such answers have been sent.
RARE = re.compile(r'http_response_status_code=~?"(5\.\.|429)"')


def run_panels(prometheus, expressions, problems):
    """Runs the dashboards' queries on Prometheus; returns how many returned series."""
    answered = 0
    for where, expression in expressions:
        if where.startswith("alert ") or " variable " in where:
            continue
        query = (
            expression.replace("$__rate_interval", "1m")
            .replace("$job", ".*")
            .replace("$instance", ".*")
        )
        url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            problems.append(f"{where}: Prometheus refused the query: {error.read().decode()}")
            continue
        series = answer["data"]["result"]
        if series:
            answered += 1
        elif not RARE.search(expression):
            problems.append(f"{where}: no series after the traffic: {query}")
    return answered


def main():
    scraped = scraped_names(sys.argv[1])
    problems = []
    expressions = list(alert_expressions(problems)) + list(dashboard_expressions(problems))
    used = set()
    for where, expression in expressions:
        names = metric_names(expression)
        if not names:
            problems.append(f"{where}: no metric name found in {expression!r}")
        for name in sorted(names - scraped - SYNTHETIC):
            problems.append(f"{where}: {name} is not in the scrape")
        used |= names
    answered = run_panels(sys.argv[2], expressions, problems) if len(sys.argv) > 2 else None
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(
        f"{len(expressions)} PromQL expressions (alerts and dashboards) use {len(used)} "
        f"metric names; every one is in the scrape of {len(scraped)} series names"
    )
    if answered is not None:
        panels = sum(1 for where, _ in expressions if " panel " in where)
        print(f"Prometheus ran all {panels} panel queries; {answered} returned series")
    return 0


if __name__ == "__main__":
    sys.exit(main())
