"""What the status page shows of each identity provider, before any HTML: its keys.

Owns `key_table`: for one configured identity provider, one row per signing key the IdP
publishes or a device's APM accepts (by `kid` and key type), saying where it is: published
by the IdP (with its certificate's end date), and on each device `accepted`, `missing`
(the IdP publishes it, APM lacks it), `stale` (APM accepts it, the IdP no longer publishes
it), or why that device is not known. The same resolution as the `oidc` checks
(`monitor.checks.oidc.inputs`), so the table and the findings never disagree. Pure: "now"
is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.checks.oidc.inputs import identities, resolve_apm
from monitor.checks.outcome import Unknown
from monitor.checks.resolve import Device
from monitor.config.identity import IdentityProviderConfig
from monitor.state.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class KeyTable:
    """The keys of one identity provider: column heads and rows of plain text."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str  # why the IdP's side is empty, or ""


def key_table(snapshot: Snapshot, idp: IdentityProviderConfig) -> KeyTable:
    state = snapshot.observed.idp.get(idp.name)
    published = identities(tuple(k for k in state.keys if k.signing)) if state else {}
    note = "" if state else f"{idp.source} could not be read this cycle"
    columns: dict[str, dict[tuple[str, str], str] | str] = {}
    for name in idp.devices:
        f5 = snapshot.observed.f5.get(name)
        if f5 is None:
            columns[name] = "not read"
            continue
        view = resolve_apm(idp, Device(name, f5))
        if isinstance(view, Unknown):
            columns[name] = "unknown"
            continue
        accepted = view.keys()
        if isinstance(accepted, Unknown):
            columns[name] = "unknown"
            continue
        columns[name] = {key: "accepted" for key in identities(accepted)}
    every = dict.fromkeys(published)
    for column in columns.values():
        if isinstance(column, dict):
            every.update(dict.fromkeys(column))
    rows = []
    for identity in every:
        key = published.get(identity)
        cert = key.cert_not_after.strftime("%Y-%m-%d") if key and key.cert_not_after else "—"
        cells = [identity[0], identity[1], "published" if key else "not published", cert]
        for column in columns.values():
            if isinstance(column, str):
                cells.append(column)
            elif identity in column:
                cells.append("accepted" if key or not state else "stale")
            else:
                cells.append("missing" if key else "—")
        rows.append(tuple(cells))
    head = ("kid", "type", "IdP", "certificate ends", *(f"APM on {d}" for d in columns))
    return KeyTable(head, tuple(rows), note)
