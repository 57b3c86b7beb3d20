"""Static HTML of each workbook step: what the record shows, and the workbook in record mode.

Each ``render_*`` function is pure: plain data in, an HTML fragment out, every
user-entered string escaped (jinja2 with autoescape; the SVG charts are built with
altair, rendered by vl-convert and made safe to inline in :mod:`.captions`). The fragments
carry no script, no event handler and no external reference, so they can be pasted into a
page with a strict Content-Security-Policy.
Numbers come from the analysis as JSON (``Analysis.to_json()``) and gate results
as JSON (``GateResult.to_json()``), so a record re-renders from ``record.json``
alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup, escape

from ..engine.choice import chosen_variant, reference_variant
from ..numbers import (
    PLUS_MINUS,
    mean_value,
    number,
    percent,
    percentage_points,
    plus_minus,
    points,
    probability,
    quantity,
    signed_points,
    when,
)
from ..readout import flips
from ..review.drivers import strength_text
from ..text import reveal
from .summary import summary_sentences
from .thresholds import (
    catastrophe_change,
    catastrophe_of,
    p_catastrophe,
    thresholds_of,
)

if TYPE_CHECKING:
    from ..review.model import Review
    from ..review.template import Template

# The step functions, plus the formatting (readout) they use, re-exported so the
# workbook's live views state numbers exactly as the record does.
__all__ = [
    "OUTCOME_TEXT",
    "chosen_of",
    "escape_text",
    "percent",
    "percentage_points",
    "points",
    "quantity",
    "reference_of",
    "render_attestation",
    "render_decision",
    "render_estimates",
    "render_information",
    "render_masthead",
    "render_mitigations",
    "render_policy",
    "render_provenance",
    "render_register",
    "render_setup",
    "render_tradeoffs",
    "signed_points",
    "summary_sentences",
    "thresholds_of",
    "when",
]

PARTIALS = Path(__file__).parent / "record_template" / "partials"

OUTCOME_TEXT = {
    "approve": "Approved",
    "approve-with-conditions": "Approved with conditions",
    "defer": "Deferred",
    "reject": "Rejected",
}
def _visible(value: Any) -> Any:
    """Every value a partial prints: bidi controls (U+202E ...) shown, not obeyed."""
    return reveal(value) if isinstance(value, str) and not isinstance(value, Markup) else value


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PARTIALS),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_visible,
    )
    environment.filters.update(
        percent=percent, points=points, quantity=quantity, signed_points=signed_points, when=when,
        percentage_points=percentage_points, probability=_probability, plus_minus=plus_minus,
        mean=_mean, p_catastrophe=p_catastrophe,
    )
    return environment


def _mean(summary: Mapping[str, Any]) -> str:
    """A variant's mean with its ± (or the warning that the ± is unreliable)."""
    return mean_value(summary.get("mean"), summary.get("mean_se"),
                      reliable=summary.get("mean_reliable", True), median=summary.get("p50"))


def _probability(summary: Mapping[str, Any], name: str) -> str:
    """A variant's probability ``name`` with its 95% interval (the one vocabulary)."""
    return probability(summary.get(name), summary.get(f"{name}_low"),
                       summary.get(f"{name}_high"))


def _render(name: str, **context: Any) -> Markup:
    """A partial rendered with autoescaping on: safe to nest in another partial."""
    return Markup(_environment().get_template(name).render(**context))  # noqa: S704


# --------------------------------------------------------------------------- views


def _people(review: Review) -> dict[str, str]:
    return {
        p.id: f"{p.name} ({p.role})" if p.role else p.name for p in review.participants
    }


def _variant_titles(review: Review, analysis_json: Mapping[str, Any] | None) -> dict[str, str]:
    titles = {v.id: v.title for v in review.variants}
    for variant_id in (analysis_json or {}).get("variants", {}):
        titles.setdefault(variant_id, "No mitigations" if variant_id == "baseline" else variant_id)
    return titles


def chosen_of(review: Review, analysis_json: Mapping[str, Any] | None) -> tuple[str | None, str]:
    """The variant the numbers talk about and why: ("decision" or "preferred").

    The analysis decided it (:mod:`deliberation.engine.choice`); a record made before
    the analysis stored ``chosen_by`` is read from its decision.
    """
    stored = analysis_json or {}
    variants = stored.get("variants", {})
    chosen = stored.get("chosen")
    if not isinstance(chosen, str) or chosen not in variants:
        means = {key: number(value, "mean") for key, value in variants.items()
                 if isinstance(value, Mapping) and math.isfinite(number(value, "mean"))}
        if not means:
            return None, "preferred"
        return chosen_variant(review, means)  # a partial analysis: the same rule, here
    by = stored.get("chosen_by")
    if by not in {"decision", "preferred"}:
        decided = review.decision.variant if review.decision is not None else None
        by = "decision" if decided == chosen else "preferred"
    return chosen, str(by)


def reference_of(review: Review, analysis_json: Mapping[str, Any] | None) -> str | None:
    """The option the others are compared with (:func:`engine.choice.reference_variant`)."""
    stored = analysis_json or {}
    reference = stored.get("reference")
    if isinstance(reference, str) and reference in stored.get("variants", {}):
        return reference
    return reference_variant(review, stored.get("variants", {}))


# --------------------------------------------------------------------------- steps


def render_setup(review: Review, template: Template) -> str:
    """Step 1, set-up: the subject, the horizon, who took part, the template and standard."""
    return _render("setup.html.j2", review=review, template=template,
                   thresholds=thresholds_of(review, template, None),
                   catastrophe=catastrophe_of(review, template, None))


def render_register(review: Review, template: Template | None = None, *,
                    kind: str | None = None) -> str:
    """Steps 2 to 4: benefits and harms (or only ``kind``), each with every estimate."""
    people = _people(review)
    estimates: dict[str, list[Any]] = {}
    for estimate in sorted(review.shown_estimates(), key=lambda e: (e.participant, e.round)):
        estimates.setdefault(estimate.item, []).append(estimate)
    hidden: dict[str, int] = {}
    rounds = review.rounds()
    for estimate in review.estimates:
        if rounds.hidden(estimate.round):
            hidden[estimate.item] = hidden.get(estimate.item, 0) + 1
    latest = {(e.item, e.participant): e.round for e in review.latest_shown_estimates()}
    categories = {c.id: c.title for c in template.categories} if template is not None else {}
    groups = [
        (heading, [i for i in review.items if i.kind == group])
        for heading, group in (("Benefits", "benefit"), ("Harms", "harm"))
        if kind in (None, group)
    ]
    shown = {item.id for _, items in groups for item in items}
    titles = {item.id: item.title for item in review.items}
    drivers = [
        (driver, [titles.get(i, i) for i in driver.items], strength_text(driver.strength))
        for driver in review.drivers if shown & set(driver.items)
    ]
    driver_of = {i: driver.title for driver in review.drivers for i in driver.items}
    return _render(
        "register.html.j2", review=review, groups=groups, estimates=estimates, people=people,
        latest=latest, categories=categories, unestimated=review.unestimated_items(),
        hidden=hidden, open_round=rounds.round, drivers=drivers, driver_of=driver_of,
        kind=kind,
    )


def render_estimates(review: Review, template: Template | None = None) -> str:
    """Step 4 at a glance: items by participants, every round; hidden rounds as "entered"."""
    cells: dict[tuple[str, str], list[Any]] = {}
    for estimate in sorted(review.estimates, key=lambda e: e.round):
        cells.setdefault((estimate.item, estimate.participant), []).append(estimate)
    return _render("estimates.html.j2", review=review, cells=cells, rounds=review.rounds())


def render_mitigations(review: Review) -> str:
    """Step 5: mitigations with owners and status, and the release options built from them."""
    titles = {m.id: m.title for m in review.mitigations}
    items = {i.id: i.title for i in review.items}
    return _render("mitigations.html.j2", review=review, people=_people(review),
                   titles=titles, items=items)


def render_tradeoffs(
    review: Review, analysis_json: Mapping[str, Any], *, template: Template | None = None
) -> str:
    """Step 6: the numbers per option, what the chosen mitigations changed, and the charts."""
    thresholds = thresholds_of(review, template, analysis_json)
    chosen, _ = chosen_of(review, analysis_json)
    reference = reference_of(review, analysis_json)
    change = (render_comparison(review, analysis_json, reference, chosen)
              if chosen and reference and chosen != reference else Markup())
    effects = [
        {
            "title": effect.get("title", effect.get("mitigation", "")),
            "bad": percentage_points(number(effect["difference"], "p_extreme_bad_change"),
                                     number(effect["difference"], "p_extreme_bad_change_se")),
            "good": percentage_points(number(effect["difference"], "p_extreme_good_change"),
                                      number(effect["difference"], "p_extreme_good_change_se")),
            "mean": signed_points(number(effect["difference"], "mean")),
            "catastrophe": catastrophe_change(effect["difference"]),
        }
        for effect in analysis_json.get("mitigation_effects", [])
        if isinstance(effect, Mapping) and isinstance(effect.get("difference"), Mapping)
    ]
    return _render(
        "tradeoffs.html.j2", numbers=render_numbers(review, analysis_json),
        change=change, effects=effects, thresholds=thresholds,
        catastrophe=catastrophe_of(review, template, analysis_json),
        sensitivity=render_sensitivity(review, analysis_json),
        disagreement=render_disagreement(review, analysis_json),
        information=render_information(review, analysis_json, unit=(
            template.value_unit if template is not None else "value points")),
        charts=_charts(analysis_json, review),
        samples=analysis_json.get("samples"), seed=analysis_json.get("seed"),
        unit=(template.value_unit if template is not None else "value points"),
    )


def render_numbers(review: Review, analysis_json: Mapping[str, Any]) -> str:
    """The table of every release option: its tails with intervals, mean and percentiles."""
    chosen, by = chosen_of(review, analysis_json)
    return _render(
        "numbers.html.j2", variants=analysis_json.get("variants", {}),
        titles=_variant_titles(review, analysis_json), chosen=chosen,
        chosen_label="chosen" if by == "decision" else "preferred",
        plus_minus_legend=PLUS_MINUS,
    )


def render_comparison(review: Review, analysis_json: Mapping[str, Any], base: str | None,
                      other: str | None) -> str:
    """What moving from option ``base`` to ``other`` changes, on the same draws."""
    variants = analysis_json.get("variants", {})
    if base not in variants or other not in variants or base is None or other is None:
        return ""
    titles = _variant_titles(review, analysis_json)
    return _render("change.html.j2", change=_change(review, variants, other, base, titles))


def render_sensitivity(review: Review, analysis_json: Mapping[str, Any], *,
                       limit: int = 8) -> str:
    """The estimates that move the chosen option's result most."""
    rows = sorted(analysis_json.get("sensitivity", []), key=lambda s: s.get("rank_mean", 0))
    chosen, _ = chosen_of(review, analysis_json)
    titles = _variant_titles(review, analysis_json)
    preferred = str(analysis_json.get("preferred", ""))
    shown = [
        {**row, "quantity_label": flips.quantity(row), "flip": flips.preferred_flip(row),
         "flip_text": flips.preferred_text(row, preferred),
         "gate_texts": flips.gate_texts(row)}
        for row in flips.shown(rows, limit)
    ]
    return _render("sensitivity.html.j2", rows=shown,
                   variant=titles.get(chosen or "", chosen or ""))


def render_information(review: Review, analysis_json: Mapping[str, Any], *,
                       limit: int = 8, unit: str = "value points") -> str:
    """What resolving each estimate before deciding is worth, ranked (value of information):
    those that could change the choice, then others, ``limit`` rows at most."""
    from ..engine.voi import subject_words

    voi = analysis_json.get("value_of_information")
    if not isinstance(voi, Mapping) or not isinstance(voi.get("entries"), list):
        return ""
    titles = {i.id: i.title for i in review.items} | {m.id: m.title for m in review.mitigations}
    entries = [e for e in voi["entries"] if isinstance(e, Mapping)]
    samples = voi.get("samples")
    rows = [
        {"what": subject_words(str(e.get("subject")), str(e.get("quantity")),
                               str(e.get("title") or titles.get(str(e.get("id")))
                                   or e.get("id"))),
         "gain": plus_minus(number(e, "evppi"), number(e, "evppi_se")),
         "could": e.get("could_change_choice") is True}
        for e in entries[:limit]
    ]
    return _render("information.html.j2", rows=rows, unit=unit,
                   evpi=plus_minus(number(voi, "evpi"), number(voi, "evpi_se")),
                   samples=f"{samples:,}" if isinstance(samples, int) else "n/a",
                   plus_minus_legend=PLUS_MINUS, hidden=len(entries) - len(rows),
                   hidden_could=any(e.get("could_change_choice") is True
                                    for e in entries[limit:]))


def render_disagreement(review: Review, analysis_json: Mapping[str, Any], *,
                        limit: int = 8) -> str:
    """Items where participants differ most; never a hidden round by participant."""
    rows = [d for d in sorted(analysis_json.get("disagreement", []),
                              key=lambda d: d.get("rank", 0))
            if len(d.get("participants", [])) > 1]
    rounds = review.rounds()
    hidden = rounds.round if rounds.hidden(rounds.round) else None
    return _render("disagreement.html.j2", rows=rows[:limit], people=_people(review),
                   hidden_round=hidden)


def _charts(analysis_json: Mapping[str, Any], review: Review) -> list[Markup]:
    """Every chart with something to show, as inline SVG figures (see :mod:`.captions`)."""
    from pydantic import ValidationError

    from ..engine.results import Analysis
    from ..readout.captions import chart_figure
    from ..readout.catalog import chart_names

    try:
        analysis = Analysis.from_json(dict(analysis_json))
    except ValidationError:
        return []  # numbers without the full analysis (a partial report): the tables only
    return [chart_figure(name, analysis, review) for name in chart_names(analysis)]


def _change(review: Review, variants: Mapping[str, Any], chosen: str, reference: str,
            titles: Mapping[str, str]) -> dict[str, Any]:
    by_id = {v.id: v for v in review.variants}
    mitigation_titles = {m.id: m.title for m in review.mitigations}
    chosen_set = by_id[chosen].mitigations if chosen in by_id else []
    reference_set = by_id[reference].mitigations if reference in by_id else []
    added = [mitigation_titles.get(m, m) for m in chosen_set if m not in reference_set]
    removed = [mitigation_titles.get(m, m) for m in reference_set if m not in chosen_set]
    new, old = variants[chosen], variants[reference]
    return {
        "chosen": titles[chosen], "reference": titles[reference], "added": added,
        "removed": removed,
        "rows": [
            ("P(extremely bad)", _probability(old, "p_extreme_bad"),
             _probability(new, "p_extreme_bad"),
             percentage_points(number(new, "p_extreme_bad") - number(old, "p_extreme_bad"))),
            ("P(extremely good)", _probability(old, "p_extreme_good"),
             _probability(new, "p_extreme_good"),
             percentage_points(number(new, "p_extreme_good") - number(old, "p_extreme_good"))),
            ("Mean net value", points(old.get("mean")), points(new.get("mean")),
             signed_points(number(new, "mean") - number(old, "mean"))),
        ] + ([("P(catastrophe)", p_catastrophe(old), p_catastrophe(new), percentage_points(
            number(new, "p_catastrophe") - number(old, "p_catastrophe")))]
            if new.get("p_catastrophe") is not None and old.get("p_catastrophe") is not None
            else []),
    }


def render_policy(gate_results_json: Sequence[Mapping[str, Any]]) -> str:
    """Step 7: each policy gate, its result and the clause of the standard it enforces."""
    counts = {status: sum(g.get("status") == status for g in gate_results_json)
              for status in ("pass", "warn", "fail", "overridden")}
    return _render("policy.html.j2", gates=gate_results_json, counts=counts)


def render_decision(
    review: Review,
    gate_results_json: Sequence[Mapping[str, Any]],
    analysis_json: Mapping[str, Any] | None,
    *,
    template: Template | None = None,
) -> str:
    """Step 8: a plain-language summary, then the decision with conditions, dissent, sign-offs."""
    people = _people(review)
    titles = _variant_titles(review, analysis_json)
    decision = review.decision
    signoffs = [
        (people.get(s.participant, s.participant), when(s.at.isoformat()))
        for s in (decision.signoffs if decision else [])
    ]
    return _render(
        "decision.html.j2", review=review, decision=decision,
        outcome=OUTCOME_TEXT.get(decision.outcome, decision.outcome) if decision else None,
        variant_title=titles.get(decision.variant, decision.variant)
        if decision and decision.variant else None,
        summary=summary_sentences(review, gate_results_json, analysis_json, template=template),
        signoffs=signoffs,
    )


def render_masthead(review: Review, *, record_name: str, created: str,
                    supersedes: Mapping[str, Any] | None = None) -> str:
    """The record's title block: what was reviewed, when, and the outcome at a glance."""
    decision = review.decision
    return _render("masthead.html.j2", review=review, record_name=record_name, created=created,
                   supersedes=supersedes,
                   outcome=OUTCOME_TEXT.get(decision.outcome) if decision else None)


def render_provenance(*, record_name: str, created: str, supersedes: Mapping[str, Any] | None,
                      template: Mapping[str, Any], seed: Any, samples: Any,
                      versions: Mapping[str, str], record_sha256: str) -> str:
    """How the record was made: template hash, seed, package versions, the record's hash."""
    return _render("provenance.html.j2", record_name=record_name, created=created,
                   supersedes=supersedes, template=template, seed=seed, samples=samples,
                   versions=sorted(versions.items()), record_sha256=record_sha256)


def escape_text(value: Any) -> Markup:
    """Escape anything for HTML (re-exported for the workbook's own small fragments)."""
    return escape(value)


def render_attestation(review: Review, *, artifact: Mapping[str, Any] | None,
                       roles: Sequence[str],
                       signatures: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The model artifact the record is bound to, and each participant's signature or its
    absence (``signatures=None``: as published, before anyone could sign)."""
    signoffs = {s.participant: s.at.isoformat() for s in
                (review.decision.signoffs if review.decision else [])}
    rows = [{"name": p.name, "role": p.role, "signoff": signoffs.get(p.id),
             "signatures": [s for s in signatures or [] if s.get("participant") == p.id]}
            for p in review.participants]
    return _render("attestation.html.j2", artifact=artifact, roles=list(roles), rows=rows,
                   checked=signatures is not None)
