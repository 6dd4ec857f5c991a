#!/usr/bin/env bash
# Checks the systemd units in systemd/: each passes `systemd-analyze verify` without a word
# of complaint, its `systemd-analyze security --offline=yes` exposure is "OK" or better
# (and no worse than MAX_EXPOSURE, so lost hardening shows), the daemons are Type=notify
# with a watchdog, a reload command, a restart policy and the dedicated user, the worker's
# stop timeout covers config/prod.yaml's shutdown_timeout twice, and the sysusers and
# tmpfiles snippets create the user and /etc/recado in a scratch root.
#
#   tests/ops/check_systemd_units.sh [REPOSITORY] [RECADO_BINARY]   (ctest: `systemd_units`)
#
# Needs systemd-analyze (Debian's `systemd` package) but no running systemd: it works in a
# container where systemd is installed and not PID 1. `verify` wants each ExecStart binary
# to exist, so the units are checked as copies with /usr/bin/recado replaced by
# RECADO_BINARY (the build's, from ctest) or, without one, by a stand-in script.
# MAX_EXPOSURE (default 2.0) bounds the exposure; "OK" alone allows up to 4.9.
# Prints one line per check, the exposure of each unit, and "N passed, N failed"; exits 1
# when one failed.
set -uo pipefail

root=$(cd "${1:-$(dirname "$0")/../..}" && pwd) || { echo "check_systemd_units: no repository at ${1:-}" >&2; exit 1; }
binary=${2:-}
max_exposure=${MAX_EXPOSURE:-2.0}

analyze=$(command -v systemd-analyze || true)
if [ -z "$analyze" ]; then
  echo "check_systemd_units: systemd-analyze not found. It comes with Debian's systemd package:" >&2
  echo "  apt-get install --no-install-recommends systemd   (scripts/bootstrap installs it)" >&2
  exit 1
fi
if [ -n "$binary" ] && [ ! -x "$binary" ]; then
  echo "check_systemd_units: $binary is not an executable" >&2
  exit 1
fi
. "$root/tests/ops/lib.sh"
ops_name=check_systemd_units
ops_tmpdir
cd "$root/systemd" || { echo "check_systemd_units: no systemd/ folder in $root" >&2; exit 1; }

if [ -z "$binary" ]; then
  binary=$tmp/bin/recado
  mkdir -p "$tmp/bin"
  printf '#!/bin/sh\nexit 0\n' >"$binary"
  chmod +x "$binary"
fi

daemons=(recado-ingress.service recado-worker@.service)
units=("${daemons[@]}" recado-migrate.service)

# The copies verify and security read: same names (Requires= finds its neighbours), the
# build's binary. Units in the current folder are what `verify ./unit` loads first.
mkdir -p "$tmp/units"
for u in "${units[@]}"; do
  if [ ! -f "$u" ]; then
    echo "FAILED  $u exists"
    failed=$((failed + 1))
    continue
  fi
  sed "s#/usr/bin/recado #$binary #g" "$u" >"$tmp/units/$u"
done

# verify exits 0 even when it warns (an unknown key, a bad value: "ignoring"), so any output
# at all is a failure.
verify_quietly() {
  local out
  out=$(cd "$tmp/units" && SYSTEMD_LOG_LEVEL=notice "$analyze" verify --man=no "./$1" 2>&1)
  local rc=$?
  [ -n "$out" ] && echo "$out"
  [ $rc -eq 0 ] && [ -z "$out" ]
}

# "→ Overall exposure level for x.service: 1.1 OK 🙂": the number and the word.
exposure_of() {
  (cd "$tmp/units" && "$analyze" security --offline=yes --no-pager "./$1" 2>&1) |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p'
}

security_ok() {
  local line number level
  line=$(exposure_of "$1")
  number=${line% *}
  level=${line#* }
  if [ -z "$line" ]; then
    echo "no exposure level in the output of systemd-analyze security --offline=yes $1:"
    (cd "$tmp/units" && "$analyze" security --offline=yes --no-pager "./$1" 2>&1) | tail -5
    return 1
  fi
  echo "$1: exposure $number $level"
  case $level in
    PERFECT | SAFE | OK) ;;
    *) echo "level $level: want OK or better"; return 1 ;;
  esac
  awk -v n="$number" -v m="$max_exposure" 'BEGIN { exit !(n <= m) }' || { echo "exposure $number is over $max_exposure"; return 1; }
}

# The unit's value of `key` (the last assignment wins, as in systemd).
value_of() { sed -n "s/^$2=//p" "$1" | tail -1; }

has() {
  local unit=$1 key=$2 want=$3 got
  got=$(value_of "$unit" "$key")
  # shellcheck disable=SC2053  # `want` is a glob on purpose
  if [[ "$got" != $want ]]; then
    echo "$unit: $key=$got, want $want"
    return 1
  fi
}

# shellcheck disable=SC2016  # systemd expands $MAINPID, not this shell
daemon_settings() {
  local u=$1
  has "$u" Type notify &&
    has "$u" NotifyAccess main &&
    has "$u" WatchdogSec '[1-9]*s' &&
    has "$u" Restart on-failure &&
    has "$u" RestartSec '?*' &&
    has "$u" ExecReload '/bin/kill -HUP $MAINPID' &&
    has "$u" ExecStart '/usr/bin/recado --config /etc/recado/recado.yaml *' &&
    has "$u" EnvironmentFile '-/etc/recado/*' &&
    has "$u" User recado &&
    has "$u" Requires recado-migrate.service &&
    has "$u" After '*recado-migrate.service*' &&
    has "$u" LimitNOFILE '[1-9]*' &&
    has "$u" ProtectSystem strict &&
    has "$u" NoNewPrivileges yes &&
    has "$u" CapabilityBoundingSet ''
}

# A duration as systemd and recado write them (250ms, 25s, 2min, 1m, 1h) in milliseconds.
millis() {
  local d=$1
  case $d in
    *ms) echo "${d%ms}" ;;
    *min) echo $((${d%min} * 60000)) ;;
    *m) echo $((${d%m} * 60000)) ;;
    *h) echo $((${d%h} * 3600000)) ;;
    *s) echo $((${d%s} * 1000)) ;;
    *) echo $((d * 1000)) ;;
  esac
}

stop_timeout_covers_shutdown() {
  local shutdown stop
  shutdown=$(sed -n 's/^  shutdown_timeout: *\([0-9a-z]*\).*/\1/p' "$root/config/prod.yaml" | head -1)
  stop=$(value_of recado-worker@.service TimeoutStopSec)
  [ -n "$shutdown" ] || { echo "no worker.shutdown_timeout in config/prod.yaml"; return 1; }
  echo "worker.shutdown_timeout $shutdown (config/prod.yaml), TimeoutStopSec=$stop"
  [ "$(millis "$stop")" -gt $((2 * $(millis "$shutdown"))) ] || { echo "want TimeoutStopSec > 2 x shutdown_timeout"; return 1; }
}

sysusers_create_the_user() {
  mkdir -p "$tmp/root/etc"
  systemd-sysusers --root="$tmp/root" "$PWD/recado.sysusers.conf" || return 1
  grep -q '^recado:x:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' "$tmp/root/etc/passwd" || { cat "$tmp/root/etc/passwd"; return 1; }
  grep -q '^recado:x:' "$tmp/root/etc/group"
}

tmpfiles_create_etc_recado() {
  systemd-tmpfiles --root="$tmp/root" --create "$PWD/recado.tmpfiles.conf" || return 1
  local mode
  mode=$(stat -c '%a' "$tmp/root/etc/recado")
  [ "$mode" = 750 ] || { echo "/etc/recado has mode $mode, want 750"; return 1; }
}

for u in "${units[@]}"; do
  [ -f "$tmp/units/$u" ] || continue
  check "verify $u" verify_quietly "$u"
  check "security $u" security_ok "$u"
done
for u in "${daemons[@]}"; do
  [ -f "$u" ] && check "settings $u" daemon_settings "$u"
done
check "settings recado-migrate.service" has recado-migrate.service Type oneshot
check "worker stop timeout" stop_timeout_covers_shutdown
check "sysusers recado.sysusers.conf" sysusers_create_the_user
# Creating /etc/recado owned by recado takes chown: root only (CI runs as root).
if [ "$(id -u)" = 0 ]; then
  check "tmpfiles recado.tmpfiles.conf" tmpfiles_create_etc_recado
else
  echo "skip    tmpfiles recado.tmpfiles.conf (needs root to chown)"
fi

echo
for u in "${units[@]}"; do
  [ -f "$tmp/units/$u" ] && printf 'exposure  %-26s %s\n' "$u" "$(exposure_of "$u")"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
