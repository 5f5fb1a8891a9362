"""The simulated Kubernetes API server with a Linkerd install on it.

Owns the `kubernetes:` section of a scenario (`model`, `workloads`, `linkerd`,
`releases`), the objects a real cluster would hold (`pods`, `services`, `inject`,
`controlplane`, `meta`), the API semantics: a versioned store, selectors, LIST, WATCH
and discovery (`store`, `select`, `api`, `status`, `watch`, `resources`), and the HTTPS server
(`server`). May import `monitor.simulate`'s shared modules only.
"""
