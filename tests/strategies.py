"""Hypothesis strategies for the test suite, in one place.

Reviews are generated structurally valid (references resolve, intervals ordered)
so tests exercise behaviour, not only the validator's first complaint.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from deliberation.review.model import Review, parse_review

ids = st.from_regex(r"[a-z][a-z0-9\-]{0,12}", fullmatch=True)
# Printable text: control characters and U+FFFE/U+FFFF are refused by validation (tested
# in test_hostile.py), so a valid review never holds one.
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                             exclude_characters="\ufffe\uffff"), max_size=40)
names = text.filter(lambda s: s.strip() != "")


@st.composite
def probability_intervals(draw: Any) -> Any:
    """A likelihood: an interval inside [1e-6, 1 - 1e-6] (validation refuses ends
    nearer 0 or 1), a point anywhere in [0, 1], or a label."""
    low = draw(st.floats(1e-6, 1 - 1e-6, allow_nan=False))
    high = draw(st.floats(low, 1 - 1e-6, allow_nan=False))
    point = draw(st.floats(0, 1, allow_nan=False))
    return draw(st.sampled_from([[low, high], point, "likely", "rare"]))


@st.composite
def impact_intervals(draw: Any) -> Any:
    low = draw(st.floats(0.01, 1e6, allow_nan=False))
    high = draw(st.floats(low, min(1e7, low * 1e8), allow_nan=False))
    return draw(st.sampled_from([[low, high], low, "major", "minor"]))


@st.composite
def factors(draw: Any) -> Any:
    low = draw(st.floats(0.01, 1.5, allow_nan=False))
    high = draw(st.floats(low, 2, allow_nan=False))
    return draw(st.sampled_from([[low, high], low, 0, 1]))


@st.composite
def review_data(draw: Any) -> dict[str, Any]:
    """Plain data of a valid review (labels from the built-in scales)."""
    people = draw(st.lists(ids, min_size=1, max_size=4, unique=True))
    item_ids = draw(st.lists(ids, min_size=1, max_size=6, unique=True))
    mitigation_ids = draw(st.lists(ids, max_size=3, unique=True))
    variant_ids = draw(st.lists(ids, max_size=3, unique=True))
    estimates = []
    for item in item_ids:
        for person in draw(st.lists(st.sampled_from(people), unique=True)):
            for round_number in range(1, draw(st.integers(1, 2)) + 1):
                estimate: dict[str, Any] = {
                    "item": item,
                    "participant": person,
                    "likelihood": draw(probability_intervals()),
                    "impact": draw(impact_intervals()),
                }
                if round_number > 1 or draw(st.booleans()):
                    estimate["round"] = round_number
                if draw(st.booleans()):
                    estimate["rationale"] = draw(text)
                estimates.append(estimate)
    data: dict[str, Any] = {
        "schema": "deliberation/review@1",
        "id": draw(ids),
        "title": draw(names),
        "subject": {"name": draw(names), "version": draw(text)},
        "template": {"id": "test-minimal", "version": "1"},
        "participants": [
            {"id": p, "name": draw(names), "role": draw(st.sampled_from(["safety", "legal", ""]))}
            for p in people
        ],
        "items": [
            {
                "id": i,
                "kind": draw(st.sampled_from(["benefit", "harm"])),
                "title": draw(names),
                "description": draw(text),
            }
            for i in item_ids
        ],
        "estimates": estimates,
        "mitigations": [
            {
                "id": m,
                "title": draw(names),
                "targets": draw(st.lists(st.sampled_from(item_ids), min_size=1, unique=True)),
                "likelihood_factor": draw(factors()),
                "impact_factor": draw(factors()),
                "owner": draw(st.sampled_from([None, *people])),
                "status": draw(st.sampled_from(["proposed", "planned", "done"])),
            }
            for m in mitigation_ids
        ],
        "variants": [
            {
                "id": v,
                "title": draw(names),
                "mitigations": draw(st.lists(st.sampled_from(mitigation_ids), unique=True))
                if mitigation_ids
                else [],
            }
            for v in variant_ids
        ],
    }
    if draw(st.booleans()):
        data["decision"] = {
            "outcome": draw(
                st.sampled_from(["approve", "approve-with-conditions", "defer", "reject"])
            ),
            "variant": draw(st.sampled_from([None, *variant_ids])),
            "rationale": draw(text),
            "conditions": draw(st.lists(text, max_size=2)),
            "dissent": draw(st.lists(text, max_size=2)),
            "signoffs": [
                {"participant": p, "at": "2026-11-28T10:00:00Z"}
                for p in draw(st.lists(st.sampled_from(people), unique=True))
            ],
        }
        if draw(st.booleans()):  # the model knows no template: any rule id, once each
            gates = draw(st.lists(st.sampled_from(["decided", "extreme-bad", "signoffs"]),
                                  unique=True, max_size=2))
            data["decision"]["overrides"] = [
                {"gate": gate, "by": draw(st.sampled_from(people)),
                 "reason": draw(text.filter(lambda value: bool(value.strip())))}
                for gate in gates
            ]
    return data


def reviews() -> st.SearchStrategy[Review]:
    return review_data().map(parse_review)


# --------------------------------------------------------------------------- analysis
# Builders and strategies for the simulation and analysis tests (estimates, simulate,
# analysis, charts, report): small reviews written in code against test-minimal.


def review_from(
    items: list[tuple[str, str]],
    estimates: list[tuple[str, str, Any, Any]],
    *,
    mitigations: list[dict[str, Any]] | None = None,
    variants: list[tuple[str, list[str]]] | None = None,
    thresholds: tuple[float, float] | None = None,
    decision_variant: str | None = None,
) -> Review:
    """A review from terse rows: items (id, kind), estimates (item, participant,
    likelihood, impact), mitigations as dicts, variants (id, mitigation ids)."""
    people = sorted({participant for _, participant, _, _ in estimates}) or ["ana"]
    data: dict[str, Any] = {
        "schema": "deliberation/review@1",
        "id": "built",
        "title": "A review built in code",
        "subject": {"name": "model"},
        "template": {"id": "test-minimal", "version": "1"},
        "participants": [{"id": p, "name": p.title()} for p in people],
        "items": [{"id": i, "kind": kind, "title": f"Item {i}"} for i, kind in items],
        "estimates": [
            {"item": i, "participant": p, "likelihood": likelihood, "impact": impact}
            for i, p, likelihood, impact in estimates
        ],
        "mitigations": [
            {"title": f"Mitigation {m['id']}", **m} for m in (mitigations or [])
        ],
        "variants": [
            {"id": v, "title": f"Variant {v}", "mitigations": ms} for v, ms in (variants or [])
        ],
    }
    if thresholds is not None:
        data["thresholds"] = {"extreme_bad": thresholds[0], "extreme_good": thresholds[1]}
    if decision_variant is not None:
        data["decision"] = {"outcome": "approve", "variant": decision_variant}
    return parse_review(data)


@st.composite
def numeric_likelihoods(draw: Any) -> Any:
    """A likelihood as a point (0 and 1 included) or a [low, high] interval (ends
    inside [1e-6, 1 - 1e-6], as validation requires)."""
    point = draw(st.sampled_from([0.0, 1.0, 0.5]) | st.floats(0, 1, allow_nan=False))
    low = draw(st.sampled_from([1e-6, 0.5]) | st.floats(1e-6, 1 - 1e-6, allow_nan=False))
    high = draw(st.sampled_from([low, 1 - 1e-6]) | st.floats(low, 1 - 1e-6, allow_nan=False))
    return draw(st.sampled_from([point, [low, high], [low, high]]))


@st.composite
def numeric_impacts(draw: Any) -> Any:
    low = draw(st.floats(0.1, 1e5, allow_nan=False))
    high = draw(st.floats(low, low * 1e3, allow_nan=False))
    return draw(st.sampled_from([low, [low, high], [low, high]]))


@st.composite
def analysis_reviews(draw: Any, *, max_items: int = 6) -> Review:
    """Reviews with numeric estimates, several participants, mitigations and variants."""
    item_ids = draw(st.lists(ids, min_size=1, max_size=max_items, unique=True))
    people = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    kinds = [draw(st.sampled_from(["benefit", "harm"])) for _ in item_ids]
    estimates = []
    for item in item_ids:
        for person in draw(st.lists(st.sampled_from(people), max_size=3, unique=True)):
            estimates.append((item, person, draw(numeric_likelihoods()), draw(numeric_impacts())))
    mitigation_ids = draw(st.lists(ids, max_size=3, unique=True))
    mitigations = [
        {
            "id": m,
            "targets": draw(st.lists(st.sampled_from(item_ids), min_size=1, unique=True)),
            "likelihood_factor": draw(factors()),
            "impact_factor": draw(factors()),
        }
        for m in mitigation_ids
    ]
    variant_ids = draw(st.lists(ids, max_size=3, unique=True))
    variants = [
        (v, draw(st.lists(st.sampled_from(mitigation_ids), unique=True)) if mitigation_ids else [])
        for v in variant_ids
    ]
    return review_from(
        list(zip(item_ids, kinds, strict=True)), estimates,
        mitigations=mitigations, variants=variants,
    )


# Any JSON value, the odd ones included: huge and negative integers, extreme floats,
# NaN and infinities (as Python's json writes and reads them),
# control characters, deep-ish nesting. For the "random JSON in every field" tests.
any_json = st.recursive(
    st.none() | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([0, -1, 10**400, 2**63])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e308, -1e308, 5e-324])
    | st.sampled_from([float("nan"), float("inf"), float("-inf")])  # json writes NaN
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)


def field_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside parsed JSON (objects by key, lists by index)."""
    paths = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            paths += field_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths += field_paths(value, (*prefix, index))
    return paths


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A deep copy of ``data`` with the value at ``path`` replaced."""
    import copy

    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data
