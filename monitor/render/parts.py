"""Documents assembled from parts, each part rendered and compressed once while its inputs last.

Owns how a served document is built: `Document.of(parts)` joins `Part`s into the text and,
from each part's own deflate blocks, a gzip copy (RFC 1952) of the same bytes, so that a
part reused from the last cycle is neither rendered nor compressed again; and the memories
that make reuse possible:
- `Last`: the value made for the last key (`==`), made again only when the key differs;
- `LastBy`: the same per name (a boundary, a device), forgetting names no longer asked for;
- `Same` / `inputs(snapshot)`: a key of objects compared by identity (the sources hand
  back the very objects of the last cycle for what did not change).
A part's deflate blocks come from a compressor of its own, flushed to a byte boundary
(`Z_SYNC_FLUSH`, never final): blocks of consecutive parts form one valid deflate stream,
which a final empty block ends. Keys are values (frozen dataclasses, tuples, bytes): a
memory never changes what is rendered, only whether it is rendered again. Thread-safe:
an entry is replaced whole; two renders at once may both make the same value.
"""

from __future__ import annotations

import struct
import threading
import weakref
import zlib
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

if TYPE_CHECKING:
    from monitor.state.snapshot import Snapshot

LEVEL: Final = 6  # zlib's default: most of the gain of 9 at a fraction of its time
_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no mtime, OS unknown
_LAST_BLOCK: Final = zlib.compressobj(LEVEL, zlib.DEFLATED, -15).flush()  # empty, final

K = TypeVar("K")
V = TypeVar("V")


class Part:
    """Some bytes of a document and, made on first use, their deflate blocks."""

    __slots__ = ("_deflated", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._deflated: bytes | None = None

    def deflated(self) -> bytes:
        """Raw deflate blocks of `text`, not final, ending on a byte boundary."""
        if self._deflated is None:
            squeeze = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
            self._deflated = squeeze.compress(self.text) + squeeze.flush(zlib.Z_SYNC_FLUSH)
        return self._deflated


class Document:
    """A served document: its parts' bytes one after the other (never joined but on
    request: a part reused from the last cycle is held once), and their gzip copy made
    from the parts' blocks."""

    __slots__ = ("_gzip", "_parts", "size")

    def __init__(self, parts: tuple[Part, ...]) -> None:
        self._parts = parts
        self.size = sum(len(p.text) for p in parts)
        self._gzip: bytes | None = None

    @staticmethod
    def of(parts: Iterable[Part]) -> Document:
        return Document(tuple(parts))

    @staticmethod
    def plain(text: bytes) -> Document:
        return Document((Part(text),))

    @property
    def text(self) -> bytes:
        """The whole document, joined (a copy: servers write `chunks`)."""
        return b"".join(p.text for p in self._parts)

    def chunks(self) -> tuple[bytes, ...]:
        """The document's bytes, part by part."""
        return tuple(p.text for p in self._parts if p.text)

    def gzip(self) -> bytes:
        """`text` gzip-compressed (made once)."""
        if self._gzip is None:
            crc = 0
            for part in self._parts:
                crc = zlib.crc32(part.text, crc)
            trailer = struct.pack("<II", crc, self.size & 0xFFFFFFFF)
            blocks = b"".join(p.deflated() for p in self._parts)
            self._gzip = _HEADER + blocks + _LAST_BLOCK + trailer
        return self._gzip


class Same:
    """A key equal to another only when their items are the very same objects (the inputs
    a view derives from, unchanged when a source hands back what it handed last time)."""

    __slots__ = ("items",)

    def __init__(self, *items: object) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Same)
            and len(self.items) == len(other.items)
            and all(a is b for a, b in zip(self.items, other.items, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]


def inputs(snapshot: Snapshot) -> Same:
    """What a snapshot's certificate rows and store derive from: the config, the mesh and
    every device's state as read this cycle and as last read completely."""
    f5, known = snapshot.observed.f5, snapshot.known_f5
    return Same(
        snapshot.config,
        snapshot.observed.mesh,
        snapshot.known_mesh,
        snapshot.taken_at.tzinfo,
        *(item for name in sorted({*f5, *known}) for item in (name, f5.get(name), known.get(name))),
    )


_MEMORIES: weakref.WeakSet[Last[Any, Any] | LastBy[Any, Any]] = weakref.WeakSet()


def forget() -> None:
    """Every memory starts afresh (what is rendered next is made anew)."""
    for memory in list(_MEMORIES):
        memory.forget()


class Last(Generic[K, V]):
    """The value made for the last key; made again only when the key differs."""

    __slots__ = ("__weakref__", "_entry")

    def __init__(self) -> None:
        self._entry: tuple[K, V] | None = None
        _MEMORIES.add(self)

    def forget(self) -> None:
        self._entry = None

    def get(self, key: K, make: Callable[[], V]) -> V:
        entry = self._entry
        if entry is not None and (entry[0] is key or entry[0] == key):
            return entry[1]
        value = make()
        self._entry = (key, value)
        return value


class LastBy(Generic[K, V]):
    """`Last` per name; `keep` forgets the names not in the current set."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[K, V]] = {}
        self._lock = threading.Lock()
        _MEMORIES.add(self)

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, name: Hashable, key: K, make: Callable[[], V]) -> V:
        entry = self._entries.get(name)
        if entry is not None and (entry[0] is key or entry[0] == key):
            return entry[1]
        value = make()
        with self._lock:
            self._entries[name] = (key, value)
        return value

    def keep(self, names: Iterable[Hashable]) -> None:
        wanted = set(names)
        with self._lock:
            for name in [n for n in self._entries if n not in wanted]:
                del self._entries[name]
