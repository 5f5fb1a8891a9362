"""f5-linkerd-monitor: watches the trust boundary between F5 BIG-IP and a Linkerd mesh."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("f5-linkerd-monitor")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
