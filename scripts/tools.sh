#!/usr/bin/env bash
# External tools the telemetry tests run for real, built or installed once
# into a cache OUTSIDE the repository:
#
#   jaeger      Jaeger all-in-one (OTLP/HTTP receiver on 4318, query API on
#               16686), built from the Go module proxy (go mod download + go build)
#               into ${DF_TOOLS_CACHE:-/var/cache/duraflow}/jaeger/<version>/
#   prometheus  Debian's `prometheus` package (prometheus, promtool), which
#               scripts/setup.sh installs; this script only checks it is there
#
# Idempotent: a tool already in the cache is not rebuilt.  Prints the
# `export` lines for the tests (DF_JAEGER, DF_PROMETHEUS, DF_PROMTOOL) on
# stdout with `env`; everything else goes to stderr.
#
# Usage: scripts/tools.sh [ensure [jaeger|prometheus]]   build/check what is missing (default: all)
#        scripts/tools.sh env        print export lines (after ensure)
#        scripts/tools.sh path jaeger
#
# Environment: DF_TOOLS_CACHE (default /var/cache/duraflow),
#              DF_JAEGER_VERSION (default v1.76.0), GO (default: go on PATH,
#              then /usr/local/go/bin/go).
set -euo pipefail

CACHE=${DF_TOOLS_CACHE:-/var/cache/duraflow}
JAEGER_VERSION=${DF_JAEGER_VERSION:-v1.76.0}
JAEGER_DIR="$CACHE/jaeger/$JAEGER_VERSION"
JAEGER_BIN="$JAEGER_DIR/bin/jaeger"

log() { printf 'tools.sh: %s\n' "$*" >&2; }

find_go() {
  if [ -n "${GO:-}" ]; then echo "$GO"; return; fi
  if command -v go >/dev/null 2>&1; then command -v go; return; fi
  if [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; return; fi
  echo ""
}

ensure_jaeger() {
  if [ -x "$JAEGER_BIN" ]; then
    log "jaeger $JAEGER_VERSION already built: $JAEGER_BIN"
    return 0
  fi
  local go
  go=$(find_go)
  if [ -z "$go" ]; then
    log "ERROR: no Go toolchain (jaeger $JAEGER_VERSION needs Go >= 1.24 to build); set GO=/path/to/go"
    return 1
  fi
  mkdir -p "$JAEGER_DIR"
  local tmp start end
  tmp=$(mktemp -d "$JAEGER_DIR/.build.XXXXXX")
  start=$(date +%s)
  log "building jaeger $JAEGER_VERSION with $("$go" version) (once; several minutes on 2 cores)"
  # `go install module/cmd/jaeger@version` refuses modules whose go.mod has
  # replace directives (jaeger's has one, for sarama), so the module is
  # fetched from the module proxy (`go mod download`) and built as the main
  # module from its own go.mod and go.sum, which is what `go install` would
  # build if it could. Into a temporary directory, then an atomic rename: an
  # interrupted build never leaves a binary that looks finished.
  local dir
  if ! dir=$(GOFLAGS=-mod=mod GOTOOLCHAIN=local "$go" mod download -json \
               "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') ||
     [ -z "$dir" ] || [ ! -d "$dir/cmd/jaeger" ]; then
    rm -rf "$tmp"
    log "ERROR: go mod download github.com/jaegertracing/jaeger@$JAEGER_VERSION failed"
    return 1
  fi
  if ! (cd "$dir" && GOFLAGS="-buildvcs=false -trimpath -mod=readonly" GOTOOLCHAIN=local CGO_ENABLED=0 \
          "$go" build -o "$tmp/jaeger" ./cmd/jaeger) >&2; then
    rm -rf "$tmp"
    log "ERROR: go build of github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION failed"
    return 1
  fi
  mkdir -p "$JAEGER_DIR/bin"
  mv -f "$tmp/jaeger" "$JAEGER_BIN"
  rm -rf "$tmp"
  end=$(date +%s)
  echo "$((end - start))" >"$JAEGER_DIR/build-seconds"
  log "built $JAEGER_BIN in $((end - start)) s"
}

ensure_prometheus() {
  local p
  for p in prometheus promtool; do
    if ! command -v "$p" >/dev/null 2>&1; then
      log "ERROR: $p not found: run scripts/setup.sh (Debian package prometheus)"
      return 1
    fi
  done
}

case "${1:-ensure}" in
  ensure)
    case "${2:-all}" in
      all) ensure_prometheus; ensure_jaeger ;;
      jaeger) ensure_jaeger ;;
      prometheus) ensure_prometheus ;;
      *) log "ensure: unknown tool $2 (jaeger, prometheus)"; exit 2 ;;
    esac
    ;;
  env)
    [ -x "$JAEGER_BIN" ] && echo "export DF_JAEGER='$JAEGER_BIN'"
    command -v prometheus >/dev/null 2>&1 && echo "export DF_PROMETHEUS='$(command -v prometheus)'"
    command -v promtool >/dev/null 2>&1 && echo "export DF_PROMTOOL='$(command -v promtool)'"
    true
    ;;
  path)
    case "${2:-}" in
      jaeger) echo "$JAEGER_BIN" ;;
      *) log "path: unknown tool ${2:-} (jaeger)"; exit 2 ;;
    esac
    ;;
  -h|--help)
    sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
    ;;
  *) log "unknown command $1 (ensure, env, path)"; exit 2 ;;
esac
