"""Fuzzing PEM and DER certificate parsing (`monitor.certs`): bad input comes back as
`CertError` values, never as an exception; what does parse can be verified as a chain
and checked for Linkerd's algorithms without raising.

Inputs: arbitrary bytes and text, real certificates of the demo world with bytes
inserted, removed or flipped (DER and PEM, so the ASN.1 and the base64 layers both meet
damage), and PEM bundles of mixed good and bad blocks.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from monitor.certs import (
    CERT_ERROR_CODES,
    ParsedCerts,
    anchor_algorithm_problem,
    issuer_algorithm_problem,
    normalize_fingerprint,
    parse_any,
    parse_der,
    parse_pem_bundle,
    verify_chain,
)
from tests.fuzz import FUZZ
from tests.fuzz.samples import certificate_pems

PEMS = certificate_pems()
DERS = [base64.b64decode("".join(p.strip().splitlines()[1:-1])) for p in PEMS]
AT = datetime(2026, 6, 1, tzinfo=UTC)


@st.composite
def damaged(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A sample with up to three edits: a byte flipped, bytes inserted or cut."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("flip", "insert", "cut")))
        if edit == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


PEM_BYTES = [p.encode() for p in PEMS]
INPUTS = (
    st.binary(max_size=400)
    | damaged(DERS)
    | damaged(PEM_BYTES)
    | st.lists(damaged(PEM_BYTES) | st.sampled_from(PEM_BYTES), min_size=1, max_size=4).map(
        b"".join
    )
)


def _consistent(parsed: ParsedCerts) -> None:
    assert all(e.code in CERT_ERROR_CODES for e in parsed.errors)
    for facts in parsed.certs:
        assert len(facts.fingerprint_sha256) == 64
        anchor_algorithm_problem(facts)
        issuer_algorithm_problem(facts)
    if parsed.certs:
        leaf, *rest = parsed.certs
        verify_chain(leaf, rest, parsed.certs, AT)
        verify_chain(leaf, (), parsed.certs, AT, usage=None)


@FUZZ
@given(data=INPUTS)
def test_pem_never_raises(data: bytes) -> None:
    _consistent(parse_pem_bundle(data))


@FUZZ
@given(text=st.text(max_size=300) | damaged(PEM_BYTES).map(lambda b: b.decode("latin-1")))
def test_pem_text_never_raises(text: str) -> None:
    _consistent(parse_pem_bundle(text))


V4 = DERS[0].replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x03", 1)  # version 4


@FUZZ
@given(data=INPUTS)
@example(data=V4)
def test_der_never_raises(data: bytes) -> None:
    """Found by fuzzing: cryptography's InvalidVersion and DuplicateExtension are no
    ValueErrors, and escaped `parse_der` and `parse_pem_bundle`."""
    _consistent(parse_der(data))
    _consistent(parse_any(data))


@FUZZ
@given(
    text=st.text(max_size=120) | st.sampled_from(DERS).map(lambda d: "SHA256/" + d[:32].hex(":"))
)
def test_fingerprints_never_raise(text: str) -> None:
    found = normalize_fingerprint(text)
    assert found is None or len(found) == 64


def test_a_version_4_certificate_is_bad_der() -> None:
    assert DERS[0] != V4
    parsed = parse_der(V4)
    assert [e.code for e in parsed.errors] == ["bad_der"]
