"""The mesh source: what the Kubernetes API says about Linkerd and the backends.

Owns `MeshSource` (`source`), what it watches for the configured boundaries (`specs`,
`discovery`), the pure building of one poll's `MeshState` from the watched collections
(`build`, `workloads`), and the parsing of Linkerd's and cert-manager's objects (`parse`,
`certmanager`, and `certrequest`: the issued issuer certificate a CertificateRequest
holds). May import `monitor.sources.kube`, `monitor.sources`, `monitor.policy`,
`monitor.model`, `monitor.config` and `monitor.certs`.
"""
