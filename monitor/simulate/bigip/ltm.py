"""LTM objects of the simulated BIG-IP: SSL profiles, pools with members, virtual servers.

Field sets, key order, defaults and value types follow the captured responses
(shared/fixtures/f5): server-ssl as on 14.1.2.1 (string `tmOptions` default
`{ dont-insert-empty-fragments no-tlsv1.3 }`), client-ssl as on 13.0.0 (with
`certKeyChain`; the top-level `cert`/`key`/`chain` mirror its first entry), virtuals
as on 14.1.2.1 (`creationTime`/`lastModifiedTime`; `enabled: true` or `disabled: true`),
pools as on 11.5.4, members as captured plus `ephemeral` and `fqdn` (later versions).
Unset references are the string "none"; set ones get a `<field>Reference` link.

Subcollections are rendered as their own collections, keyed by REST path:
`ltm/pool/~P~p/members`, `ltm/virtual/~P~v/profiles`, `ltm/virtual/~P~v/policies`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor.simulate.bigip.builtins import CLIENT_PARENT, SERVER_PARENT
from monitor.simulate.bigip.links import (
    ObjPath,
    encode_path,
    header,
    iso_time,
    reference,
    sub_reference,
)
from monitor.simulate.bigip.spec import ConfigSpec, Pool, SslProfile, Virtual

SERVER_SSL = "ltm/profile/server-ssl"
CLIENT_SSL = "ltm/profile/client-ssl"
POOL = "ltm/pool"
VIRTUAL = "ltm/virtual"

_SERVER_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("alertTimeout", "indefinite"),
    ("allowExpiredCrl", "disabled"),
    ("appService", "none"),
    ("authenticate", "once"),
    ("authenticateDepth", 9),
    ("authenticateName", "none"),
    ("bypassOnClientCertFail", "disabled"),
    ("bypassOnHandshakeAlert", "disabled"),
    ("c3dCaCert", "none"),
    ("c3dCaKey", "none"),
    ("c3dCertExtensionCustomOids", []),
    (
        "c3dCertExtensionIncludes",
        ["basic-constraints", "extended-key-usage", "key-usage", "subject-alternative-name"],
    ),
    ("c3dCertLifespan", 24),
    ("caFile", "none"),
    ("cacheSize", 262144),
    ("cacheTimeout", 3600),
    ("cert", "none"),
    ("chain", "none"),
    ("cipherGroup", "none"),
    ("ciphers", "DEFAULT"),
    ("crl", "none"),
    ("crlFile", "none"),
    ("defaultsFrom", "/Common/serverssl"),
    ("description", "none"),
    ("expireCertResponseControl", "drop"),
    ("genericAlert", "enabled"),
    ("handshakeTimeout", "10"),
    ("key", "none"),
    ("maxActiveHandshakes", "indefinite"),
    ("modSslMethods", "disabled"),
    ("mode", "enabled"),
    ("ocsp", "none"),
    ("tmOptions", "{ dont-insert-empty-fragments no-tlsv1.3 }"),
    ("peerCertMode", "ignore"),
    ("proxySsl", "disabled"),
    ("proxySslPassthrough", "disabled"),
    ("renegotiatePeriod", "indefinite"),
    ("renegotiateSize", "indefinite"),
    ("renegotiation", "enabled"),
    ("retainCertificate", "true"),
    ("secureRenegotiation", "require-strict"),
    ("serverName", "none"),
    ("sessionMirroring", "disabled"),
    ("sessionTicket", "disabled"),
    ("sniDefault", "false"),
    ("sniRequire", "false"),
    ("sslC3d", "disabled"),
    ("sslForwardProxy", "disabled"),
    ("sslForwardProxyBypass", "disabled"),
    ("sslForwardProxyVerifiedHandshake", "disabled"),
    ("sslSignHash", "any"),
    ("strictResume", "disabled"),
    ("uncleanShutdown", "enabled"),
    ("untrustedCertResponseControl", "drop"),
)
_CLIENT_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("alertTimeout", "indefinite"),
    ("allowDynamicRecordSizing", "disabled"),
    ("allowExpiredCrl", "disabled"),
    ("allowNonSsl", "disabled"),
    ("appService", "none"),
    ("authenticate", "once"),
    ("authenticateDepth", 9),
    ("bypassOnClientCertFail", "disabled"),
    ("bypassOnHandshakeAlert", "disabled"),
    ("caFile", "none"),
    ("cacheSize", 262144),
    ("cacheTimeout", 3600),
    ("cert", "/Common/default.crt"),
    ("certExtensionIncludes", ["basic-constraints", "subject-alternative-name"]),
    ("certLifespan", 30),
    ("certLookupByIpaddrPort", "disabled"),
    ("chain", "none"),
    ("cipherGroup", "none"),
    ("ciphers", "DEFAULT"),
    ("clientCertCa", "none"),
    ("crlFile", "none"),
    ("defaultsFrom", "/Common/clientssl"),
    ("description", "none"),
    ("destinationIpBlacklist", "none"),
    ("destinationIpWhitelist", "none"),
    ("forwardProxyBypassDefaultAction", "intercept"),
    ("genericAlert", "enabled"),
    ("handshakeTimeout", "10"),
    ("hostnameBlacklist", "none"),
    ("hostnameWhitelist", "none"),
    ("inheritCertkeychain", "true"),
    ("key", "/Common/default.key"),
    ("maxActiveHandshakes", "indefinite"),
    ("maxAggregateRenegotiationPerMinute", "indefinite"),
    ("maxRenegotiationsPerMinute", 5),
    ("maximumRecordSize", 16384),
    ("modSslMethods", "disabled"),
    ("mode", "enabled"),
    ("notifyCertStatusToVirtualServer", "disabled"),
    ("ocspStapling", "disabled"),
    ("tmOptions", ["dont-insert-empty-fragments"]),
    ("peerCertMode", "ignore"),
    ("peerNoRenegotiateTimeout", "10"),
    ("proxyCaCert", "none"),
    ("proxyCaKey", "none"),
    ("proxySsl", "disabled"),
    ("proxySslPassthrough", "disabled"),
    ("renegotiateMaxRecordDelay", "indefinite"),
    ("renegotiatePeriod", "indefinite"),
    ("renegotiateSize", "indefinite"),
    ("renegotiation", "enabled"),
    ("retainCertificate", "true"),
    ("secureRenegotiation", "require"),
    ("serverName", "none"),
    ("sessionMirroring", "disabled"),
    ("sessionTicket", "disabled"),
    ("sessionTicketTimeout", 0),
    ("sniDefault", "false"),
    ("sniRequire", "false"),
    ("sourceIpBlacklist", "none"),
    ("sourceIpWhitelist", "none"),
    ("sslForwardProxy", "disabled"),
    ("sslForwardProxyBypass", "disabled"),
    ("sslSignHash", "any"),
    ("strictResume", "disabled"),
    ("uncleanShutdown", "enabled"),
)
# field → collection its value points at (a `<field>Reference` follows a set value)
_REFS = {
    "caFile": "sys/file/ssl-cert",
    "cert": "sys/file/ssl-cert",
    "chain": "sys/file/ssl-cert",
    "key": "sys/file/ssl-key",
}


def _fields(
    collection: str,
    base: dict[str, Any],
    defaults: tuple[tuple[str, Any], ...],
    values: dict[str, Any],
    version: str,
) -> dict[str, Any]:
    refs = {**_REFS, "defaultsFrom": collection}
    for key, default in defaults:
        value = values.get(key, default)
        base[key] = list(value) if isinstance(value, list) else value
        if key in refs and value != "none":
            base[f"{key}Reference"] = reference(f"{refs[key]}/{encode_path(value)}", version)
    return base


def render_server_ssl(p: SslProfile, version: str) -> dict[str, Any]:
    return _fields(
        SERVER_SSL, header(SERVER_SSL, p.path, version), _SERVER_DEFAULTS, dict(p.fields), version
    )


def render_client_ssl(p: SslProfile, version: str) -> dict[str, Any]:
    values = dict(p.fields)
    chains = [dict(c) for c in p.chains]
    if chains:
        first = chains[0]
        values.update(cert=first["cert"], key=first["key"], chain=first["chain"])
        values["inheritCertkeychain"] = "false"
    else:
        chains = [
            {
                "name": "default",
                "cert": "/Common/default.crt",
                "key": "/Common/default.key",
                "chain": "none",
            }
        ]
    out = _fields(
        CLIENT_SSL, header(CLIENT_SSL, p.path, version), _CLIENT_DEFAULTS, values, version
    )
    entries = []
    for c in chains:
        entry: dict[str, Any] = {"name": c["name"], "appService": "none", "cert": c["cert"]}
        entry["certReference"] = reference(f"sys/file/ssl-cert/{encode_path(c['cert'])}", version)
        entry["chain"] = c["chain"]
        if c["chain"] != "none":
            entry["chainReference"] = reference(
                f"sys/file/ssl-cert/{encode_path(c['chain'])}", version
            )
        entry["key"] = c["key"]
        entry["keyReference"] = reference(f"sys/file/ssl-key/{encode_path(c['key'])}", version)
        entries.append(entry)
    out["certKeyChain"] = entries
    return out


def render_pool(pool: Pool, version: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = header(POOL, pool.path, version)
    out.update(allowNat="yes", allowSnat="yes")
    if pool.description is not None:
        out["description"] = pool.description
    out.update(
        ignorePersistedWeight="disabled",
        ipTosToClient="pass-through",
        ipTosToServer="pass-through",
        linkQosToClient="pass-through",
        linkQosToServer="pass-through",
        loadBalancingMode=pool.load_balancing_mode,
        minActiveMembers=0,
        minUpMembers=0,
        minUpMembersAction="failover",
        minUpMembersChecking="disabled",
    )
    if pool.monitor is not None:
        out["monitor"] = pool.monitor
    out.update(
        queueDepthLimit=0,
        queueOnConnectionLimit="disabled",
        queueTimeLimit=0,
        reselectTries=0,
        serviceDownAction="none",
        slowRampTime=10,
    )
    members_path = f"{POOL}/{pool.path.encoded}/members"
    out["membersReference"] = sub_reference(members_path, version)
    members = []
    for m in pool.members:
        item = header(members_path, m.path, version)
        item.update(
            address=m.address,
            connectionLimit=0,
            dynamicRatio=1,
            ephemeral="false",
            fqdn={"autopopulate": "disabled"},
            inheritProfile="enabled",
            logging="disabled",
            monitor="default",
            priorityGroup=0,
            rateLimit="disabled",
            ratio=1,
            session=m.session,
            state=m.state,
        )
        members.append(item)
    return out, members


def render_virtual(
    v: Virtual, vs_index: int, version: str, created: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    out = header(VIRTUAL, v.path, version)
    out.update(addressStatus="yes", autoLasthop="default", cmpEnabled="yes", connectionLimit=0)
    out["creationTime"] = created
    if v.description is not None:
        out["description"] = v.description
    out["destination"] = v.destination
    out["enabled" if v.enabled else "disabled"] = True
    out.update(gtmScore=0, ipProtocol="tcp", lastModifiedTime=created)
    out["mask"] = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" if v.ipv6 else "255.255.255.255"
    out.update(mirror="disabled", mobileAppTunnel="disabled", nat64="disabled")
    if v.pool is not None:
        out["pool"] = v.pool
        out["poolReference"] = reference(f"{POOL}/{encode_path(v.pool)}", version)
    out.update(
        rateLimit="disabled",
        rateLimitDstMask=0,
        rateLimitMode="object",
        rateLimitSrcMask=0,
        serviceDownImmediateAction="none",
        source=f"{'::' if v.ipv6 else '0.0.0.0'}{v.route_domain}/0",
        sourceAddressTranslation={"type": v.snat},
        sourcePort="preserve",
        synCookieStatus="not-activated",
        translateAddress="enabled",
        translatePort="enabled",
        vlansDisabled=True,
        vsIndex=vs_index,
    )
    base = f"{VIRTUAL}/{v.path.encoded}"
    out["policiesReference"] = sub_reference(f"{base}/policies", version)
    out["profilesReference"] = sub_reference(f"{base}/profiles", version)
    profiles = []
    for p in v.profiles:
        item = header(f"{base}/profiles", p.path, version)
        item["context"] = p.context
        item["nameReference"] = reference(f"ltm/profile/{p.type}/{p.path.encoded}", version)
        profiles.append(item)
    return out, profiles


def render_ltm(spec: ConfigSpec, version: str, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Every LTM collection and subcollection of one device, keyed by REST path."""
    own = {p.path.full for p in (*spec.server_ssl, *spec.client_ssl)}
    parents = {"defaultsFrom": "none"}  # the built-in parents (builtins) inherit from nothing
    server = [
        p for p in (SslProfile(ObjPath.parse(SERVER_PARENT), parents),) if p.path.full not in own
    ]
    client = [
        p for p in (SslProfile(ObjPath.parse(CLIENT_PARENT), parents),) if p.path.full not in own
    ]
    out: dict[str, list[dict[str, Any]]] = {
        SERVER_SSL: [render_server_ssl(p, version) for p in (*spec.server_ssl, *server)],
        CLIENT_SSL: [render_client_ssl(p, version) for p in (*spec.client_ssl, *client)],
        POOL: [],
        VIRTUAL: [],
    }
    for pool in spec.pools:
        item, members = render_pool(pool, version)
        out[POOL].append(item)
        out[f"{POOL}/{pool.path.encoded}/members"] = members
    created = iso_time(now)
    for i, v in enumerate(spec.virtuals):
        item, profiles = render_virtual(v, i + 1, version, created)
        out[VIRTUAL].append(item)
        out[f"{VIRTUAL}/{v.path.encoded}/profiles"] = profiles
        out[f"{VIRTUAL}/{v.path.encoded}/policies"] = []
    return out
