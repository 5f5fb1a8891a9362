"""The `apps/v1` Deployments and ReplicaSets that the simulated pods' ownerReferences name.

Derived from the rendered pods, as the controllers would have left them: pods owned by a
ReplicaSet `<deployment>-<pod-template-hash>` make that ReplicaSet (selector and labels
the pods' labels, `replicas` their count, ready/available the pods whose `Ready` condition
is True, owned by the Deployment) and its Deployment (selector without the
`pod-template-hash`, the `deployment.kubernetes.io/revision: "1"` annotation, status
counts as the ReplicaSet's). Shapes: Kubernetes API reference, Deployment and ReplicaSet v1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from monitor.simulate.kube.meta import meta, uid_for

_HASH = "pod-template-hash"


def _ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _template(pod: Mapping[str, Any], keep_hash: bool) -> dict[str, Any]:
    pod_meta = pod["metadata"]
    labels = {k: v for k, v in (pod_meta.get("labels") or {}).items() if keep_hash or k != _HASH}
    spec = {k: v for k, v in pod["spec"].items() if k not in ("nodeName",)}
    template_meta: dict[str, Any] = {"labels": labels}
    if pod_meta.get("annotations"):
        template_meta["annotations"] = dict(pod_meta["annotations"])
    return {"metadata": template_meta, "spec": spec}


def _status(pods: list[Mapping[str, Any]]) -> dict[str, Any]:
    ready = sum(1 for p in pods if _ready(p))
    return {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
            "observedGeneration": 1}  # fmt: skip


def app_objects(pods: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    owners: dict[tuple[str, str], Mapping[str, Any]] = {}
    for pod in pods:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("apiVersion") == "apps/v1" and ref.get("kind") == "ReplicaSet":
                key = (str(pod["metadata"]["namespace"]), str(ref["name"]))
                groups.setdefault(key, []).append(pod)
                owners[key] = ref
    out: list[dict[str, Any]] = []
    for (ns, rs_name), members in sorted(groups.items()):
        first = members[0]
        pth = (first["metadata"].get("labels") or {}).get(_HASH, "")
        deploy = rs_name[: -len(pth) - 1] if pth and rs_name.endswith(f"-{pth}") else rs_name
        deploy_uid = uid_for(ns, "Deployment", deploy)
        labels = dict(first["metadata"].get("labels") or {})
        base_labels = {k: v for k, v in labels.items() if k != _HASH}
        revision = {"deployment.kubernetes.io/revision": "1"}
        deploy_ref = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": deploy,
            "uid": deploy_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }
        status = _status(members)
        out.append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta(rs_name, ns, labels, revision, uid=owners[(ns, rs_name)]["uid"],
                             generation=1, ownerReferences=[deploy_ref]),
            "spec": {"replicas": len(members), "selector": {"matchLabels": labels},
                     "template": _template(first, keep_hash=True)},
            "status": {**status, "fullyLabeledReplicas": len(members)},
        })  # fmt: skip
        out.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta(deploy, ns, base_labels, revision, uid=deploy_uid, generation=1),
            "spec": {"replicas": len(members), "selector": {"matchLabels": base_labels},
                     "template": _template(first, keep_hash=False),
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": {**status, "updatedReplicas": len(members),
                       "unavailableReplicas": len(members) - status["readyReplicas"]},
        })  # fmt: skip
    return out
