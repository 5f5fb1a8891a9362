"""The issued issuer certificate, public, from cert-manager's `CertificateRequest`.

With `mesh.issuer.source: certificate` the issuer Secret (which holds the private key) is
never read. cert-manager keeps what it signed in the `CertificateRequest` of each
issuance: `status.certificate` is the PEM of the signed certificate (possibly followed by
its chain) and `status.ca` the PEM of the signing CA when the issuer knows it, both
`[]byte`, so base64 in JSON (`pkg/apis/certmanager/v1/types_certificaterequest.go`,
`CertificateRequestStatus`). The request names its Certificate in the annotation
`cert-manager.io/certificate-name` (`CertificateNameKey`) and the issuance in
`cert-manager.io/certificate-revision` (`CertificateRequestRevisionAnnotationKey`, both in
`pkg/apis/certmanager/v1/types.go`), and is owned by the Certificate (a controller
`ownerReference`). On issuance cert-manager sets the Certificate's `status.revision` to
the revision of the request it used; a request of a later revision is an issuance under
way, not yet in the Secret; and the Certificate turns `Issuing` when the Secret no longer
matches `status.certificate` of the current revision's request
(`pkg/apis/certmanager/v1/types_certificate.go`, `CertificateStatus.Revision`,
`CertificateConditionIssuing`). Old requests are deleted beyond `spec.revisionHistoryLimit`
(default 1 since cert-manager v1.18, per its v1.18.0 release notes; unset before: all
kept), so the current revision's request is normally there.

`issued_certificate` picks the request of the Certificate's current revision (its name in
the annotation, owned by it when the Certificate's uid is known), decodes its status
(bounded: `MAX_ENCODED` characters each) and parses it as the issuer Secret's `tls.crt`
and `ca.crt` would be (`parse.issuer_from_secret`, `monitor.certs`). The issued
certificate must end when `status.notAfter` says, or it is not taken. Anything missing or
unreadable is a note (why the issuer stays unknown), never an error of the source: the
grant is optional. `issued_from_view` does the same from the watch's view, whose error (a
forbidden or failing watch) is a note too. `request_record` is the watch's transform:
what this module reads, nothing else (no CSR). Pure: no I/O, no logging.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any, Final

from monitor.model import Issuer
from monitor.policy.ports import ascii_number
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.spec import CollectionView
from monitor.sources.mesh.certmanager import rfc3339
from monitor.sources.mesh.parse import issuer_from_secret

NAME_KEY: Final = "cert-manager.io/certificate-name"
REVISION_KEY: Final = "cert-manager.io/certificate-revision"
MAX_ENCODED: Final = 256 * 1024  # characters of base64 read of status.certificate / status.ca
KEYS: Final = ("tls.crt", "ca.crt")  # as in the Secret cert-manager writes
Json = dict[str, Any]


def _name(value: Any) -> str:
    """A name for a note: at most 253 characters (a Kubernetes name's limit)."""
    return str(value)[:253]


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def request_record(obj: Json) -> Json:
    """A CertificateRequest reduced to what `issued_certificate` reads."""
    meta, status = _map(obj, "metadata"), _map(obj, "status")
    annotations = _map(meta, "annotations")
    kept_meta: Json = {k: meta[k] for k in ("name", "namespace", "uid") if k in meta}
    kept_meta["annotations"] = {k: annotations[k] for k in (NAME_KEY, REVISION_KEY)
                                if k in annotations}  # fmt: skip
    owners = meta.get("ownerReferences")
    if isinstance(owners, list):
        kept_meta["ownerReferences"] = [
            {k: o[k] for k in ("kind", "name", "uid") if k in o}
            for o in owners[:8]
            if isinstance(o, Mapping)
        ]
    kept_status = {k: status[k] for k in ("certificate", "ca") if k in status}
    return {**{k: obj[k] for k in ("apiVersion", "kind") if k in obj}, "metadata": kept_meta,
            "status": kept_status}  # fmt: skip


def _revision(value: Any) -> int | None:
    """A revision (1, 2, …; an annotation holds it as text), else None."""
    if isinstance(value, str):
        value = ascii_number(value, 18)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


def _owned_by(request: Mapping[str, Any], name: str, uid: str) -> bool:
    """Owned by Certificate `name` (and `uid` when known); a request without owners
    passes on its annotation alone."""
    owners = _map(request, "metadata").get("ownerReferences")
    if not isinstance(owners, list) or not owners:
        return True
    return any(
        isinstance(o, Mapping)
        and o.get("kind") == "Certificate"
        and o.get("name") == name
        and (not uid or o.get("uid") == uid)
        for o in owners
    )


def pick_request(
    requests: Iterable[Mapping[str, Any]], certificate: Mapping[str, Any]
) -> tuple[Mapping[str, Any] | None, str]:
    """The request of the Certificate's current revision, or None and why."""
    meta = _map(certificate, "metadata")
    name, uid = str(meta.get("name", "")), str(meta.get("uid", "") or "")
    where = f"{_name(meta.get('namespace', ''))}/{_name(name)}".lstrip("/")
    revision = _revision(_map(certificate, "status").get("revision"))
    if revision is None:
        return None, f"Certificate {where} has no status.revision (nothing issued yet)"
    mine = [
        r for r in requests
        if _map(_map(r, "metadata"), "annotations").get(NAME_KEY) == name
        and _owned_by(r, name, uid)
    ]  # fmt: skip
    found = [
        r for r in mine if _revision(_map(_map(r, "metadata"), "annotations").get(REVISION_KEY))
        == revision
    ]  # fmt: skip
    if not found:
        return None, (
            f"no CertificateRequest of Certificate {where} at revision {revision} (of"
            f" {len(mine)} found; cert-manager deletes requests beyond"
            " spec.revisionHistoryLimit)"
        )
    found.sort(key=lambda r: str(_map(r, "metadata").get("name", "")))
    return found[0], ""


def _decoded(value: Any, what: str) -> bytes | str:
    """The bytes of a base64 field, or why not."""
    if not isinstance(value, str) or not value:
        return f"no {what}"
    if len(value) > MAX_ENCODED:
        return f"{what} is longer than {MAX_ENCODED} characters"
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{what} is not base64"


def issued_certificate(
    requests: Iterable[Mapping[str, Any]], certificate: Mapping[str, Any], scheme: str
) -> tuple[Issuer | None, str]:
    """The issuer as the current revision's request holds it (its public parts), or None
    and a note saying why not (module docstring). A bad `status.ca` is left out and noted
    beside a known issuer."""
    request, why = pick_request(requests, certificate)
    if request is None:
        return None, why
    meta = _map(request, "metadata")
    target = f"CertificateRequest {_name(meta.get('namespace', ''))}/{_name(meta.get('name', ''))}"
    status = _map(request, "status")
    crt = _decoded(status.get("certificate"), "status.certificate")
    if isinstance(crt, str):
        return None, f"{target}: {crt}"
    data = {KEYS[0]: crt}
    ca = _decoded(status.get("ca"), "status.ca") if status.get("ca") else None
    if isinstance(ca, bytes):
        data[KEYS[1]] = ca
    try:
        issuer, errors = issuer_from_secret(scheme, data, target, KEYS)
    except SourceFailure as fail:
        return None, fail.error.message
    not_after = rfc3339(_map(certificate, "status").get("notAfter"))
    if not_after is not None and issuer.cert.not_after != not_after:
        return None, (
            f"{target}: the certificate ends {issuer.cert.not_after.isoformat()}, not at the"
            f" Certificate's status.notAfter {not_after.isoformat()}: not the one issued"
        )
    notes = [e.message for e in errors] + ([f"{target}: {ca}"] if isinstance(ca, str) else [])
    return issuer, "; ".join(notes)


def issued_from_view(
    view: CollectionView | None, target: str, certificate: Mapping[str, Any], scheme: str
) -> tuple[Issuer | None, str]:
    """`issued_certificate` from the requests' watch; its error or absence is the note."""
    if view is not None and view.error is not None:
        return None, view.error.message
    if view is None or not view.synced or view.absent:
        return None, f"{target}: " + ("not served" if view and view.absent else "not read yet")
    return issued_certificate(view.items, certificate, scheme)
