"""Certificate files read through `POST /mgmt/tm/util/bash` (`bundleReader` bash / auto).

None of BIG-IP's JSON endpoints returns a certificate file, and a bundle's ssl-cert
fields describe only one of its certificates (research/f5.md §2.3). The one way to read
the file itself is the one Keyfactor's F5 orchestrator uses (§2.4):

    {"command": "run",
     "utilCmdArgs": "-c 'cat /config/filestore/files_d/<P>_d/certificate_d/:<P>:<name>_* | base64'"}

→ `commandResult` holds the file, base64-encoded. It needs a user whose role may run
bash (administrator, or a custom role), which is why `bundleReader` defaults to `auto`
and `bash` is opt-in. Owns:
- which CA bundles need it: a `caFile` whose contents are still unknown after the
  ca-bundle-manager step and whose ssl-cert was read and is a bundle (`bash`: every
  such file, ca-bundle-manager or not; `auto`: those no manager could describe); the
  boundaries' certificate and chain files are chosen by `certfiles`;
- the command (only shell-safe names, see `paths.filestore_glob`) and the answer:
  `cat: …: No such file or directory` text, PEM with or without headers, or DER
  (the three forms Keyfactor handles), parsed with `monitor.certs.parse_any` into
  `CertFacts`; a file that does not hold the certificate its ssl-cert object describes
  (fingerprint) is rejected (changed meanwhile, or the glob matched another file);
- a refusal (401 `Authorization failed: user=…`, or 403): `auto` then leaves bash alone
  for `REFUSED_PAUSE` seconds and says in the unknown reason that a bash-capable role
  would be needed; with `bash` configured the refusal is an error every poll;
- a cache by ssl-cert `checksum` of what util/bash answered (the certificates, or why the
  file was rejected): an unchanged file is not read again.
One bash request per file and poll at most (`read` takes every file of the poll at once),
through the same concurrency bound.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from monitor.certs import CertFacts, parse_any, parse_der
from monitor.model import CaBundle, SourceError, SslCert
from monitor.sources.errors import SourceFailure
from monitor.sources.f5.paths import filestore_glob

BASH_PATH = "/mgmt/tm/util/bash"
TARGET = "util/bash"
READER = "bash"
REFUSED_PAUSE = 900.0  # seconds `auto` waits before trying util/bash again after a refusal
_REFUSALS = frozenset({"http_401", "http_403"})
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")

Post = Callable[[dict[str, Any], str], Any]  # (body, what) → JSON; raises SourceFailure
Runner = Callable[[Callable[[str], "FileRead"], list[str]], list["FileRead"]]


def command(glob: str) -> dict[str, Any]:
    return {"command": "run", "utilCmdArgs": f"-c 'cat {glob} | base64'"}


@dataclass(frozen=True, slots=True)
class FileRead:
    """One file as util/bash gave it: its certificates in file order, or why there are none."""

    path: str
    found: tuple[CertFacts, ...] | None = None
    why: str = ""  # when `found` is None
    error: SourceError | None = None
    refused: str = ""  # the reason code of a refusal


def decode_result(doc: Any) -> bytes | str:
    """The file's bytes from a util/bash answer, or why there are none."""
    result = doc.get("commandResult") if isinstance(doc, dict) else None
    if result is None:
        return "util/bash printed nothing (the file is empty or was not found)"
    if not isinstance(result, str):
        return "util/bash answered without a commandResult text"
    lines = result.splitlines()
    if cat_errors := [line.strip() for line in lines if line.startswith("cat: ")]:
        return f"the file was not found in the filestore ({cat_errors[0]})"
    try:
        return base64.b64decode("".join(line.strip() for line in lines), validate=True)
    except (binascii.Error, ValueError):
        return "util/bash answered with text that is not base64"


def certificates(raw: bytes) -> tuple[tuple[CertFacts, ...], str]:
    """The certificates of a file (PEM, headerless PEM or DER), or why it is unusable."""
    parsed = parse_any(raw)
    if not parsed.certs and _BASE64.match(raw.decode("latin-1")):  # PEM without headers
        with contextlib.suppress(binascii.Error, ValueError):
            parsed = parse_der(base64.b64decode(raw))
    if parsed.errors:
        first = parsed.errors[0]
        return (), f"{first.code}: {first.message}"
    if not parsed.certs:
        return (), "no certificate in the file"
    return parsed.certs, ""


def described(found: tuple[CertFacts, ...], cert: SslCert) -> CertFacts | None:
    """The certificate of a file that its ssl-cert object describes (by fingerprint; the
    first when BIG-IP gave no fingerprint), or None when the file does not hold it."""
    if cert.fingerprint is None:
        return found[0] if found else None
    return next((f for f in found if f.fingerprint_sha256 == cert.fingerprint), None)


def members(path: str, found: tuple[CertFacts, ...]) -> tuple[SslCert, ...]:
    """Bundle members from parsed certificates, named `<bundle>#<n>`, each once."""
    seen: set[str] = set()
    out = []
    for number, facts in enumerate(found, start=1):
        if facts.fingerprint_sha256 in seen:
            continue
        seen.add(facts.fingerprint_sha256)
        out.append(
            SslCert(
                path=f"{path}#{number}",
                is_bundle=False,
                fingerprint=facts.fingerprint_sha256,
                not_after=facts.not_after,
                subject=facts.subject,
                issuer=facts.issuer,
                facts=facts,
            )
        )
    return tuple(out)


class BashReader:
    """Reads certificate files through util/bash for one device; remembers refusals and
    files (by ssl-cert checksum)."""

    def __init__(self, device: str, mode: str, clock: Callable[[], float]) -> None:
        self.device = device
        self.mode = mode  # "bash" or "auto" (other modes never call it)
        self._clock = clock
        self.refused_at: float | None = None
        self.refused_reason = "http_401"
        self._cache: dict[str, tuple[str, FileRead]] = {}  # path → (checksum, answer)

    def paused(self) -> bool:
        """`auto` after a recent refusal: bash is not tried now."""
        return (
            self.mode == "auto"
            and self.refused_at is not None
            and self._clock() - self.refused_at < REFUSED_PAUSE
        )

    def wanted(self, bundles: Mapping[str, CaBundle], certs: Mapping[str, SslCert]) -> list[str]:
        """The caFile paths whose contents only bash can tell."""
        out = []
        for path, bundle in sorted(bundles.items()):
            cert = certs.get(path)
            if bundle.members is None and cert is not None and cert.is_bundle:
                out.append(path)
        return out

    def cached(self, path: str, checksum: str) -> bool:
        """Whether `path` with this checksum was read before (no request needed)."""
        hit = self._cache.get(path)
        return hit is not None and bool(checksum) and hit[0] == checksum

    def _refused(self, path: str, reason: str, error: SourceError | None = None) -> FileRead:
        if self.mode == "auto":
            why = (
                f"reading the file through util/bash was refused ({reason}): a bash-capable"
                f" role would be needed (bundleReader auto tries again every"
                f" {REFUSED_PAUSE / 60:g} minutes)"
            )
            return FileRead(path, None, why, None, reason)
        why = f"util/bash was refused ({reason}): bundleReader bash needs a bash-capable role"
        return FileRead(path, None, why, error, reason)

    def read_one(self, path: str, cert: SslCert, checksum: str, post: Post) -> FileRead:
        """The file of ssl-cert `path`: what util/bash answered for it last when its checksum
        is unchanged (certificates, or why it was rejected), else with one request."""
        cached = self._cache.get(path)
        if cached is not None and checksum and cached[0] == checksum:
            return cached[1]
        glob = filestore_glob(path)
        if glob is None:
            why = f"the name {path} has characters that are not passed to a shell"
            return FileRead(path, None, why)
        try:
            doc = post(command(glob), f"{path} through util/bash")
        except SourceFailure as err:
            if err.reason in _REFUSALS:
                return self._refused(path, err.reason, err.error)
            return FileRead(path, None, f"util/bash failed: {err.error.message}", err.error)
        read = self._answer(path, cert, doc)
        if checksum:  # the answer depends only on the file, which the checksum identifies
            self._cache[path] = (checksum, read)
        return read

    def _answer(self, path: str, cert: SslCert, doc: Any) -> FileRead:
        raw = decode_result(doc)
        if isinstance(raw, str):
            return FileRead(path, None, raw)
        found, problem = certificates(raw)
        if problem:
            message = f"{self.device}: {path} read through util/bash: {problem}"
            error = SourceError("bad_pem", message, TARGET)
            return FileRead(path, None, f"the file is not usable: {problem}", error)
        if described(found, cert) is None:
            why = (
                "the file read through util/bash does not hold the certificate its ssl-cert"
                " object describes (changed meanwhile, or another file matched)"
            )
            return FileRead(path, None, why)
        return FileRead(path, found)

    def read(
        self,
        paths: Collection[str],
        certs: Mapping[str, SslCert],
        checksums: Mapping[str, str],
        post: Post,
        run: Runner,
    ) -> tuple[dict[str, FileRead], list[SourceError]]:
        """Each file of `paths` (ssl-certs that were read) once: cached, or with one request.

        A file that needs a request goes first and alone: a refusal is learnt with one
        request, not one per file; `auto` then leaves bash alone for `REFUSED_PAUSE`."""
        todo = sorted(set(paths))
        self._cache = {p: c for p, c in self._cache.items() if p in todo}
        if not todo:
            return {}, []
        if self.paused():
            return {p: self._refused(p, self.refused_reason) for p in todo}, []

        def one(path: str) -> FileRead:
            return self.read_one(path, certs[path], checksums.get(path, ""), post)

        todo.sort(key=lambda p: self.cached(p, checksums.get(p, "")))
        first = one(todo[0])
        reads = [first]
        if first.refused:
            reads += [self._refused(p, first.refused) for p in todo[1:]]
            self.refused_at = self._clock()
            self.refused_reason = first.refused
        else:
            self.refused_at = None
            reads += run(one, todo[1:])
        return {r.path: r for r in reads}, [r.error for r in reads if r.error is not None]

    def as_bundle(self, original: CaBundle, read: FileRead) -> CaBundle:
        """The CA bundle `original` with what util/bash read of its file."""
        if read.found is None:
            if self.mode == "auto":  # the earlier reason stays first
                why = f"{original.unknown_reason}; {read.why}"
                return replace(original, unknown_reason=why)
            return CaBundle(original.path, None, READER, read.why)
        return CaBundle(original.path, members(original.path, read.found), READER)

    def complete(
        self,
        bundles: Mapping[str, CaBundle],
        certs: Mapping[str, SslCert],
        checksums: Mapping[str, str],
        post: Post,
        run: Runner,
    ) -> tuple[dict[str, CaBundle], list[SourceError]]:
        """`bundles` with the contents bash could read filled in, and the errors."""
        out = dict(bundles)
        reads, errors = self.read(self.wanted(bundles, certs), certs, checksums, post, run)
        for path, read in reads.items():
            out[path] = self.as_bundle(bundles[path], read)
        return out, errors
