#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing (Playwright may not download its
# own browser here). Without root or apt the browser tests skip, except under CI=true where they fail.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
  echo "installing Debian's chromium for the browser tests..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: could not install chromium; browser tests will skip (fail under CI=true)." >&2
else
  echo "note: /usr/bin/chromium is missing and cannot be installed here; browser tests will skip (fail under CI=true)." >&2
fi
exit 0
