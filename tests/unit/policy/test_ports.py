"""`ascii_number`: ASCII digits only, and no more of them than asked for."""

from __future__ import annotations

import pytest

from monitor.policy.ports import ascii_number


@pytest.mark.parametrize(
    ("text", "most", "number"),
    [
        ("443", 5, 443),
        ("00080", 5, 80),
        ("65536", 5, 65536),  # digits, not a port range check
        ("123456", 5, None),
        ("", 5, None),
        ("²", 5, None),  # a digit to isdigit(), not to int()
        ("١٢", 5, None),  # Arabic-Indic digits
        (" 443", 5, None),
        ("-1", 5, None),
        ("9" * 20, 19, None),
        ("9" * 19, 19, 10**19 - 1),
    ],
)
def test_ascii_number(text: str, most: int, number: int | None) -> None:
    assert ascii_number(text, most) == number
