"""Documents assembled from parts (`monitor.render.parts`): the gzip copy is the text, and a
part reused from an earlier render never changes what is rendered."""

from __future__ import annotations

import dataclasses
import gzip
import json
import zlib
from datetime import timedelta

import pytest

from monitor.model import CheckState
from monitor.render import exposition, parts
from monitor.render.findings import findings_document, findings_json
from monitor.render.page import page_document
from monitor.render.parts import Document, Last, LastBy, Part, Same, inputs
from monitor.state.snapshot import Snapshot
from tests.support import checkdata as cd
from tests.support.snapshots import snapshot, tracked


@pytest.mark.parametrize(
    "texts",
    [
        [b""],
        [b"a"],
        [b"# HELP x\n", b"", "zürich ✓\n".encode(), bytes(range(256)) * 300],
        [b"x" * 200_000, b"y" * 70_000, b"x" * 200_000],
    ],
)
def test_the_gzip_copy_is_the_text(texts: list[bytes]) -> None:
    document = Document.of(Part(t) for t in texts)
    assert document.text == b"".join(texts)
    assert gzip.decompress(document.gzip()) == document.text
    assert zlib.decompress(document.gzip(), wbits=31) == document.text  # one gzip member
    assert document.gzip() is document.gzip()  # made once


def test_a_part_is_compressed_once_whatever_the_documents_it_is_in() -> None:
    shared = Part(b"checks\n" * 1000)
    first = Document.of([Part(b"head 1\n"), shared]).gzip()
    blocks = shared.deflated()
    second = Document.of([Part(b"head 2\n"), shared, Part(b"tail\n")]).gzip()
    assert shared.deflated() is blocks
    assert gzip.decompress(first) == b"head 1\n" + b"checks\n" * 1000
    assert gzip.decompress(second) == b"head 2\n" + b"checks\n" * 1000 + b"tail\n"


def test_a_memory_makes_a_value_again_only_for_another_key() -> None:
    made: list[str] = []
    last: Last[object, str] = Last()

    def make(value: str) -> str:
        made.append(value)
        return value

    assert last.get((1, "a"), lambda: make("one")) == "one"
    assert last.get((1, "a"), lambda: make("two")) == "one"  # an equal key
    assert last.get((2, "a"), lambda: make("three")) == "three"
    by: LastBy[object, str] = LastBy()
    by.get("shop", 1, lambda: make("shop"))
    by.get("web", 1, lambda: make("web"))
    by.keep(["shop"])
    by.get("shop", 1, lambda: make("again"))
    by.get("web", 1, lambda: make("web again"))  # forgotten by keep
    assert made == ["one", "three", "shop", "web", "web again"]
    same: Last[Same, str] = Last()
    snap = snapshot()
    assert same.get(inputs(snap), lambda: "first") == "first"
    assert same.get(inputs(dataclasses.replace(snap, cycle=8)), lambda: "second") == "first"
    other = dataclasses.replace(snap.observed, f5=dict(snap.observed.f5))
    other.f5["bigip-a"] = dataclasses.replace(other.f5["bigip-a"])  # equal, not the same
    assert same.get(inputs(dataclasses.replace(snap, observed=other)), lambda: "3rd") == "3rd"


def _changed(snap: Snapshot, n: int) -> Snapshot:
    """`snap` a cycle later, with the state of one check and a finding changed."""
    states = list(snap.states)
    states[0] = CheckState(states[0].check, states[0].boundary, "warning" if n % 2 else "pass")
    return dataclasses.replace(
        snap,
        taken_at=snap.taken_at + timedelta(minutes=n),
        cycle=snap.cycle + n,
        states=tuple(states),
        findings=(*snap.findings[: 1 + n % 3], tracked("sni_mismatch", "critical")),
    )


def _rendered(snap: Snapshot) -> tuple[bytes, bytes, bytes]:
    return (
        exposition.document(snap).text,
        page_document(snap).text,
        findings_json(snap).text,
    )


def test_what_is_rendered_with_reused_parts_is_what_is_rendered_afresh() -> None:
    base = snapshot(config=cd.config(cd.SHOP, cd.WEB))
    later = dataclasses.replace(base, taken_at=base.taken_at + timedelta(hours=5), cycle=9)
    cycles = [base, base, _changed(base, 1), _changed(base, 2), _changed(base, 2), base, later]
    parts.forget()
    reused = [_rendered(snap) for snap in cycles]
    afresh = []
    for snap in cycles:
        parts.forget()
        afresh.append(_rendered(snap))
    assert reused == afresh
    assert len({r[1] for r in reused}) == 4  # the page differs with each different cycle


def test_the_findings_json_is_the_findings_document() -> None:
    for snap in (snapshot(), _changed(snapshot(), 1), snapshot(findings=(), states=())):
        expected = json.dumps(findings_document(snap), indent=2).encode()
        assert findings_json(snap).text == expected
        assert json.loads(gzip.decompress(findings_json(snap).gzip())) == findings_document(snap)


def test_the_page_and_its_gzip_copy() -> None:
    document = page_document(snapshot())
    assert document.text.startswith(b"<!doctype html>")
    assert gzip.decompress(document.gzip()) == document.text
    follower = page_document(None, follower_of="pod-x")
    assert b"pod-x" in follower.text  # a follower's page names the leader
    assert gzip.decompress(follower.gzip()) == follower.text
