#!/usr/bin/env bash
# Builds the Containerfile with buildah into build/image/f5-linkerd-monitor-<version>.oci.tar
# (tagged localhost/f5-linkerd-monitor:<version>). `make image` runs it and then the image's
# smoke test (tests/deploy/test_image.py), which also runs it itself under `make test`.
# When nothing that goes into the image changed since the archive was written (the build
# context, the Containerfile, the base and the build arguments, recorded in
# build/image/inputs.sha256), it keeps the archive and builds nothing.
#
# BASE_IMAGE: the base to build on. Unset, a local Debian bookworm base with python3, venv
# and pip is made with debootstrap from the Debian archive (for machines that reach no
# container registry); its root filesystem is kept in build/image/base-rootfs, so the next
# run (or the next clone's, with IMAGE_BASE_CACHE pointing at a kept folder) starts from it.
#
# The build stage installs the wheels from the package index the host's pip uses: its
# index-url and http(s) extra-index-urls (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, else pip's
# config) are passed on as build arguments; local (file:) indexes cannot be seen in the
# build and are left out. BUILD_CA_BUNDLE (default: the host pip's `cert`, else none) is the
# CA bundle pip verifies the index with, for a network whose TLS is intercepted by a proxy:
# it goes into the build stage only (a derived base, PIP_CERT), never into the image.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/image"
version="$(cd "$root" && python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
image="localhost/f5-linkerd-monitor:$version"
archive="$out/f5-linkerd-monitor-$version.oci.tar"
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"  # works where overlay mounts do not
# chroot isolation runs RUN steps without an OCI runtime (crun refuses hybrid cgroups).
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"

need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "image.sh: installing $2 from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "image.sh: $1 is missing (apt-get install $2)" >&2; exit 1; }
}

pip_setting() {  # the host pip's value of one setting: environment first, then its config
  local env_name="PIP_$(echo "$1" | tr 'a-z-' 'A-Z_')"
  if [ -n "${!env_name:-}" ]; then echo "${!env_name}"; return; fi
  python3 -m pip config get "global.$1" 2>/dev/null || true
}

need buildah buildah
mkdir -p "$out"

# The steps that download (debootstrap, the build stage's pip) are tried up to three times:
# a registry's passing hiccup must not fail a build that would work a minute later.
retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    echo "image.sh: $1 failed (attempt $attempt of 3)" >&2
    [ "$attempt" = 3 ] || sleep $((attempt * 10))
  done
  return 1
}

bootstrap() {  # a fresh root filesystem each try: a failed debootstrap leaves half of one
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
    bookworm "$rootfs" http://deb.debian.org/debian >"$out/debootstrap.log"
}

if [ -z "${BASE_IMAGE:-}" ]; then
  need debootstrap debootstrap
  rootfs="${IMAGE_BASE_CACHE:-$out/base-rootfs}"
  if [ ! -x "$rootfs/usr/bin/python3" ]; then
    echo "image.sh: debootstrap bookworm with python3 into $rootfs"
    retry bootstrap
    rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  fi
  # The base is named after what it was made from, so a changed root filesystem is a new one.
  stamp="$(stat -c %Y "$rootfs/var/lib/dpkg/status")"
  BASE_IMAGE="localhost/f5-linkerd-monitor-base:bookworm-$stamp"
  if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "image.sh: committing $rootfs as $BASE_IMAGE"
    container="$(buildah from scratch)"
    mountpoint="$(buildah mount "$container")"
    cp -a "$rootfs/." "$mountpoint/"
    buildah umount "$container" >/dev/null
    buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --cmd /bin/sh "$container"
    buildah commit --quiet "$container" "$BASE_IMAGE" >/dev/null
    buildah rm "$container" >/dev/null
  fi
fi

# The build stage's base: the base itself, or the base with the CA bundle pip must trust.
ca="${BUILD_CA_BUNDLE-$(pip_setting cert)}"
BUILD_IMAGE="$BASE_IMAGE"
if [ -n "$ca" ]; then
  ca_sum="$(sha256sum "$ca" | cut -c1-12)"
  base_id="$(buildah inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE" 2>/dev/null | cut -c1-12 || true)"
  BUILD_IMAGE="localhost/f5-linkerd-monitor-build-base:${base_id:-unknown}-$ca_sum"
  if ! buildah inspect --type image "$BUILD_IMAGE" >/dev/null 2>&1; then
    container="$(buildah from --quiet --pull=false "$BASE_IMAGE")"
    buildah copy --quiet "$container" "$ca" /etc/ssl/certs/build-ca-bundle.crt >/dev/null
    buildah config --env PIP_CERT=/etc/ssl/certs/build-ca-bundle.crt "$container"
    buildah commit --quiet "$container" "$BUILD_IMAGE" >/dev/null
    buildah rm "$container" >/dev/null
  fi
fi

args=(--build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_IMAGE=$BUILD_IMAGE"
  --build-arg "VERSION=$version")
index="$(pip_setting index-url)"
[ -z "$index" ] || args+=(--build-arg "PIP_INDEX_URL=$index")
extra="$(for url in $(pip_setting extra-index-url); do
  case "$url" in http://* | https://*) printf '%s ' "$url" ;; esac
done)"
[ -z "$extra" ] || args+=(--build-arg "PIP_EXTRA_INDEX_URL=${extra% }")

# What the image is made of: the build context (.containerignore keeps it to these), the
# Containerfile, the bases' ids and the build arguments.
inputs="$(
  cd "$root"
  find Containerfile .containerignore pyproject.toml constraints.txt README.md monitor \
    -type f -not -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum
  for ref in "$BASE_IMAGE" "$BUILD_IMAGE"; do
    buildah inspect --type image --format '{{.FromImageID}}' "$ref" 2>/dev/null || echo "$ref"
  done
  printf '%s\n' "${args[@]}"
)"
inputs_sum="$(echo "$inputs" | sha256sum | cut -d' ' -f1)"
if [ -s "$archive" ] && [ "$(cat "$out/inputs.sha256" 2>/dev/null)" = "$inputs_sum" ]; then
  echo "image.sh: $archive is up to date"
  exit 0
fi

echo "image.sh: building $image on $BASE_IMAGE"
rm -f "$out/inputs.sha256"
dangling() { buildah images --filter dangling=true --noheading --quiet --no-trunc | sort -u; }
before="$(dangling)"
retry buildah bud --layers=false "${args[@]}" -f "$root/Containerfile" -t "$image" "$root"
# What this build left untagged (its build stage, the image it replaced) goes: with vfs
# storage each is a full copy of a few hundred MB.
comm -13 <(echo "$before") <(dangling) | xargs -r buildah rmi >/dev/null 2>&1 || true
rm -f "$archive"
buildah push --quiet "$image" "oci-archive:$archive:$image" >/dev/null
echo "$inputs_sum" >"$out/inputs.sha256"
echo "image.sh: $image in $archive ($(du -h "$archive" | cut -f1))"
