"""The certificate files a device's boundaries name, and their PEMs put into the state.

The chain checks (`monitor.checks.boundary.client`) need parsed certificates
(`SslCert.facts`), which BIG-IP's REST API never returns; the names the identity and SNI
checks use come from the ssl-cert's `subjectAlternativeName` on TMOS 14.1+, and the parsed
certificate adds them on older versions, with what REST has no field for (notBefore, the
other certificates of a chain file). The util/bash reader (`bash`) reads them under the
same `bundleReader` rules as the CA bundles. Owns:
- `needed`: for each boundary on the device, the files of its virtual's profiles — the
  server-ssl profile's `cert` and `chain` (mesh-tls boundaries; the profile the checks
  judge: the one the virtual carries, `Virtual.server_ssl_in_use`) and every client-ssl
  profile's `certKeyChain` `cert` and `chain`. Not every ssl-cert on the box;
- `to_read`: those of them whose certificates are not known yet — a file already known
  as a CA bundle read by bash is not read again;
- `apply`: what the reads gave, put where the checks look (`monitor.checks.resolve.cert_file`):
  the certificate an ssl-cert object describes gets its `facts` (in `F5State.certs`, and
  in any CA bundle listing that ssl-cert); a `chain` file that is a bundle becomes
  `F5State.bundles[path]`, a `CaBundle` with reader `bash` whose members (`<path>#<n>`,
  with facts) are all its certificates. A file that could not be read keeps `facts` None
  (the checks say why in general terms); the reason is returned for the log.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from monitor.config.schema import BoundaryConfig
from monitor.model import CaBundle, ClientSslProfile, ServerSslProfile, SslCert, Virtual
from monitor.sources.f5.bash import READER, FileRead, described, members


@dataclass(frozen=True, slots=True)
class Needed:
    """The ssl-cert paths the boundaries' checks need the certificates of."""

    certs: frozenset[str] = frozenset()  # `cert` files: the certificate the object describes
    chains: frozenset[str] = frozenset()  # `chain` files: every certificate in them

    @property
    def paths(self) -> frozenset[str]:
        return self.certs | self.chains


def needed(
    device: str,
    boundaries: Iterable[BoundaryConfig],
    virtuals: Mapping[str, Virtual],
    server_ssl: Mapping[str, ServerSslProfile],
    client_ssl: Mapping[str, ClientSslProfile],
) -> Needed:
    """The files of the profiles of the virtuals of `device`'s boundaries."""
    certs: set[str] = set()
    chains: set[str] = set()

    def add(cert: str | None, chain: str | None) -> None:
        certs.update([cert] if cert else [])
        chains.update([chain] if chain else [])

    for boundary in boundaries:
        if device not in boundary.devices:
            continue
        virtual = virtuals.get(boundary.virtual)
        if boundary.mode == "mesh-tls":
            path = boundary.server_ssl_profile
            if virtual is not None:
                path = virtual.server_ssl_in_use(path, server_ssl)
            server = server_ssl.get(path) if path is not None else None
            if server is not None:
                add(server.cert, server.chain)
        for path in virtual.clientside_ssl() if virtual is not None else ():
            client = client_ssl.get(path)
            for entry in client.cert_key_chain if client is not None else ():
                add(entry.cert, entry.chain)
    return Needed(frozenset(certs), frozenset(chains))


def to_read(
    need: Needed, certs: Mapping[str, SslCert], bundles: Mapping[str, CaBundle]
) -> list[str]:
    """The ssl-cert paths to read for `need` (only ssl-certs that were read)."""
    out: set[str] = set()
    for path in need.certs:
        cert = certs.get(path)
        if cert is not None and cert.facts is None:
            out.add(path)
    for path in need.chains:
        bundle = bundles.get(path)
        if bundle is not None and bundle.members is not None:
            # a CA bundle known by its members: those that are ssl-certs of their own
            out.update(m.path for m in bundle.members if m.facts is None and m.path in certs)
        elif path in certs:
            out.add(path)
    return sorted(out)


def apply(
    need: Needed,
    reads: Mapping[str, FileRead],
    certs: Mapping[str, SslCert],
    bundles: Mapping[str, CaBundle],
) -> tuple[dict[str, SslCert], dict[str, CaBundle], list[str]]:
    """`certs` and `bundles` with what `reads` gave, and why files gave nothing."""
    new_certs = dict(certs)
    new_bundles = dict(bundles)
    problems: list[str] = []
    filled: set[str] = set()
    for path, read in sorted(reads.items()):
        cert = certs.get(path)
        if cert is None:
            continue
        if read.found is None:
            if not read.refused and read.error is None:
                problems.append(f"{path}: {read.why}")
            continue
        facts = described(read.found, cert)
        if facts is not None and cert.facts is None:
            new_certs[path] = replace(cert, facts=facts)
            filled.add(path)
        if path in need.chains and cert.is_bundle and path not in bundles:
            new_bundles[path] = CaBundle(path, members(path, read.found), READER)
    for path, bundle in bundles.items():
        if bundle.members is not None and any(m.path in filled for m in bundle.members):
            updated = tuple(new_certs[m.path] if m.path in filled else m for m in bundle.members)
            new_bundles[path] = replace(bundle, members=updated)
    return new_certs, new_bundles, problems
