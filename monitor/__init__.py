"""f5-linkerd-monitor: watches the trust boundary between F5 BIG-IP and a Linkerd mesh.

The packages follow the path of a poll; each imports only those on the lines below it:

    cli              the commands
    doctor/          what the configured accounts may read, before the first cycle
    demo             the bundled simulated world and the monitor on it
    daemon/          the cycle, scheduling, leader election, reloads, sharding
    web/             the HTTP server and who may ask
    render/ alerts/  every view of a snapshot; the Alertmanager push
    state/           the current snapshot, the state file, ignore rules
    rotation/        the trust-anchor rotation planner
    checks/ sources/ simulate/   pure checks; the I/O with BIG-IP and Kubernetes; the
                     simulated world
    config/ model/   the expected state; the observed state
    catalogue, requirements, certs/, policy/   check ids; what each check needs to read;
                     certificate parsing; Linkerd policy
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("f5-linkerd-monitor")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
