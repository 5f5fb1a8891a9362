"""HTTP plumbing shared by the sources that speak HTTP through httpx (BIG-IP, OIDC) and
the Alertmanager push.

Owns the per-request deadline and the bounded body read (`transport`), and the clients
that use them, direct or through the environment's proxy (`proxy`). Imports nothing of
the monitor: only httpx, httpcore and the standard library.
"""
