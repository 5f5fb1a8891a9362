"""Trust rules over `CertFacts`: chain verification at a given time, Linkerd's key rules.

This module owns the answer to "does this certificate chain to one of these anchors at
time `at`?" and "would Linkerd accept this key as an anchor or issuer?". It is pure: no
I/O, no clock reads (the time is an argument). `monitor.certs` re-exports everything here.

`verify_chain` follows Go's `crypto/x509` `Certificate.Verify`, which Linkerd uses to check
its issuer against the trust anchors (research/linkerd.md §2.2):
- A parent is found by its signature, checked by cryptography
  (`verify_directly_issued_by`: the issuer name must equal the parent's subject, as in Go,
  and the signature must verify). Names alone never decide; key identifiers are not needed.
- A leaf that is itself one of the anchors (same DER) verifies on its own: Linkerd's
  generated issuer may be byte-identical to its anchor.
- Every certificate on the path must be valid at `at` (not_before <= at <= not_after).
- Every signer must have basicConstraints cA=true (stricter than Go, which still lets a
  version-1 anchor without extensions sign) and its pathLenConstraint must admit
  the number of intermediates below it (Go counts them without RFC 5280's exemption for
  self-issued certificates; so does this module).
- With `usage` set (default serverAuth, Go's default when `KeyUsages` is empty), every
  certificate on the path that carries an EKU extension must list `usage` or
  anyExtendedKeyUsage.
- Key usage bits (keyCertSign) are not checked, as in Go.
All paths are tried (bounded length, no certificate twice). When none succeeds, the most
specific failure wins: a signer that exists but is expired, not a CA, etc. beats
"unknown authority"; among those, the one that got furthest up the path.

`anchor_algorithm_problem` / `issuer_algorithm_problem` restate Linkerd's
`CheckTrustAnchorAlgoRequirements` / `CheckIssuerCertAlgoRequirements` and print algorithm
names the way Go does (`P-521`, `ECDSA-SHA512`, `SHA256-RSA`) so messages match Linkerd's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

if TYPE_CHECKING:
    from monitor.certs.facts import CertFacts

CHAIN_CODES = ("unknown_authority", "expired", "not_yet_valid", "not_ca", "path_length", "bad_eku")
MAX_PATH_CERTS = 10
MAX_EXPANSIONS = 5000
SERVER_AUTH = "serverAuth"
CLIENT_AUTH = "clientAuth"
ANY_EKU = "anyExtendedKeyUsage"


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The outcome of `verify_chain`.

    `path` runs leaf … anchor when `ok`; on failure it is the path that got furthest,
    ending with `culprit` (the certificate the failure is about) when there is one.
    """

    ok: bool
    path: tuple[CertFacts, ...]
    code: str | None
    message: str
    culprit: CertFacts | None = None


# Answers of `signed_by` by (child DER, parent DER): every cycle asks the same questions of
# the same certificates, and a signature check costs about a tenth of a millisecond.
SIGNATURES = 4096
_signed: dict[tuple[bytes, bytes], bool] = {}


def signed_by(child: CertFacts, parent: CertFacts) -> bool:
    """True when `parent`'s key signed `child` (and `child` names `parent` as its issuer)."""
    key = (child.der, parent.der)
    found = _signed.get(key)
    if found is None:
        found = _verify(child, parent)
        if len(_signed) >= SIGNATURES:
            _signed.clear()
        _signed[key] = found
    return found


def _verify(child: CertFacts, parent: CertFacts) -> bool:
    try:
        child.certificate().verify_directly_issued_by(parent.certificate())
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _desc(c: CertFacts) -> str:
    return f"'{c.subject}' [sha256 {c.fingerprint_sha256[:16]}]"


def _validity(c: CertFacts, role: str, at: datetime) -> tuple[str, str] | None:
    if at < c.not_before:
        what = f"is not valid before {_ts(c.not_before)} (checked at {_ts(at)})"
        return "not_yet_valid", f"{role} {_desc(c)} {what}"
    if at > c.not_after:
        return "expired", f"{role} {_desc(c)} expired on {_ts(c.not_after)} (checked at {_ts(at)})"
    return None


@dataclass(frozen=True, slots=True)
class _Failure:
    code: str
    message: str
    path: tuple[CertFacts, ...]
    culprit: CertFacts


class _Search:
    def __init__(
        self,
        intermediates: Sequence[CertFacts],
        anchors: Sequence[CertFacts],
        at: datetime,
        usage: str | None,
    ) -> None:
        self.anchors = list({c.der: c for c in anchors}.values())
        anchor_ders = {c.der for c in self.anchors}
        inters = {c.der: c for c in intermediates if c.der not in anchor_ders}
        self.intermediates = list(inters.values())
        self.candidates = [(c, True) for c in self.anchors] + [
            (c, False) for c in self.intermediates
        ]
        self.at = at
        self.usage = usage
        self.signatures: dict[tuple[bytes, bytes], bool] = {}
        self.failures: list[_Failure] = []
        self.dead_ends: list[tuple[CertFacts, ...]] = []
        self.expansions = 0

    def signed(self, child: CertFacts, parent: CertFacts) -> bool:
        key = (child.der, parent.der)
        if key not in self.signatures:
            self.signatures[key] = signed_by(child, parent)
        return self.signatures[key]

    def eku_problem(self, path: tuple[CertFacts, ...]) -> _Failure | None:
        if self.usage is None:
            return None
        for i, c in enumerate(path):
            ekus = c.extended_key_usage
            if ekus and self.usage not in ekus and ANY_EKU not in ekus:
                role = "leaf" if i == 0 else "anchor" if i == len(path) - 1 else "intermediate"
                what = f"has extendedKeyUsage {', '.join(ekus)} without {self.usage}"
                return _Failure("bad_eku", f"{role} {_desc(c)} {what}", path, c)
        return None

    def signer_problem(self, path: tuple[CertFacts, ...], anchor: bool) -> _Failure | None:
        signer, child = path[-1], path[-2]
        role = "anchor" if anchor else "intermediate"
        if not signer.is_ca:
            what = f"signed {_desc(child)} but is not a CA (basicConstraints cA is not true)"
            return _Failure("not_ca", f"{role} {_desc(signer)} {what}", path, signer)
        if problem := _validity(signer, role, self.at):
            return _Failure(problem[0], problem[1], path, signer)
        below = len(path) - 2  # intermediates between the leaf and this signer
        if signer.path_length is not None and below > signer.path_length:
            what = (
                f"has pathLenConstraint {signer.path_length} but {below} intermediate CA(s)"
                " sit below it"
            )
            return _Failure("path_length", f"{role} {_desc(signer)} {what}", path, signer)
        return None

    def extend(self, path: tuple[CertFacts, ...]) -> tuple[CertFacts, ...] | None:
        self.expansions += 1
        child = path[-1]
        on_path = {c.der for c in path}
        signer_found = False
        for cand, is_anchor in self.candidates:
            if self.expansions > MAX_EXPANSIONS:
                return None
            if cand.der in on_path or not self.signed(child, cand):
                continue
            signer_found = True
            trial = (*path, cand)
            failure = self.signer_problem(trial, is_anchor)
            if failure is None and is_anchor:
                failure = self.eku_problem(trial)
                if failure is None:
                    return trial
            if failure is not None:
                self.failures.append(failure)
            elif len(trial) < MAX_PATH_CERTS and (found := self.extend(trial)):
                return found
        if not signer_found:
            self.dead_ends.append(path)
        return None

    def unknown_authority(self, leaf: CertFacts) -> ChainResult:
        if not self.anchors:
            return ChainResult(False, (leaf,), "unknown_authority", "no trust anchors given", None)
        path = max(self.dead_ends, key=len) if self.dead_ends else (leaf,)
        top = path[-1]
        role = "leaf" if len(path) == 1 else "intermediate"
        pool = f"{len(self.anchors)} anchor(s)"
        if self.intermediates:
            pool += f" or {len(self.intermediates)} intermediate(s)"
        msg = (
            f"{role} {_desc(top)} is not signed by any of the {pool}; its issuer is '{top.issuer}'"
        )
        on_path = {c.der for c in path}
        namesakes = [
            c for c, _ in self.candidates if c.subject == top.issuer and c.der not in on_path
        ]
        if namesakes:
            msg += (
                f"; {len(namesakes)} certificate(s) have that subject name but a different key"
                f" ({', '.join(c.fingerprint_sha256[:16] for c in namesakes)})"
            )
        if self.expansions > MAX_EXPANSIONS:
            msg += f" (search stopped after {MAX_EXPANSIONS} steps)"
        return ChainResult(False, path, "unknown_authority", msg, top)


def verify_chain(
    leaf: CertFacts,
    intermediates: Sequence[CertFacts],
    anchors: Sequence[CertFacts],
    at: datetime,
    *,
    usage: str | None = SERVER_AUTH,
) -> ChainResult:
    """Verify `leaf` up to one of `anchors` at time `at`, like Go's `x509.Verify`.

    `usage` is the extended key usage the path must allow (`serverAuth` as Go's default,
    `clientAuth` for client certificates, None to skip the EKU check). `at` must be
    timezone-aware (ValueError otherwise: that is a programming error, not bad input).
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("verify_chain: `at` must be a timezone-aware datetime")
    search = _Search(intermediates, anchors, at, usage)
    if problem := _validity(leaf, "leaf", at):
        return ChainResult(False, (leaf,), problem[0], problem[1], leaf)
    if any(a.der == leaf.der for a in search.anchors):
        path: tuple[CertFacts, ...] | None = (leaf,)
        if failure := search.eku_problem((leaf,)):
            return ChainResult(False, failure.path, failure.code, failure.message, failure.culprit)
    else:
        path = search.extend((leaf,))
    if path is not None:
        chain = " <- ".join(_desc(c) for c in path)
        return ChainResult(True, path, None, f"verified at {_ts(at)}: {chain}")
    if search.failures:
        best = max(search.failures, key=lambda f: len(f.path))
        return ChainResult(False, best.path, best.code, best.message, best.culprit)
    return search.unknown_authority(leaf)


# --- Linkerd's algorithm rules (pkg/issuercerts, research/linkerd.md §2.2) ----------------

# Go's names, as Linkerd prints them (x509.PublicKeyAlgorithm / SignatureAlgorithm.String()).
_GO_KEY_NAMES = {"rsa": "RSA", "ecdsa": "ECDSA", "ed25519": "Ed25519", "dsa": "DSA"}
_GO_SIG_NAMES = {
    "md5WithRSAEncryption": "MD5-RSA",
    "sha1WithRSAEncryption": "SHA1-RSA",
    "sha256WithRSAEncryption": "SHA256-RSA",
    "sha384WithRSAEncryption": "SHA384-RSA",
    "sha512WithRSAEncryption": "SHA512-RSA",
    "dsa-with-sha1": "DSA-SHA1",
    "dsa-with-sha256": "DSA-SHA256",
    "ecdsa-with-SHA1": "ECDSA-SHA1",
    "ecdsa-with-SHA256": "ECDSA-SHA256",
    "ecdsa-with-SHA384": "ECDSA-SHA384",
    "ecdsa-with-SHA512": "ECDSA-SHA512",
    "ed25519": "Ed25519",
}
_NIST_BITS = {"secp224r1": 224, "secp256r1": 256, "secp384r1": 384, "secp521r1": 521}
ECDSA_SHA256 = "ecdsa-with-SHA256"
RSA_SHA256 = "sha256WithRSAEncryption"


def _go_sig(c: CertFacts) -> str:
    if c.signature_algorithm == "rsassaPss" and c.signature_hash:
        return f"{c.signature_hash.upper()}-RSAPSS"
    return _GO_SIG_NAMES.get(c.signature_algorithm, c.signature_algorithm)


def _ecdsa_problem(c: CertFacts, allowed_signatures: tuple[str, ...]) -> str | None:
    if c.curve != "secp256r1":
        bits = _NIST_BITS.get(c.curve or "")
        used = f"P-{bits}" if bits else (c.curve or "an unknown curve")
        return f"must use P-256 curve for public key, instead {used} was used"
    if c.signature_algorithm not in allowed_signatures:
        return f"must be signed by an ECDSA P-256 key, instead {_go_sig(c)} was used"
    return None


def anchor_algorithm_problem(c: CertFacts) -> str | None:
    """Why Linkerd would reject `c` as a trust anchor, or None: ECDSA P-256 signed with
    ECDSA-SHA256, or RSA with a 2048 or 4096 bit key signed with SHA256-RSA."""
    if c.key_type == "ecdsa":
        return _ecdsa_problem(c, (ECDSA_SHA256,))
    if c.key_type == "rsa":
        if c.key_size not in (2048, 4096):
            return f"RSA must use a 2048 or 4096 bit public key, instead {c.key_size} bit was used"
        if c.signature_algorithm != RSA_SHA256:
            return f"RSA must be signed with SHA256-RSA, instead {_go_sig(c)} was used"
        return None
    used = _GO_KEY_NAMES.get(c.key_type, c.key_type)
    return f"must use ECDSA or RSA for public key algorithm, instead {used} was used"


def issuer_algorithm_problem(c: CertFacts, anchor_is_rsa: bool = False) -> str | None:
    """Why Linkerd would reject `c` as the identity issuer, or None: ECDSA P-256 only,
    signed with ECDSA-SHA256, or with SHA256-RSA when its anchor is RSA."""
    if c.key_type != "ecdsa":
        used = _GO_KEY_NAMES.get(c.key_type, c.key_type)
        return (
            f"issuer certificate must use ECDSA for public key algorithm, instead {used} was used"
        )
    allowed = (ECDSA_SHA256, RSA_SHA256) if anchor_is_rsa else (ECDSA_SHA256,)
    return _ecdsa_problem(c, allowed)
