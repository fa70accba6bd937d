#!/usr/bin/env bash
# Fetches the img.ly ISNet model (npm package @imgly/background-removal-data, AGPL-3.0) once per
# machine into the per-user cache (~/.cache/wagtail-bgcut/models), OUTSIDE the repository: it is
# never committed or vendored. The real-model tests and `make demo` use it; without npm they skip
# (fail under CI=true) and the demo falls back to the built-in segmenter.
# Usage: scripts/ensure-model.sh PYTHON [NAME] [NPM_TIMEOUT_SECONDS]
set -u
PY=${1:-python3}
NAME=${2:-isnet-imgly-small}
NPM_TIMEOUT=${3:-600}
path=$("$PY" -m wagtail_bgcut.model_files path "$NAME")
if [ -f "$path" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "note: npm is not installed; the model $NAME is not fetched (real-model tests skip; fail under CI=true)." >&2
  exit 0
fi
echo "Fetching the $NAME model (AGPL-3.0, from npm) into $(dirname "$path") ..." >&2
"$PY" -m wagtail_bgcut.model_files fetch "$NAME" --npm-timeout "$NPM_TIMEOUT" --timeout 10 --retries 1 >/dev/null \
  || echo "note: could not fetch $NAME; the built-in segmenter is used." >&2
exit 0
