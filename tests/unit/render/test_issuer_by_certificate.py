"""With `mesh.issuer.source: certificate` the issuer's expiry series and timeline row come
from its cert-manager Certificate (no fingerprint), and a failed poll keeps them."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from monitor.model import CertManagerCertificate, CheckResult, MeshState
from monitor.render import exposition
from monitor.render.timeline import certificate_rows
from monitor.state.snapshot import Snapshot, next_snapshot
from tests.support import checkdata as cd
from tests.support.snapshots import snapshot

NAME = "linkerd/linkerd-identity-issuer"
END = cd.NOW + timedelta(hours=47)
MANAGED = CertManagerCertificate(
    name=NAME, duration=timedelta(hours=48), renew_before=timedelta(hours=25), not_after=END,
    renewal_time=END - timedelta(hours=25), ready=True, not_before=END - timedelta(hours=48),
    is_ca=True, common_name="identity.linkerd.cluster.local", key_algorithm="ECDSA",
)  # fmt: skip


def by_certificate(**changes: object) -> MeshState:
    fields: dict[str, object] = {"issuer": None, "issuer_source": "certificate",
                                 "issuer_from": NAME, "issuer_certificate": MANAGED,
                                 "unknown": frozenset({"issuer"})}  # fmt: skip
    return cd.mesh(**{**fields, **changes})


def with_mesh(snap: Snapshot, mesh: MeshState) -> Snapshot:
    return dataclasses.replace(snap, observed=dataclasses.replace(snap.observed, mesh=mesh))


def issuer_series(snap: Snapshot) -> list[tuple[dict[str, str], float]]:
    text = exposition.render(snap).decode()
    return [
        (dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("f5_linkerd_certificate_not_") and s.labels.get("role") == "issuer"
    ]


def test_the_issuer_series_and_row_come_from_the_certificate() -> None:
    snap = with_mesh(snapshot(), by_certificate())
    series = issuer_series(snap)
    assert sorted(v for _, v in series) == [(END - timedelta(hours=48)).timestamp(),
                                            END.timestamp()]  # fmt: skip
    for labels, _ in series:
        assert labels["object"] == NAME
        assert labels.get("fingerprint", "") == ""
    (row,) = [r for r in certificate_rows(snap) if r.role == "issuer"]
    assert (row.object, row.subject, row.fingerprint, row.not_after) == (
        NAME, "CN=identity.linkerd.cluster.local", "", END,
    )  # fmt: skip


def test_a_failed_poll_keeps_the_issuer_series() -> None:
    first = next_snapshot(
        None, cd.observed(mesh_state=by_certificate()), CheckResult((), ()), cd.NOW, 1.0
    )
    assert first.known_mesh is not None  # the Certificate counts as the issuer read
    failed = cd.observed(mesh_state=by_certificate(issuer_certificate=None, anchors=None))
    second = next_snapshot(first, failed, CheckResult((), ()), cd.NOW + timedelta(minutes=1), 1.0)
    assert [v for _, v in issuer_series(second)] == [v for _, v in issuer_series(first)]
