"""The names of the Linkerd objects and fields the mesh source reads (research/linkerd.md
§1–2), in one place for `specs` (what is watched) and `records` (what is kept of it)."""

from __future__ import annotations

TRUST_ROOTS = "linkerd-identity-trust-roots"
TRUST_ROOTS_KEY = "ca-bundle.crt"
LINKERD_CONFIG = "linkerd-config"
ISSUER = "linkerd-identity-issuer"
CONTROL_PLANE = "linkerd.io/control-plane-component"
PROXY = "linkerd-proxy"
INIT = "linkerd-init"
ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"
POLICY_GROUP = "policy.linkerd.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"  # the Gateway API routes policy may target
CERT_MANAGER_GROUP = "cert-manager.io"
