"""The optional direct push to Alertmanager.

Owns which alerts a snapshot makes and the memory between pushes (`plan`, pure), the
pushing itself with retries and totals (`push`) and how the push authenticates and checks
TLS (`auth`). May import `monitor.state`, `monitor.config`, `monitor.catalogue` and the
generic helpers of `monitor.sources` (`errors`, `http_errors`, `http`, `secrets`).
"""
