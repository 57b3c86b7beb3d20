"""What changed between two reviews or records (``deliberation diff OLD NEW``).

Either side may be a review (a folder or review.json; its analysis is computed
with the given seed) or a record (a record folder or record.json; its stored
analysis is used, so a record is compared exactly as it was decided).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..numbers import percent, percentage_points, points, quantity, signed_points
from ..review.drivers import strength_text
from ..review.model import Review, parse_review


@dataclass(frozen=True)
class Side:
    """One side of a comparison: the review and its analysis as JSON."""

    label: str
    review: Review
    analysis: Mapping[str, Any]
    source: str  # "record" or "review"


@dataclass(frozen=True)
class Change:
    section: str  # items, participants, mitigations, variants, drivers, estimates, decision
    kind: str  # added, removed, changed
    key: str
    detail: str


@dataclass(frozen=True)
class TailChange:
    variant: str
    title: str
    old: dict[str, float] | None
    new: dict[str, float] | None


@dataclass
class ReviewDiff:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)
    tails: list[TailChange] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def section(self, name: str) -> list[Change]:
        return [c for c in self.changes if c.section == name]


def load_side(
    path: Path | str, *, samples: int = 20_000, seed: int = 0,
    template_dirs: Sequence[Path] = (),
) -> Side:
    """Read a record (stored analysis) or a review (analysis computed now)."""
    from ..review.opening import open_review
    from .build import load_record
    from .document import is_record

    path = Path(path)
    if is_record(path):
        record = load_record(path)
        review = parse_review(record.get("review"), path=path)
        return Side(str(path), review, record.get("analysis") or {}, "record")
    from ..engine.analysis import analyze

    review, template, _ = open_review(path, search=template_dirs)
    analysis = analyze(review, template, samples=samples, seed=seed).to_json()
    return Side(str(path), review, analysis, "review")


def _by_id(values: Iterable[Any]) -> dict[str, Any]:
    return {v.id: v for v in values}


def _fields(value: Any, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(value, name, None) for name in names}


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def _entities(section: str, old: Iterable[Any], new: Iterable[Any], names: Sequence[str],
              describe: Any) -> list[Change]:
    before, after = _by_id(old), _by_id(new)
    changes = [Change(section, "added", key, describe(after[key]))
               for key in after if key not in before]
    changes += [Change(section, "removed", key, describe(before[key]))
                for key in before if key not in after]
    for key in after:
        if key not in before:
            continue
        a, b = _fields(before[key], names), _fields(after[key], names)
        differing = [f"{name} {_show(a[name])} → {_show(b[name])}"
                     for name in names if a[name] != b[name]]
        if differing:
            changes.append(Change(section, "changed", key, "; ".join(differing)))
    return changes


def _estimates(old: Review, new: Review) -> list[Change]:
    before = {(e.item, e.participant): e for e in old.latest_estimates()}
    after = {(e.item, e.participant): e for e in new.latest_estimates()}

    def text(estimate: Any) -> str:
        return (f"likelihood {quantity(estimate.likelihood, 'likelihood')}, "
                f"impact {quantity(estimate.impact, 'impact')} (round {estimate.round})")

    changes = []
    for key in sorted(after.keys() | before.keys()):
        label = f"{key[0]} / {key[1]}"
        if key not in before:
            changes.append(Change("estimates", "added", label, text(after[key])))
        elif key not in after:
            changes.append(Change("estimates", "removed", label, text(before[key])))
        else:
            a, b = before[key], after[key]
            parts = []
            for name, kind in (("likelihood", "likelihood"), ("impact", "impact")):
                if getattr(a, name) != getattr(b, name):
                    parts.append(f"{name} {quantity(getattr(a, name), kind)} → "
                                 f"{quantity(getattr(b, name), kind)}")
            if a.rationale != b.rationale:
                parts.append("rationale changed")
            if parts:
                changes.append(Change("estimates", "changed", label, "; ".join(parts)))
    return changes


def _listed(section: str, what: str, old: Sequence[str], new: Sequence[str]) -> list[Change]:
    changes = [Change(section, "added", what, text) for text in new if text not in old]
    changes += [Change(section, "removed", what, text) for text in old if text not in new]
    return changes


def _decision(old: Review, new: Review) -> list[Change]:
    a, b = old.decision, new.decision
    if a is None and b is None:
        return []
    if a is None or b is None:
        kind = "added" if a is None else "removed"
        present = b if b is not None else a
        assert present is not None  # noqa: S101 - one of them is set
        return [Change("decision", kind, "decision",
                       f"{present.outcome}, option {present.variant or '-'}")]
    changes = []
    if a.outcome != b.outcome:
        changes.append(Change("decision", "changed", "outcome", f"{a.outcome} → {b.outcome}"))
    if a.variant != b.variant:
        changes.append(Change("decision", "changed", "chosen option",
                              f"{a.variant or '-'} → {b.variant or '-'}"))
    if a.rationale != b.rationale:
        changes.append(Change("decision", "changed", "rationale", "rewritten"))
    changes += _listed("decision", "condition", a.conditions, b.conditions)
    changes += _listed("decision", "dissent", a.dissent, b.dissent)
    changes += _listed("decision", "sign-off", [s.participant for s in a.signoffs],
                       [s.participant for s in b.signoffs])
    changes += _listed("decision", "override",
                       [f"{o.gate} by {o.by}: {o.reason}" for o in a.overrides],
                       [f"{o.gate} by {o.by}: {o.reason}" for o in b.overrides])
    return changes


_TAIL_KEYS = ("p_extreme_bad", "p_extreme_good", "mean", "p_catastrophe")


def _tails(old: Side, new: Side) -> list[TailChange]:
    before = old.analysis.get("variants", {}) or {}
    after = new.analysis.get("variants", {}) or {}
    titles = {v.id: v.title for v in old.review.variants} | {v.id: v.title
                                                              for v in new.review.variants}
    rows = []
    for variant in [*after, *(v for v in before if v not in after)]:
        def pick(summary: Any) -> dict[str, float] | None:
            if not isinstance(summary, Mapping):
                return None
            return {k: float(summary[k]) for k in _TAIL_KEYS if isinstance(summary.get(k),
                                                                           int | float)}
        rows.append(TailChange(variant, titles.get(variant, variant),
                               pick(before.get(variant)), pick(after.get(variant))))
    return rows


def diff_reviews(old: Side, new: Side) -> ReviewDiff:
    """Items, participants, mitigations and options added, removed or changed; estimates
    changed; each option's tails before and after; the decision's change."""
    a, b = old.review, new.review
    result = ReviewDiff(old.label, new.label)
    result.changes += _entities(
        "items", a.items, b.items, ("kind", "title", "category", "description"),
        lambda i: f"{i.kind}: {i.title}")
    result.changes += _entities(
        "participants", a.participants, b.participants, ("name", "role"),
        lambda p: f"{p.name} ({p.role})" if p.role else p.name)
    result.changes += _entities(
        "mitigations", a.mitigations, b.mitigations,
        ("title", "targets", "likelihood_factor", "impact_factor", "owner", "status"),
        lambda m: f"{m.title} (owner {m.owner or 'none'}, {m.status})")
    result.changes += _entities(
        "variants", a.variants, b.variants, ("title", "mitigations"),
        lambda v: f"{v.title}: {', '.join(v.mitigations) or 'no mitigations'}")
    result.changes += _entities(
        "drivers", a.drivers, b.drivers, ("title", "items", "strength"),
        lambda d: f"{d.title}: {', '.join(d.items)} ({strength_text(d.strength)})")
    result.changes += _estimates(a, b)
    result.changes += _decision(a, b)
    result.tails = _tails(old, new)
    return result


_SIGN = {"added": "+", "removed": "-", "changed": "~"}
_SECTIONS = (("items", "Items"), ("participants", "Participants"),
             ("mitigations", "Mitigations"), ("variants", "Release options"),
             ("drivers", "Shared drivers"),
             ("estimates", "Estimates (each participant's latest round)"),
             ("decision", "Decision"))


def format_diff(result: ReviewDiff) -> str:
    """The diff as text, one change a line, grouped by section."""
    lines = [f"--- {result.old}", f"+++ {result.new}"]
    for section, heading in _SECTIONS:
        changes = result.section(section)
        lines.append(f"{heading}: " + ("no change" if not changes else
                                       f"{len(changes)} change{'s' if len(changes) != 1 else ''}"))
        lines += [f"  {_SIGN[c.kind]} {c.key}: {c.detail}" for c in changes]
    lines.append("Tails per release option (old → new)")
    for tail in result.tails:
        if tail.old is None or tail.new is None:
            state = "added" if tail.old is None else "removed"
            lines.append(f"  {tail.variant} ({tail.title}): option {state}")
            continue
        old, new = tail.old, tail.new
        lines.append(
            f"  {tail.variant}: P(extremely bad) {percent(old.get('p_extreme_bad'))} → "
            f"{percent(new.get('p_extreme_bad'))} "
            f"({percentage_points(new.get('p_extreme_bad', 0) - old.get('p_extreme_bad', 0))}); "
            f"P(extremely good) {percent(old.get('p_extreme_good'))} → "
            f"{percent(new.get('p_extreme_good'))} "
            f"({percentage_points(new.get('p_extreme_good', 0) - old.get('p_extreme_good', 0))}); "
            f"mean {points(old.get('mean'))} → {points(new.get('mean'))} "
            f"({signed_points(new.get('mean', 0) - old.get('mean', 0))})"
            + (f"; P(catastrophe) {percent(old['p_catastrophe'])} → "
               f"{percent(new['p_catastrophe'])} "
               f"({percentage_points(new['p_catastrophe'] - old['p_catastrophe'])})"
               if "p_catastrophe" in old and "p_catastrophe" in new else "")
        )
    return "\n".join(lines)
