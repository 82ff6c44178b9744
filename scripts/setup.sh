#!/usr/bin/env bash
# Install every Debian package duraflow needs to build, test and run.
#
# Idempotent: packages already installed are left alone; `apt-get update` runs
# at most once per run and only when something is missing. Safe to run as root
# with no stdin (CI). Add packages to DF_PACKAGES below.
#
# Usage: scripts/setup.sh            install what is missing
#        scripts/setup.sh --check    only report what is missing (exit 1 if any)
#        scripts/setup.sh --bench    also what bench/run.sh needs (plots, profiler)
set -euo pipefail

# ---------------------------------------------------------------------------
# Packages the project needs (required: the script fails if one can't be had).
DF_PACKAGES="
  build-essential cmake ninja-build pkg-config git ca-certificates
  librdkafka-dev libavro-dev librocksdb-dev libjansson-dev
  libcurl4-openssl-dev libmicrohttpd-dev
  libglib2.0-dev tzdata
  check libsubunit-dev
  maven default-jre-headless
  python3 python3-yaml python3-croniter
  procps iproute2 time
  prometheus
  chromium nodejs
"
# Only for the benchmarks (bench/run.sh runs `setup.sh --bench`).
DF_BENCH_PACKAGES="
  python3-matplotlib valgrind
"
# Nice-to-have packages: installed when the distribution has them, skipped
# (with a note) otherwise. Alternatives are separated by '|': the first one
# available is installed, none if one is already there.
DF_OPTIONAL_PACKAGES="
  kcat|kafkacat
"
# ---------------------------------------------------------------------------

export DEBIAN_FRONTEND=noninteractive
CHECK_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --check) CHECK_ONLY=1 ;;
    --bench) DF_PACKAGES="$DF_PACKAGES $DF_BENCH_PACKAGES" ;;
    *) printf 'setup.sh: unknown option %s (use --check or --bench)\n' "$arg" >&2; exit 2 ;;
  esac
done

log() { printf 'setup.sh: %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

# Is the package known to apt (has a candidate version)?
is_available() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
  [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null 2>&1
}

UPDATED=0
apt_update_once() {
  [ "$UPDATED" -eq 1 ] && return 0
  log "running apt-get update"
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -q
  UPDATED=1
}

missing=()
for p in $DF_PACKAGES; do
  is_installed "$p" || missing+=("$p")
done
# npm (the console's browser test installs playwright-core with it into a
# cache outside the repository): NodeSource's nodejs ships its own npm and
# conflicts with Debian's, so Debian's is installed only when none is there.
if ! command -v npm >/dev/null 2>&1 && ! is_installed npm; then
  missing+=(npm)
fi

# Optional groups: nothing to do if any alternative is installed.
opt_missing=()
for group in $DF_OPTIONAL_PACKAGES; do
  have=0
  IFS='|' read -r -a alts <<<"$group"
  for a in "${alts[@]}"; do is_installed "$a" && { have=1; break; }; done
  [ "$have" -eq 1 ] || opt_missing+=("$group")
done

if [ "$CHECK_ONLY" -eq 1 ]; then
  [ ${#missing[@]} -eq 0 ] && [ ${#opt_missing[@]} -eq 0 ] && { log "all packages installed"; exit 0; }
  [ ${#missing[@]} -gt 0 ] && log "missing: ${missing[*]}"
  [ ${#opt_missing[@]} -gt 0 ] && log "missing (optional): ${opt_missing[*]}"
  [ ${#missing[@]} -eq 0 ]
  exit $?
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#opt_missing[@]} -eq 0 ]; then
  log "all packages already installed; nothing to do"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && [ -z "$SUDO" ]; then
  log "ERROR: not root and no sudo; missing packages: ${missing[*]} ${opt_missing[*]}"
  exit 1
fi

# Refresh the package lists only when a required package is missing, or an
# optional one may become available (no lists yet, or apt knows it already).
if [ ${#missing[@]} -gt 0 ] || ! apt_lists_present; then
  apt_update_once
fi

# Resolve optional groups to the first available alternative.
opt_install=()
for group in "${opt_missing[@]}"; do
  IFS='|' read -r -a alts <<<"$group"
  pick=""
  for a in "${alts[@]}"; do is_available "$a" && { pick="$a"; break; }; done
  if [ -n "$pick" ]; then
    opt_install+=("$pick")
  else
    log "note: optional package ${group} is not available here; skipping"
  fi
done

to_install=("${missing[@]}" "${opt_install[@]}")
if [ ${#to_install[@]} -eq 0 ]; then
  log "nothing installable is missing"
  exit 0
fi

log "installing: ${to_install[*]}"
install() {
  $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@" </dev/null
}
if ! install "${to_install[@]}"; then
  # Stale package lists are the usual cause (404s): refresh once and retry.
  if [ "$UPDATED" -eq 0 ]; then
    log "install failed; refreshing package lists and retrying"
    apt_update_once
    install "${to_install[@]}"
  else
    exit 1
  fi
fi

still=()
for p in "${missing[@]}"; do is_installed "$p" || still+=("$p"); done
if [ ${#still[@]} -gt 0 ]; then
  log "ERROR: still missing after install: ${still[*]}"
  exit 1
fi
log "done: installed ${to_install[*]}"
