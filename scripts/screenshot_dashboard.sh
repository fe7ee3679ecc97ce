#!/usr/bin/env bash
# Render the dashboard in headless Chromium and save a PNG screenshot.
#
#   scripts/screenshot_dashboard.sh [DASHBOARD_HTML] [OUTPUT_PNG] [WIDTH]
#   scripts/screenshot_dashboard.sh data/reports/dashboard.html /tmp/dashboard.png
#   scripts/screenshot_dashboard.sh data/reports/dashboard.html /tmp/phone.png 390
#
# WIDTH is the window width in CSS pixels (default 1400; 390 is a phone). The height is
# fixed, so a tall page is cut at the bottom: the tests use Playwright for full pages.
#
# Needs Debian's chromium (apt-get install -y chromium). The dashboard is offline by
# design; every network-ish Chromium feature is switched off too, so the render proves
# the file needs nothing beyond itself. A throw-away profile keeps the user's untouched.
set -euo pipefail

html="${1:-data/reports/dashboard.html}"
png="${2:-dashboard.png}"
width="${3:-1400}"
[[ "$width" =~ ^[0-9]+$ ]] || { echo "screenshot_dashboard: WIDTH must be a number of pixels, not $width" >&2; exit 1; }
browser="${CHROMIUM:-/usr/bin/chromium}"

[[ -f "$html" ]] || { echo "screenshot_dashboard: no dashboard at $html (run 'ott report' first)" >&2; exit 1; }
[[ -x "$browser" ]] || { echo "screenshot_dashboard: no chromium at $browser (apt-get install -y chromium)" >&2; exit 1; }

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
abs_html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
mkdir -p "$(dirname "$png")"
abs_png="$(cd "$(dirname "$png")" && pwd)/$(basename "$png")"

"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
  --window-size="$width",2400 --screenshot="$abs_png" "file://$abs_html" >/dev/null 2>&1

[[ -s "$abs_png" ]] || { echo "screenshot_dashboard: chromium wrote no screenshot" >&2; exit 1; }
echo "$abs_png"
