#!/usr/bin/env bash
# Install the Debian packages that the rendered book needs, when they are missing:
#   chromium        headless browser: the browser test (tests/test_browser.py) and the PDF (`make pdf`)
#   fonts-noto-cjk  a CJK font: the Chinese titles of the source articles, on screen and in the PDF
# Used by .ci/run, `make pdf` and `make test`. Exits non-zero, saying what to install, when it cannot.
set -euo pipefail
need=()
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  need+=(chromium)
fi
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh family | grep -q .; }; then
  need+=(fonts-noto-cjk)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo)
else
  echo "missing Debian packages: ${need[*]}; install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
if ! { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq "${need[@]}" >/dev/null; }; then
  echo "apt-get could not install ${need[*]}; install them by hand: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
