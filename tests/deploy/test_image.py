"""The image's smoke test: the OCI archive `make image` builds (scripts/image.sh, run here too,
which keeps an up-to-date archive) is unpacked layer by layer and its entry point run as the
image says: with `podman run` where containers can run, otherwise in the unpacked root
filesystem with chroot, as the image's user (65532), in its working directory, with its
environment. `--version` and `demo --once -o json` must give what the working tree gives;
the run writes nothing outside the state directory and /tmp; the image holds no compiler,
no pip in the environment, no build-time CA or index settings, and no secrets.

buildah and debootstrap come from Debian (`make test` installs them:
scripts/system-tools.sh); building and chroot need root. Where that cannot be had the tests
skip, saying why; under CI=true they fail instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor import __version__
from tests.support.paths import ROOT
from tests.support.tools import find_tool, require_tool, unavailable

ARCHIVE = ROOT / "build" / "image" / f"f5-linkerd-monitor-{__version__}.oci.tar"
STATE_DIR = "var/lib/f5-linkerd-monitor"
WRITABLE = ("tmp/", f"{STATE_DIR}/")  # the pod's two emptyDir mounts

pytestmark = pytest.mark.timeout(1800)  # a first build debootstraps a base: a few minutes

# Executables that compile: gcc/cc/c++/clang/cpp and target-prefixed or versioned forms.
COMPILER = re.compile(
    r"^([\w.-]+-)?(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|cpp|tcc|rustc|gfortran)(-[\d.]+)?$"
)
# A PEM private key: the BEGIN line and base64 under it (libraries name the marker alone).
PRIVATE_KEY = re.compile(
    rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\r?\n(?:[\w-]+: [^\n]*\n|\r?\n)*[A-Za-z0-9+/]{40}"
)
SECRET_FILES = {
    ".netrc",
    ".pypirc",
    ".git-credentials",
    "id_rsa",
    "id_ecdsa",
    "id_ed25519",
    ".dockercfg",
    "credentials",
}
BUILD_ONLY = re.compile(r"PIP_(INDEX_URL|EXTRA_INDEX_URL|CERT)|build-ca-bundle|BUILD_IMAGE")


# --- the archive --------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    rootfs: Path
    config: dict[str, Any]  # the OCI image config's `config` (User, Env, Entrypoint, ...)
    history: list[str]
    compilers: list[str]  # the scans below, of the image as built (before anything ran in it)
    secrets: list[str]


def build() -> Path:
    if os.geteuid() != 0:
        unavailable("building the image and running it with chroot need root")
    for name in ("buildah", "debootstrap"):
        require_tool(name)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "image.sh")],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert ARCHIVE.is_file()
    return ARCHIVE


def _read(oci: tarfile.TarFile, name: str) -> bytes:
    member = oci.extractfile(name)
    assert member is not None, name
    return member.read()


def _blob(oci: tarfile.TarFile, digest: str) -> bytes:
    return _read(oci, "blobs/" + digest.replace(":", "/"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _apply_layer(layer: tarfile.TarFile, rootfs: Path) -> None:
    """Extract one layer as it streams by, honouring OCI whiteouts (`.wh.NAME` deletes,
    `.wh..wh..opq` empties); nothing of it is held in memory."""
    for member in layer:
        path = Path(member.name)
        if path.name == ".wh..wh..opq":
            target = rootfs / path.parent
            for child in list(target.iterdir()) if target.is_dir() else []:
                _remove(child)
        elif path.name.startswith(".wh."):
            _remove(rootfs / path.parent / path.name[len(".wh.") :])
        else:
            # Our own build's output: ownership, modes and absolute links (Debian's) as they are.
            layer.extract(member, rootfs, numeric_owner=True, filter="fully_trusted")


def unpack(archive: Path, rootfs: Path) -> Image:
    """The image's root filesystem (its layers applied in order) and its config."""
    rootfs.mkdir(parents=True)
    with tarfile.open(archive) as oci:
        (entry,) = json.loads(_read(oci, "index.json"))["manifests"]
        manifest = json.loads(_blob(oci, entry["digest"]))
        config = json.loads(_blob(oci, manifest["config"]["digest"]))
        for layer in manifest["layers"]:
            blob = oci.extractfile("blobs/" + layer["digest"].replace(":", "/"))
            assert blob is not None, layer["digest"]
            mode = "r|gz" if layer["mediaType"].endswith("+gzip") else "r|"
            with tarfile.open(fileobj=blob, mode=mode) as tar:  # streamed: a layer is ~100 MB
                _apply_layer(tar, rootfs)
    # What a container runtime provides: /etc/hosts (the image's base has none).
    (rootfs / "etc" / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    history = [h.get("created_by", "") for h in config.get("history", [])]
    return Image(rootfs, config["config"], history, compilers(rootfs), secrets(rootfs))


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    return unpack(build(), tmp_path_factory.mktemp("image") / "rootfs")


# --- scans of a root filesystem ---------------------------------------------------------------


def compilers(rootfs: Path) -> list[str]:
    """Compiler executables, and gcc's compiler proper, anywhere on the usual paths."""
    found = []
    for folder in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "opt"):
        base = rootfs / folder
        if base.is_dir() and not base.is_symlink():
            for path in base.rglob("*"):
                if COMPILER.match(path.name) and (path.is_symlink() or path.is_file()):
                    found.append(str(path.relative_to(rootfs)))
    found += [str(p.relative_to(rootfs)) for p in rootfs.glob("usr/lib/gcc/*/*/cc1*")]
    return sorted(set(found))


def debian_files(rootfs: Path) -> dict[str, str]:
    """The files Debian's packages installed, with their MD5 (dpkg's md5sums lists)."""
    shipped = {}
    for listing in rootfs.glob("var/lib/dpkg/info/*.md5sums"):
        for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
            digest, _, path = line.partition("  ")
            shipped[path] = digest
    return shipped


def secrets(rootfs: Path) -> list[str]:
    """Files that hold a private key, or are named as credentials usually are; a file exactly
    as a Debian package of the base ships it is not counted (GnuTLS holds self-test keys)."""
    shipped = debian_files(rootfs)
    found = []
    for folder, dirs, files in os.walk(rootfs):
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        for name in files:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            relative = str(path.relative_to(rootfs))
            named = name in SECRET_FILES or relative.endswith(
                (".docker/config.json", ".kube/config")
            )
            small = path.stat().st_size <= 8 << 20
            data = path.read_bytes() if small else b""
            flagged = named or PRIVATE_KEY.search(data) is not None
            if flagged and shipped.get(relative) != hashlib.md5(data).hexdigest():
                found.append(relative)
    return sorted(found)


def listing(rootfs: Path) -> dict[str, tuple[int, int, int, int]]:
    """Every path with its modification time, size, mode and owner."""
    seen = {}
    for folder, dirs, files in os.walk(rootfs):
        for name in dirs + files:
            path = Path(folder) / name
            st = path.lstat()
            seen[str(path.relative_to(rootfs))] = (
                st.st_mtime_ns,
                st.st_size,
                st.st_mode,
                st.st_uid,
            )
    return seen


def test_the_scans_find_what_they_look_for(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "usr" / "bin").mkdir(parents=True)
    (rootfs / "usr" / "bin" / "python3").write_text("")
    assert compilers(rootfs) == []
    assert secrets(rootfs) == []
    (rootfs / "usr" / "bin" / "x86_64-linux-gnu-gcc-12").write_text("")
    (rootfs / "usr" / "bin" / "cc").symlink_to("x86_64-linux-gnu-gcc-12")
    (rootfs / "usr" / "bin" / "lib.py").write_text(
        'MARKER = b"-----BEGIN OPENSSH PRIVATE KEY-----"'
    )
    assert secrets(rootfs) == []
    home = rootfs / "home" / "app"
    home.mkdir(parents=True)
    (home / ".netrc").write_text("machine pypi.example login x password y\n")
    body = "MHcCAQEEIBk3n5Vq0bS8cqf0x2mXh1kJc9yYwq6sUe7Tt2a4rBqKoAoGCCqGSM49"
    key = f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n"
    (rootfs / "usr" / "bin" / "tls.pem").write_text(key)
    assert compilers(rootfs) == ["usr/bin/cc", "usr/bin/x86_64-linux-gnu-gcc-12"]
    assert secrets(rootfs) == ["home/app/.netrc", "usr/bin/tls.pem"]
    md5sums = rootfs / "var" / "lib" / "dpkg" / "info" / "libgnutls30.md5sums"
    md5sums.parent.mkdir(parents=True)
    md5sums.write_text(f"{hashlib.md5(key.encode()).hexdigest()}  usr/bin/tls.pem\n")
    assert secrets(rootfs) == ["home/app/.netrc"]  # as Debian ships it
    (rootfs / "usr" / "bin" / "tls.pem").write_text(key.replace("MHcC", "MHcD"))
    assert secrets(rootfs) == ["home/app/.netrc", "usr/bin/tls.pem"]  # changed since


# --- running the entry point -----------------------------------------------------------------

Runner = Callable[[list[str]], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Runtime:
    name: str  # "podman" or "chroot"
    run: Runner


def _ids(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


def chroot_runtime(image: Image) -> Runtime:
    """The entry point run in the root filesystem as the image's user, dir and environment."""
    uid, gid = _ids(image.config["User"])
    env = dict(item.split("=", 1) for item in image.config.get("Env", []))
    workdir = image.config.get("WorkingDir") or "/"

    def enter() -> None:  # in the child, before exec: root until the last two calls
        os.chroot(image.rootfs)
        os.chdir(workdir)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*image.config["Entrypoint"], *args],
            env=env,
            preexec_fn=enter,  # the chroot and the user switch happen in the child
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return Runtime("chroot", run)


def podman_runtime(archive: Path) -> Runtime | None:
    """`podman run` of the archive, read-only, where podman is installed and can run it."""
    podman = find_tool("podman")
    if podman is None:
        return None

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        argv = [podman, "run", "--rm", "--read-only", "--network=host", f"oci-archive:{archive}"]
        return subprocess.run(
            [*argv, *args], capture_output=True, text=True, timeout=300, check=False
        )

    return Runtime("podman", run) if run(["--version"]).returncode == 0 else None


@pytest.fixture(scope="module")
def runtime(image: Image) -> Runtime:
    return podman_runtime(ARCHIVE) or chroot_runtime(image)


def working_tree(args: list[str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "f5-linkerd-monitor"
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=300, check=False
    )


def outcome(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """What `demo --once -o json` found, without what differs run to run (times, keys)."""
    doc = json.loads(result.stdout)
    return {
        "exit": result.returncode,
        "counts": doc["counts"],
        "findings": sorted(
            (f["check"], f["severity"], f["boundary"], f["device"]) for f in doc["findings"]
        ),
        "checks": sorted((c["check"], c["boundary"], c["state"]) for c in doc["checks"]),
        "sources": sorted((s["source"], s["target"], s["up"]) for s in doc["sources"]),
        "certificates": sorted((c["role"], c["source"], c["subject"]) for c in doc["certificates"]),
    }


# --- the image -------------------------------------------------------------------------------


def test_image_runs_as_65532_with_the_pods_command(image: Image) -> None:
    assert image.config["User"] == "65532:65532"
    assert image.config["Entrypoint"] == ["f5-linkerd-monitor"]
    assert image.config["Cmd"] == ["run", "--config", "/etc/f5-linkerd-monitor/config.yaml"]
    assert image.config["WorkingDir"] == f"/{STATE_DIR}"
    state = (image.rootfs / STATE_DIR).stat()
    assert (state.st_uid, state.st_gid) == (65532, 65532)
    assert image.config["Labels"]["org.opencontainers.image.version"] == __version__


def test_version(runtime: Runtime) -> None:
    result = runtime.run(["--version"])
    assert result.returncode == 0, f"{runtime.name}: {result.stderr}"
    assert (
        result.stdout == working_tree(["--version"]).stdout == f"f5-linkerd-monitor {__version__}\n"
    )


def test_demo_once_json_as_the_working_tree_and_writes_only_where_the_pod_may(
    image: Image, runtime: Runtime
) -> None:
    before = listing(image.rootfs)
    result = runtime.run(["demo", "--once", "-o", "json"])
    assert result.stdout.startswith("{"), f"{runtime.name}: {result.stderr[-3000:]}"
    expected = outcome(working_tree(["demo", "--once", "-o", "json"]))
    assert outcome(result) == expected
    assert expected["findings"]
    assert expected["exit"] in (0, 1)
    after = listing(image.rootfs)
    written = [p for p in after if after[p] != before.get(p)]
    written += [p for p in before if p not in after]
    assert [p for p in written if not f"{p}/".startswith(WRITABLE)] == []
    uid, _ = _ids(image.config["User"])
    assert {after[p][3] for p in written if p in after and p.startswith("tmp/")} <= {uid}


def test_no_compiler_and_no_pip_in_the_environment(image: Image) -> None:
    assert image.compilers == []
    venv = image.rootfs / "opt" / "f5-linkerd-monitor"
    assert (venv / "bin" / "f5-linkerd-monitor").is_file()
    assert sorted(p.name for p in (venv / "bin").glob("pip*")) == []
    assert list(venv.glob("lib/python3*/site-packages/pip")) == []
    for leftover in ("src", "wheels", "state", "root/.cache/pip"):
        assert not (image.rootfs / leftover).exists(), leftover


def test_no_secrets_and_nothing_of_the_build_stage(image: Image) -> None:
    assert image.secrets == []
    assert not (image.rootfs / "etc" / "ssl" / "certs" / "build-ca-bundle.crt").exists()
    told = json.dumps([image.config, image.history])
    assert BUILD_ONLY.search(told) is None, BUILD_ONLY.search(told)
    assert re.search(r"(?i)password|token|secret", json.dumps(image.config.get("Env"))) is None
