"""Route checks: does BIG-IP send the boundary's traffic to exactly its backend's ready pods?

Holds the checks of the `routes` family (DESIGN section 5) about the boundary's virtual
server, on each device (every boundary mode; object: the virtual's path; critical):
- `virtual_missing`: the virtual is absent from a completely read `ltm/virtual`;
- `virtual_disabled`: the virtual exists but is disabled;
- `virtual_pool_mismatch`: with `pool` set in the expected state, the virtual must use that
  pool (the member checks compare `pool`, which would then get none of the virtual's
  traffic); without it the virtual's pool is the boundary's pool by definition: pass — once
  the virtual is read (an unreadable or absent virtual is unknown, as for
  `virtual_disabled`: a poll that read nothing passes nothing);
- `virtual_profile_mismatch` (mesh-tls): the virtual must carry a server-ssl profile (none:
  BIG-IP sends the mesh plaintext) and, with `serverSslProfile` set, that one. A configured
  profile the virtual does not carry serves no traffic: the boundary checks judge the
  profile the virtual does carry (`Virtual.server_ssl_in_use`: of several, the SNI default,
  else the first) and their findings name both. With the configured profile among several
  the virtual carries, the check passes and the configured one is judged.
The family's registry `CHECKS` is in the package's `__init__.py`; the other checks live
beside this module: `members.py` (`pool_member_missing`, `pool_member_extra`,
`pool_member_port_mismatch`) and `mesh.py` (`pool_member_unmeshed` on mesh-tls
boundaries, `open_onramp` on plaintext ones).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from datetime import datetime

from monitor.checks.outcome import PASS, Drift, Outcome, Unknown
from monitor.checks.resolve import Device, per_device, resolve_virtual
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, Virtual
from monitor.requirements import SERVER_SSL, VIRTUALS


def _virtual_evidence(virtual: Virtual) -> tuple[tuple[str, str], ...]:
    return (
        ("virtual", virtual.path),
        ("destination", virtual.destination),
        ("state", "enabled" if virtual.enabled else "disabled"),
        ("pool", virtual.pool or "none"),
    )


def virtual_missing(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The boundary's virtual must exist on every device."""

    def on_device(device: Device) -> Outcome:
        if unknown := device.unreadable(VIRTUALS):
            return Outcome(unknowns=(unknown,))
        if boundary.virtual in device.state.virtuals:
            return PASS
        message = (
            f"{device.name}: virtual {boundary.virtual} does not exist: this device serves no"
            f" traffic for boundary {boundary.name} — create it (or check the controller that"
            " manages it, or the virtual named in the expected state)"
        )
        evidence = (
            ("virtual", boundary.virtual),
            ("virtuals_read", str(len(device.state.virtuals))),
        )
        return Outcome(drifts=(Drift("critical", boundary.virtual, message, evidence),))

    return per_device(boundary, observed, on_device)


def virtual_disabled(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The boundary's virtual must be enabled."""

    def on_device(device: Device) -> Outcome:
        virtual = resolve_virtual(boundary, device)
        if isinstance(virtual, Unknown):
            return Outcome(unknowns=(virtual,))
        if virtual.enabled:
            return PASS
        message = (
            f"{device.name}: virtual {virtual.path} is disabled: this device serves no traffic"
            f" for boundary {boundary.name} — enable it (tmsh modify ltm virtual {virtual.path}"
            " enabled) if it should serve"
        )
        drift = Drift("critical", virtual.path, message, _virtual_evidence(virtual))
        return Outcome(drifts=(drift,))

    return per_device(boundary, observed, on_device)


def virtual_pool_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """With `pool` set, the virtual must send its traffic to that pool; without it, the
    virtual's pool is the boundary's by definition (pass once the virtual is read)."""
    expected = boundary.pool

    def on_device(device: Device) -> Outcome:
        virtual = resolve_virtual(boundary, device)
        if isinstance(virtual, Unknown):
            return Outcome(unknowns=(virtual,))
        if expected is None or virtual.pool == expected:
            return PASS
        uses = f"uses pool {virtual.pool}" if virtual.pool else "has no pool"
        message = (
            f"{device.name}: virtual {virtual.path} {uses}, but the expected state names pool"
            f" {expected}: the pool the member checks compare gets none of its traffic — point"
            " the virtual at it, or correct pool in the expected state"
        )
        evidence = (*_virtual_evidence(virtual), ("expected_pool", expected))
        return Outcome(drifts=(Drift("critical", virtual.path, message, evidence),))

    return per_device(boundary, observed, on_device)


def virtual_profile_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The virtual must carry a server-ssl profile (mesh-tls), and the one named by
    `serverSslProfile` when it is set: the trust checks judge the profile it carries."""
    expected = boundary.server_ssl_profile

    def on_device(device: Device) -> Outcome:
        virtual = resolve_virtual(boundary, device)
        if isinstance(virtual, Unknown):
            return Outcome(unknowns=(virtual,))
        carried = virtual.serverside_ssl()
        if carried and (expected is None or expected in carried):
            return PASS
        evidence: tuple[tuple[str, str], ...] = (
            ("virtual", virtual.path),
            ("server_ssl_profiles", ",".join(carried) or "none"),
            ("configured_server_ssl_profile", expected or "none"),
        )
        if not carried:
            named = f", although the expected state names {expected}" if expected else ""
            message = (
                f"{device.name}: virtual {virtual.path} carries no server-ssl profile{named}:"
                f" BIG-IP sends boundary {boundary.name}'s traffic to the mesh unencrypted, so"
                " the pods' policy either rejects it or admits it without identity — attach"
                f" {expected or 'the server-ssl profile'} to the virtual (context serverside)"
            )
            return Outcome(drifts=(Drift("critical", virtual.path, message, evidence),))
        judged = virtual.server_ssl_in_use(expected, device.state.server_ssl) or carried[0]
        absent = ""
        if SERVER_SSL not in device.state.failed and expected not in device.state.server_ssl:
            absent = f" (which does not exist on {device.name})"
        profiles = "profiles " + ", ".join(carried) if len(carried) > 1 else carried[0]
        message = (
            f"{device.name}: virtual {virtual.path} carries server-ssl {profiles}, not {expected}"
            f" named in the expected state{absent}: the traffic is served by {judged}, which the"
            " trust and profile checks judge instead — attach the intended profile to the"
            " virtual, or correct serverSslProfile"
        )
        return Outcome(drifts=(Drift("critical", virtual.path, message, evidence),))

    return per_device(boundary, observed, on_device)
