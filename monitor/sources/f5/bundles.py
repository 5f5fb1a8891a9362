"""What each CA bundle named by a server-ssl profile's `caFile` really holds, or why unknown.

Owns the rule of DESIGN section 4 / research/f5.md §2.3: the top-level fields of an
ssl-cert with `isBundle: "true"` describe ONE certificate of the file, so they are never
taken as its contents. A bundle's members are known when
- a `sys/crypto/ca-bundle-manager` object has the bundle's path (or the path without a
  trailing `.crt`): its `includeBundle` names the member ssl-certs, each of which must have
  been read and be a single certificate, or itself a bundle that a ca-bundle-manager
  describes (expanded the same way) — reader `ca-bundle-manager`;
- the file is a single certificate (`isBundle: "false"`): its own fields describe it
  completely — reader `ssl-cert`.
Anything else is unknown with a reason a person can act on (reader `none`). Pure.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from monitor.model import CaBundle, ServerSslProfile, SslCert, partition_of

MANAGER_READER = "ca-bundle-manager"
SINGLE_READER = "ssl-cert"
NO_READER = "none"
MAX_NESTING = 8  # bundles inside bundles: a deeper chain is not expanded (device data)


class _Unknown(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _manager_of(path: str, managers: Mapping[str, tuple[str, ...]]) -> str | None:
    if path in managers:
        return path
    if path.endswith(".crt") and path.removesuffix(".crt") in managers:
        return path.removesuffix(".crt")
    return None


class _Resolver:
    def __init__(
        self,
        certs: Mapping[str, SslCert],
        managers: Mapping[str, tuple[str, ...]],
        partitions: Collection[str],
    ) -> None:
        self.certs = certs
        self.managers = managers
        self.partitions = partitions

    def not_read(self, path: str) -> str | None:
        partition = partition_of(path)
        if partition not in self.partitions:
            return (
                f"{path} is in partition {partition or '?'}, which is not among the device's"
                " configured partitions, so it was not read"
            )
        return None

    def expand(self, manager: str, seen: frozenset[str]) -> list[SslCert]:
        members: list[SslCert] = []
        for path in self.managers[manager]:
            cert = self.certs.get(path)
            if cert is None:
                why = self.not_read(path) or "it was not found among the ssl-certs read"
                raise _Unknown(f"member {path} of ca-bundle-manager {manager}: {why}")
            if not cert.is_bundle:
                members.append(cert)
                continue
            inner = _manager_of(path, self.managers)
            if len(seen) >= MAX_NESTING:
                raise _Unknown(
                    f"ca-bundle-manager {manager} nests bundles more than {MAX_NESTING} deep"
                )
            if inner is None or inner in seen:
                raise _Unknown(
                    f"member {path} of ca-bundle-manager {manager} is itself a bundle that no"
                    " ca-bundle-manager object describes; its top-level fields describe only"
                    " one of its certificates"
                )
            members.extend(self.expand(inner, seen | {inner}))
        return members

    def bundle(self, path: str) -> CaBundle:
        if why := self.not_read(path):
            return CaBundle(path, None, NO_READER, why)
        manager = _manager_of(path, self.managers)
        if manager is not None:
            try:
                members = self.expand(manager, frozenset({manager}))
            except _Unknown as err:
                return CaBundle(path, None, MANAGER_READER, err.reason)
            return CaBundle(path, _unique(members), MANAGER_READER)
        cert = self.certs.get(path)
        if cert is None:
            return CaBundle(path, None, NO_READER, f"no ssl-cert {path} was found")
        if not cert.is_bundle:
            return CaBundle(path, (cert,), SINGLE_READER)
        return CaBundle(
            path,
            None,
            NO_READER,
            f"no ca-bundle-manager object describes {path}; its contents cannot be read"
            " through the REST API",
        )


def _unique(members: list[SslCert]) -> tuple[SslCert, ...]:
    """Each certificate once (by fingerprint, else by path), in the order of first mention."""
    seen: set[str] = set()
    out = []
    for member in members:
        key = member.fingerprint or member.path
        if key not in seen:
            seen.add(key)
            out.append(member)
    return tuple(out)


def build_bundles(
    server_ssl: Mapping[str, ServerSslProfile],
    certs: Mapping[str, SslCert],
    managers: Mapping[str, tuple[str, ...]],
    partitions: Collection[str],
    unreadable: str = "",
    bundle_reader: str = "auto",
) -> dict[str, CaBundle]:
    """{caFile path: CaBundle} for every server-ssl profile's caFile.

    `unreadable`: why the certificate collections were not read completely ("" = they
    were); `bundle_reader`: the device's `bundleReader` setting."""
    paths = sorted({p.ca_file for p in server_ssl.values() if p.ca_file is not None})
    if bundle_reader == "none":
        why = "bundleReader is none in the config: bundle contents are not read"
        return {p: CaBundle(p, None, NO_READER, why) for p in paths}
    if unreadable:
        return {p: CaBundle(p, None, NO_READER, unreadable) for p in paths}
    resolver = _Resolver(certs, managers, partitions)
    return {p: resolver.bundle(p) for p in paths}
