"""An independent Python model of what kpid must compute, written from the contract only.

Nothing here reads kpid's source or output: calendar windows come from `zoneinfo`, labels from
`json.dumps`, filters are hand-written Python predicates that mirror the TOML filter strings of
each test, and lateness is replayed event by event in arrival order.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

# Sentinel of a filter that compared a number literal with a string field.
WRONG = object()
# Sentinel of an absent field (distinct from JSON null, which is None).
ABSENT = object()


# ---------------------------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------------------------

def dt_to_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def ms_to_utc(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def ms_to_local(ms: int, tz: ZoneInfo) -> datetime:
    return ms_to_utc(ms).astimezone(tz)


def rfc3339_utc(ms: int) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` (window bounds are whole seconds)."""
    assert ms % 1000 == 0, ms
    return ms_to_utc(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: str) -> int:
    return dt_to_ms(datetime.fromisoformat(s.replace("Z", "+00:00")))


def format_ts(ms: int, style: str, tz: ZoneInfo | None = None) -> Any:
    """An event `ts` in one of several accepted spellings."""
    if style == "epoch":
        return ms
    d = ms_to_utc(ms) if tz is None else ms_to_local(ms, tz)
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        base += ".%03d" % (ms % 1000)
    off = d.utcoffset()
    if off == timedelta(0) and tz is None:
        return base + "Z"
    total = int(off.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return base + "%s%02d:%02d" % (sign, total // 60, total % 60)


@lru_cache(maxsize=None)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=None)
def local_day_start(zone: str, d: date) -> int:
    """First instant (epoch ms) whose local calendar date in `zone` is `d`."""
    tz = _zone(zone)
    found = []
    for fold in (0, 1):
        c = dt_to_ms(datetime(d.year, d.month, d.day, tzinfo=tz, fold=fold))
        if ms_to_local(c, tz).date() == d and ms_to_local(c - 1, tz).date() != d:
            found.append(c)
    if not found:  # pragma: no cover - only for zones with unusual midnight transitions
        # Scan the surrounding 48 hours minute by minute.
        probe = dt_to_ms(datetime(d.year, d.month, d.day, tzinfo=timezone.utc)) - DAY_MS
        for i in range(0, 3 * 24 * 60):
            c = probe + i * MINUTE_MS
            if ms_to_local(c, tz).date() == d:
                found.append(c)
                break
    assert found, (zone, d)
    return min(found)


def _first_with_offset(lo: int, hi: int, tz: ZoneInfo, off: timedelta) -> int:
    """Smallest t in (lo, hi] whose UTC offset is `off`, given offset(lo) != off == offset(hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ms_to_local(mid, tz).utcoffset() == off:
            hi = mid
        else:
            lo = mid
    return hi


def _last_with_offset(lo: int, hi: int, tz: ZoneInfo, off: timedelta) -> int:
    """Smallest t in (lo, hi] whose UTC offset differs from `off`, given offset(lo) == off != offset(hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ms_to_local(mid, tz).utcoffset() == off:
            lo = mid
        else:
            hi = mid
    return hi


def window(ms: int, period: str, zone: str) -> tuple[int, int]:
    """The calendar window [start, end) (epoch ms) of `period` containing instant `ms` in `zone`."""
    tz = _zone(zone)
    loc = ms_to_local(ms, tz)
    if period in ("minute", "hour"):
        # A local clock minute/hour at one UTC offset; the repeated hour of a fall-back is two
        # windows because the offset differs.
        off = loc.utcoffset()
        sub = loc.second * 1000 + loc.microsecond // 1000
        if period == "hour":
            sub += loc.minute * MINUTE_MS
        size = MINUTE_MS if period == "minute" else HOUR_MS
        start = ms - sub
        if ms_to_local(start, tz).utcoffset() != off:
            start = _first_with_offset(start, ms, tz, off)
        end = ms - sub + size
        if ms_to_local(end - 1, tz).utcoffset() != off:
            end = _last_with_offset(ms, end - 1, tz, off)
        return start, end
    d = loc.date()
    if period == "day":
        return local_day_start(zone, d), local_day_start(zone, d + timedelta(days=1))
    if period == "week":
        monday = d - timedelta(days=d.weekday())
        return local_day_start(zone, monday), local_day_start(zone, monday + timedelta(days=7))
    if period == "month":
        first = d.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return local_day_start(zone, first), local_day_start(zone, nxt)
    raise ValueError(period)


# ---------------------------------------------------------------------------------------------
# Labels and filters
# ---------------------------------------------------------------------------------------------

def label_text(v: Any) -> str | None:
    if v is ABSENT or v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        f = float(v)
        if f.is_integer():
            return str(int(f))
        return repr(f)
    assert isinstance(v, str), v
    return v


def canonical_labels(d: dict[str, Any]) -> str:
    return json.dumps({k: label_text(v) for k, v in d.items()}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)


def get(e: dict, f: str) -> Any:
    return e.get(f, ABSENT)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_OPS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def cmp_num(e: dict, f: str, op: str, lit: float) -> Any:
    """`f OP number`: false when absent/null (true for !=), WRONG when the field is a string."""
    v = get(e, f)
    if v is ABSENT or v is None:
        return op == "!="
    if isinstance(v, str):
        return WRONG
    assert _is_num(v), (f, v)
    return _OPS[op](v, lit)


def cmp_str(e: dict, f: str, op: str, lit: str) -> bool:
    """`f OP "string"` on a field that the tests only ever make a string, absent or null."""
    v = get(e, f)
    if v is ABSENT or v is None:
        return op == "!="
    assert isinstance(v, str), (f, v)
    return _OPS[op](v, lit)


def in_list(e: dict, f: str, items: list) -> Any:
    v = get(e, f)
    if v is ABSENT or v is None:
        return False
    if isinstance(v, str) and any(_is_num(i) for i in items):
        return WRONG
    assert all(type(i) is type(items[0]) for i in items)
    return any(v == i for i in items)


def prefix(e: dict, f: str, p: str) -> bool:
    v = get(e, f)
    if v is ABSENT or v is None:
        return False
    assert isinstance(v, str), (f, v)
    return v.startswith(p)


def exists(e: dict, f: str) -> bool:
    return get(e, f) is not ABSENT


def pure(x: Any) -> bool:
    """For compound filters: the tests build them so that no operand can be WRONG."""
    assert x is not WRONG, "test data must not make a compound filter compare mismatched types"
    return x


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------

@dataclass
class Metric:
    name: str
    events: list[str]
    aggregate: str                 # count | sum(f) | min(f) | max(f) | avg(f) | distinct(f)
    windows: list[str]
    group_by: list[str] = field(default_factory=list)
    time_zone: str | None = None
    filter: str | None = None      # the TOML text, given to kpid
    predicate: Callable[[dict], Any] | None = None   # the same filter, in Python

    @property
    def func(self) -> str:
        return self.aggregate.split("(")[0]

    @property
    def arg(self) -> str | None:
        if "(" not in self.aggregate:
            return None
        return self.aggregate[self.aggregate.index("(") + 1:-1]

    def toml(self) -> dict:
        out: dict[str, Any] = {"name": self.name, "events": self.events}
        if self.filter is not None:
            out["filter"] = self.filter
        out["aggregate"] = self.aggregate
        if self.group_by:
            out["group_by"] = self.group_by
        out["windows"] = self.windows
        if self.time_zone is not None:
            out["time_zone"] = self.time_zone
        return out


@dataclass
class Cell:
    end: int
    samples: int = 0
    total: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    seen: set = field(default_factory=set)


def _distinct_key(v: Any) -> tuple:
    if isinstance(v, bool):
        return ("b", v)
    if _is_num(v):
        return ("n", float(v))
    return ("s", v)


@dataclass
class Replica:
    metrics: list[Metric]
    default_zone: str
    allowed_lateness_ms: int
    cells: dict = field(default_factory=dict)
    late: dict = field(default_factory=dict)            # metric -> late events
    metric_rejects: dict = field(default_factory=dict)  # (metric, reason) -> count
    max_ts: int | None = None

    def types(self) -> set[str]:
        return {t for m in self.metrics for t in m.events}

    @property
    def watermark(self) -> int | None:
        return None if self.max_ts is None else self.max_ts - self.allowed_lateness_ms

    def ingest(self, etype: str, ts: int, e: dict) -> None:
        """One event that passed the event-level checks, in arrival order."""
        readers = [m for m in self.metrics if etype in m.events]
        if not readers:
            return
        self.max_ts = ts if self.max_ts is None else max(self.max_ts, ts)
        wm = self.watermark
        for m in readers:
            if m.predicate is not None:
                r = m.predicate(e)
                if r is WRONG:
                    self._reject(m, "wrong_field_type")
                    continue
                if not r:
                    continue
            value = None
            if m.arg is not None:
                value = get(e, m.arg)
                if value is ABSENT or value is None:
                    self._reject(m, "missing_field")
                    continue
                if m.func != "distinct" and not _is_num(value):
                    self._reject(m, "wrong_field_type")
                    continue
            labels = canonical_labels({g: get(e, g) for g in m.group_by})
            zone = m.time_zone or self.default_zone
            late_here = False
            for period in m.windows:
                start, end = window(ts, period, zone)
                if end <= wm:
                    late_here = True
                    continue
                key = (m.name, period, rfc3339_utc(start), labels)
                c = self.cells.get(key)
                if c is None:
                    c = self.cells[key] = Cell(end=end)
                assert c.end == end
                c.samples += 1
                if m.func == "distinct":
                    c.seen.add(_distinct_key(value))
                elif value is not None:
                    c.total += value
                    c.lo = min(c.lo, value)
                    c.hi = max(c.hi, value)
            if late_here:
                # late_events{metric} counts events: one per metric, however many of its
                # windows were already final.
                self.late[m.name] = self.late.get(m.name, 0) + 1

    def _reject(self, m: Metric, reason: str) -> None:
        k = (m.name, reason)
        self.metric_rejects[k] = self.metric_rejects.get(k, 0) + 1

    def rows(self) -> dict:
        """(metric, period, window_start, labels) -> (window_end, value, samples, final)."""
        by_name = {m.name: m for m in self.metrics}
        wm = self.watermark
        out = {}
        for key, c in self.cells.items():
            m = by_name[key[0]]
            f = m.func
            if f == "count":
                v = float(c.samples)
            elif f == "sum":
                v = c.total
            elif f == "avg":
                v = c.total / c.samples
            elif f == "min":
                v = c.lo
            elif f == "max":
                v = c.hi
            elif f == "distinct":
                v = float(len(c.seen))
            else:
                raise ValueError(f)
            final = 1 if (wm is not None and c.end <= wm) else 0
            out[key] = (rfc3339_utc(c.end), v, c.samples, final)
        return out


def compare_rows(expected: dict, actual: dict, rel: float = 1e-9, check_final: bool = True) -> list[str]:
    """Differences between two row maps, as readable lines (empty when they agree)."""
    problems = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    for k in missing:
        problems.append(f"missing row {k}: expected {expected[k]}")
    for k in extra:
        problems.append(f"unexpected row {k}: {actual[k]}")
    for k in sorted(set(expected) & set(actual)):
        e_end, e_val, e_samples, e_final = expected[k]
        a_end, a_val, a_samples, a_final = actual[k]
        if e_end != a_end:
            problems.append(f"{k}: window_end {a_end!r}, expected {e_end!r}")
        if a_val is None or not math.isclose(a_val, e_val, rel_tol=rel, abs_tol=1e-12):
            problems.append(f"{k}: value {a_val!r}, expected {e_val!r}")
        if a_samples != e_samples:
            problems.append(f"{k}: samples {a_samples}, expected {e_samples}")
        if check_final and a_final != e_final:
            problems.append(f"{k}: final {a_final}, expected {e_final}")
    return problems


def summarize(problems: Iterable[str], limit: int = 40) -> str:
    problems = list(problems)
    head = "\n".join(problems[:limit])
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} difference(s):\n{head}{more}"
