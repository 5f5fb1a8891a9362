#!/usr/bin/env bash
# `make image`: builds the Containerfile with buildah into an OCI archive under build/image,
# then checks the image's root filesystem: the entry point runs as 65532 and prints the
# version. Not part of `make test`.
#
# BASE_IMAGE: the base to build on. Unset, a local Debian bookworm base with python3, venv
# and pip is made with debootstrap from the Debian archive (for machines that reach no
# container registry) and committed as localhost/f5-linkerd-monitor-base:bookworm.
# The build stage still installs the wheels from the Python package index.
# BUILD_CA_BUNDLE: a CA bundle to put into that local base in place of Debian's, for a
# network whose TLS is intercepted by a proxy (the base, and so the image, then trust it:
# use such an image for the smoke check only, never push it).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/build/image"
version="$(cd "$root" && python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
image="localhost/f5-linkerd-monitor:$version"
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

need buildah buildah
mkdir -p "$out"

if [ -z "${BASE_IMAGE:-}" ]; then
  need debootstrap debootstrap
  BASE_IMAGE="localhost/f5-linkerd-monitor-base:bookworm"
  if ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    rootfs="$out/base-rootfs"
    if [ ! -x "$rootfs/usr/bin/python3" ]; then
      rm -rf "$rootfs"
      echo "image.sh: debootstrap bookworm with python3 into $rootfs"
      debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
        bookworm "$rootfs" http://deb.debian.org/debian >"$out/debootstrap.log"
    fi
    container="$(buildah from scratch)"
    mountpoint="$(buildah mount "$container")"
    cp -a "$rootfs/." "$mountpoint/"
    rm -rf "$mountpoint/var/cache/apt/archives/"*.deb "$mountpoint/var/lib/apt/lists/"*
    if [ -n "${BUILD_CA_BUNDLE:-}" ]; then
      cp "$BUILD_CA_BUNDLE" "$mountpoint/etc/ssl/certs/ca-certificates.crt"
    fi
    buildah umount "$container" >/dev/null
    buildah config --env PATH=/usr/local/bin:/usr/bin:/bin --cmd /bin/sh "$container"
    buildah commit --quiet "$container" "$BASE_IMAGE" >/dev/null
    buildah rm "$container" >/dev/null
  fi
fi

echo "image.sh: building $image on $BASE_IMAGE"
buildah bud --layers=false --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "VERSION=$version" \
  -f "$root/Containerfile" -t "$image" "$root"
archive="$out/f5-linkerd-monitor-$version.oci.tar"
rm -f "$archive"
buildah push --quiet "$image" "oci-archive:$archive:$image" >/dev/null

# The smoke check: run the entry point as the image's user in its root filesystem.
container="$(buildah from "$image")"
trap 'buildah rm "$container" >/dev/null' EXIT
mountpoint="$(buildah mount "$container")"
user="$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")"
[ "$user" = "65532:65532" ] || { echo "image.sh: the image runs as '$user', not 65532:65532" >&2; exit 1; }
got="$(chroot --userspec=65532:65532 "$mountpoint" /opt/f5-linkerd-monitor/bin/f5-linkerd-monitor --version)"
[ "$got" = "f5-linkerd-monitor $version" ] || { echo "image.sh: --version said '$got'" >&2; exit 1; }
for compiler in gcc cc clang; do
  [ ! -e "$mountpoint/usr/bin/$compiler" ] || { echo "image.sh: $compiler is in the image" >&2; exit 1; }
done
buildah umount "$container" >/dev/null
echo "image.sh: $image ($got, user $user) in $archive ($(du -h "$archive" | cut -f1))"
