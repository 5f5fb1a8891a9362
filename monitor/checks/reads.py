"""What a boundary's checks read of the observed state, recorded so that it can be compared.

Owns the views the runner (`monitor.checks.runner`) gives the checks, and the record of
what they read through them:
- `Reads`: every lookup a group of checks made in a mapping of the observed state, as
  (mapping, key) → the value found (or `MISSING`), plus whole-mapping reads (its length,
  its keys);
- `view(observed, reads, mesh)`: an `Observed` whose mappings (`f5`, each device's
  collections, the mesh's `services` and `pods`, the identity providers' `idp`, and any
  other mapping field the model grows) record into `reads`; everything else is the
  observed value itself;
- `Inputs`: what every check may read without a record: the config, each source's
  status without its timings and counters (which no check reads: they are zero in the
  views), and the fields of the mesh and of `Observed` that are no mappings (`mesh_core`,
  `observed_core`). Of those,
  `MeshState.proxies` (the whole cluster's proxies) is shown to checks that run once per
  run only (`shared`): the others see None there;
- `Inputs.unchanged(reads)`: whether every recorded read finds the same value in this
  cycle's inputs (the same object, or an equal one), with the record refreshed to this
  cycle's values.
Checks are pure, so a group of checks that finds the same values where it looked, with the
same config, source statuses and mesh fields, concludes the same: that is what makes
reusing its outcomes exact. No I/O, no clock reads, no logging.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final, TypeVar

from monitor.config.schema import Config
from monitor.model import F5State, MeshState, Observed, SourceStatus


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Final = _Marker("MISSING")  # the key was not in the mapping
LENGTH: Final = _Marker("LENGTH")  # key of a read of the mapping's length
KEYS: Final = _Marker("KEYS")  # key of a read of the mapping's keys (iteration)
DEVICES: Final = "f5"  # the tag of `Observed.f5`
HIDDEN: Final = ("proxies",)  # mesh fields shown to the shared checks only

Tag = tuple[str, ...]  # which mapping: ("f5",), ("f5", device, field) or ("mesh", field)
Log = dict[Hashable, object]  # key (or LENGTH, KEYS) → the value read
Reads = dict[Tag, Log]
V = TypeVar("V")


def same(a: object, b: object) -> bool:
    """The same object, or equal values of one type (frozen dataclasses, tuples, str...)."""
    if a is b:
        return True
    return type(a) is type(b) and bool(a == b)


class _Recording(Mapping[str, V]):
    """A mapping of the observed state that records every read into its log: `_value`
    gives a key's value (or `MISSING`) and records it; the length and keys recorded here."""

    __slots__ = ("_data", "_log")
    _data: Mapping[str, Any]
    _log: Log

    @abstractmethod
    def _value(self, key: Hashable) -> object: ...

    def __getitem__(self, key: str) -> V:
        value = self._value(key)
        if value is MISSING:
            raise KeyError(key)
        return value  # type: ignore[return-value]

    def get(self, key: str, default: Any = None) -> Any:
        value = self._value(key)
        return default if value is MISSING else value

    def __contains__(self, key: object) -> bool:
        return self._value(key) is not MISSING

    def __len__(self) -> int:
        self._log.setdefault(LENGTH, len(self._data))
        return len(self._data)

    def __iter__(self) -> Iterator[str]:
        keys = tuple(self._data)
        self._log.setdefault(KEYS, keys)
        return iter(keys)


class _Watched(_Recording[V]):
    """A mapping of the observed state that records every read into `reads`."""

    __slots__ = ()

    def __init__(self, data: Mapping[str, V], reads: Reads, tag: Tag) -> None:
        self._data, self._log = data, reads.setdefault(tag, {})

    def _value(self, key: Hashable) -> object:
        value = self._data.get(key, MISSING)  # type: ignore[call-overload]
        self._log.setdefault(key, value)
        return value


class _Devices(_Recording[F5State]):
    """`Observed.f5` recording which devices were read (as their `f5_core`) and giving each
    device's state with recording collections."""

    __slots__ = ("_reads", "_views")

    def __init__(self, data: Mapping[str, F5State], reads: Reads) -> None:
        self._data, self._reads, self._log = data, reads, reads.setdefault((DEVICES,), {})
        self._views: dict[Hashable, F5State] = {}

    def _value(self, key: Hashable) -> object:
        state: F5State | None = self._data.get(key)  # type: ignore[call-overload]
        if key not in self._log:
            self._log[key] = MISSING if state is None else f5_core(state)
        if state is None:
            return MISSING
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = _watch_fields(state, self._reads, (DEVICES, str(key)))
        return view


_D = TypeVar("_D", F5State, MeshState)


def _watch_fields(state: _D, reads: Reads, tag: Tag, skip: tuple[str, ...] = ()) -> _D:
    """`state` with each mapping field recording into `reads` (tag: `tag` + field name)."""
    watched: dict[str, Any] = {
        f.name: _Watched(value, reads, (*tag, f.name))
        for f in fields(state)
        if f.name not in skip and isinstance(value := getattr(state, f.name), Mapping)
    }
    return replace(state, **watched)


def f5_core(state: F5State) -> tuple[object, ...]:
    """The fields of a device's state that are no mappings (read without a record)."""
    return tuple(
        value for f in fields(state) if not isinstance(value := getattr(state, f.name), Mapping)
    )


def mesh_core(mesh: MeshState, shared: bool) -> tuple[object, ...]:
    """The fields of the mesh that are no mappings, `HIDDEN` ones for `shared` checks only."""
    return tuple(
        value
        for f in fields(mesh)
        if not isinstance(value := getattr(mesh, f.name), Mapping)
        and (shared or f.name not in HIDDEN)
    )


_OWN: Final = ("f5", "mesh", "sources")  # the fields of `Observed` the views make themselves


def _others(observed: Observed) -> list[tuple[str, object]]:
    """The other fields of `Observed` (e.g. `idp`), by name."""
    return [(f.name, getattr(observed, f.name)) for f in fields(observed) if f.name not in _OWN]


def observed_core(observed: Observed) -> tuple[object, ...]:
    """The other fields of `Observed` that are no mappings (read without a record)."""
    return tuple(value for _, value in _others(observed) if not isinstance(value, Mapping))


def _quiet(source: SourceStatus) -> SourceStatus:
    """A source's status as the checks see it: without its duration and request counts."""
    if source.duration_seconds == 0.0 and not source.requests:
        return source
    return replace(source, duration_seconds=0.0, requests={})


@dataclass
class Inputs:
    """One cycle's inputs as the checks see them, and what was read of them (module doc)."""

    cfg: Config
    observed: Observed
    sources: tuple[SourceStatus, ...] = ()
    _mesh: dict[bool, MeshState] = field(default_factory=dict)
    _plain: dict[bool, Observed] = field(default_factory=dict)
    _compared: dict[tuple[int, int], bool] = field(default_factory=dict)
    _cores: dict[Hashable, object] = field(default_factory=dict)

    @staticmethod
    def of(cfg: Config, observed: Observed) -> Inputs:
        return Inputs(cfg, observed, tuple(_quiet(s) for s in observed.sources))

    def mesh(self, shared: bool) -> MeshState:
        """The mesh as a group of checks sees it: `HIDDEN` fields None unless `shared`."""
        if shared not in self._mesh:
            mesh = self.observed.mesh
            hidden: dict[str, Any] = {
                name: None
                for name in HIDDEN
                if not shared and not isinstance(getattr(mesh, name, None), Mapping)
            }
            self._mesh[shared] = replace(mesh, **hidden) if hidden else mesh
        return self._mesh[shared]

    def view(self, reads: Reads | None, shared: bool) -> Observed:
        """The observed state for a group of checks; recording into `reads` unless None."""
        mesh = self.mesh(shared)
        if reads is None:
            if shared not in self._plain:
                self._plain[shared] = replace(self.observed, mesh=mesh, sources=self.sources)
            return self._plain[shared]
        watched: dict[str, Any] = {
            name: _Watched(value, reads, ("observed", name))
            for name, value in _others(self.observed)
            if isinstance(value, Mapping)
        }
        return replace(
            self.observed,
            f5=_Devices(self.observed.f5, reads),
            mesh=_watch_fields(mesh, reads, ("mesh",)),
            sources=self.sources,
            **watched,
        )

    def _core(self, device: Hashable) -> object:
        if device not in self._cores:
            state = self.observed.f5.get(device)  # type: ignore[call-overload]
            self._cores[device] = MISSING if state is None else f5_core(state)
        return self._cores[device]

    def _mapping(self, tag: Tag) -> Mapping[Any, Any]:
        if tag[0] == "mesh":
            found = getattr(self.observed.mesh, tag[1], None)
        elif tag[0] == "observed":
            found = getattr(self.observed, tag[1], None)
        else:
            state = self.observed.f5.get(tag[1])
            found = getattr(state, tag[2], None) if state is not None else None
        return found if isinstance(found, Mapping) else {}

    def unchanged(self, reads: Reads) -> Reads | None:
        """`reads` with this cycle's values when every read finds the same value (an
        object read is kept when it is the very same); else None."""
        fresh: Reads = {}
        for tag, log in reads.items():
            if not log:
                kept: Log | None = log
            elif tag == (DEVICES,):
                kept = self._unchanged(self.observed.f5, log, self._core)
            else:
                kept = self._unchanged_in(self._mapping(tag), log)
            if kept is None:
                return None
            fresh[tag] = kept
        return fresh

    def _unchanged(
        self, mapping: Mapping[Any, Any], log: Log, value: Callable[[Hashable], object]
    ) -> Log | None:
        fresh: Log = {}
        for key, before in log.items():
            if key is LENGTH:
                now: object = len(mapping)
            elif key is KEYS:
                now = tuple(mapping)
            else:
                now = value(key)
            if not self._same(before, now):
                return None
            fresh[key] = now
        return fresh

    def _same(self, before: object, now: object) -> bool:
        """`same`, each pair of objects compared once per run (an object several boundaries
        read, such as a shared CA bundle, is compared once)."""
        if before is now:
            return True
        pair = (id(before), id(now))  # both alive for the run: ids are not reused
        found = self._compared.get(pair)
        if found is None:
            found = self._compared[pair] = same(before, now)
        return found

    def _unchanged_in(self, mapping: Mapping[Any, Any], log: Log) -> Log | None:
        """As `_unchanged` for the reads of one mapping; the usual case (every value the
        very same object) without a copy."""
        get = mapping.get
        for key, before in log.items():
            if key is LENGTH or key is KEYS or get(key, MISSING) is not before:
                return self._unchanged(mapping, log, lambda k: get(k, MISSING))
        return log
