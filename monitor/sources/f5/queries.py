"""The query options each BIG-IP collection is read with, and the collections a poll reads."""

from __future__ import annotations

from typing import Final

from monitor.requirements import (
    CA_BUNDLES,
    CLIENT_SSL,
    DEVICES,
    POOLS,
    SERVER_SSL,
    SSL_CERTS,
    VIRTUALS,
)
from monitor.sources.f5.apm import APM_SELECT

__all__ = ["COLLECTIONS", "options"]

COLLECTIONS: Final = (VIRTUALS, POOLS, SERVER_SSL, CLIENT_SSL, SSL_CERTS, CA_BUNDLES)

# Query options per collection. Virtuals and pools are read with their subcollections
# expanded (per page) and without $select: whether BIG-IP keeps an expanded subcollection
# under $select is unverified, and a dropped one would look like "no members". ssl-certs
# select `subjectAlternativeName`, which certificates without the extension (and TMOS
# before 14.1) do not have: a $select naming an absent field is taken to leave it out, as
# it does for `subPath` (UNVERIFIED on a pre-14.1 device).
_SELECT: Final = {
    SERVER_SSL: (
        "fullPath,name,partition,subPath,selfLink,caFile,peerCertMode,serverName,"
        "authenticateName,expireCertResponseControl,untrustedCertResponseControl,"
        "tmOptions,cert,key,chain,sniDefault"
    ),
    CLIENT_SSL: "fullPath,name,partition,subPath,selfLink,certKeyChain,serverName,sniDefault",
    SSL_CERTS: "fullPath,name,partition,subPath,selfLink,isBundle,fingerprint,expirationDate,"
    "subject,issuer,subjectAlternativeName,checksum",
    CA_BUNDLES: "fullPath,name,partition,subPath,selfLink,includeBundle",
    DEVICES: "name,fullPath,selfLink,hostname,failoverState,version,managementIp,selfDevice",
    **APM_SELECT,
}
_EXPAND: Final = frozenset({VIRTUALS, POOLS})


def options(collection: str) -> list[tuple[str, str]]:
    """The query options (besides $filter/$top) a collection is read with."""
    if collection in _EXPAND:
        return [("expandSubcollections", "true")]
    return [("$select", _SELECT[collection])] if collection in _SELECT else []
