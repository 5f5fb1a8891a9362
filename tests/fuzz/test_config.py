"""Fuzzing the config loader (`monitor.config`): structure (generated documents dumped to
YAML) and raw text (anything, and the full example with bytes edited in).

Contract: `load_config` returns a `Config` or raises `ConfigError`, whatever the file
holds; `parse_config` the same for any parsed document.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.config.decode import ConfigError
from monitor.config.schema import Config, load_config, parse_config
from tests.fuzz import FUZZ
from tests.fuzz.samples import ODD_TEXT, mutated
from tests.support.paths import TESTDATA

FULL_TEXT = (TESTDATA / "config" / "good-full.yaml").read_text()
FULL = yaml.safe_load(FULL_TEXT)
WORK = Path(tempfile.mkdtemp(prefix="fuzz-config-"))


def _load(data: bytes) -> None:
    path = WORK / "config.yaml"
    path.write_bytes(data)
    try:
        config: Config | None = load_config(path)
    except ConfigError as err:
        message, config = str(err), None
        assert message
    assert config is None or isinstance(config, Config)


def _dump(doc: Any) -> bytes:
    try:
        return yaml.safe_dump(doc, allow_unicode=True).encode("utf-8", "surrogatepass")
    except yaml.YAMLError:  # a value YAML cannot represent: the document as repr text
        return repr(doc).encode("utf-8", "surrogatepass")


@FUZZ
@given(doc=mutated(FULL, most=6))
def test_structure_loads_or_raises_config_error(doc: Any) -> None:
    with contextlib.suppress(ConfigError):
        parse_config(doc, WORK)
    _load(_dump(doc))


def _edited() -> st.SearchStrategy[bytes]:
    text = FULL_TEXT.encode()
    return st.tuples(
        st.integers(0, len(text)),
        st.integers(0, 20),
        st.binary(max_size=12)
        | st.sampled_from(ODD_TEXT).map(lambda t: t.encode("utf-8", "surrogatepass")),
    ).map(lambda t: text[: t[0]] + t[2] + text[t[0] + t[1] :])


@FUZZ
@given(
    data=st.binary(max_size=300)
    | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))
    | _edited()
)
@example(data=b"poll: {interval: " + b"9" * 5000 + b"}\n")
@example(data=b"ignore:\n  - {check: open_onramp, boundary: x, reason: r, until: 2025-02-30}\n")
@example(data=b"poll: !!float x\n")
@example(data=b"[" * 100_000)
def test_text_loads_or_raises_config_error(data: bytes) -> None:
    _load(data)
