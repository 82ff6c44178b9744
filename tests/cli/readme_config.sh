#!/usr/bin/env bash
# The README's configuration reference is exactly what `duraflow config`
# prints from the property table (framework/src/conf.c), so it cannot drift.
#   readme_config.sh CLI README
set -eu
cli=$1 readme=$2
out=$("$cli" config)
if ! python3 - "$readme" "$out" <<'PY'
import sys
readme = open(sys.argv[1], encoding="utf-8").read()
sys.exit(0 if sys.argv[2].strip("\n") + "\n" in readme else 1)
PY
then
  echo "readme_config: the README's configuration reference differs from \`duraflow config\`; paste its output" >&2
  "$cli" config | diff - <(sed -n '/^| property | default | meaning |$/,/^$/p' "$readme" | sed '$d') >&2 || true
  exit 1
fi
echo "readme_config: the README's table is \`duraflow config\` ($(printf '%s\n' "$out" | wc -l) lines)"
