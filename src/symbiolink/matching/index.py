"""Incremental matching: a registry's matches kept current as streams and companies change.

:class:`LiveIndex` is built once from a registry (its parks, companies and streams) and then
takes edits: a stream or company added, changed or removed (:meth:`LiveIndex.apply`). Each edit
re-matches only the supplies whose ranking it can change and answers which streams' matches
changed, so a platform stores and shows them without matching the registry again. The matches are
those a full run of :meth:`Matcher.match` and :meth:`Matcher.match_demands` gives on the edited
registry (``tests/test_live_matching.py`` checks this on random sequences of edits).

What the matches of a supply depend on (``docs/matching.md``, "Candidates"): every company of its
supplier's park with its demands; from other parks, the nearest :data:`CROSS_PARK_NEAREST`
companies of each of its profile's groups (the sectors the knowledge names, the classes of the
resource demanded or taken by a named process) within the kind's reach; and the set of sector
codes of the whole registry (which sectors are ranked). So an edit of company ``c`` (or of one of
its demands) re-matches:

* the supplies of ``c``'s park (before and after the edit);
* the supplies that have ``c`` among their nearest companies of another park;
* the supplies of other parks for which ``c`` (as it is now) is at least as near as the last of
  their nearest in a group ``c`` belongs to, found in a grid of the supplies by group and place;
* where the registry's set of sector codes changed (the first or last company of a sector), the
  supplies whose resource has knowledge about that sector (found by resource, not by stream).

An edit of a supply re-matches that supply only. The work is bounded by the park and the grid
cells within the kind's reach that the edit touches, not by the registry. A supply is re-matched
on a registry made of what it can depend on (its park, the nearest companies it may have, with
their demands), with the sector codes of the whole registry: the same arithmetic as the full run.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from symbiolink.knowledge.classes import ClassHit
from symbiolink.matching.engine import (
    CROSS_PARK_NEAREST,
    FUEL_WORDS,
    DemandMatch,
    Match,
    Matcher,
    _cells_within,
    _collector_paused,
    _Context,
)
from symbiolink.matching.rules import haversine_many
from symbiolink.model.park import FORMAT, Company, Park, ParkFile, Stream
from symbiolink.text import content_tokens

#: A group of companies of other parks a supply looks at: ("sector", ISIC), ("class", class id)
#: of a posted demand, ("takes", class id) by a process the company's name names.
Group = tuple[str, str]
#: Distances are compared with this margin (km), so that rounding never leaves a supply out.
_MARGIN = 1e-6


@dataclass
class _Supply:
    """What the index keeps of one supply: where it looks and what it found."""

    park: str
    here: tuple[float, float] | None
    reach: float
    groups: tuple[Group, ...]
    kth: dict[Group, float]
    """Per group: the distance of the last of the nearest companies (inf with fewer)."""
    near: frozenset[str]
    """The companies of other parks that may be among its nearest (of any group)."""
    profile: tuple[Any, ...]
    keys: frozenset[tuple[str, str]]
    """What a demand must share with it to fit at all (:meth:`LiveIndex._supply_keys`)."""
    matches: list[Match]
    demands: dict[str, float]
    """Demand id -> score: the candidates whose best fitting demand it is (match_demands)."""


@dataclass
class Changes:
    """What an edit changed: the streams whose matches were worked out again or removed."""

    supplies: set[str] = field(default_factory=set)
    """Supplies matched again (their receivers may be the same as before)."""
    demands: set[str] = field(default_factory=set)
    """Demands whose ranked suppliers changed (or whose suppliers were matched again)."""
    removed: set[str] = field(default_factory=set)
    """Streams that no longer exist (their matches are gone)."""

    @property
    def streams(self) -> set[str]:
        return self.supplies | self.demands | self.removed


class LiveIndex:
    """A registry's matches (``top`` per supply and per demand), kept current under edits.

    Examples
    --------
    >>> from symbiolink.model.park import ParkFile
    >>> park = ParkFile.model_validate({"format": "symbiolink-park/1",
    ...     "parks": [{"id": "p", "name": "P", "lat": 20.9, "lon": 106.6}],
    ...     "companies": [{"id": "steel", "name": "Steel mill", "park": "p", "isic": "2410"},
    ...                   {"id": "cement", "name": "Cement plant", "park": "p", "isic": "2394"}],
    ...     "streams": [{"id": "slag", "company": "steel", "direction": "supply",
    ...                  "kind": "material", "name": "EAF slag", "ewc": "100202"}]})
    >>> index = LiveIndex(park)
    >>> [m.receiver for m in index.matches_of("slag")]
    ['cement']
    >>> demand = Stream(id="cem-in", company="cement", direction="demand", kind="material",
    ...                 name="Slag for blended cement")
    >>> changes = index.apply(streams=[demand])
    >>> sorted(changes.supplies), sorted(changes.demands)
    (['slag'], ['cem-in'])
    >>> index.matches_of("slag")[0].demand, index.demand_matches_of("cem-in")[0].supply
    ('cem-in', 'slag')
    """

    def __init__(
        self,
        registry: ParkFile,
        *,
        matcher: Matcher | None = None,
        top: int = 5,
        min_score: float = 0.05,
    ) -> None:
        self.matcher = matcher if matcher is not None else Matcher()
        self.top, self.min_score = top, min_score
        self.parks: dict[str, Park] = {p.id: p for p in registry.parks}
        self.companies: dict[str, Company] = {}
        self.streams: dict[str, Stream] = {}
        self._park_companies: dict[str, dict[str, None]] = defaultdict(dict)
        self._company_streams: dict[str, dict[str, None]] = defaultdict(dict)
        self._loc: dict[str, tuple[float, float] | None] = {}
        self._sector: dict[str, str | None] = {}
        self._sector_count: Counter[str] = Counter()
        self._grid: dict[tuple[int, int, str], set[str]] = defaultdict(set)
        self._demand_classes: dict[str, Counter[str]] = defaultdict(Counter)
        self._process_companies: dict[str, set[str]] = defaultdict(set)
        self._membership: dict[str, tuple[Any, ...]] = {}
        self._hits: dict[tuple[str, str, str | None], list[ClassHit]] = {}
        self._text_tokens: dict[str, frozenset[str]] = {}
        self._company_tokens: dict[str, frozenset[str]] = {}
        self._company_processes: dict[str, Any] = {}
        self._taken: dict[str, frozenset[str]] = defaultdict(frozenset)
        for cid, takers in self.matcher.takers.items():
            for pid in takers:
                self._taken[pid] = self._taken[pid] | {cid}
        self._supplies: dict[str, _Supply] = {}
        self._near_of: dict[str, set[str]] = defaultdict(set)
        self._watch: dict[Group, dict[float, dict[tuple[int, int], set[str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(set))
        )
        self._by_profile: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        self._park_keys: dict[str, dict[tuple[str, str], set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._profile_args: dict[
            tuple[Any, ...], tuple[list[ClassHit], str | None, frozenset[str], str | None]
        ] = {}
        self._demand_entries: dict[str, dict[str, float]] = defaultdict(dict)
        self._demand_top: dict[str, list[DemandMatch]] = {}
        #: The order of companies and of streams (an edit keeps a place, an addition comes last).
        self._cseq: dict[str, int] = {}
        self._sseq: dict[str, int] = {}
        self._next = 0
        for c in registry.companies:
            self._put_company(c)
        for s in registry.streams:
            self._put_stream(s)
        for cid in self.companies:
            self._index_company(cid)
        self.sectors = frozenset(self._sector_count)
        supplies = [s.id for s in registry.streams if s.direction == "supply"]
        demands = {s.id for s in registry.streams if s.direction == "demand"}
        with _collector_paused():
            whole = self._context(registry, None)
            touched = self._rematch(supplies, whole=whole)
            self._refresh_demands(touched | demands, set(), set(), every=True, whole=whole)

    # -- answers -----------------------------------------------------------------------------

    def matches_of(self, stream_id: str) -> list[Match]:
        """The ranked receivers of a supply ([] for a demand or an unknown id)."""
        state = self._supplies.get(stream_id)
        return list(state.matches) if state is not None else []

    def demand_matches_of(self, demand_id: str) -> list[DemandMatch]:
        """The ranked supplies that could meet a demand."""
        return list(self._demand_top.get(demand_id, []))

    def all_matches(self) -> list[Match]:
        """Every supply's matches, in the order of the registry's streams."""
        return [m for sid in self.streams if sid in self._supplies for m in self.matches_of(sid)]

    def all_demand_matches(self) -> list[DemandMatch]:
        return [m for sid in self.streams for m in self._demand_top.get(sid, [])]

    def registry(self) -> ParkFile:
        """The registry as it stands now (the order a full run reads it in)."""
        return ParkFile.model_construct(
            format=FORMAT,
            parks=list(self.parks.values()),
            companies=list(self.companies.values()),
            streams=list(self.streams.values()),
        )

    # -- edits -------------------------------------------------------------------------------

    def apply(
        self,
        *,
        parks: Iterable[Park] = (),
        companies: Iterable[Company] = (),
        streams: Iterable[Stream] = (),
        removed_streams: Iterable[str] = (),
        removed_companies: Iterable[str] = (),
    ) -> Changes:
        """Add or replace parks, companies and streams, remove streams and companies (with their
        streams), and match again what that can change. A stream's company and a company's park
        must be in the index (or among the edit's); an unknown id to remove is ignored."""
        parks, companies, streams = list(parks), list(companies), list(streams)
        known_parks = set(self.parks) | {p.id for p in parks}
        known_companies = set(self.companies) | {c.id for c in companies}
        gone_companies = {cid for cid in removed_companies if cid in self.companies}
        for c in companies:
            if c.park not in known_parks:
                raise KeyError(f"company {c.id!r}: no park {c.park!r} in the index")
        for s in streams:
            if s.company not in known_companies or s.company in gone_companies:
                raise KeyError(f"stream {s.id!r}: no company {s.company!r} in the index")
        dirty: set[str] = set()  # companies whose place, words or sector change (or gone)
        demanding: dict[str, list[Stream]] = defaultdict(list)  # only demands change: before, after
        supplies: set[str] = set()  # supplies to match again
        gone: set[str] = set()  # streams that no longer exist
        forget: set[str] = set()  # supplies that are no longer supplies
        homes: set[str] = set()  # parks whose supplies all match again
        for p in parks:
            old = self.parks.get(p.id)
            if old is None or (old.lat, old.lon) != (p.lat, p.lon):
                dirty |= set(self._park_companies.get(p.id, ()))
        for cid in gone_companies:
            gone |= set(self._company_streams.get(cid, ()))
            dirty.add(cid)
        dirty |= {c.id for c in companies}
        gone |= {sid for sid in removed_streams if sid in self.streams}
        gone -= {s.id for s in streams}
        for sid in gone:
            forget.add(sid)
            if self.streams[sid].direction == "demand":
                demanding[self.streams[sid].company].append(self.streams[sid])
        for s in streams:
            old_s = self.streams.get(s.id)
            for x in (old_s, s):
                if x is not None and x.direction == "demand":
                    demanding[x.company].append(x)
            if s.direction == "supply":
                supplies.add(s.id)
            elif old_s is not None and old_s.direction == "supply":
                forget.add(s.id)
        # A company whose demands only change concerns the supplies those demands may fit.
        keys = {
            cid: frozenset(k for d in ds for k in self._demand_keys(d))
            for cid, ds in demanding.items()
            if cid not in dirty and cid in self.companies
        }
        # What the dirty companies were: their park, and who had them among their nearest.
        affected: set[str] = set()
        for cid in dirty | set(keys):
            if cid in self.companies:
                near = self._near_of.get(cid, set())
                if cid in keys:
                    near = {sid for sid in near if self._supplies[sid].keys & keys[cid]}
                    near |= self._keyed(self.companies[cid].park, keys[cid])
                    near = self._fitting(near, demanding[cid])
                else:
                    homes.add(self.companies[cid].park)
                affected |= near
                self._unindex_company(cid)
        # Apply the edit.
        touched_demands: set[str] = set()
        for sid in gone:
            if self.streams[sid].direction == "demand":
                touched_demands.add(sid)
            self._drop_stream(sid)
        for cid in gone_companies:
            self._drop_company(cid)
        for p in parks:
            self.parks[p.id] = p
        for c in companies:
            self._put_company(c)
        for s in streams:
            self._put_stream(s)
            if s.direction == "demand":
                touched_demands.add(s.id)
        for cid in dirty | set(keys):
            if cid in self.companies:
                self._loc.pop(cid, None)
                self._index_company(cid)
                if cid in keys:
                    classes = {
                        ("class", h.class_id)
                        for d in demanding[cid]
                        if d.id in self.streams
                        for h in self.hits(self.streams[d.id])
                    }
                    affected |= self._watchers(cid, classes)
                else:
                    homes.add(self.companies[cid].park)
                    affected |= self._watchers(cid)
        sectors = frozenset(self._sector_count)
        resectored = sectors != self.sectors
        if resectored:
            affected |= self._knowing(sectors ^ self.sectors)
            self.sectors = sectors
            self._prune_route_cache()
        for park_id in homes:
            for cid in self._park_companies.get(park_id, ()):
                affected |= {
                    sid
                    for sid in self._company_streams.get(cid, ())
                    if self.streams[sid].direction == "supply"
                }
        affected = (affected | supplies) - gone
        affected = {sid for sid in affected if self.streams[sid].direction == "supply"}
        before: dict[str, list[Match]] = {}
        for sid in forget | affected:
            state = self._forget_supply(sid)
            if state is not None:
                touched_demands |= set(state.demands)
                before[sid] = state.matches
        with _collector_paused():
            ordered = sorted(affected, key=self._sseq.__getitem__)
            touched_demands |= self._rematch(ordered)
            changed = {sid for sid in affected if before.get(sid) != self._supplies[sid].matches}
            changes = Changes(supplies=changed, removed=gone)
            # Explanations of a demand's suppliers change with the supply, its company, the
            # demand's company (or the demand), or the registry's sectors.
            fresh = supplies | {sid for sid in affected if self.streams[sid].company in dirty}
            fresh_demands = {d.id for ds in demanding.values() for d in ds}
            fresh_demands |= {
                did
                for did in touched_demands
                if did in self.streams and self.streams[did].company in dirty
            }
            changes.demands = self._refresh_demands(
                touched_demands - gone, fresh, fresh_demands, every=resectored
            )
        for sid in gone:
            self._demand_top.pop(sid, None)
            self._demand_entries.pop(sid, None)
        for sid in forget - gone:  # a supply become a demand: its receivers are gone
            changes.demands.add(sid)
        return changes

    def remove_stream(self, stream_id: str) -> Changes:
        return self.apply(removed_streams=[stream_id])

    def put_stream(self, stream: Stream) -> Changes:
        return self.apply(streams=[stream])

    # -- the registry's data -----------------------------------------------------------------

    def _put_company(self, c: Company) -> None:
        old = self.companies.get(c.id)
        if old is not None and old.park != c.park:
            self._park_companies[old.park].pop(c.id, None)
        self.companies[c.id] = c
        if c.id not in self._cseq:
            self._cseq[c.id] = self._next = self._next + 1
        self._park_companies[c.park][c.id] = None
        self._company_streams.setdefault(c.id, {})
        self._loc.pop(c.id, None)
        self._company_tokens.pop(c.id, None)
        self._company_processes.pop(c.id, None)
        self._sector[c.id] = c.sector_isic()

    def _drop_company(self, cid: str) -> None:
        c = self.companies.pop(cid)
        self._cseq.pop(cid, None)
        self._park_companies[c.park].pop(cid, None)
        self._company_streams.pop(cid, None)
        self._loc.pop(cid, None)
        self._company_tokens.pop(cid, None)
        self._company_processes.pop(cid, None)
        self._sector.pop(cid, None)

    def _put_stream(self, s: Stream) -> None:
        old = self.streams.get(s.id)
        if old is not None and old.company != s.company:
            self._company_streams[old.company].pop(s.id, None)
        self.streams[s.id] = s
        if s.id not in self._sseq:
            self._sseq[s.id] = self._next = self._next + 1
        self._company_streams[s.company][s.id] = None

    def _drop_stream(self, sid: str) -> None:
        s = self.streams.pop(sid)
        self._sseq.pop(sid, None)
        self._company_streams.get(s.company, {}).pop(sid, None)

    def _location(self, cid: str) -> tuple[float, float] | None:
        if cid not in self._loc:
            c = self.companies[cid]
            park = self.parks.get(c.park)
            if c.lat is not None and c.lon is not None:
                self._loc[cid] = (c.lat, c.lon)
            elif park is not None and park.lat is not None and park.lon is not None:
                self._loc[cid] = (park.lat, park.lon)
            else:
                self._loc[cid] = None
        return self._loc[cid]

    def hits(self, s: Stream) -> list[ClassHit]:
        key = (s.name, s.description or "", s.ewc)
        found = self._hits.get(key)
        if found is None:
            found = self._hits[key] = self.matcher.classifier.classify(
                name=s.name, description=s.description or "", ewc=s.ewc, kind=None
            )
        return found

    def _tokens(self, s: Stream) -> frozenset[str]:
        return frozenset(content_tokens(f"{s.name} {s.description or ''}"))

    def _supply_keys(self, s: Stream) -> frozenset[tuple[str, str]]:
        """A demand fits a supply at all (:meth:`_Context.demand_fit`) only if it shares one of
        these: a class, a family, a word, or it asks for fuel and the supply is a known fuel (the
        keys :meth:`_Context.fitting_demands` looks demands up by)."""
        classes = self.matcher.classifier.classes
        hits = self.hits(s)
        keys = {("class", h.class_id) for h in hits}
        keys |= {("family", classes[h.class_id].family) for h in hits}
        keys |= {("token", x) for x in self._tokens(s)}
        if s.kind == "material" and any(h.class_id in self.matcher.fuel_classes for h in hits):
            keys.add(("fuel", ""))
        return frozenset(keys)

    def _demand_keys(self, d: Stream) -> frozenset[tuple[str, str]]:
        """The keys of :meth:`_supply_keys` a demand has (as :meth:`_Context._index_demands`)."""
        classes = self.matcher.classifier.classes
        hits = self.hits(d)
        keys = {("class", h.class_id) for h in hits}
        keys |= {("family", classes[h.class_id].family) for h in hits}
        toks = self._tokens(d)
        keys |= {("token", x) for x in toks}
        if d.kind == "energy" and toks & FUEL_WORDS:
            keys.add(("fuel", ""))
        return frozenset(keys)

    def _fitting(self, supplies: set[str], demands: list[Stream]) -> set[str]:
        """Those of ``supplies`` that one of ``demands`` fits at all (:meth:`_Context.demand_fit`
        above 0): a demand that fits none leaves their matches as they are."""
        by_park: dict[str, list[str]] = defaultdict(list)
        for sid in supplies:
            by_park[self._supplies[sid].park].append(sid)
        found: set[str] = set()
        for park_id, sids in by_park.items():
            probe = self._context(self._sub_registry(park_id, set(), sids), self.sectors)
            for sid in sids:
                s = self.streams[sid]
                profile = probe.profile(s, self.companies[s.company])
                if any(probe.demand_fit(profile, d)[0] > 0 for d in demands):
                    found.add(sid)
        return found

    def _keyed(self, park: str, keys: frozenset[tuple[str, str]]) -> set[str]:
        """The supplies of a park that a demand with these keys may fit."""
        index = self._park_keys.get(park, {})
        return {sid for key in keys for sid in index.get(key, ())}

    def _index_company(self, cid: str) -> None:
        """Put a company in the groups it belongs to (as :meth:`_Context._index` does)."""
        c = self.companies[cid]
        sector = self._sector[cid]
        loc = self._location(cid)
        cell = (math.floor(loc[0]), math.floor(loc[1]), sector or "") if loc else None
        if cell is not None:
            self._grid[cell].add(cid)
        classes: Counter[str] = Counter()
        for sid in self._company_streams.get(cid, ()):
            s = self.streams[sid]
            if s.direction == "demand":
                for h in self.hits(s):
                    classes[h.class_id] += 1
        for k, n in classes.items():
            self._demand_classes[k][cid] += n
        processes = tuple(p.id for p in self.matcher.process_index.named(c.name))
        for pid in processes:
            self._process_companies[pid].add(cid)
        if sector:
            self._sector_count[sector] += 1
        self._membership[cid] = (cell, classes, processes, sector)

    def _unindex_company(self, cid: str) -> None:
        cell, classes, processes, sector = self._membership.pop(cid)
        if cell is not None:
            self._grid[cell].discard(cid)
        for k, n in classes.items():
            self._demand_classes[k][cid] -= n
            if self._demand_classes[k][cid] <= 0:
                del self._demand_classes[k][cid]
        for pid in processes:
            self._process_companies[pid].discard(cid)
        if sector:
            self._sector_count[sector] -= 1
            if self._sector_count[sector] <= 0:
                del self._sector_count[sector]

    def _groups_of(self, cid: str) -> list[Group]:
        """The groups of other parks' supplies that a company is a member of."""
        _cell, classes, processes, sector = self._membership[cid]
        groups: list[Group] = [("sector", sector)] if sector else []
        groups += [("class", k) for k in classes]
        groups += [("takes", k) for k in sorted({k for pid in processes for k in self._taken[pid]})]
        return groups

    # -- nearest companies of other parks ----------------------------------------------------

    def _members(self, here: tuple[float, float], reach: float, group: Group) -> Iterable[str]:
        if group[0] == "sector":
            i0, j0, dlat, dlon = _cells_within(here, reach)
            return [
                cid
                for i in range(i0 - dlat, i0 + dlat + 1)
                for j in range(j0 - dlon, j0 + dlon + 1)
                for cid in self._grid.get((i, j, group[1]), ())
            ]
        if group[0] == "takes":
            return {
                cid
                for pid in self.matcher.takers.get(group[1], ())
                for cid in self._process_companies.get(pid, ())
            }
        return self._demand_classes.get(group[1], {}).keys()

    def _nearest(
        self, here: tuple[float, float], park: str, reach: float, group: Group
    ) -> tuple[list[str], float]:
        """The companies of other parks that may be among the nearest of ``group`` (the nearest
        :data:`CROSS_PARK_NEAREST`, with those as near as the last), and the last one's distance
        (inf with fewer within reach)."""
        ids = [
            cid
            for cid in self._members(here, reach, group)
            if self.companies[cid].park != park and self._location(cid) is not None
        ]
        if not ids:
            return [], math.inf
        d = haversine_many(here, np.array([self._location(cid) for cid in ids], dtype=float))
        pairs = sorted((x, cid) for x, cid in zip(d.tolist(), ids, strict=True) if x <= reach)
        distinct: list[tuple[float, str]] = []
        for x, cid in pairs:
            if not distinct or distinct[-1][1] != cid:
                distinct.append((x, cid))
        if len(distinct) < CROSS_PARK_NEAREST:
            return [cid for _, cid in distinct], math.inf
        kth = distinct[CROSS_PARK_NEAREST - 1][0]
        return [cid for x, cid in distinct if x <= kth + _MARGIN], kth

    def _watchers(self, cid: str, only: set[Group] | None = None) -> set[str]:
        """Supplies of other parks for which the company (as it is now) may be among the
        nearest of a group it belongs to (of ``only`` those)."""
        here = self._location(cid)
        if here is None:
            return set()
        park = self.companies[cid].park
        cell = (math.floor(here[0]), math.floor(here[1]))
        found: set[str] = set()
        for group in self._groups_of(cid):
            if only is not None and group not in only:
                continue
            for reach, grid in self._watch.get(group, {}).items():
                dlat = math.ceil(reach / 111.0) + 1
                lat_far = min(89.0, max(abs(here[0]) + dlat, 0.0))
                dlon = math.ceil(reach / max(1.0, 111.0 * math.cos(math.radians(lat_far)))) + 1
                near: list[str] = []
                for i in range(cell[0] - dlat, cell[0] + dlat + 1):
                    for j in range(cell[1] - dlon, cell[1] + dlon + 1):
                        near.extend(grid.get((i, j), ()))
                for sid in near:
                    state = self._supplies[sid]
                    if state.park == park or state.here is None:
                        continue
                    if group[0] == "sector":
                        i0, j0, di, dj = _cells_within(state.here, reach)
                        if abs(cell[0] - i0) > di or abs(cell[1] - j0) > dj:
                            continue
                    d = float(haversine_many(state.here, np.array([here]))[0])
                    if d <= reach and d <= state.kth[group] + _MARGIN:
                        found.add(sid)
        return found

    def _knowing(self, sectors: frozenset[str]) -> set[str]:
        """Supplies whose resource has knowledge about one of ``sectors`` (checked once per
        resource profile)."""
        found: set[str] = set()
        for key, sids in self._by_profile.items():
            hits, ewc, toks, donor = self._profile_args[key]
            if sids and self.matcher.sector_evidence(hits, ewc, toks, donor, sectors):
                found |= sids
        return found

    def _prune_route_cache(self) -> None:
        """Drop the matcher's knowledge worked out for sector sets the registry no longer has."""
        cache = self.matcher._route_cache
        for key in [k for k in cache if k[0] != "words" and k[-1] != self.sectors]:
            del cache[key]

    # -- matching ----------------------------------------------------------------------------

    def _context(self, registry: ParkFile, sectors: frozenset[str] | None) -> _Context:
        """A matching context on ``registry`` that shares the index's look-ups which depend on
        a stream's or company's own words only (classes, words, named processes)."""
        ctx = _Context(registry, self.matcher, sectors=sectors)
        ctx._hits = self._hits
        ctx._tokens = self._text_tokens
        ctx._company_tokens = self._company_tokens
        ctx._processes = self._company_processes
        return ctx

    def _forget_supply(self, sid: str) -> _Supply | None:
        state = self._supplies.pop(sid, None)
        if state is None:
            return None
        for cid in state.near:
            self._near_of[cid].discard(sid)
        if state.here is not None:
            cell = (math.floor(state.here[0]), math.floor(state.here[1]))
            for g in state.groups:
                self._watch[g][state.reach][cell].discard(sid)
        self._by_profile[state.profile].discard(sid)
        for key in state.keys:
            self._park_keys[state.park][key].discard(sid)
        for did in state.demands:
            self._demand_entries[did].pop(sid, None)
        return state

    def _sub_registry(self, park_id: str, extra: set[str], supplies: list[str]) -> ParkFile:
        """The companies of a park and ``extra`` companies, with their demands, and
        ``supplies``: what the matches of those supplies depend on."""
        home = list(self._park_companies.get(park_id, ()))
        chosen = set(home) | extra
        companies = [self.companies[cid] for cid in sorted(chosen, key=self._cseq.__getitem__)]
        parks = {c.park for c in companies} | {park_id}
        wanted = {
            sid
            for cid in chosen
            for sid in self._company_streams.get(cid, ())
            if self.streams[sid].direction == "demand"
        } | set(supplies)
        streams = [self.streams[sid] for sid in sorted(wanted, key=self._sseq.__getitem__)]
        return ParkFile.model_construct(
            format=FORMAT,
            parks=[p for pid, p in self.parks.items() if pid in parks],
            companies=companies,
            streams=streams,
        )

    def _rematch(self, supplies: list[str], whole: _Context | None = None) -> set[str]:
        """Match ``supplies`` (ids, in registry order) and keep what they found; returns the
        demands they now rank. ``whole``: a context of the whole registry (the first build)."""
        by_park: dict[str, list[str]] = defaultdict(list)
        for sid in supplies:
            by_park[self.companies[self.streams[sid].company].park].append(sid)
        touched: set[str] = set()
        for park_id, sids in by_park.items():
            streams = [self.streams[sid] for sid in sids]
            probe = whole or self._context(self._sub_registry(park_id, set(), sids), self.sectors)
            states: dict[str, _Supply] = {}
            nearest: dict[tuple[str, float, Group], tuple[list[str], float]] = {}
            extra: set[str] = set()
            for s in streams:
                supplier = self.companies[s.company]
                profile = probe.profile(s, supplier)
                here = self._location(supplier.id)
                groups = tuple(profile.groups) if here is not None else ()
                kth: dict[Group, float] = {}
                near: set[str] = set()
                for g in groups:
                    key = (supplier.id, profile.reach, g)
                    if key not in nearest:
                        assert here is not None
                        nearest[key] = self._nearest(here, park_id, profile.reach, g)
                    ids, kth[g] = nearest[key]
                    near.update(ids)
                extra |= near
                hits = probe.hits(s)
                pkey = (
                    tuple((h.class_id, h.confidence) for h in hits),
                    probe.ewc(s),
                    probe.tokens(s),
                    probe.sector(supplier),
                    s.kind,
                )
                self._profile_args.setdefault(pkey, (hits, pkey[1], pkey[2], pkey[3]))
                states[s.id] = _Supply(
                    park_id, here, profile.reach, groups, kth, frozenset(near), pkey,
                    self._supply_keys(s), [], {},
                )  # fmt: skip
            ctx = whole or self._context(self._sub_registry(park_id, extra, sids), self.sectors)
            for batch in ctx.batches(streams):
                chunk = [streams[i] for i in batch]
                found: list[list[tuple[float, str, str]]] = []
                candidates = self.matcher._candidates_batch(
                    ctx, chunk, top=self.top, demands_found=found
                )
                for s, cands, entries in zip(chunk, candidates, found, strict=True):
                    state = states[s.id]
                    state.matches += self.matcher.ranked(
                        ctx, s, cands, top=self.top, min_score=self.min_score
                    )
                    state.demands = {
                        did: score for score, did, _ in entries if score >= self.min_score
                    }
            for sid, state in states.items():
                self._supplies[sid] = state
                for cid in state.near:
                    self._near_of[cid].add(sid)
                if state.here is not None:
                    cell = (math.floor(state.here[0]), math.floor(state.here[1]))
                    for g in state.groups:
                        self._watch[g][state.reach][cell].add(sid)
                self._by_profile[state.profile].add(sid)
                for fit_key in state.keys:
                    self._park_keys[state.park][fit_key].add(sid)
                for did, score in state.demands.items():
                    self._demand_entries[did][sid] = score
                touched |= set(state.demands)
        return touched

    def _refresh_demands(
        self,
        demands: set[str],
        fresh: set[str],
        fresh_demands: set[str],
        *,
        every: bool = False,
        whole: _Context | None = None,
    ) -> set[str]:
        """Rank the suppliers of ``demands`` again (as :meth:`Matcher.match_demands`); a pair
        is explained again where the supply is in ``fresh``, the demand in ``fresh_demands``
        (they or their companies changed), with ``every``, or where it is new in the ranking.
        Returns the demands whose ranking or explanations changed."""
        changed: set[str] = set()
        wanted: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
        ranked: dict[str, list[tuple[str, float]]] = {}
        explained: dict[tuple[str, str], DemandMatch] = {}
        for did in demands:
            if did not in self.streams:
                continue
            entries = self._demand_entries.get(did, {})
            best = sorted(entries.items(), key=lambda x: (-x[1], x[0]))[: self.top]
            old = {m.supply: m for m in self._demand_top.get(did, [])}
            again = every or did in fresh_demands
            if [(m.supply, m.score) for m in old.values()] == best and not (
                again or any(sid in fresh for sid, _ in best)
            ):
                continue
            changed.add(did)
            ranked[did] = best
            for sid, score in best:
                kept = old.get(sid)
                if again or sid in fresh or kept is None or kept.score != score:
                    wanted[sid].append((did, self.streams[did].company, score))
                else:
                    explained[(did, sid)] = kept
        if whole is not None:
            self._explain(whole, wanted, explained)
        else:
            by_park: dict[str, list[str]] = defaultdict(list)
            for sid in wanted:
                by_park[self.companies[self.streams[sid].company].park].append(sid)
            for park_id, sids in by_park.items():
                extra = {cid for sid in sids for _, cid, _ in wanted[sid]}
                ctx = self._context(self._sub_registry(park_id, extra, sids), self.sectors)
                self._explain(ctx, {sid: wanted[sid] for sid in sids}, explained)
        for did, best in ranked.items():
            new = [
                DemandMatch(did, sid, m.supplier, rank, score, m.reasons, m.sources, m.distance_km)
                for rank, (sid, score) in enumerate(best, start=1)
                if (m := explained[(did, sid)]) is not None
            ]
            if new == self._demand_top.get(did, []):
                changed.discard(did)
            if new:
                self._demand_top[did] = new
            else:
                self._demand_top.pop(did, None)
        return changed

    def _explain(
        self,
        ctx: _Context,
        wanted: dict[str, list[tuple[str, str, float]]],
        out: dict[tuple[str, str], DemandMatch],
    ) -> None:
        for sid, pairs in wanted.items():
            s = self.streams[sid]
            found = self.matcher.candidates_for(ctx, s, {cid for _, cid, _ in pairs})
            for did, cid, score in pairs:
                cand = found[cid]
                sc = self.matcher.explain(ctx, s, cand)
                out[(did, sid)] = DemandMatch(
                    did, sid, s.company, 0, score, sc.reasons, sc.sources, cand.distance
                )
