#!/usr/bin/env bash
# Checks the operations files: the Prometheus alerts and their unit tests, the example
# Prometheus configuration, the Grafana dashboard, the runbooks, and the list of metric
# names they may use against the metrics the C++ code registers.
#
#   tests/ops/check_ops_files.sh [REPOSITORY]      (ctest: the `ops_files` test)
#
# Needs promtool (Debian's `prometheus` package) and python3 with PyYAML (`python3-yaml`);
# no network, no running recado, no Prometheus server. Runs every check, prints one line
# per check and a closing "N passed, N failed"; exits 1 when one failed.
set -uo pipefail

root=$(cd "${1:-$(dirname "$0")/../..}" && pwd) || { echo "check_ops_files: no repository at ${1:-}" >&2; exit 1; }
alerts=config/prometheus/alerts.yml
prom_config=config/prometheus/prometheus.yml
known=config/prometheus/known_metrics.txt
dashboard=config/grafana/recado.json
runbooks=docs/runbooks.md
alert_tests=tests/ops/alerts_test.yml

# PROMTOOL names another promtool; by default the one on PATH, else Debian's /usr/bin/promtool.
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "${PROMTOOL:-}" ] && [ -z "$promtool" ] && [ -x /usr/bin/promtool ]; then promtool=/usr/bin/promtool; fi
if [ -z "$promtool" ] || [ ! -x "$promtool" ]; then
  echo "check_ops_files: promtool not found${promtool:+ at $promtool}. It comes with Debian's prometheus package:" >&2
  echo "  apt-get install --no-install-recommends prometheus   (scripts/bootstrap installs it)" >&2
  exit 1
fi
. "$root/tests/ops/lib.sh"
ops_name=check_ops_files
ops_python

ops_tmpdir
cd "$root" || exit 1

cat >"$tmp/check.py" <<'PY'
"""The checks promtool cannot make: which metric names, labels and runbook anchors exist."""
import glob
import json
import os
import re
import sys

import yaml

TYPES = {"counter", "gauge", "histogram"}
STATUSES = {"exported", "proposed", "prometheus"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
KNOWN = "config/prometheus/known_metrics.txt"
NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
errors = []


def fail(msg):
    errors.append(msg)


def load_known():
    """known_metrics.txt: name type status labels (labels comma-separated, or -)."""
    known = {}
    with open(KNOWN) as f:
        for n, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            where = f"{KNOWN}:{n}"
            if len(parts) != 4:
                fail(f"{where}: want `name type status labels`, got {line!r}")
                continue
            name, typ, status, labels = parts
            if not NAME_RE.match(name):
                fail(f"{where}: {name!r} is not a metric name")
            if typ not in TYPES:
                fail(f"{where}: type {typ!r} is not one of {sorted(TYPES)}")
            if status not in STATUSES:
                fail(f"{where}: status {status!r} is not one of {sorted(STATUSES)}")
            if name in known:
                fail(f"{where}: {name} listed twice")
            # Prometheus naming conventions: counters end in _total, nothing else does.
            if typ == "counter" and not name.endswith("_total"):
                fail(f"{where}: counter {name} should end in _total")
            if typ != "counter" and name.endswith("_total"):
                fail(f"{where}: {typ} {name} should not end in _total")
            if status != "prometheus" and not (name.startswith("recado_") or name.startswith("process_")):
                fail(f"{where}: {name}: recado's metrics start with recado_ (or process_)")
            known[name] = {"type": typ, "status": status,
                           "labels": set() if labels == "-" else set(labels.split(","))}
    return known


def call_span(text, start):
    """The text of a call from `start` (just after its opening parenthesis) to its end."""
    depth, i, in_str = 1, start, None
    while i < len(text) and depth:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == in_str:
                in_str = None
        elif c in "\"'":
            in_str = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        i += 1
    return text[start:i]


# counter_reading: a counter whose total is read at scrape time (Metrics::counter_reading).
REGISTRATION = re.compile(r"\b(counter_reading|counter|histogram|gauge)\s*\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")


def registered_metrics():
    """(name) -> {type, labels, places} for every Metrics::counter/histogram/gauge call."""
    found = {}
    files = sorted(glob.glob("src/**/*.[ch]pp", recursive=True) + glob.glob("jobs/**/*.[ch]pp", recursive=True))
    for path in files:
        text = open(path, encoding="utf-8", errors="replace").read()
        for m in REGISTRATION.finditer(text):
            typ, name = m.group(1).replace("counter_reading", "counter"), m.group(2)
            span = call_span(text, text.index("(", m.start()) + 1)
            labels = set(re.findall(r"\{\s*\"([a-zA-Z_][a-zA-Z0-9_]*)\"\s*,", span))
            line = text.count("\n", 0, m.start()) + 1
            entry = found.setdefault(name, {"types": set(), "labels": set(), "places": []})
            entry["types"].add(typ)
            entry["labels"] |= labels
            entry["places"].append(f"{path}:{line}")
    return found


def check_known():
    known = load_known()
    code = registered_metrics()
    if not code:
        fail("found no Metrics::counter/histogram/gauge call in src/ or jobs/: is this the repository?")
    for name, c in sorted(code.items()):
        where = ", ".join(c["places"])
        k = known.get(name)
        if k is None:
            fail(f"{name} ({where}) is not in {KNOWN}: add it as exported")
            continue
        if k["status"] == "proposed":
            fail(f"{name} is registered now ({where}): mark it exported in {KNOWN}")
        elif k["status"] != "exported":
            fail(f"{name} is registered by recado ({where}) but listed as {k['status']}")
        if c["types"] != {k["type"]}:
            fail(f"{name}: the code registers a {'/'.join(sorted(c['types']))}, {KNOWN} says {k['type']}")
        if c["labels"] != k["labels"]:
            fail(f"{name}: the code's labels are {','.join(sorted(c['labels'])) or '-'}, "
                 f"{KNOWN} says {','.join(sorted(k['labels'])) or '-'}")
    for name, k in sorted(known.items()):
        if k["status"] == "exported" and name not in code:
            fail(f"{name} is listed as exported in {KNOWN} but src/ and jobs/ register no such metric")
    exported = sum(1 for k in known.values() if k["status"] == "exported")
    proposed = sorted(n for n, k in known.items() if k["status"] == "proposed")
    if not errors:
        print(f"{exported} exported metrics match the code; proposed: {', '.join(proposed) or 'none'}")


# ----------------------------------------------------------------------------- PromQL
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
            "bool", "offset", "inf", "nan", "atan2", "start", "end"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def without_strings(expr):
    """The expression with every string literal emptied and comments dropped."""
    out, i, in_str = [], 0, None
    while i < len(expr):
        c = expr[i]
        if in_str:
            if c == "\\" and in_str != "`":
                i += 2
                continue
            if c == in_str:
                in_str = None
                out.append(c)
        elif c in "\"'`":
            in_str = c
            out.append(c)
        elif c == "#":
            while i < len(expr) and expr[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def references(expr):
    """[(metric name, matcher label names)] and the by/on label names of a PromQL expression."""
    s = without_strings(expr)
    s = re.sub(r"\[[^\]]*\]", " ", s)                      # ranges and subqueries
    grouping = set()
    for kind, labels in GROUPING.findall(s):
        if kind in ("by", "on"):
            grouping |= {l.strip() for l in labels.split(",") if l.strip()}
    s = GROUPING.sub(" ", s)
    refs = []
    for m in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}", s):
        labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(2)))
        name = m.group(1)
        if name in KEYWORDS:
            name = None
        if name is None:
            names = re.findall(r"__name__\s*=\s*\"([^\"]*)\"", expr)
            if not names:
                fail(f"a selector without a metric name (a regex __name__ is not checked): {expr!r}")
            for n in names:
                refs.append((n, labels - {"__name__"}))
        else:
            refs.append((name, labels))
    s = re.sub(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{[^}]*\}", lambda m: f" {m.group(1) or ''} ", s)
    s = re.sub(r"(?<![\w:.])(0[xX][0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)(ms|[smhdwy])?", " ", s)
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        word = m.group(0)
        if word.lower() in KEYWORDS or re.match(r"\s*\(", s[m.end():]):
            continue  # a keyword, or a function / aggregation
        if not any(r[0] == word for r in refs):
            refs.append((word, set()))
    return refs, grouping


def check_expr(expr, where, known, target_labels):
    refs, grouping = references(expr)
    available = set(target_labels)
    unknown = False
    for name, labels in refs:
        base, suffix = name, ""
        if name not in known:
            for sfx in HISTOGRAM_SUFFIXES:
                if name.endswith(sfx) and known.get(name[: -len(sfx)], {}).get("type") == "histogram":
                    base, suffix = name[: -len(sfx)], sfx
        k = known.get(base)
        if k is None:
            fail(f"{where}: unknown metric {name} (not in {KNOWN}): {' '.join(expr.split())}")
            unknown = True
            continue
        if k["type"] == "histogram" and not suffix:
            fail(f"{where}: histogram {name} is read as {name}_bucket, _sum or _count")
            unknown = True
        allowed = k["labels"] | set(target_labels) | ({"le"} if suffix == "_bucket" else set())
        available |= allowed
        for label in sorted(labels - allowed):
            fail(f"{where}: {name} has no label {label!r} (labels: {','.join(sorted(k['labels'])) or '-'})")
    for label in sorted(grouping - available if not unknown else set()):
        fail(f"{where}: by/on label {label!r} is on none of the metrics it groups: {' '.join(expr.split())}")
    return refs


def target_labels():
    """Labels Prometheus adds to every scraped series: job, instance, and the static ones."""
    cfg = yaml.safe_load(open("config/prometheus/prometheus.yml"))
    labels = {"job", "instance"}
    for job in cfg.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            labels |= set((sc.get("labels") or {}).keys())
    return labels


def anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    out = set()
    for line in open(path):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def check_alerts():
    known = load_known()
    labels = target_labels()
    doc = yaml.safe_load(open("config/prometheus/alerts.yml"))
    anchors_here = anchors("docs/runbooks.md")
    names = []
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record")
            where = f"alerts.yml {name}"
            check_expr(rule.get("expr", ""), where, known, labels)
            if "record" in rule:
                continue
            names.append(name)
            if not rule.get("for"):
                fail(f"{where}: no `for:`")
            if (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                fail(f"{where}: labels.severity must be critical, warning or info")
            ann = rule.get("annotations") or {}
            for key in ("summary", "description", "runbook_url"):
                if not ann.get(key):
                    fail(f"{where}: no annotations.{key}")
            url = ann.get("runbook_url", "")
            m = re.match(r"^(?:.*/)?docs/runbooks\.md#([\w-]+)$", url)
            if not m:
                fail(f"{where}: runbook_url {url!r} is not docs/runbooks.md#<anchor>")
            elif m.group(1) not in anchors_here:
                fail(f"{where}: docs/runbooks.md has no heading for #{m.group(1)}")
    if len(set(names)) != len(names):
        fail("alerts.yml: an alert name is used twice")
    tests = yaml.safe_load(open("tests/ops/alerts_test.yml"))
    fired = {t["alertname"] for case in tests.get("tests") or [] for t in case.get("alert_rule_test") or []
             if t.get("exp_alerts")}
    for name in names:
        if name not in fired:
            fail(f"tests/ops/alerts_test.yml: no test expects {name} to fire")
    if not errors:
        print(f"{len(names)} alerts: metrics known, severity, for, summary, description, runbook anchors, each tested firing")


def dashboard_panels(panels):
    for p in panels or []:
        yield p
        yield from dashboard_panels(p.get("panels"))


def grafana_to_promql(expr):
    """A dashboard query with Grafana's variables replaced, for promtool to parse."""
    fixed = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
    return re.sub(r"\$\{?(\w+)(?::\w+)?\}?", lambda m: fixed.get(m.group(1), ".*"), expr)


def check_dashboard(rules_out):
    known = load_known()
    labels = target_labels()
    try:
        d = json.load(open("config/grafana/recado.json"))
    except ValueError as e:
        fail(f"config/grafana/recado.json is not valid JSON: {e}")
        return
    inputs = {i.get("name") for i in d.get("__inputs") or [] if i.get("pluginId") == "prometheus"}
    if "DS_PROMETHEUS" not in inputs:
        fail("recado.json: __inputs has no prometheus data source named DS_PROMETHEUS")
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        fail("recado.json: schemaVersion missing or older than 36")
    for key in ("title", "uid", "panels"):
        if not d.get(key):
            fail(f"recado.json: no {key}")
    ids, exprs, proposed_panels = set(), [], set()
    for p in dashboard_panels(d.get("panels")):
        title = p.get("title", "?")
        if p.get("id") in ids:
            fail(f"recado.json: panel id {p.get('id')} used twice")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            fail(f"recado.json: panel {title!r} has no gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets") or []
        if not targets:
            fail(f"recado.json: panel {title!r} has no targets")
        for t in targets:
            where = f"recado.json panel {title!r} {t.get('refId', '?')}"
            if (t.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
                fail(f"{where}: datasource is not ${{DS_PROMETHEUS}}")
            expr = t.get("expr", "")
            if not expr.strip():
                fail(f"{where}: empty expr")
                continue
            for name, _ in check_expr(expr, where, known, labels):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if known.get(name, known.get(base, {})).get("status") == "proposed":
                    proposed_panels.add(title)
            exprs.append((where, expr))
    for v in (d.get("templating") or {}).get("list") or []:
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.match(r"^\s*label_values\(\s*(.+)\s*,\s*(\w+)\s*\)\s*$", q)
        if v.get("type") == "query":
            if not m:
                fail(f"recado.json variable {v.get('name')}: want label_values(metric, label), got {q!r}")
                continue
            refs = check_expr(m.group(1), f"recado.json variable {v.get('name')}", known, labels)
            if not any(m.group(2) in known.get(n, {}).get("labels", set()) | labels for n, _ in refs):
                fail(f"recado.json variable {v.get('name')}: {m.group(1)} has no label {m.group(2)}")
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:expr_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(exprs)]}]}
    with open(rules_out, "w") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    if not errors:
        print(f"{len(ids)} panels, {len(exprs)} queries: metrics and labels known; "
              f"{len(proposed_panels)} panels wait on proposed metrics")


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "known":
        check_known()
    elif what == "alerts":
        check_alerts()
    elif what == "dashboard":
        check_dashboard(sys.argv[2])
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)
PY
[ -s "$tmp/check.py" ] || { echo "check_ops_files: could not write $tmp/check.py" >&2; exit 1; }

check "promtool check rules $alerts" "$promtool" check rules "$alerts"
check "promtool check config $prom_config" "$promtool" check config "$prom_config"
check "promtool test rules $alert_tests" "$promtool" test rules "$alert_tests"
check "$known matches the metrics src/ and jobs/ register" "$python" "$tmp/check.py" known
check "$alerts names known metrics, has runbooks ($runbooks) and tests" "$python" "$tmp/check.py" alerts
check "$dashboard parses and names known metrics" "$python" "$tmp/check.py" dashboard "$tmp/dashboard_rules.yml"
if [ -s "$tmp/dashboard_rules.yml" ]; then
  check "$dashboard queries parse (promtool)" "$promtool" check rules "$tmp/dashboard_rules.yml"
else
  failed=$((failed + 1))
  echo "FAILED  $dashboard queries parse (promtool): no queries extracted"
fi

echo "ops: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
