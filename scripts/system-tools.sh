#!/usr/bin/env bash
# Installs the Debian tools the end-to-end tests run for real: Prometheus (with promtool),
# Alertmanager (with amtool), headless Chromium, and buildah and debootstrap for the image's
# smoke test (tests/deploy/test_image.py). Installs only what is missing.
# With CI=true a tool that is still missing afterwards is a failure, never a silent skip.
set -euo pipefail

declare -A package_of=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager
  [amtool]=prometheus-alertmanager
  [chromium]=chromium
  [buildah]=buildah
  [debootstrap]=debootstrap
)

missing_packages() {
  local tool
  for tool in "${!package_of[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || echo "${package_of[$tool]}"
  done | sort -u
}

mapfile -t need < <(missing_packages)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "system-tools: installing ${need[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "system-tools: missing ${need[*]} and cannot apt-get here (not root or no apt-get)" >&2
  fi
fi

mapfile -t still < <(missing_packages)
if [ "${#still[@]}" -gt 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "system-tools: still missing after install: ${still[*]}" >&2
    exit 1
  fi
  echo "system-tools: warning: ${still[*]} missing; the tests that need them will be skipped" >&2
fi
