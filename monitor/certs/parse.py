"""PEM and DER parsing into `CertFacts`: several blocks, stray text, CRLF, bad input as values.

This module owns turning bytes into facts about X.509 certificates. It is pure: no I/O, no
clock reads, no logging. Bad input never raises; it comes back as `CertError` values with a
fixed `code` and a message that names the block and what was wrong. Key material is never
kept: non-certificate PEM blocks (private keys and the like) are skipped and only their
labels are reported.

PEM rules (decided here, tested in tests/unit/certs/test_certs.py):
- Only `CERTIFICATE` blocks become certificates, as in Go's `crypto/x509`
  (`AppendCertsFromPEM`, `tls.X509KeyPair`), which is what Linkerd's control plane uses.
  `TRUSTED CERTIFICATE` (OpenSSL's block with trust settings) is skipped and listed in
  `skipped`, so a caller sees it but it never counts as an anchor.
- Text outside blocks is ignored, whatever it contains (also bytes that are not UTF-8).
  Inside a block only ASCII is accepted; anything else is `bad_encoding`.
- CRLF and CR line endings, indentation, missing trailing newline and RFC 1421 headers
  (`Proc-Type: …`) inside a block are accepted.

Callers import from `monitor.certs`, which re-exports this module.
"""

from __future__ import annotations

import binascii
import bisect
import re
from dataclasses import dataclass

from monitor.certs.facts import (
    CERTIFICATE_LABEL,
    CertError,
    CertFacts,
    ParsedCerts,
    facts_from_der,
)

# --- PEM ---------------------------------------------------------------------------------

# A BEGIN/END marker; group 3 is empty when the line ends before the closing dashes.
_MARKER = re.compile(r"-----(BEGIN|END)(?:[ \t]+([^\n]*?))?[ \t]*(-----|$)", re.MULTILINE)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\s]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class _Open:
    number: int
    label: str
    line: int
    body_start: int


class _PemParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.certs: list[CertFacts] = []
        self.errors: list[CertError] = []
        self.skipped: list[str] = []
        self.cert_blocks = 0
        self.blocks = 0

    def line_of(self, index: int) -> int:
        return bisect.bisect_left(self.newlines, index) + 1

    def error(self, code: str, number: int, label: str, what: str) -> None:
        self.errors.append(CertError(code, f"block {number} ({label or '?'}): {what}", number))

    def seen(self, label: str) -> None:
        if label == CERTIFICATE_LABEL:
            self.cert_blocks += 1
        else:
            self.skipped.append(label or "?")

    def truncated(self, block: _Open, why: str) -> None:
        self.seen(block.label)
        what = f"BEGIN line without a matching END line (BEGIN at line {block.line}{why})"
        self.error("truncated_pem", block.number, block.label, what)

    def run(self) -> None:
        current: _Open | None = None
        for m in _MARKER.finditer(self.text):
            kind, label, closed = m.group(1), (m.group(2) or "").strip(), bool(m.group(3))
            line = self.line_of(m.start())
            if kind == "BEGIN":
                if current is not None:
                    self.truncated(current, f"; the next BEGIN line is at line {line}")
                self.blocks += 1
                current = _Open(self.blocks, label, line, m.end())
                if not closed:  # the label may be cut short too: "CERTIF" counts as certificate
                    self.seen(CERTIFICATE_LABEL if CERTIFICATE_LABEL.startswith(label) else label)
                    what = f"BEGIN line at line {line} is cut short (no closing '-----')"
                    self.error("truncated_pem", self.blocks, label, what)
                    current = None
            elif current is None:
                self.blocks += 1
                self.seen(label)
                what = f"END line at line {line} without a BEGIN line (the start is missing)"
                self.error("truncated_pem", self.blocks, label, what)
            elif not closed or label != current.label:
                self.truncated(current, f"; line {line} has a mismatched END line '{label}'")
                current = None
            else:
                self.seen(label)
                if label == CERTIFICATE_LABEL:
                    self.certificate(current, self.text[current.body_start : m.start()])
                current = None
        if current is not None:
            self.truncated(current, "")

    def certificate(self, block: _Open, body: str) -> None:
        offset = block.body_start
        lines = body.split("\n")
        first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
        if first is not None and ":" in lines[first]:  # RFC 1421 headers, then a blank line
            end = next((i for i in range(first, len(lines)) if not lines[i].strip()), len(lines))
            skip = sum(len(ln) + 1 for ln in lines[: end + 1])
            offset += skip
            body = body[skip:]
        if bad := _NON_ASCII.search(body):
            ch, line = bad.group(), self.line_of(offset + bad.start())
            if "\udc80" <= ch <= "\udcff":
                what = f"byte 0x{ord(ch) - 0xDC00:02X} at line {line} is not valid UTF-8"
            else:
                what = f"non-ASCII character U+{ord(ch):04X} at line {line}"
            self.error("bad_encoding", block.number, block.label, what)
            return
        if bad := _NOT_BASE64.search(body):
            line = self.line_of(offset + bad.start())
            what = f"invalid base64 character {bad.group()!r} at line {line}"
            self.error("bad_base64", block.number, block.label, what)
            return
        data = "".join(body.split())
        if not data:
            self.error(
                "bad_base64", block.number, block.label, "no base64 data between BEGIN and END"
            )
            return
        if len(data) % 4:
            what = f"base64 text has {len(data)} characters, not a multiple of 4 (cut short?)"
            self.error("bad_base64", block.number, block.label, what)
            return
        try:
            der = binascii.a2b_base64(data, strict_mode=True)
        except binascii.Error as exc:
            self.error("bad_base64", block.number, block.label, f"invalid base64: {exc}")
            return
        facts = facts_from_der(der)
        if isinstance(facts, str):
            self.error("bad_der", block.number, block.label, facts)
        else:
            self.certs.append(facts)


def _as_text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        # Undecodable bytes become lone surrogates: harmless outside blocks, reported inside.
        data = data.decode("utf-8", errors="surrogateescape")
    return data.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def parse_pem_bundle(text: str | bytes) -> ParsedCerts:
    """Every CERTIFICATE block in `text`, the errors of bad blocks, the skipped labels."""
    raw = text
    text = _as_text(text)
    if not text.strip():
        what = "input is empty" if not raw else "input contains only whitespace"
        return ParsedCerts(errors=(CertError("empty", what),))
    parser = _PemParser(text)
    parser.run()
    errors = parser.errors
    if parser.blocks == 0:
        if bad := _SURROGATE.search(text):
            utf16 = isinstance(raw, bytes) and raw[:2] in (b"\xff\xfe", b"\xfe\xff")
            what = f"input is not UTF-8 text (offset {bad.start()}) and has no PEM block"
            errors.append(CertError("bad_encoding", what + (" (UTF-16?)" if utf16 else "")))
        else:
            errors.append(CertError("no_certificate", "no PEM block found (no '-----BEGIN' line)"))
    elif parser.cert_blocks == 0:
        labels = ", ".join(dict.fromkeys(parser.skipped))
        what = f"no CERTIFICATE block among {parser.blocks} PEM block(s): {labels}"
        errors.append(CertError("no_certificate", what))
    return ParsedCerts(tuple(parser.certs), tuple(errors), tuple(parser.skipped))


# --- DER ---------------------------------------------------------------------------------


def _der_item_length(data: bytes, offset: int) -> int | str:
    """Length of the DER SEQUENCE starting at `offset`, or why there is none."""
    avail = len(data) - offset
    if data[offset] != 0x30:
        return f"does not start with an ASN.1 SEQUENCE (first byte 0x{data[offset]:02X})"
    if avail < 2:
        return "truncated after the first byte"
    first = data[offset + 1]
    if first < 0x80:
        header, length = 2, first
    elif first == 0x80 or first > 0x84:
        return f"unsupported length encoding 0x{first:02X} (not DER)"
    else:
        n = first & 0x7F
        if avail < 2 + n:
            return "truncated inside the length field"
        header, length = 2 + n, int.from_bytes(data[offset + 2 : offset + 2 + n], "big")
    if header + length > avail:
        return f"truncated: declares {header + length} bytes but only {avail} are present"
    return header + length


def parse_der(data: bytes) -> ParsedCerts:
    """One DER certificate, or several concatenated."""
    if not data:
        return ParsedCerts(errors=(CertError("empty", "input is empty"),))
    certs: list[CertFacts] = []
    errors: list[CertError] = []
    offset, number = 0, 0
    while offset < len(data):
        number += 1
        where = f"DER item {number} at byte {offset}"
        size = _der_item_length(data, offset)
        if isinstance(size, str):
            textual = all(32 <= b < 127 or b in b"\t\r\n" for b in data[:512])
            hint = " (the input looks like text, not DER)" if textual else ""
            errors.append(CertError("bad_der", f"{where}: {size}{hint}", number))
            break
        facts = facts_from_der(data[offset : offset + size])
        if isinstance(facts, str):
            errors.append(CertError("bad_der", f"{where}: {facts}", number))
        else:
            certs.append(facts)
        offset += size
    return ParsedCerts(tuple(certs), tuple(errors))


def parse_any(data: bytes | str) -> ParsedCerts:
    """PEM when the input contains a PEM marker, else DER."""
    if isinstance(data, str) or b"-----BEGIN" in data or b"-----END" in data:
        return parse_pem_bundle(data)
    if not data.strip():
        what = "input is empty" if not data else "input contains only whitespace"
        return ParsedCerts(errors=(CertError("empty", what),))
    return parse_der(data)
