"""Generic Kubernetes API access: the client, error reasons and the watch machinery.

Owns the API client built from a kubeconfig or the pod's service account (`client`), how a
failed read becomes a reason code naming the missing grant (`errors`), and collections kept
current by LIST then WATCH with bookmarks, relists on 410 and jittered reconnects
(`watch`, `collection`, `state`, `transport`, `spec`). Knows nothing of Linkerd: used by
`monitor.sources.mesh` and by leader election. May import `monitor.sources`,
`monitor.model` and `monitor.config`.
"""
