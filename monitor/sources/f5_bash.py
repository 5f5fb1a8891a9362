"""CA bundle contents read through `POST /mgmt/tm/util/bash` (`bundleReader` bash / auto).

None of BIG-IP's JSON endpoints returns a certificate file, and a bundle's ssl-cert
fields describe only one of its certificates (research/f5.md §2.3). The one way to read
the file itself is the one Keyfactor's F5 orchestrator uses (§2.4):

    {"command": "run",
     "utilCmdArgs": "-c 'cat /config/filestore/files_d/<P>_d/certificate_d/:<P>:<name>_* | base64'"}

→ `commandResult` holds the file, base64-encoded. It needs a user whose role may run
bash (administrator, or a custom role), which is why `bundleReader` defaults to `auto`
and `bash` is opt-in. Owns:
- which bundles need it: a `caFile` whose contents are still unknown after the
  ca-bundle-manager step and whose ssl-cert was read and is a bundle (`bash`: every
  such file, ca-bundle-manager or not; `auto`: those no manager could describe);
- the command (only shell-safe names, see `f5_paths.filestore_glob`) and the answer:
  `cat: …: No such file or directory` text, PEM with or without headers, or DER
  (the three forms Keyfactor handles), parsed with `monitor.certs.parse_any`; the
  members carry their `CertFacts`; a file that does not hold the certificate its
  ssl-cert object describes is not taken as its contents;
- a refusal (401 `Authorization failed: user=…`, or 403): `auto` then leaves bash alone
  for `REFUSED_PAUSE` seconds and says in the unknown reason that a bash-capable role
  would be needed; with `bash` configured the refusal is an error every poll;
- a cache by ssl-cert `checksum`: an unchanged file is not read again.
One bash request per bundle file and poll at most, through the same concurrency bound.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from monitor.certs import CertFacts, parse_any, parse_der
from monitor.model import CaBundle, SourceError, SslCert
from monitor.sources.errors import SourceFailure
from monitor.sources.f5_paths import filestore_glob

BASH_PATH = "/mgmt/tm/util/bash"
TARGET = "util/bash"
READER = "bash"
REFUSED_PAUSE = 900.0  # seconds `auto` waits before trying util/bash again after a refusal
_REFUSALS = frozenset({"http_401", "http_403"})
_BASE64 = re.compile(r"^[A-Za-z0-9+/=\s]+$")

Post = Callable[[dict[str, Any], str], Any]  # (body, what) → JSON; raises SourceFailure
Runner = Callable[[Callable[[str], "_Outcome"], list[str]], list["_Outcome"]]


def command(glob: str) -> dict[str, Any]:
    return {"command": "run", "utilCmdArgs": f"-c 'cat {glob} | base64'"}


@dataclass(frozen=True, slots=True)
class _Outcome:
    bundle: CaBundle
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
    """Reads bundle files through util/bash for one device; remembers refusals and files."""

    def __init__(self, device: str, mode: str, clock: Callable[[], float]) -> None:
        self.device = device
        self.mode = mode  # "bash" or "auto" (other modes never call it)
        self._clock = clock
        self.refused_at: float | None = None
        self.refused_reason = "http_401"
        self._cache: dict[str, tuple[str, CaBundle]] = {}  # path → (checksum, bundle)

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

    def _unknown(self, original: CaBundle, why: str) -> CaBundle:
        """Contents still unknown: with `auto` the earlier reason stays first."""
        if self.mode == "auto":
            return replace(original, unknown_reason=f"{original.unknown_reason}; {why}")
        return CaBundle(original.path, None, READER, why)

    def _refusal(
        self, original: CaBundle, reason: str, error: SourceError | None = None
    ) -> _Outcome:
        if self.mode == "auto":
            why = (
                f"reading the file through util/bash was refused ({reason}): a bash-capable"
                f" role would be needed (bundleReader auto tries again every"
                f" {REFUSED_PAUSE / 60:g} minutes)"
            )
            return _Outcome(self._unknown(original, why), None, refused=reason)
        why = f"util/bash was refused ({reason}): bundleReader bash needs a bash-capable role"
        return _Outcome(self._unknown(original, why), error, refused=reason)

    def read_one(self, original: CaBundle, cert: SslCert, checksum: str, post: Post) -> _Outcome:
        path = original.path
        cached = self._cache.get(path)
        if cached is not None and checksum and cached[0] == checksum:
            return _Outcome(cached[1])
        glob = filestore_glob(path)
        if glob is None:
            why = f"the name {path} has characters that are not passed to a shell"
            return _Outcome(self._unknown(original, why))
        try:
            doc = post(command(glob), f"{path} through util/bash")
        except SourceFailure as err:
            if err.reason in _REFUSALS:
                return self._refusal(original, err.reason, err.error)
            why = f"util/bash failed: {err.error.message}"
            return _Outcome(self._unknown(original, why), err.error)
        raw = decode_result(doc)
        if isinstance(raw, str):
            return _Outcome(self._unknown(original, raw))
        found, problem = certificates(raw)
        if problem:
            message = f"{self.device}: {path} read through util/bash: {problem}"
            error = SourceError("bad_pem", message, TARGET)
            return _Outcome(self._unknown(original, f"the file is not usable: {problem}"), error)
        fingerprints = {f.fingerprint_sha256 for f in found}
        if cert.fingerprint is not None and cert.fingerprint not in fingerprints:
            why = (
                "the file read through util/bash does not hold the certificate its ssl-cert"
                " object describes (changed meanwhile, or another file matched)"
            )
            return _Outcome(self._unknown(original, why))
        bundle = CaBundle(path, members(path, found), READER)
        if checksum:
            self._cache[path] = (checksum, bundle)
        return _Outcome(bundle)

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
        todo = self.wanted(bundles, certs)
        self._cache = {p: c for p, c in self._cache.items() if p in todo}
        if not todo:
            return out, []
        if self.paused():
            for path in todo:
                out[path] = self._refusal(bundles[path], self.refused_reason).bundle
            return out, []

        def one(path: str) -> _Outcome:
            return self.read_one(bundles[path], certs[path], checksums.get(path, ""), post)

        def cached(path: str) -> bool:
            hit = self._cache.get(path)
            return hit is not None and bool(checksums.get(path)) and hit[0] == checksums[path]

        todo.sort(key=cached)  # a file that needs a request first: it tells if bash is allowed

        first = one(todo[0])  # alone: a refusal is learnt with one request, not one per file
        outcomes = [first]
        if first.refused:
            outcomes += [self._refusal(bundles[p], first.refused) for p in todo[1:]]
            self.refused_at = self._clock()
            self.refused_reason = first.refused
        else:
            self.refused_at = None
            outcomes += run(one, todo[1:])
        errors = []
        for outcome in outcomes:
            out[outcome.bundle.path] = outcome.bundle
            if outcome.error is not None:
                errors.append(outcome.error)
        return out, errors
