"""Linkerd's inbound authorization policy as data, and who it lets in.

Owns the I/O-free policy model (`model`: Server, AuthorizationPolicy, MeshTLSAuthentication,
NetworkAuthentication, ServerAuthorization, `PodInfo` and its owner labels), the parsing of
Kubernetes JSON into it (`parse`), what comes from pods and settings rather than policy
objects (`pods`: default policies, skipped and opaque ports; `ports`: the port lists of
pod annotations) and the pure decision `authorize(identity | network, pod, port)`
(`authorize`). Used by the mesh source, the
checks and the rotation planner. Imports nothing else of the monitor; pure throughout.
"""
