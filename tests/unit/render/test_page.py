"""The status page (`monitor.render.page`, `.page_data`): sections, escaping, ages, marks.

The snapshots (`tests.support.snapshots`) are built by hand around the healthy world of
`tests.support.checkdata`, so every value on the page is known; the page counts ages and days
left from `taken_at` only.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from monitor.model import CaBundle, CheckState, Finding, SslCert
from monitor.render.findings import findings_document
from monitor.render.page import render_page
from monitor.render.page_data import age, ago, boundaries, days_text
from monitor.render.timeline import PARTIAL_BUNDLE, certificate_rows
from monitor.state.snapshot import Snapshot, TrackedFinding
from tests.support import checkdata as cd
from tests.support.snapshots import snapshot

NOW = cd.NOW
HOSTILE = '<script>alert("x")</script>'


def page(snap: Snapshot | None = None) -> str:
    return render_page(snap if snap is not None else snapshot()).decode("utf-8")


def text_of(markup: str) -> str:
    """The page's text, whitespace collapsed (what a reader sees, details included)."""

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: object) -> None:
            self.skip += tag in ("style", "title")

        def handle_endtag(self, tag: str) -> None:
            self.skip -= tag in ("style", "title")

        def handle_data(self, data: str) -> None:
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(markup)
    return " ".join(" ".join(parser.parts).split())


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags_of(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(markup)
    return parser.tags


def test_before_the_first_cycle_the_page_says_it_is_waiting() -> None:
    markup = render_page(None).decode()
    assert markup.startswith("<!doctype html>")
    assert "Waiting for the first complete cycle" in text_of(markup)


def test_every_section_is_there_with_headings_in_order() -> None:
    markup = page()
    headings = [m.group(1) for m in re.finditer(r"<h2 id=\"([^\"]+)\"", markup)]
    assert headings == ["summary-h", "b-shop-h", "b-web-h", "certificates-h", "sources-h"]
    text = text_of(markup)
    assert "As of 2025-01-01 00:00 UTC (cycle 7, took 1.2 s)" in text
    for words in (
        "Critical findings 1",
        "Warning findings 2",  # carried and expired-ignore ones count, ignored ones do not
        "Ignored findings (not counted) 1",
        "Checks unknown (inputs missing) 1",
        "Checks passing 2 of 5",
        "Sources down bigip-b (connect_error)",
        "Overall state: critical",
    ):
        assert words in text


def test_a_boundary_shows_its_rotation_findings_and_checks_by_family() -> None:
    text = text_of(page())
    assert "Boundary shop critical" in text
    assert "Phase: broken" in text
    assert "Next steps: add the new anchor to the bundle then remove the old one" in text
    assert "trust checks Check State Detail trust_anchor_expiry pass" in text
    assert "boundary checks Check State Detail bundle_missing_anchor critical 1 finding" in text
    assert "edge_cert_expiry unknown bigip-b: ltm/virtual unread" in text
    assert "pool_member_extra warning 2 findings; 1 ignored" in text
    assert "Boundary web pass" in text
    assert "No rotation plan for this boundary." in text


def test_findings_carry_evidence_first_seen_age_and_marks() -> None:
    markup = page()
    text = text_of(markup)
    assert "2024-12-28 20:00 UTC (3 d 4 h ago)" in text
    assert "Evidence (2) pool /k8s/Shared/shop_443_pool member 10.42.9.99:443" in text
    assert markup.count("<details><summary>Evidence") == 4
    assert "Kept from an earlier cycle: its source cannot be read now." in text
    assert "Ignored until 2025-02-01 (not counted): CIS removes it tonight" in text
    assert "Ignore rule expired on 2024-12-01: was a migration" in text
    assert "pool_member_extra warning ignored bigip-a" in text


def test_every_snapshot_value_is_escaped() -> None:
    hostile = Finding(
        "pool_member_extra", "warning", "shop", "bigip-a", HOSTILE, HOSTILE, (("x", HOSTILE),)
    )
    snap = snapshot(
        findings=(TrackedFinding(hostile, NOW),),
        states=(CheckState("pool_member_extra", "shop", "unknown", detail=HOSTILE),),
    )
    markup = page(snap)
    assert "<script" not in markup
    assert markup.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 4
    assert HOSTILE in text_of(markup)


def test_no_scripts_no_external_assets_and_tables_have_header_cells() -> None:
    tags = tags_of(page())
    names = {tag for tag, _ in tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "form"}
    for _, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith(("#", "/")), value
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in tags
    assert ("html", {"lang": "en"}) in tags
    tables = sum(1 for tag, _ in tags if tag == "table")
    assert tables == sum(1 for tag, _ in tags if tag == "caption") > 5
    assert all(attrs.get("scope") in ("col", "row") for tag, attrs in tags if tag == "th")


def test_certificate_timeline_lists_every_role_soonest_first() -> None:
    snap = snapshot(config=cd.config(cd.SHOP, cd.WEB))
    rows = certificate_rows(snap)
    roles = {(r.role, r.source) for r in rows}
    assert roles == {
        ("trust_anchor", "kubernetes"),
        ("issuer", "kubernetes"),
        *(
            (role, device)
            for device in ("bigip-a", "bigip-b")
            for role in ("bundle_cert", "client_cert", "edge_cert")
        ),
    }
    expiries = [r.not_after for r in rows]
    assert expiries == sorted(e for e in expiries if e is not None)
    text = text_of(page(snap))
    assert "Certificate timeline" in text
    client = next(r for r in rows if r.role == "client_cert")
    days = (cd.CLIENT_CERT.facts.not_after - NOW) // timedelta(days=1)
    assert client.days_left(NOW) == days == 200
    assert f"{days} days 2025-07-20 00:00 UTC client_cert boundary bigip-a" in text
    assert {r.scope for r in rows} == {"mesh", "boundary"}
    assert cd.CLIENT_CERT.facts.fingerprint_sha256[:16] + "…" in text


def test_a_chain_file_that_is_a_bundle_is_shown_by_its_members_in_its_role() -> None:
    chain = CaBundle(
        cd.EDGE_CHAIN_PATH,
        (cd.ssl_cert(cd.EDGE_ISSUING, "/k8s/Shared/issuing.crt"),),
        "ca-bundle-manager",
    )
    device = cd.f5("bigip-a")
    device = dataclasses.replace(device, bundles={**device.bundles, cd.EDGE_CHAIN_PATH: chain})
    snap = snapshot(observed=cd.observed([device]))
    rows = [(r.role, r.object) for r in certificate_rows(snap) if r.source == "bigip-a"]
    assert ("edge_cert", cd.EDGE_CHAIN_PATH) in rows
    assert ("bundle_cert", cd.EDGE_CHAIN_PATH) not in rows
    assert ("bundle_cert", cd.SHOP_BUNDLE) in rows


def test_an_unlisted_single_certificate_is_shown_as_other() -> None:
    extra = cd.ssl_cert(cd.OLD_ANCHOR, "/Common/old.crt")
    device = cd.f5("bigip-a")
    device = dataclasses.replace(device, certs={**device.certs, "/Common/old.crt": extra})
    rows = certificate_rows(snapshot(observed=cd.observed([device]), config=cd.config(cd.SHOP)))
    others = [(r.role, r.scope, r.object) for r in rows if r.role == "other"]
    assert others == [("other", "store", "/Common/old.crt")]


def _file(path: str, digit: int, subject: str, bundle: bool = False) -> SslCert:
    """An ssl-cert as BIG-IP's REST fields describe it (no PEM read)."""
    return SslCert(path, bundle, str(digit) * 64, NOW + digit * timedelta(days=1), subject, "")


def test_the_timeline_lists_the_store_less_its_exclusions_and_marks_partial_bundles() -> None:
    extra = {
        "/Common/ca-bundle.crt": _file("/Common/ca-bundle.crt", 7, "CN=Some Root", bundle=True),
        "/Common/default.crt": _file("/Common/default.crt", 8, "CN=localhost"),
        "/k8s/app1/old.crt": _file("/k8s/app1/old.crt", 9, "CN=old.example.com"),
    }
    device = cd.f5("bigip-a")
    device = dataclasses.replace(device, certs={**device.certs, **extra})
    cfg = cd.config(cd.SHOP)
    bigip = dataclasses.replace(cfg.bigip[0], exclude_certificates=("/Common/default*",))
    cfg = dataclasses.replace(cfg, bigip=(bigip, *cfg.bigip[1:]))
    snap = snapshot(observed=cd.observed([device]), config=cfg)
    others = {r.object: (r.scope, r.note) for r in certificate_rows(snap) if r.role == "other"}
    assert others == {
        "/Common/ca-bundle.crt": ("store", PARTIAL_BUNDLE),
        "/k8s/app1/old.crt": ("store", ""),
    }
    text = text_of(page(snap))
    assert f"other store bigip-a /Common/ca-bundle.crt CN=Some Root {PARTIAL_BUNDLE}" in text
    assert "/Common/default.crt" not in text


def test_source_health_shows_state_last_success_and_errors() -> None:
    text = text_of(page())
    assert "bigip-a bigip up 2024-12-31 23:59 UTC (1 min ago) 0.42 s none" in text
    assert (
        "bigip-b bigip down never 0.00 s connect_error : connection refused (ltm/virtual)" in text
    )
    assert "kubernetes kubernetes up 2025-01-01 00:00 UTC (just now)" in text


def test_boundaries_keep_check_order_and_take_the_worst_state() -> None:
    shown = boundaries(snapshot())
    assert [(b.name, b.state) for b in shown] == [("shop", "critical"), ("web", "pass")]
    assert [family for family, _ in shown[0].families] == ["trust", "boundary", "routes", "edge"]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=5), "5 h"),
        (timedelta(hours=5, minutes=3), "5 h 3 min"),
        (timedelta(days=3), "3 d"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
    ],
)
def test_age_is_coarse(delta: timedelta, text: str) -> None:
    assert age(delta) == text
    assert ago(delta) == (text if text == "just now" else f"{text} ago")


def test_days_text_says_expired_in_words() -> None:
    assert [days_text(d) for d in (None, -2, -1, 0, 1, 30)] == [
        "unknown",
        "expired 2 days ago",
        "expired 1 day ago",
        "0 days",
        "1 day",
        "30 days",
    ]


def test_boundaries_follow_the_config_order_when_the_snapshot_has_it() -> None:
    snap = snapshot(config=cd.config(cd.WEB, cd.SHOP))
    assert [b.name for b in boundaries(snap)] == ["web", "shop"]


def test_the_findings_document_carries_the_certificate_timeline() -> None:
    snap = snapshot(config=cd.config(cd.SHOP, cd.WEB))
    entries = findings_document(snap)["certificates"]
    assert [e["role"] for e in entries] == [r.role for r in certificate_rows(snap)]
    first = entries[0]
    assert first == {
        "role": "client_cert",
        "scope": "boundary",
        "source": "bigip-a",
        "object": cd.CLIENT_CERT_PATH,
        "subject": cd.CLIENT_CERT.facts.subject,
        "fingerprint": cd.CLIENT_CERT.facts.fingerprint_sha256,
        "not_after": "2025-07-20T00:00:00+00:00",
        "note": "",
    }
