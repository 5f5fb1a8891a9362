"""Pods and ServiceAccounts of the simulated cluster, as the controllers leave them.

Owns the rendering of a Deployment's pods: named `<name>-<pod-template-hash>-<suffix>`
(the hash from the pod template, the suffix from the pod's immutable facts: IP, node
and frozen bundle, so a changed bundle is a new pod as after a restart), with the
ReplicaSet owner reference, API-server defaults, the service-account token volume,
Linkerd's injection when meshed (`inject`), and a status whose phase, conditions
and container statuses follow the scenario's readiness.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from monitor.simulate.kube.inject import Injection, apply_injection, injection
from monitor.simulate.kube.linkerd import LinkerdInstall
from monitor.simulate.kube.meta import (
    AppContainer,
    PodInput,
    Workload,
    generated_name,
    meta,
    safe_hash,
    timestamp,
    uid_for,
)

_MOUNTS = {
    "identity-issuer": "/var/run/linkerd/identity/issuer",
    "trust-roots": "/var/run/linkerd/identity/trust-roots/",
}


def _host_ip(node_name: str) -> str:
    m = re.fullmatch(r"node-(\d+)", node_name)
    if m and int(m.group(1)) < 240:
        return f"192.168.0.{10 + int(m.group(1))}"
    return f"192.168.1.{int(hashlib.sha256(node_name.encode()).hexdigest(), 16) % 250 + 2}"


def _container(c: AppContainer) -> dict[str, Any]:
    out: dict[str, Any] = {"name": c.name, "image": c.image, "imagePullPolicy": "IfNotPresent"}
    if c.args:
        out["args"] = list(c.args)
    if c.env:
        out["env"] = [{"name": name, "value": value} for name, value in c.env]
    if c.ports:
        out["ports"] = [
            {
                "containerPort": p.port,
                **({"name": p.name} if p.name else {}),
                "protocol": p.protocol,
            }
            for p in c.ports
        ]
    out.update(
        resources={},
        terminationMessagePath="/dev/termination-log",
        terminationMessagePolicy="File",
    )
    return out


@functools.lru_cache(maxsize=4096)
def _image_id(image: str) -> str:
    digest = hashlib.sha256(image.encode()).hexdigest()
    return f"{image.rpartition(':')[0]}@sha256:{digest}"


def _status(
    c: Mapping[str, Any], pod: PodInput, ready: bool, started: str, init: bool, pod_name: str
) -> dict[str, Any]:
    digest = hashlib.sha256(f"{pod_name}/{c['name']}/{started}".encode()).hexdigest()
    state: dict[str, Any]
    if pod.phase == "Pending":
        state = {"waiting": {"reason": "PodInitializing" if not init else "ContainerCreating"}}
    elif (init and c.get("restartPolicy") != "Always") or pod.phase in ("Succeeded", "Failed"):
        code = 1 if pod.phase == "Failed" and not init else 0
        state = {
            "terminated": {
                "exitCode": code,
                "reason": "Error" if code else "Completed",
                "startedAt": started,
                "finishedAt": started,
                "containerID": f"containerd://{digest}",
            }
        }
    else:
        state = {"running": {"startedAt": started}}
    out: dict[str, Any] = {
        "containerID": f"containerd://{digest}",
        "image": c["image"],
        "imageID": _image_id(c["image"]),
        "lastState": {},
        "name": c["name"],
        "ready": ready,
        "restartCount": 0,
        "started": "running" in state,
        "state": state,
    }
    if pod.phase == "Pending":
        del out["containerID"]
        out["imageID"] = ""
    return out


def render_pods(
    w: Workload, install: LinkerdInstall | None, now: datetime, k8s_minor: int
) -> list[dict[str, Any]]:
    template = [
        dict(w.labels),
        dict(w.annotations),
        w.service_account,
        w.meshed,
        w.native_sidecar,
        [(c.name, c.image, c.ports) for c in w.containers],
    ]
    pth = safe_hash(template, 10)
    rs_name = f"{w.name}-{pth}"
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": rs_name,
        "uid": uid_for(w.namespace, "ReplicaSet", rs_name),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    started = timestamp(now)
    injections: dict[str, Injection] = {}
    out = []
    taken: set[str] = set()  # names given to this ReplicaSet's pods
    for i, pod in enumerate(w.pods):
        bundle = ""
        if w.meshed and install is not None:
            bundle = install.bundle_text(pod.trust_anchors)
        identity = pod.ip if pod.ip is not None else f"#{i}"  # IPs are unique among live pods
        material: list[Any] = [w.namespace, w.name, identity, pod.node, bundle]
        name = generated_name(f"{rs_name}-", material)
        while name in taken:  # the API server refuses the name; the controller tries another
            material.append(len(taken))
            name = generated_name(f"{rs_name}-", material)
        taken.add(name)
        token_volume = f"kube-api-access-{safe_hash(name, 5)}"
        containers = [_container(c) for c in w.containers]
        for c in containers:
            c["volumeMounts"] = [
                {
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "name": token_volume,
                    "readOnly": True,
                }
            ]
        for volume in w.volumes:
            if volume["name"] in _MOUNTS:
                containers[0]["volumeMounts"].append(
                    {"mountPath": _MOUNTS[volume["name"]], "name": volume["name"]}
                )
        labels = {**w.labels, "pod-template-hash": pth}
        extra: dict[str, Any] = {"uid": uid_for(w.namespace, "Pod", name)}
        if pod.terminating:
            extra["deletionTimestamp"] = timestamp(now + timedelta(seconds=30))
            extra["deletionGracePeriodSeconds"] = 30
        extra["ownerReferences"] = [owner]
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta(
                name, w.namespace, labels, w.annotations, generateName=f"{rs_name}-", **extra
            ),
            "spec": {
                "containers": containers,
                "dnsPolicy": "ClusterFirst",
                "enableServiceLinks": True,
                "nodeName": pod.node,
                "preemptionPolicy": "PreemptLowerPriority",
                "priority": 0,
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "securityContext": {},
                "serviceAccount": w.service_account,
                "serviceAccountName": w.service_account,
                "terminationGracePeriodSeconds": 30,
                "tolerations": [
                    {
                        "effect": "NoExecute",
                        "key": f"node.kubernetes.io/{t}",
                        "operator": "Exists",
                        "tolerationSeconds": 300,
                    }
                    for t in ("not-ready", "unreachable")
                ],
                "volumes": [*w.volumes, _token_volume(token_volume)],
            },
        }
        if w.meshed and install is not None:
            if bundle not in injections:
                injections[bundle] = injection(install, w, bundle)
            apply_injection(obj, injections[bundle])
        obj["status"] = _pod_status(obj, pod, started, k8s_minor)
        out.append(obj)
    return out


def _token_volume(name: str) -> dict[str, Any]:
    sources = [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {
            "downwardAPI": {
                "items": [
                    {
                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        "path": "namespace",
                    }
                ]
            }
        },
    ]
    return {"name": name, "projected": {"defaultMode": 420, "sources": sources}}


def _pod_status(
    obj: Mapping[str, Any], pod: PodInput, started: str, k8s_minor: int
) -> dict[str, Any]:
    spec, name = obj["spec"], obj["metadata"]["name"]
    running = pod.phase == "Running"
    inits = spec.get("initContainers", [])
    init_status = [
        _status(c, pod, running and c.get("restartPolicy") == "Always", started, True, name)
        for c in inits
    ]
    app_names = [c["name"] for c in spec["containers"] if c["name"] != "linkerd-proxy"]
    statuses = [
        _status(
            c, pod, running and (pod.ready or c["name"] == "linkerd-proxy"), started, False, name
        )
        for c in spec["containers"]
    ]

    def cond(kind: str, ok: bool, reason: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lastProbeTime": None,
            "lastTransitionTime": started,
            "status": "True" if ok else "False",
            "type": kind,
        }
        if not ok and reason:
            out["reason"] = reason
            if reason == "ContainersNotReady":
                out["message"] = f"containers with unready status: [{' '.join(app_names)}]"
        return out

    ready = running and pod.ready
    conditions = [
        cond("Initialized", pod.phase != "Pending", "ContainersNotInitialized"),
        cond("Ready", ready, "PodCompleted" if pod.phase == "Succeeded" else "ContainersNotReady"),
        cond("ContainersReady", ready, "ContainersNotReady"),
        cond("PodScheduled", True),
    ]
    if k8s_minor >= 29:
        conditions.insert(0, cond("PodReadyToStartContainers", pod.phase != "Pending"))
    host = _host_ip(pod.node)
    status: dict[str, Any] = {
        "conditions": conditions,
        "containerStatuses": statuses,
        "hostIP": host,
        "hostIPs": [{"ip": host}],
    }
    if init_status:
        status["initContainerStatuses"] = init_status
    status["phase"] = pod.phase
    if pod.ip is not None:
        status["podIP"] = pod.ip
        status["podIPs"] = [{"ip": pod.ip}]
    status["qosClass"] = "BestEffort"
    status["startTime"] = started
    return status


def service_account(
    namespace: str, name: str, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name, namespace, labels)}
