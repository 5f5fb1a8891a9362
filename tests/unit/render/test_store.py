"""The certificate store (monitor.render.store) and its series,
f5_linkerd_bigip_certificate_not_after_timestamp_seconds: every ssl-cert of a device's
partitions by full path, boundary or store, less the exclusions, carried through a failed
read like the boundary certificates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from monitor.config.schema import Config
from monitor.model import CaBundle, CheckResult, F5State, Observed, SourceStatus, SslCert
from monitor.render import exposition, metrics
from monitor.render.store import StoreCert, common_name, excluded, store_certs
from monitor.state.snapshot import Snapshot, next_snapshot
from tests.support import checkdata as cd

T0 = cd.NOW
DAY = timedelta(days=1)

# The same name in two partitions and in a folder: three files, three series.
SAME_NAME = ("/Common/app.crt", "/k8s/app.crt", "/k8s/app1/app.crt")


def _file(path: str, days: int, subject: str = "CN=app.example.com,O=Example") -> SslCert:
    digit = f"{days % 10}"
    return SslCert(path, False, digit * 64, T0 + days * DAY, subject, "CN=Example CA,O=Example")


def _store() -> dict[str, SslCert]:
    """The healthy shop's files, the same name three times, and BIG-IP's own files."""
    out = dict(cd.bigip_certs())
    for days, path in enumerate(SAME_NAME, start=10):
        out[path] = _file(path, days)
    out["/Common/default.crt"] = _file("/Common/default.crt", 3, "CN=localhost.localdomain")
    bundle = _file("/Common/ca-bundle.crt", 400, "CN=Starfield Root")
    out["/Common/ca-bundle.crt"] = dataclasses.replace(bundle, is_bundle=True)
    return out


def _config(*exclude: str) -> Config:
    cfg = cd.config()
    first = dataclasses.replace(cfg.bigip[0], exclude_certificates=exclude)
    return dataclasses.replace(cfg, bigip=(first, *cfg.bigip[1:]))


def _cycle(
    f5: Mapping[str, F5State],
    cfg: Config | None = None,
    previous: Snapshot | None = None,
) -> Snapshot:
    sources = tuple(SourceStatus(name, "bigip", up=not s.failed) for name, s in f5.items())
    obs = Observed(f5=dict(f5), mesh=cd.mesh(), sources=sources)
    return next_snapshot(previous, obs, CheckResult(), T0, 0.1, config=cfg or _config())


def _series(snapshot: Snapshot) -> dict[tuple[str, str, str, str], float]:
    """(device, partition, path, scope) → value of every store series."""
    text = exposition.render(snapshot).decode()
    return {
        (s.labels["device"], s.labels["partition"], s.labels["path"], s.labels["scope"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == metrics.STORE_NOT_AFTER
    }


def _paths(snapshot: Snapshot, carry: bool = False) -> dict[str, str]:
    return {c.path: c.scope for c in store_certs(snapshot, carry) if c.device == "bigip-a"}


def test_every_file_of_the_store_is_one_series_by_full_path_with_its_scope() -> None:
    snap = _cycle({"bigip-a": cd.f5("bigip-a", certs=_store())})
    series = _series(snap)
    assert {path: scope for (_, _, path, scope) in series} == {
        cd.CLIENT_CERT_PATH: "boundary",
        cd.CLIENT_CHAIN_PATH: "boundary",
        cd.EDGE_CERT_PATH: "boundary",
        cd.EDGE_CHAIN_PATH: "boundary",
        "/Common/app.crt": "store",
        "/k8s/app.crt": "store",
        "/k8s/app1/app.crt": "store",
        "/Common/default.crt": "store",
        "/Common/ca-bundle.crt": "store",
    }
    assert len(series) == 9  # one series per file: no role, fingerprint or subject labels
    for days, path in enumerate(SAME_NAME, start=10):
        partition = path.split("/")[1]
        assert series[("bigip-a", partition, path, "store")] == (T0 + days * DAY).timestamp()


def test_the_member_ssl_certs_of_a_boundary_bundle_are_boundary_certificates() -> None:
    member = _file("/Common/mesh-anchor.crt", 700, "CN=root.linkerd.cluster.local")
    certs = {**_store(), member.path: member}
    device = cd.f5("bigip-a", certs=certs, bundles={cd.SHOP_BUNDLE: cd.bundle(member)})
    assert _paths(_cycle({"bigip-a": device}))[member.path] == "boundary"
    # the same file on a device no boundary names is in the store only
    alone = dataclasses.replace(device, device="bigip-a")
    snap = _cycle({"bigip-a": alone}, cfg=cd.config(cd.WEB))
    assert _paths(snap)[member.path] == "store"


def test_excluded_paths_leave_the_store_and_nothing_is_excluded_by_default() -> None:
    device = cd.f5("bigip-a", certs=_store())
    everything = _paths(_cycle({"bigip-a": device}))
    assert {"/Common/default.crt", "/Common/ca-bundle.crt"} <= set(everything)
    trimmed = _paths(_cycle({"bigip-a": device}, cfg=_config("/Common/*", "/k8s/app1/*")))
    assert set(trimmed) == set(everything) - {
        "/Common/app.crt",
        "/Common/default.crt",
        "/Common/ca-bundle.crt",
        "/Common/bigip-client.crt",
        "/Common/bigip-client-chain.crt",
        "/k8s/app1/app.crt",
    }
    # bigip-b has its own (empty) list
    both = _cycle({"bigip-b": dataclasses.replace(device, device="bigip-b")}, cfg=_config("/*"))
    assert "/Common/default.crt" in {c.path for c in store_certs(both) if c.device == "bigip-b"}


def test_globs_match_full_paths_case_sensitively_across_folders() -> None:
    assert excluded("/k8s/app1/deep/x.crt", ["/k8s/*"])
    assert excluded("/Common/f5-irule.crt", ["/Common/f5-*"])
    assert not excluded("/Common/F5-irule.crt", ["/Common/f5-*"])
    assert not excluded("/Common/default.crt", ["/Common/default"])
    assert excluded("/Common/default.crt", ["/Common/default.cr?"])


def test_a_bundle_shows_its_earliest_member_when_read_else_its_rest_fields() -> None:
    soon, late = _file("/Common/a.crt", 5, "CN=Soon"), _file("/Common/b.crt", 90, "CN=Late")
    top = dataclasses.replace(_file("/Common/trust.crt", 90, "CN=Late"), is_bundle=True)
    certs = {**_store(), top.path: top, soon.path: soon, late.path: late}
    read = CaBundle(top.path, (late, soon), "ca-bundle-manager")
    device = cd.f5("bigip-a", certs=certs, bundles={**cd.f5().bundles, top.path: read})
    entry = next(c for c in store_certs(_cycle({"bigip-a": device})) if c.path == top.path)
    assert (entry.not_after, entry.subject_cn, entry.bundle_members_known) == (
        soon.not_after,
        "Soon",
        True,
    )
    unread = cd.f5("bigip-a", certs=certs)
    entry = next(c for c in store_certs(_cycle({"bigip-a": unread})) if c.path == top.path)
    assert (entry.not_after, entry.bundle, entry.bundle_members_known) == (
        top.not_after,
        True,
        False,
    )


def test_each_entry_keeps_only_the_few_facts_a_person_needs() -> None:
    snap = _cycle({"bigip-a": cd.f5("bigip-a", certs=_store())})
    entry = next(c for c in store_certs(snap) if c.path == "/k8s/app1/app.crt")
    assert entry == StoreCert(
        device="bigip-a",
        path="/k8s/app1/app.crt",
        partition="k8s",
        not_after=T0 + 12 * DAY,
        subject_cn="app.example.com",
        issuer="CN=Example CA,O=Example",
        fingerprint="2" * 64,
        boundary=False,
    )
    assert not hasattr(entry, "__dict__")  # slots: no per-object dictionary


def test_common_name_reads_both_dn_orders() -> None:
    assert common_name("CN=shop.example.com,O=Acme, Inc.,C=US") == "shop.example.com"
    assert common_name("/C=US/O=Acme/CN=root") == "root"
    assert common_name("emailAddress=a@b,CN=localhost.localdomain,O=x") == "localhost.localdomain"
    assert common_name("O=No Name") == ""


def test_a_failed_read_keeps_the_store_series_of_the_last_complete_read() -> None:
    read = _cycle({"bigip-a": cd.f5("bigip-a", certs=_store())})
    before = _series(read)
    assert len(before) == 9
    down = _cycle({}, previous=read)  # the device could not be read at all
    assert _series(down) == before
    assert store_certs(down) == []  # the page shows this cycle's reads only
    partial = dataclasses.replace(
        cd.f5("bigip-a", certs={}), failed=frozenset({"sys/file/ssl-cert"})
    )
    assert _series(_cycle({"bigip-a": partial}, previous=down)) == before
    # a complete read without a file: its series goes
    smaller = {p: c for p, c in _store().items() if p != "/k8s/app.crt"}
    after = _series(_cycle({"bigip-a": cd.f5("bigip-a", certs=smaller)}, previous=read))
    assert set(before) - set(after) == {("bigip-a", "k8s", "/k8s/app.crt", "store")}


def test_an_unread_wiring_moves_no_file_between_boundary_and_store() -> None:
    """ssl-certs read, but not the virtuals and profiles that say which files a boundary
    uses: the scopes of the last complete read stand, on the series and on the page."""
    read = _cycle({"bigip-a": cd.f5("bigip-a", certs=_store())})
    wiring_unread = dataclasses.replace(
        cd.f5("bigip-a", certs=_store(), virtuals={}, server_ssl={}),
        failed=frozenset({"ltm/virtual", "ltm/profile/server-ssl"}),
    )
    blind = _cycle({"bigip-a": wiring_unread}, previous=read)
    assert _series(blind) == _series(read)
    assert _paths(blind) == _paths(read)
    assert "boundary" in _paths(read).values()


def test_a_device_never_read_has_no_store_series() -> None:
    partial = dataclasses.replace(cd.f5("bigip-a"), failed=frozenset({"sys/file/ssl-cert"}))
    snap = _cycle({"bigip-a": partial})
    # what was read is shown; nothing to fall back to
    assert {path for (_, _, path, _) in _series(snap)} == set(cd.bigip_certs())
    assert _series(_cycle({}, cfg=_config())) == {}
