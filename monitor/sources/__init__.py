"""The sources: the only code that talks to BIG-IP and Kubernetes.

Each source turns what one remote API says into the I/O-free model (`monitor.model`)
plus `SourceError`s with fixed reason codes; remote faults never raise out of `poll()`.
- `f5/`: `F5Source` (`monitor.sources.f5.source`), one BIG-IP device over iControl REST:
  HTTP, credentials, token auth and the request bound, paged collection reads, pure JSON →
  model parsing, what each CA bundle holds and the certificate files read through
  util/bash.
- `kube/`: generic Kubernetes API access, for the mesh source and leader election: the API
  client, failures → reason codes, and collections kept current by LIST then WATCH.
- `mesh/`: `MeshSource` (`monitor.sources.mesh.source`), the Kubernetes / Linkerd side:
  what it watches for the configured boundaries, and the `MeshState` built from that.
- `http/`: what the httpx clients share (BIG-IP, identity providers, the Alertmanager
  push): the per-request deadline and bounded body read, the environment's proxies.
- `errors.py`: what every source shares about failure (`SourceFailure`, the reason code of
  an HTTP status); `http_errors.py`: a failed httpx exchange (BIG-IP, the Alertmanager
  push) → reason code and message, secrets scrubbed; `secrets.py`: passwords and tokens
  read fresh from files or environment variables.
May import `monitor.model`, `monitor.config`, `monitor.certs` and `monitor.policy`; never
`monitor.checks`, `monitor.state`, `monitor.render` or `monitor.daemon`.
"""
