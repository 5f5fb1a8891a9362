"""The `ha_peer_divergence` check: do the units of an HA pair serve a boundary alike?

`ha_peer_divergence` compares, within each `haGroup` holding two or more of the boundary's
devices (fewer: pass, noted), every object the boundary uses: the virtual (presence, state,
destination, pool, profile paths), its pool (members as address:port), on mesh-tls
boundaries the server-ssl profile (caFile, peerCertMode, serverName, authenticateName,
expire/untrusted certificate response controls, tmOptions, cert, key, chain) and its CA
bundle (member SHA-256 fingerprints), and the virtual's client-ssl profiles (certKeyChain
certificate paths). Only objects at the same path are compared (a unit using another path
shows in the field naming it: the virtual's pool or profiles, caFile); absent (from a
collection read whole) is a value. The reference is the majority version of an object (tie:
the earliest unit in `devices`, so in a pair the first); each object that differs is one
warning on the first unit, in config order, that differs from the reference, naming each
differing field and every unit's value. What cannot be read on a unit (a failed collection,
unknown bundle contents, a member without fingerprint) makes that comparison unknown for
every unit of the group: any of them may hold its finding.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from monitor.checks.common import short_fp
from monitor.checks.matching import endpoint_key
from monitor.checks.outcome import Drift, Evidence, Outcome, Unknown
from monitor.checks.resolve import Device, member_fingerprint
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, Virtual
from monitor.requirements import CLIENT_SSL, POOLS, SERVER_SSL, SSL_CERTS, VIRTUALS

LIST_LIMIT: Final = 20  # values of a set shown in one evidence entry


Value = str | frozenset[str]
NONE: Final = "none"


@dataclass(frozen=True, slots=True)
class Part:
    """One object a boundary uses, as one unit holds it: field name → comparable value."""

    kind: str  # "virtual", "pool", "server-ssl", "CA bundle", "client-ssl"
    path: str
    fields: Mapping[str, Value]

    def signature(self) -> frozenset[tuple[str, Value]]:
        return frozenset(self.fields.items())


@dataclass(slots=True)
class _View:
    """The parts of one unit by role (`<kind> <path>`): only objects with the same path are
    compared. A role not listed is unknown when `rest` is set (the virtual or server-ssl
    profile that would name it could not be read) and not used by the unit otherwise."""

    roles: dict[str, Part | Unknown] = field(default_factory=dict)
    rest: Unknown | None = None

    def part(self, role: str) -> Part | Unknown | None:
        return self.roles.get(role, self.rest)


def _opt(value: str | None) -> str:
    return NONE if value is None else value


def _present(kind: str, path: str, **fields: Value) -> Part:
    return Part(kind, path, {"exists": "present", **fields})


def _absent(kind: str, path: str) -> Part:
    return Part(kind, path, {"exists": "absent"})


def _virtual_part(path: str, v: Virtual | None) -> Part:
    if v is None:
        return _absent("virtual", path)
    state = "enabled" if v.enabled else "disabled"
    profiles = frozenset(p.path for p in v.profiles)
    return _present(
        "virtual",
        path,
        state=state,
        destination=v.destination,
        pool=_opt(v.pool),
        profiles=profiles,
    )


def _pool_part(device: Device, path: str) -> Part | Unknown:
    if unknown := device.unreadable(POOLS):
        return unknown
    if (pool := device.state.pools.get(path)) is None:
        return _absent("pool", path)
    return _present(
        "pool", path, members=frozenset(endpoint_key(m.address, m.port) for m in pool.members)
    )


def _server_ssl_part(device: Device, path: str) -> Part | Unknown:
    if unknown := device.unreadable(SERVER_SSL):
        return unknown
    if (p := device.state.server_ssl.get(path)) is None:
        return _absent("server-ssl", path)
    return _present(
        "server-ssl",
        path,
        caFile=_opt(p.ca_file),
        peerCertMode=p.peer_cert_mode,
        serverName=_opt(p.server_name),
        authenticateName=_opt(p.authenticate_name),
        expireCertResponseControl=p.expire_cert_response_control,
        untrustedCertResponseControl=p.untrusted_cert_response_control,
        tmOptions=frozenset(p.tm_options),
        cert=_opt(p.cert),
        key=_opt(p.key),
        chain=_opt(p.chain),
    )


def _client_ssl_part(device: Device, path: str) -> Part | Unknown:
    if unknown := device.unreadable(CLIENT_SSL):
        return unknown
    if (p := device.state.client_ssl.get(path)) is None:
        return _absent("client-ssl", path)
    return _present(
        "client-ssl", path, certificates=frozenset(_opt(c.cert) for c in p.cert_key_chain)
    )


def _bundle_part(device: Device, path: str) -> Part | Unknown:
    bundle = device.state.bundles.get(path)
    if unknown := device.unreadable(SSL_CERTS):
        return unknown
    if bundle is None or bundle.members is None:
        why = f": {bundle.unknown_reason}" if bundle and bundle.unknown_reason else ""
        return Unknown(device.name, f"{device.name}: contents of CA bundle {path} unknown{why}")
    prints = {m.path: member_fingerprint(m) for m in bundle.members}
    if blind := [p for p, fp in prints.items() if fp is None]:
        detail = f"{device.name}: fingerprint of {blind[0]} in CA bundle {path} unknown"
        return Unknown(device.name, detail)
    return _present("CA bundle", path, certificates=frozenset(fp for fp in prints.values() if fp))


def _view(boundary: BoundaryConfig, device: Device) -> _View:
    """Every object `boundary` uses on `device`, keyed by kind and path."""
    view = _View()
    virtual: Virtual | None = None
    if unknown := device.unreadable(VIRTUALS):
        view.roles[f"virtual {boundary.virtual}"] = view.rest = unknown
    else:
        virtual = device.state.virtuals.get(boundary.virtual)
        view.roles[f"virtual {boundary.virtual}"] = _virtual_part(boundary.virtual, virtual)
    if pool := boundary.pool or (virtual.pool if virtual else None):
        view.roles[f"pool {pool}"] = _pool_part(device, pool)
    ssl = boundary.server_ssl_profile  # the profile the virtual carries, as the checks judge it
    if virtual is not None:
        ssl = virtual.server_ssl_in_use(ssl, device.state.server_ssl)
    if boundary.mode == "mesh-tls" and ssl:
        profile = view.roles[f"server-ssl {ssl}"] = _server_ssl_part(device, ssl)
        if isinstance(profile, Unknown):  # so is the CA bundle it names
            view.rest = view.rest or profile
        elif (ca_file := str(profile.fields.get("caFile", NONE))) != NONE:
            view.roles[f"CA bundle {ca_file}"] = _bundle_part(device, ca_file)
    for path in virtual.clientside_ssl() if virtual else ():
        view.roles[f"client-ssl {path}"] = _client_ssl_part(device, path)
    return view


_VERB: Final[Mapping[str, str]] = {"serverName": "sends", "authenticateName": "requires"}
_AFTER: Final[Mapping[str, str]] = {
    "virtual": "the other unit would serve this boundary differently (or not at all)",
    "pool": "traffic would go to a different set of pods",
    "server-ssl": "BIG-IP would re-encrypt to the mesh with different settings, which the mesh"
    " may reject (or which may accept pods they should not)",
    "CA bundle": "BIG-IP would verify pod certificates against different CAs and may reject"
    " the mesh",
    "client-ssl": "clients would be served a different edge certificate",
}


def _render(kind: str, value: Value) -> str:
    if isinstance(value, str):
        return value
    shown = sorted(short_fp(v) if kind == "CA bundle" else v for v in value)
    return ", ".join(shown) if shown else NONE


def _field_text(kind: str, name: str, ref: tuple[str, Part], units: list[tuple[str, Part]]) -> str:
    """`serverName differs: bigip-a sends x, bigip-b sends y`; for a set,
    `members differ: bigip-b lacks … and has … compared with bigip-a`."""
    values = [(unit, p.fields[name]) for unit, p in units if name in p.fields]
    if name == "exists":
        return "presence differs: " + ", ".join(f"{v} on {u}" for u, v in values)
    ref_unit, ref_value = ref[0], ref[1].fields.get(name)
    if isinstance(ref_value, frozenset):
        texts = []
        for unit, value in values:
            if unit == ref_unit or not isinstance(value, frozenset) or value == ref_value:
                continue
            bits = []
            if missing := ref_value - value:
                bits.append(f"lacks {_render(kind, missing)}")
            if extra := value - ref_value:
                bits.append(f"has {_render(kind, extra)}")
            texts.append(f"{unit} {' and '.join(bits)} compared with {ref_unit}")
        return f"{name} differ: {'; '.join(texts)}"
    verb = "is" if name == "state" else _VERB.get(name, "has")
    shown = ", ".join(f"{u} {verb} {_render(kind, v)}" for u, v in values)
    return f"{name} differs: {shown}"


def _evidence_value(value: Value) -> str:
    if isinstance(value, str):
        return value
    items = sorted(value)
    more = f" and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else ""
    return (",".join(items[:LIST_LIMIT]) or NONE) + more


def _diverge(group: str, units: list[tuple[str, Part]]) -> Drift | None:
    """One warning when the units' versions of one object differ, else None."""
    counts = Counter(p.signature() for _, p in units)
    ref = units[max(range(len(units)), key=lambda i: (counts[units[i][1].signature()], -i))]
    differing = [u for u in units if u[1].signature() != ref[1].signature()]
    if not differing:
        return None
    kind, path = ref[1].kind, ref[1].path
    names = list(dict.fromkeys(n for _, p in units for n in p.fields))
    changed = [n for n in names if len({p.fields[n] for _, p in units if n in p.fields}) > 1]
    texts = "; ".join(_field_text(kind, n, ref, units) for n in changed)
    message = (
        f"{kind} {path} differs between the units of haGroup {group}: {texts} — after a"
        f" failover {_AFTER[kind]}; make the units agree (config-sync from the unit with the"
        " intended settings)"
    )
    evidence: Evidence = (("ha_group", group), ("object", path), ("reference", ref[0]))
    for n in changed:
        evidence += tuple(
            (f"{unit}.{n}", _evidence_value(p.fields[n])) for unit, p in units if n in p.fields
        )
    return Drift("warning", path, message, evidence, device=differing[0][0])


def _compare(boundary: BoundaryConfig, group: str, names: list[str], observed: Observed) -> Outcome:
    """Every object of `boundary` across the units `names` of one haGroup."""
    views: list[tuple[str, _View]] = []
    for name in names:
        errors = tuple(e for s in observed.sources if s.source == name for e in s.errors)
        if (state := observed.f5.get(name)) is not None:
            views.append((name, _view(boundary, Device(name, state, errors))))
            continue
        why = ", ".join(sorted({e.reason for e in errors}))
        lost = Unknown(name, f"{name}: could not be read" + (f" ({why})" if why else ""))
        views.append((name, _View(rest=lost)))
    first = f"virtual {boundary.virtual}"  # a role even when no unit could be read
    roles = dict.fromkeys([first, *(role for _, view in views for role in view.roles)])
    drifts: list[Drift] = []
    unknowns: list[Unknown] = []
    for role in roles:
        parts = [(name, view.part(role)) for name, view in views]
        for name, part in parts:
            if isinstance(part, Unknown):  # any unit may carry this comparison's finding
                unknowns += [Unknown(n, part.detail) for n in dict.fromkeys((name, *names))]
        known = [(name, part) for name, part in parts if isinstance(part, Part)]
        if len(known) >= 2 and (drift := _diverge(group, known)):
            drifts.append(drift)
    return Outcome(tuple(drifts), tuple(unknowns))


def ha_peer_divergence(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The units of each haGroup must hold the boundary's objects alike (module docstring)."""
    ha_group = {device.name: device.ha_group for device in cfg.bigip}
    groups: dict[str, list[str]] = {}
    for name in boundary.devices:
        if group := ha_group.get(name):
            groups.setdefault(group, []).append(name)
    alone = [(g, names[0]) for g, names in groups.items() if len(names) < 2]
    notes = tuple(
        f"haGroup {g}: {name} is the boundary's only device in it; nothing to compare"
        for g, name in alone
    )
    if len(alone) == len(groups):
        devices = ", ".join(boundary.devices)
        note = f"no two of the boundary's devices ({devices}) share an haGroup; nothing to compare"
        return Outcome(notes=(note,))
    compared = [
        _compare(boundary, g, names, observed) for g, names in groups.items() if len(names) > 1
    ]
    return Outcome.merge([*compared, Outcome(notes=notes)])
