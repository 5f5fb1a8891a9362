"""The sources: the only code that talks to BIG-IP and Kubernetes.

Each source turns what one remote API says into the I/O-free model (`monitor.model`)
plus `SourceError`s with fixed reason codes; remote faults never raise out of `poll()`.
- `monitor.sources.f5.source`: `F5Source`, one BIG-IP device over iControl REST, built from
  `f5_client` (HTTP, credentials, token auth, the request bound), `f5_paging` (paged
  collection reads), `f5_errors` (HTTP failures → reason codes and messages),
  `f5_parse` (pure JSON → model) and `f5_bundles` (what each CA bundle holds).
- `monitor.sources.mesh.source`: the Kubernetes / Linkerd side (`mesh_*` modules).
"""
