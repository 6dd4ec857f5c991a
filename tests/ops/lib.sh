# Shared by the tests/ops checks (sourced, not run): a scratch folder removed on exit, the
# python3 with PyYAML they use, and check/skip with their counters. `ops_name` names the
# calling script in messages.

# ops_tmpdir: sets tmp to a fresh folder, removed when the script exits.
ops_tmpdir() {
  if ! tmp=$(mktemp -d) || [ ! -d "$tmp" ]; then
    echo "$ops_name: mktemp -d failed" >&2
    exit 1
  fi
  trap 'rm -rf "$tmp"' EXIT
}

# ops_python: sets python to a python3 that has PyYAML.
ops_python() {
  python=""
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import yaml' >/dev/null 2>&1; then python=$p; break; fi
  done
  if [ -z "$python" ]; then
    echo "$ops_name: needs python3 with PyYAML: apt-get install python3 python3-yaml" >&2
    exit 1
  fi
}

passed=0
failed=0
skipped=0
# check NAME COMMAND...: runs the command; its output is shown only when it fails.
check() {
  local name=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok      $name"
  else
    failed=$((failed + 1))
    echo "FAILED  $name"
    sed 's/^/        /' "$tmp/out"
  fi
}
# skip NAME WHY
skip() {
  skipped=$((skipped + 1))
  echo "skipped $1: $2"
}
