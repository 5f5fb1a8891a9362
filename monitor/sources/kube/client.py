"""The Kubernetes API client, for the mesh source and leader election.

Owns `build_api_client`: a kubeconfig file and context (the files it names checked first,
`monitor.config.kubeconfig`), or the in-cluster config; the
client's own urllib3 retries disabled (the watch layer reconnects with its own jittered
backoff, so one failure is one error), and a connection pool large enough for every watch
the mesh source keeps open at once (each open WATCH holds a connection for minutes; a pool
smaller than that makes urllib3 discard and reopen connections) plus the LISTs and
discovery GETs beside them. Failures are `SourceFailure`s with a fixed reason code.
"""

from __future__ import annotations

from kubernetes import client, config

from monitor.config.files import CONFIG_LIMIT, FileTooLarge
from monitor.config.kubeconfig import check_referenced
from monitor.config.schema import MeshConfig
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.errors import client_error

DEFAULT_POOL_SIZE = 16


def build_api_client(mesh: MeshConfig, pool_size: int = DEFAULT_POOL_SIZE) -> client.ApiClient:
    """An `ApiClient` for `mesh.kubeconfig` (+ context), or in-cluster when it is None, with
    `pool_size` connections per host.

    Raises `SourceFailure` (credentials_unreadable / connect_error) instead of the client
    library's exceptions; the kubeconfig is never written back (`persist_config=False`).
    """
    configuration = client.Configuration()
    try:
        if mesh.kubeconfig is None:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        else:
            if not mesh.kubeconfig.is_file():
                raise FileNotFoundError(str(mesh.kubeconfig))
            if mesh.kubeconfig.stat().st_size > CONFIG_LIMIT:  # the client reads it whole
                raise FileTooLarge(mesh.kubeconfig, CONFIG_LIMIT)
            check_referenced(mesh.kubeconfig, mesh.context)  # the client reads them unbounded
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(mesh.kubeconfig),
                context=mesh.context,
                client_configuration=configuration,
                persist_config=False,
            )
    except Exception as err:  # ConfigException, OSError, YAMLError, exec plugin failures
        raise SourceFailure(client_error(err, mesh.kubeconfig, mesh.context)) from None
    configuration.retries = False  # no urllib3 retries: one failure is one error, quickly
    configuration.connection_pool_maxsize = max(1, pool_size)
    return client.ApiClient(configuration)
