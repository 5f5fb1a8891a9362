"""Linkerd release strings and what each release changes in the rendered install.

Owns the parsing of `stable-2.10.x` … `stable-2.14.x`, `version-2.15` … `version-2.20`
and `edge-YY.M.P`, and the per-release facts from research/linkerd.md: the proxy
version (table at the top), where the trust anchors live (§1.1), the trailing newline
of `ca-bundle.crt` (2.11–2.12 `|`, 2.13+ `|-`), the `linkerd.io/trust-root-sha256`
annotation (stable-2.12.1 / edge-22.9.1), native sidecars (2.15+), and the policy CRDs.

Edge releases are mapped to the stable line they fed into (the edge that became each
`version-2.N` is known; the older cut-offs are the months of the stable releases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.simulate.spec import Node

# linkerd2 `.proxy-version` at each release line (research/linkerd.md, version mapping).
PROXY_VERSIONS = {
    10: "v2.141.1",
    11: "v2.161.5",
    12: "v2.188.0",
    13: "v2.203.4",
    14: "v2.210.4",
    15: "v2.221.0",
    16: "v2.246.0",
    17: "v2.268.0",
    18: "v2.294.0",
    19: "v2.326.0",
    20: "v2.359.0",
    21: "v2.366.0",  # edge releases after version-2.20 (edge-26.8.3)
}
# version-2.N is the same commit as this edge release.
VERSION_EDGES = {
    15: "edge-24.2.4",
    16: "edge-24.8.2",
    17: "edge-24.11.8",
    18: "edge-25.4.4",
    19: "edge-25.10.7",
}
# The last edge release of each line: (yy, m, p) inclusive → minor.
_EDGE_LINES = (
    ((21, 2, 99), 10),  # stable-2.10.0: February 2021
    ((21, 9, 99), 11),  # stable-2.11.0: September 2021
    ((22, 8, 99), 12),  # stable-2.12.0: August 2022
    ((23, 4, 99), 13),  # stable-2.13.0: April 2023
    ((23, 8, 99), 14),  # stable-2.14.0: August 2023
    ((24, 2, 4), 15),
    ((24, 8, 2), 16),
    ((24, 11, 8), 17),
    ((25, 4, 4), 18),
    ((25, 10, 7), 19),
    ((26, 6, 99), 20),  # version-2.20: 2026-06-22
)
# proxy-init image tags shipped by each line (the proxy image carries it from 2.19 on).
_PROXY_INIT = {10: "v1.3.11", 11: "v1.4.0", 12: "v2.0.0", 13: "v2.2.1", 14: "v2.2.3", 15: "v2.2.4"}

_STABLE = re.compile(r"^stable-2\.(\d+)\.(\d+)$")
_VERSION = re.compile(r"^version-2\.(\d+)$")
_EDGE = re.compile(r"^edge-(\d{2})\.(\d{1,2})\.(\d+)$")
SUPPORTED = "stable-2.10.x … stable-2.14.x, version-2.15 … version-2.20, edge-YY.M.P"


@dataclass(frozen=True)
class LinkerdRelease:
    text: str
    channel: str  # stable | version | edge
    minor: int  # the 2.N line whose layout the release has
    patch: int | None = None  # stable releases
    edge: tuple[int, int, int] | None = None

    @property
    def proxy_release(self) -> str:
        """The linkerd2-proxy version the release ships (research table)."""
        if self.text == "edge-26.8.3" or self.minor > 20:
            return PROXY_VERSIONS[21]
        return PROXY_VERSIONS[self.minor]

    @property
    def trust_roots_configmap(self) -> bool:
        return self.minor >= 11

    @property
    def bundle_trailing_newline(self) -> bool:
        return self.minor in (11, 12)

    @property
    def trust_root_sha256(self) -> bool:
        if self.edge is not None:
            return self.edge >= (22, 9, 1)
        return self.minor >= 13 or (self.minor == 12 and (self.patch or 0) >= 1)

    @property
    def control_plane_label(self) -> bool:
        return self.minor >= 11

    @property
    def native_sidecars(self) -> bool:
        return self.minor >= 15

    @property
    def native_sidecar_annotation(self) -> str:
        stage = "alpha" if self.minor <= 18 else "beta"
        return f"config.{stage}.linkerd.io/proxy-enable-native-sidecar"

    @property
    def issuer_expiry_annotation(self) -> bool:
        """`linkerd.io/identity-issuer-expiry`: 2.10.x and stable-2.11.0 only."""
        return self.minor == 10 or (
            self.channel == "stable" and (self.minor, self.patch) == (11, 0)
        )

    @property
    def identity_mode_annotation(self) -> bool:
        return self.minor <= 11

    @property
    def proxy_first(self) -> bool:
        """The proxy is the first container (await) from 2.11 on; appended before that."""
        return self.minor >= 11

    @property
    def proxy_init_image(self) -> str:
        if self.minor >= 19:
            return f"cr.l5d.io/linkerd/proxy:{self.text}"
        return f"cr.l5d.io/linkerd/proxy-init:{_PROXY_INIT.get(self.minor, 'v2.4.1')}"


def parse_release(node: Node) -> LinkerdRelease:
    text = node.text()
    bad = node.fail(f'unsupported Linkerd version "{text}" (use {SUPPORTED})')
    m = _STABLE.match(text)
    if m:
        minor, patch = int(m.group(1)), int(m.group(2))
        if not 10 <= minor <= 14:
            raise bad
        return LinkerdRelease(text, "stable", minor, patch=patch)
    m = _VERSION.match(text)
    if m:
        minor = int(m.group(1))
        if not 15 <= minor <= 20:
            raise bad
        return LinkerdRelease(text, "version", minor)
    m = _EDGE.match(text)
    if m:
        edge = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if not 1 <= edge[1] <= 12 or edge[2] < 1:
            raise bad
        if edge < (21, 1, 1):
            raise node.fail(f'edge release "{text}" is older than stable-2.10 ({SUPPORTED})')
        minor = next((line for last, line in _EDGE_LINES if edge <= last), 21)
        return LinkerdRelease(text, "edge", minor, edge=edge)
    raise bad
