#!/usr/bin/env bash
# Checks Dockerfile, .dockerignore, docker-compose.yml and the Grafana provisioning without a
# Docker engine (none runs on the development or CI machines):
#
#   tests/ops/check_docker_files.sh [REPOSITORY [RECADO_BINARY]]   (ctest: `docker_files`)
#
# - docker-compose.yml parses, has the expected services wired as expected, and every file,
#   folder and named volume it refers to exists; the scrape targets of
#   config/prometheus/prometheus.yml and Grafana's provisioning point at its services.
# - Dockerfile: its stages, a non-root USER, HEALTHCHECK, nothing piped into a shell, no
#   registry host name or URL, COPY sources present and not ignored by .dockerignore, and the
#   build stage's packages taken from scripts/bootstrap. hadolint when installed (Debian does
#   not package it), `docker compose config` when the docker CLI has compose (it needs no
#   engine); each is reported as skipped otherwise.
# - Given a built recado: each shared library `ldd` shows, mapped to its Debian package
#   (dpkg -S), must be installed by the runtime stage's apt-get line (the libraries recado
#   links itself), or come with those packages or the base image (the libraries they link);
#   and `recado config check` accepts the image's configuration with each compose service's
#   environment.
#
# Needs python3 with PyYAML (Debian's python3-yaml); no network, no database. Prints one line
# per check and a closing "N passed, N failed, N skipped"; exits 1 when one failed.
set -uo pipefail

root=$(cd "${1:-$(dirname "$0")/../..}" && pwd) || { echo "check_docker_files: no repository at ${1:-}" >&2; exit 1; }
recado_bin=${2:-}
. "$root/tests/ops/lib.sh"
ops_name=check_docker_files
ops_python
ops_tmpdir
cd "$root" || exit 1

# Placeholders for the variables compose requires (${VAR:?...}), for interpolation only.
export POSTGRES_PASSWORD=lint-password RECADO_API_TOKEN=lint-token

cat >"$tmp/check.py" <<'PY'
import os, re, shlex, subprocess, sys
import yaml

errors = []
def fail(msg):
    errors.append(msg)

def done():
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)

# ---------------------------------------------------------------- compose

def interpolate(text, env):
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$."""
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-", ":?"):
            unset = not value
        else:
            unset = value is None
        if op in (":-", "-") and unset:
            return interpolate(arg, env)
        if op in (":?", "?") and unset:
            fail(f"docker-compose.yml: required variable {name} unset: {arg}")
            return ""
        return value or ""
    return re.sub(r"\$\$|\$\{(\w+)(?:(:?[-?])((?:[^{}]|\{[^}]*\})*))?\}|\$(\w+)", sub, text)

def walk_interpolate(node, env):
    if isinstance(node, dict):
        return {k: walk_interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [walk_interpolate(v, env) for v in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node

def load_compose():
    try:
        raw = yaml.safe_load(open("docker-compose.yml"))  # SafeLoader resolves the << merges
    except (OSError, yaml.YAMLError) as e:
        fail(f"docker-compose.yml does not parse: {e}")
        done()
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        fail("docker-compose.yml: no services")
        done()
    return walk_interpolate(raw, dict(os.environ))

RECADO_ROLES = {"migrate": "migrate", "ingress": "ingress", "worker-1": "worker", "worker-2": "worker"}
OTHERS = {"postgres", "prometheus", "grafana"}

def command_of(svc):
    c = svc.get("command")
    return shlex.split(c) if isinstance(c, str) else list(c or [])

def env_of(svc):
    e = svc.get("environment") or {}
    if isinstance(e, list):
        e = dict(item.split("=", 1) if "=" in item else (item, "") for item in e)
    return {k: "" if v is None else str(v) for k, v in e.items()}

def depends(svc):
    d = svc.get("depends_on") or {}
    if isinstance(d, list):
        return {name: "service_started" for name in d}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in d.items()}

def check_compose_services():
    c = load_compose()
    s = c["services"]
    for name in list(RECADO_ROLES) + sorted(OTHERS):
        if name not in s:
            fail(f"docker-compose.yml: no service {name}")
    if errors:
        done()
    images = {s[n].get("image") for n in RECADO_ROLES}
    if len(images) != 1 or None in images:
        fail(f"docker-compose.yml: migrate, ingress and the workers must run one image, got {images}")
    for name, role in RECADO_ROLES.items():
        svc = s[name]
        if command_of(svc)[:1] != [role]:
            fail(f"docker-compose.yml: {name} runs {command_of(svc)}, want [{role!r}]")
        build = svc.get("build")
        ctx = build if isinstance(build, str) else (build or {}).get("context")
        if ctx not in (".", "./"):
            fail(f"docker-compose.yml: {name} is not built from the repository (build context {ctx!r})")
        if "RECADO_DATABASE_URL" not in env_of(svc) or "@postgres:" not in env_of(svc)["RECADO_DATABASE_URL"]:
            fail(f"docker-compose.yml: {name}'s RECADO_DATABASE_URL does not name the postgres service")
        if svc.get("profiles"):
            fail(f"docker-compose.yml: {name} must not need a profile")
        want = {"postgres": "service_healthy"} if name == "migrate" else {"migrate": "service_completed_successfully"}
        for dep, cond in want.items():
            if depends(svc).get(dep) != cond:
                fail(f"docker-compose.yml: {name} must depend on {dep} ({cond}), has {depends(svc)}")
    if str(s["migrate"].get("restart", "no")) != "no":
        fail("docker-compose.yml: migrate runs once: restart must be \"no\"")
    if "RECADO_INGRESS_API_TOKEN" not in env_of(s["ingress"]):
        fail("docker-compose.yml: the ingress gets no RECADO_INGRESS_API_TOKEN")
    if not s["postgres"].get("healthcheck"):
        fail("docker-compose.yml: postgres has no healthcheck (migrate waits for service_healthy)")
    if not str(s["postgres"].get("image", "")).startswith("postgres:15"):
        fail(f"docker-compose.yml: postgres runs {s['postgres'].get('image')}, recado is built for PostgreSQL 15")
    for name in ("prometheus", "grafana"):
        if not s[name].get("profiles"):
            fail(f"docker-compose.yml: {name} is optional: give it a profile")
    for name, svc in s.items():
        for image in [svc.get("image") or ""]:
            first = image.split("/")[0]
            if "/" in image and ("." in first or ":" in first or first == "localhost"):
                fail(f"docker-compose.yml: {name}'s image names a registry host: {image}")
    if not errors:
        print(f"{len(s)} services: " + ", ".join(s))
    done()

def bind_sources(svc):
    """(source, target) of each bind mount; named volumes are returned with source None."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            if v.get("type") == "bind":
                out.append((v.get("source"), v.get("target"), None))
            else:
                out.append((None, v.get("target"), v.get("source")))
            continue
        parts = v.split(":")
        src, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        if src.startswith((".", "/", "~")):
            out.append((src, target, None))
        else:
            out.append((None, target, src))
    return out

def check_compose_paths():
    c = load_compose()
    declared = set((c.get("volumes") or {}).keys())
    n = 0
    for name, svc in c["services"].items():
        build = svc.get("build")
        if build is not None:
            ctx = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            n += 2
            if not os.path.isdir(ctx):
                fail(f"docker-compose.yml: {name}: build context {ctx} is not a folder")
            elif not os.path.isfile(os.path.join(ctx, dockerfile)):
                fail(f"docker-compose.yml: {name}: no {os.path.join(ctx, dockerfile)}")
        for src, target, volume in bind_sources(svc):
            n += 1
            if volume is not None:
                if volume not in declared:
                    fail(f"docker-compose.yml: {name}: volume {volume} is not declared under volumes:")
            elif src.startswith("/"):
                fail(f"docker-compose.yml: {name}: {src} is a host path outside the repository")
            elif not os.path.exists(src):
                fail(f"docker-compose.yml: {name}: {src} (mounted at {target}) does not exist")
    if not errors:
        print(f"{n} build paths, bind mounts and volumes, all present")
    done()

def dockerfile_env():
    env = {}
    for inst, args in parse_dockerfile()[-1]["instructions"]:
        if inst == "ENV":
            for tok in shlex.split(args):
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    env[k] = v
    return env

def service_ports(svc, role):
    """The ports a recado service listens on for /metrics: the ingress's, or a worker's metrics port."""
    env = dict(dockerfile_env())
    env.update(env_of(svc))
    if role == "ingress":
        port = env.get("RECADO_INGRESS_PORT")
        if not port:
            cfg = config_file_of(svc)
            port = str(((yaml.safe_load(open(cfg)) or {}).get("ingress") or {}).get("port", 8080)) if cfg else "8080"
        return {port}
    if role == "worker":
        return {env.get("RECADO_WORKER_METRICS_PORT", "0")} - {"0", ""}
    return set()

def config_file_of(svc):
    for src, target, _ in bind_sources(svc):
        if target == "/etc/recado/recado.yaml" and src:
            return src
    return "config/prod.yaml"

def mounts_at(svc):
    return {target: src for src, target, volume in bind_sources(svc) if src}

def check_monitoring():
    c = load_compose()
    s = c["services"]
    # Prometheus: its configuration and rule files are the repository's, and the targets
    # of the recado jobs are compose services listening on those ports.
    prom = s["prometheus"]
    mounts = mounts_at(prom)
    args = command_of(prom)
    cfg_in = next((a.split("=", 1)[1] for a in args if a.startswith("--config.file=")), "/etc/prometheus/prometheus.yml")
    cfg = mounts.get(cfg_in)
    if not cfg:
        fail(f"docker-compose.yml: prometheus reads {cfg_in}, which no bind mount provides")
        done()
    if os.path.normpath(cfg) != "config/prometheus/prometheus.yml":
        fail(f"docker-compose.yml: prometheus should mount config/prometheus/prometheus.yml, mounts {cfg}")
    prom_cfg = yaml.safe_load(open(cfg)) or {}
    for rule in prom_cfg.get("rule_files") or []:
        inside = rule if rule.startswith("/") else os.path.join(os.path.dirname(cfg_in), rule)
        if inside not in mounts:
            fail(f"prometheus.yml loads rule file {rule} ({inside} in the container), which is not mounted")
    names = {}  # host names on compose's default network: services and their aliases
    for name, svc in s.items():
        names[name] = name
        networks = svc.get("networks")
        default = (networks.get("default") or {}) if isinstance(networks, dict) else {}
        for alias in default.get("aliases") or []:
            names[alias] = name
    for job, role in (("recado-ingress", "ingress"), ("recado-worker", "worker")):
        sc = next((j for j in prom_cfg.get("scrape_configs") or [] if j.get("job_name") == job), None)
        if sc is None:
            fail(f"prometheus.yml: no scrape job {job}")
            continue
        targets = [t for st in sc.get("static_configs") or [] for t in st.get("targets") or []]
        resolved, unknown = [], []
        for t in targets:
            host, _, port = t.rpartition(":")
            svc_name = names.get(host)
            if svc_name is None:
                unknown.append(t)
                continue
            if RECADO_ROLES.get(svc_name) != role:
                fail(f"prometheus.yml job {job}: {t} is compose service {svc_name}, not a recado {role}")
            elif port not in service_ports(s[svc_name], role):
                fail(f"prometheus.yml job {job}: {t}: {svc_name} serves /metrics on {service_ports(s[svc_name], role) or 'no port'}")
            else:
                resolved.append(f"{t} ({svc_name})")
        if not resolved:
            fail(f"prometheus.yml job {job}: no target is a compose service or alias ({targets})")
        print(f"{job}: scrapes {', '.join(resolved) or 'nothing'}"
              + (f"; not in compose, down there: {', '.join(unknown)}" if unknown else ""))
    workers = [n for n, r in RECADO_ROLES.items() if r == "worker"]
    for w in workers:
        if not service_ports(s[w], "worker"):
            fail(f"{w} serves no metrics: set RECADO_WORKER_METRICS_PORT (the Dockerfile's ENV or the service's)")

    # Grafana: the provisioning folders and the dashboard are mounted where Grafana and the
    # dashboard provider look; the data source is the prometheus service.
    g = mounts_at(s["grafana"])
    for kind in ("datasources", "dashboards"):
        src = g.get(f"/etc/grafana/provisioning/{kind}")
        if not src or not os.path.isdir(src):
            fail(f"docker-compose.yml: grafana: no folder mounted at /etc/grafana/provisioning/{kind}")
            continue
        if os.path.normpath(src) != f"config/grafana/provisioning/{kind}":
            fail(f"grafana provisioning {kind}: mounted from {src}, expected config/grafana/provisioning/{kind}")
        files = [f for f in os.listdir(src) if f.endswith((".yml", ".yaml"))]
        if not files:
            fail(f"{src}: no provisioning file")
        for f in files:
            doc = yaml.safe_load(open(os.path.join(src, f))) or {}
            if doc.get("apiVersion") != 1:
                fail(f"{src}/{f}: apiVersion must be 1")
            if kind == "datasources":
                for ds in doc.get("datasources") or []:
                    m = re.match(r"^https?://([^:/]+):(\d+)", ds.get("url", ""))
                    if ds.get("type") != "prometheus" or not m:
                        fail(f"{src}/{f}: data source {ds.get('name')}: want type prometheus with a url")
                    elif m.group(1) not in names or m.group(2) != "9090":
                        fail(f"{src}/{f}: {ds['url']} is not the compose prometheus service on 9090")
                    elif not ds.get("isDefault"):
                        fail(f"{src}/{f}: the Prometheus data source must be the default (the dashboard's DS_PROMETHEUS picks it)")
            else:
                for p in doc.get("providers") or []:
                    path = (p.get("options") or {}).get("path")
                    dash = {t: src2 for t, src2 in g.items() if t.startswith((path or "?") + "/")}
                    if not any(os.path.normpath(v) == "config/grafana/recado.json" for v in dash.values()):
                        fail(f"{src}/{f}: provider {p.get('name')} reads {path}, where compose mounts no config/grafana/recado.json")
    # The dashboard's data source. ${DS_PROMETHEUS} is an import-time input: Grafana's file
    # provisioning does not replace it, so a provisioned dashboard needs a data source
    # variable of that name (grafana/grafana#10786).
    try:
        import json
        d = json.load(open("config/grafana/recado.json"))
        text = open("config/grafana/recado.json").read()
        if "${DS_PROMETHEUS}" in text:
            vars_ = {v.get("name"): v for v in (d.get("templating") or {}).get("list") or []}
            v = vars_.get("DS_PROMETHEUS")
            if not v or v.get("type") != "datasource" or v.get("query") != "prometheus":
                fail("config/grafana/recado.json uses ${DS_PROMETHEUS}, which file provisioning does not fill in: "
                     "add to templating.list {\"name\": \"DS_PROMETHEUS\", \"label\": \"Data source\", "
                     "\"type\": \"datasource\", \"query\": \"prometheus\", \"current\": {}, \"hide\": 0, "
                     "\"options\": [], \"refresh\": 1, \"regex\": \"\"}")
    except (OSError, ValueError) as e:
        fail(f"config/grafana/recado.json: {e}")
    done()

# ---------------------------------------------------------------- Dockerfile

def parse_dockerfile(path="Dockerfile"):
    """Stages, each {"base", "name", "instructions": [(INSTRUCTION, args)]}; comments dropped,
    continuation lines joined."""
    lines, cur = [], ""
    for raw in open(path).read().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and cur):
            continue
        if stripped.endswith("\\"):
            cur += stripped[:-1] + " "
            continue
        cur += stripped
        if cur.strip():
            lines.append(cur.strip())
        cur = ""
    stages = []
    for line in lines:
        inst, _, args = line.partition(" ")
        inst = inst.upper()
        if inst == "FROM":
            toks = [t for t in args.split() if not t.startswith("--")]
            stages.append({"base": toks[0], "name": toks[2] if len(toks) >= 3 and toks[1].lower() == "as" else None,
                           "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((inst, args.strip()))
        elif inst not in ("ARG",):
            fail(f"Dockerfile: {inst} before the first FROM")
    return stages

def apt_packages(run_args):
    pkgs = []
    for segment in re.split(r"&&|;|\|\|?", run_args):
        toks = segment.split()
        if "apt-get" in toks and "install" in toks:
            for t in toks[toks.index("install") + 1:]:
                if not t.startswith("-"):
                    pkgs.append(t.split("=")[0])
    return pkgs

def runtime_packages():
    return [p for inst, a in parse_dockerfile()[-1]["instructions"] if inst == "RUN" for p in apt_packages(a)]

def bootstrap_packages():
    text = open("scripts/bootstrap").read()
    m = re.search(r"packages=\((.*?)\)", text, re.S)
    return set(m.group(1).split()) if m else set()

def dockerignore_patterns():
    out = []
    if os.path.exists(".dockerignore"):
        for line in open(".dockerignore").read().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            pat = os.path.normpath(line[1:] if neg else line).lstrip("/")
            rx = "".join(".*" if part == "**" else re.escape(part).replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
                         for part in re.split(r"(\*\*)", pat))
            out.append((neg, re.compile(rx + "$")))
    return out

def ignored(path, patterns):
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    path = os.path.normpath(path)
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    result = False
    for neg, rx in patterns:
        if any(rx.match(p) for p in prefixes):
            result = not neg
    return result

def check_dockerfile():
    stages = parse_dockerfile()
    if len(stages) < 2:
        fail(f"Dockerfile: {len(stages)} stage(s); want a build stage and a runtime stage")
        done()
    names = [st["name"] for st in stages[:-1]]
    for st in stages:
        if not re.match(r"^debian:bookworm(-slim)?$", st["base"]):
            fail(f"Dockerfile: FROM {st['base']}: every stage is Debian bookworm (debian:bookworm-slim)")
    if None in names:
        fail("Dockerfile: every stage before the last needs a name (FROM ... AS name)")
    text = open("Dockerfile").read()
    code = "\n".join(l for l in text.splitlines() if not l.strip().startswith("#"))
    if re.search(r"\b(curl|wget)\b[^\n|]*\|\s*(ba|da|z)?sh\b", code):
        fail("Dockerfile: pipes a download into a shell")
    for url in re.findall(r"\b[a-z]+://[^\s\"']+", code):
        if not re.match(r"^https?://(127\.0\.0\.1|localhost)[:/]", url) and "$" not in url:
            fail(f"Dockerfile: names a host: {url}")
    for st in stages:
        first = st["base"].split("/")[0]
        if "/" in st["base"] and ("." in first or ":" in first or first == "localhost"):
            fail(f"Dockerfile: FROM {st['base']} names a registry host")
    final = stages[-1]["instructions"]
    users = [a for i, a in final if i == "USER"]
    if not users:
        fail("Dockerfile: the runtime stage sets no USER: it would run as root")
    elif users[-1].split(":")[0] in ("root", "0"):
        fail(f"Dockerfile: USER {users[-1]} is root")
    hc = [a for i, a in final if i == "HEALTHCHECK"]
    if not hc or hc[-1].upper().startswith("NONE"):
        fail("Dockerfile: the runtime stage has no HEALTHCHECK")
    elif "CMD" not in hc[-1].split():
        fail("Dockerfile: HEALTHCHECK without CMD")
    entry = [a for i, a in final if i == "ENTRYPOINT"]
    if not entry or not entry[-1].startswith("["):
        fail("Dockerfile: want ENTRYPOINT in exec form ([\"/usr/local/bin/recado\"]): signals reach recado")
    # apt: no recommends, lists removed in the same layer; the build stage's packages are
    # scripts/bootstrap's; the runtime stage builds nothing.
    boot = bootstrap_packages()
    for n, st in enumerate(stages):
        for inst, a in st["instructions"]:
            if inst == "RUN" and "apt-get install" in a:
                if "--no-install-recommends" not in a:
                    fail(f"Dockerfile stage {n + 1}: apt-get install without --no-install-recommends")
                if "rm -rf /var/lib/apt/lists" not in a:
                    fail(f"Dockerfile stage {n + 1}: apt lists not removed in the install's layer")
                if n < len(stages) - 1:
                    for p in apt_packages(a):
                        if boot and p not in boot:
                            fail(f"Dockerfile build stage: {p} is not in scripts/bootstrap's packages")
    for p in runtime_packages():
        if p.endswith("-dev") or p in ("build-essential", "cmake", "ninja-build", "g++", "gcc"):
            fail(f"Dockerfile runtime stage installs {p}: build tools belong to the build stage")
    # COPY: sources exist in the context and .dockerignore lets them in; --from names an
    # earlier stage.
    patterns = dockerignore_patterns()
    for n, st in enumerate(stages):
        for inst, a in st["instructions"]:
            if inst not in ("COPY", "ADD"):
                continue
            toks = a.split()
            frm = next((t.split("=", 1)[1] for t in toks if t.startswith("--from=")), None)
            srcs = [t for t in toks if not t.startswith("--")][:-1]
            if frm is not None:
                if frm not in [s["name"] for s in stages[:n]]:
                    fail(f"Dockerfile: COPY --from={frm}: no earlier stage of that name")
                continue
            if inst == "ADD":
                fail("Dockerfile: ADD: use COPY")
            for src in srcs:
                if not os.path.exists(src):
                    fail(f"Dockerfile: COPY {src}: not in the repository")
                elif ignored(src, patterns):
                    fail(f"Dockerfile: COPY {src}: excluded by .dockerignore")
                elif os.path.isdir(src):
                    inside = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs]
                    hidden = [f for f in inside if ignored(f, patterns)]
                    if hidden:
                        fail(f"Dockerfile: COPY {src}: .dockerignore drops {len(hidden)} file(s) in it, e.g. {hidden[0]}")
    for big in ("build", "var", ".git"):
        if os.path.exists(big) and not ignored(big, patterns):
            fail(f".dockerignore: {big}/ is sent to the build context")
    if not errors:
        print(f"{len(stages)} stages ({', '.join(s['base'] + (' AS ' + s['name'] if s['name'] else '') for s in stages)}); "
              f"USER {users[-1]}; runtime packages: {' '.join(runtime_packages())}")
    done()

# ---------------------------------------------------------------- the built binary

def dpkg_package(path):
    real = os.path.realpath(path)
    for p in dict.fromkeys([real, path, re.sub(r"^/usr/", "/", real), "/usr" + real if not real.startswith("/usr/") else real]):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].split(",")[0].strip()
    return None

def installed_depends(pkg, cache={}):
    if pkg not in cache:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", pkg], capture_output=True, text=True)
        deps = set()
        for clause in r.stdout.split(","):
            for alt in clause.split("|"):
                name = re.sub(r"\(.*?\)|:\w+", "", alt).strip()
                if name:
                    deps.add(name)
        cache[pkg] = deps
    return cache[pkg]

def closure(pkgs):
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(installed_depends(p) - seen)
    return seen

def check_binary(binary):
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if ldd.returncode != 0:
        fail(f"ldd {binary}: {ldd.stderr.strip()}")
        done()
    libs = {}
    for line in ldd.stdout.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            libs[m.group(1)] = m.group(2)
        elif "not found" in line:
            fail(f"ldd {binary}: {line.strip()}")
    needed = set()
    for tool in (["readelf", "-d", binary], ["objdump", "-p", binary]):
        try:
            out = subprocess.run(tool, capture_output=True, text=True).stdout
        except FileNotFoundError:
            continue
        needed = set(re.findall(r"NEEDED\s+(?:Shared library: \[)?([^\]\s]+)", out))
        if needed:
            break
    if not needed:
        needed = set(libs)  # no binutils: every library counts as linked directly
    listed = set(runtime_packages())
    # debian:bookworm-slim holds the Essential and required packages and what they depend on.
    q = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Essential} ${Priority}\n"], capture_output=True, text=True)
    base = closure({l.split()[0] for l in q.stdout.splitlines() if " yes " in l or l.endswith(" required")})
    provided = closure(listed) | base
    report = []
    for soname, path in sorted(libs.items()):
        pkg = dpkg_package(path)
        if pkg is None:
            fail(f"{soname} ({path}): no Debian package owns it (dpkg -S)")
            continue
        if soname in needed:
            if pkg not in listed and pkg not in base:
                fail(f"{soname}: recado links it directly; its package {pkg} is missing from the runtime stage's apt-get install")
            report.append(f"{soname}={pkg}")
        elif pkg not in provided:
            fail(f"{soname} (needed by a library of recado): {pkg} comes with neither the runtime packages nor the base image")
    if not errors:
        print(f"{len(libs)} libraries; linked directly: {' '.join(report)}; the other {len(libs) - len(report)} come with those packages")
    done()

def service_envs():
    """NAME=VALUE lines per recado service: the Dockerfile's ENV, then the service's environment."""
    c = load_compose()
    for name in RECADO_ROLES:
        env = dict(dockerfile_env())
        env.update(env_of(c["services"][name]))
        cfg = config_file_of(c["services"][name])
        print(name + "\t" + cfg + "\t" + "\t".join(f"{k}={v}" for k, v in env.items() if k != "RECADO_CONFIG"))

if __name__ == "__main__":
    what = sys.argv[1]
    {"compose-services": check_compose_services, "compose-paths": check_compose_paths,
     "monitoring": check_monitoring, "dockerfile": check_dockerfile, "service-envs": service_envs,
     "binary": lambda: check_binary(sys.argv[2])}[what]()
PY

check "docker-compose.yml: parses; services and their wiring" "$python" "$tmp/check.py" compose-services
check "docker-compose.yml: build paths, bind mounts and volumes exist" "$python" "$tmp/check.py" compose-paths
check "docker-compose.yml: Prometheus targets and Grafana provisioning" "$python" "$tmp/check.py" monitoring
check "Dockerfile: stages, USER, HEALTHCHECK, packages, COPY and .dockerignore" "$python" "$tmp/check.py" dockerfile

if command -v hadolint >/dev/null 2>&1; then
  # DL3008: apt versions are not pinned: the image follows bookworm's security updates.
  check "Dockerfile: hadolint" hadolint --ignore DL3008 Dockerfile
else
  skip "Dockerfile: hadolint" "not installed (Debian does not package it)"
fi

if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  check "docker-compose.yml: docker compose config" docker compose --profile monitoring -f docker-compose.yml config -q
elif command -v docker-compose >/dev/null 2>&1; then
  check "docker-compose.yml: docker-compose config" docker-compose --profile monitoring -f docker-compose.yml config -q
else
  skip "docker-compose.yml: docker compose config" "no docker CLI with the compose plugin, nor docker-compose"
fi

if [ -n "$recado_bin" ]; then
  check "Dockerfile: runtime packages cover what $(basename "$recado_bin") links (ldd, dpkg -S)" \
    "$python" "$tmp/check.py" binary "$recado_bin"
  # The image's configuration with each service's environment, as the container sees it
  # (env -i: nothing of this shell's environment leaks in).
  config_checks() {
    local name cfg vars status=0
    "$python" "$tmp/check.py" service-envs >"$tmp/envs" || { cat "$tmp/envs"; return 1; }
    while IFS=$'\t' read -r name cfg vars; do
      local -a env_args=()
      IFS=$'\t' read -r -a env_args <<<"$vars"
      if env -i "${env_args[@]}" "$recado_bin" config check "$cfg" >"$tmp/cfg.out" 2>&1; then
        echo "$name: $cfg accepted"
      else
        echo "$name: $cfg refused:"
        sed 's/^/  /' "$tmp/cfg.out"
        status=1
      fi
    done <"$tmp/envs"
    return $status
  }
  check "docker-compose.yml: recado config check with each service's environment" config_checks
else
  skip "Dockerfile: runtime packages against ldd" "give a built recado as the second argument"
  skip "docker-compose.yml: recado config check per service" "give a built recado as the second argument"
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
