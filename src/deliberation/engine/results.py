"""The analysis as plain data: per-variant summaries, comparisons, effects, gates.

Every class is a frozen pydantic model, so an analysis round-trips through JSON
(Analysis.to_json / Analysis.from_json) and a record re-renders its charts
without the samples.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from .choice import ChosenBy

if TYPE_CHECKING:
    import pandas as pd
from .estimates import (
    Pool,
)


class _Data(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, frozen=True, extra="ignore")


class Histogram(_Data):
    """Net value binned on edges shared by every variant; fractions of the samples."""

    edges: list[float]
    fractions: list[float]
    below: float
    above: float


class VariantSummary(_Data):
    id: str
    title: str
    mitigations: list[str]
    mean: float
    mean_se: float
    # Share of the variance carried by the top 0.1% of samples (by distance from the
    # mean): above MEAN_TAIL_SHARE_LIMIT the mean's standard error is itself a guess
    # (tail-dominated), and views point to the median instead (absent: older records).
    mean_tail_share: float | None = None
    mean_reliable: bool = True
    sd: float
    p5: float
    p5_se: float
    p50: float
    p50_se: float
    p95: float
    p95_se: float
    p_extreme_bad: float
    p_extreme_bad_se: float
    # 95% Wilson intervals (absent from records made before they existed)
    p_extreme_bad_low: float | None = None
    p_extreme_bad_high: float | None = None
    p_extreme_good: float
    p_extreme_good_se: float
    p_extreme_good_low: float | None = None
    p_extreme_good_high: float | None = None
    # The chance that the harms alone (benefits do not offset them) reach the
    # catastrophe threshold, with its 95% Wilson interval; None: no threshold is set
    # (or a record made before P(catastrophe) existed).
    p_catastrophe: float | None = None
    p_catastrophe_se: float | None = None
    p_catastrophe_low: float | None = None
    p_catastrophe_high: float | None = None
    quantiles: dict[str, float]
    histogram: Histogram


class Difference(_Data):
    """``other`` minus ``base`` on the same draws (positive: ``other`` is better)."""

    base: str
    other: str
    mean: float
    mean_se: float
    p5: float
    p50: float
    p95: float
    # standard errors and 95% Wilson intervals (absent from records made before them)
    p5_se: float | None = None
    p50_se: float | None = None
    p95_se: float | None = None
    p_better: float
    p_better_se: float
    p_better_low: float | None = None
    p_better_high: float | None = None
    p_worse: float
    p_worse_se: float
    p_worse_low: float | None = None
    p_worse_high: float | None = None
    p_extreme_bad_change: float
    p_extreme_bad_change_se: float
    p_extreme_good_change: float
    p_extreme_good_change_se: float
    # P(catastrophe) of ``other`` minus ``base``, paired (None: no threshold, or older)
    p_catastrophe_change: float | None = None
    p_catastrophe_change_se: float | None = None


class MitigationEffect(_Data):
    """What one mitigation buys on its own: baseline plus it, against the baseline."""

    mitigation: str
    title: str
    targets: list[str]
    variants: list[str]
    difference: Difference


class ItemEffect(_Data):
    p_happens: float
    # 95% Wilson intervals (absent from records made before them)
    p_happens_low: float | None = None
    p_happens_high: float | None = None
    mean_impact_if_happens: float | None
    mean_contribution: float
    p_happened_given_extreme_bad: float | None
    p_happened_given_extreme_bad_low: float | None = None
    p_happened_given_extreme_bad_high: float | None = None
    mean_contribution_given_extreme_bad: float | None


class ItemSummary(_Data):
    """One estimated item's part in each variant (``baseline``: no mitigations)."""

    item: str
    title: str
    kind: Literal["benefit", "harm"]
    participants: int
    baseline: ItemEffect
    variants: dict[str, ItemEffect]


class SwingEffect(_Data):
    mean_low: float
    mean_high: float
    p_extreme_bad_low: float
    p_extreme_bad_high: float
    p_extreme_good_low: float
    p_extreme_good_high: float


Flip = Literal["flips", "may flip"]


class GateFlip(_Data):
    """A gate a swing may flip: the chosen variant's swung estimate at ``end``, its 95%
    interval (Wilson for a probability, mean ± 1.96 se for the mean) and the flag."""

    flag: Flip
    kind: str  # the gate's rule
    end: Literal["low", "high"]
    estimate: float
    low: float
    high: float


class Sensitivity(_Data):
    """One estimate (``subject`` "item": an item's likelihood or impact) or mitigation
    factor (``subject`` "mitigation", ``item`` is then the mitigation's id and ``quantity``
    ``likelihood_factor`` or ``impact_factor``) swung to both ends of its interval.

    ``lead_low``/``lead_high``: the preferred variant's mean lead over ``rival_low``/
    ``rival_high`` (the variant that comes closest to overtaking it) with the swing at
    that end, on the same draws, with the standard error of the per-sample difference.
    ``preferred_flip`` is "flips" when a lead turns negative by more than 1.96 standard
    errors, "may flip" when it turns negative by less, else None (``flips_preferred`` is
    ``preferred_flip == "flips"``); ``gate_flips`` the same per gate (``flips_gates``:
    those that flip). Absent from records made before they existed.
    """

    item: str
    title: str
    subject: Literal["item", "mitigation"] = "item"
    quantity: Literal["likelihood", "impact", "likelihood_factor", "impact_factor"]
    low: float
    high: float
    variant: str
    mean_low: float
    mean_high: float
    mean_swing: float
    p_extreme_bad_low: float
    p_extreme_bad_high: float
    p_extreme_bad_swing: float
    rank_mean: int
    rank_p_extreme_bad: int
    preferred_low: str
    preferred_high: str
    rival_low: str | None = None
    lead_low: float | None = None
    lead_low_se: float | None = None
    rival_high: str | None = None
    lead_high: float | None = None
    lead_high_se: float | None = None
    preferred_flip: Flip | None = None
    flips_preferred: bool
    gate_flips: dict[str, GateFlip] = {}
    flips_gates: list[str]
    variants: dict[str, SwingEffect]


class ParticipantEstimate(_Data):
    participant: str
    likelihood: tuple[float, float]
    impact: tuple[float, float]
    likelihood_median: float
    impact_median: float
    expected_value: float


class Disagreement(_Data):
    item: str
    title: str
    kind: Literal["benefit", "harm"]
    rank: int
    orders_of_magnitude: float
    likelihood_spread: float
    impact_spread: float
    participants: list[ParticipantEstimate]


class Gate(_Data):
    """An analysis gate as decided (:mod:`.sequential`): ``rule`` is the rule's id,
    ``kind`` its rule, ``value`` its limit. The rest says how it was decided (absent
    from records made before gates were decided with confidence)."""

    rule: str
    kind: str
    value: float | None
    passes: bool
    status: Literal["pass", "fail", "undecided"] | None = None
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    level: float | None = None  # the confidence level of each look
    samples: int | None = None  # the samples of the look that decided it
    looks: int | None = None  # looks taken
    planned_looks: int | None = None
    cap: int | None = None
    # decided by importance sampling (engine.rare): "importance sampling", the tilted
    # samples of the deciding look and their effective number of plain samples
    method: str | None = None
    tilted: int | None = None
    effective: float | None = None


class InformationValue(_Data):
    """What resolving one uncertain quantity before deciding is worth (:mod:`.voi`).

    ``subject`` "item": an item's drawn ``likelihood`` or ``impact`` (``id`` the item's);
    "mitigation": a mitigation's ``likelihood_factor`` or ``impact_factor``;
    "participants": which participant's view holds (``quantity`` "participant").
    ``evppi`` (value points, at least 0) with its standard error; ``could_change_choice``
    when it exceeds 1.96 standard errors; ``sentence`` says so in words.
    """

    subject: Literal["item", "mitigation", "participants"]
    id: str
    title: str  # the item's or mitigation's title ("participants": "participants")
    quantity: Literal["likelihood", "impact", "likelihood_factor", "impact_factor",
                      "participant"]
    evppi: float
    evppi_se: float
    could_change_choice: bool
    sentence: str


class ValueOfInformation(_Data):
    """The expected value of perfect information for the choice between the variants
    (``evpi``, value points) and of each quantity's (``entries``, highest first), from the
    analysis' first ``samples`` draws and ``bins`` quantile bins per quantity."""

    samples: int
    bins: int
    evpi: float
    evpi_se: float
    entries: list[InformationValue]


class Analysis(_Data):
    """Everything ``report`` prints and the charts draw, for one review, seed and size."""

    samples: int
    seed: int
    pool: Pool
    extreme_bad: float
    extreme_good: float
    catastrophe: float | None = None  # the harm-total threshold (None: none set)
    preferred: str
    chosen: str
    chosen_by: ChosenBy = "preferred"
    reference: str | None = None
    variants: dict[str, VariantSummary]
    comparisons: list[Difference]
    mitigation_effects: list[MitigationEffect]
    items: list[ItemSummary]
    sensitivity: list[Sensitivity]
    disagreement: list[Disagreement]
    unestimated: list[str]
    gates: list[Gate]
    notes: list[str] = []
    # None: one variant only (no choice), sensitivity off, or a record made before it
    value_of_information: ValueOfInformation | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready data: the ``report --json`` contract, plus the rest of the analysis."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Analysis:
        return cls.model_validate(data)

    def to_frame(self) -> pd.DataFrame:
        """One row per release option: its mean, percentiles and tails, with their errors.

        Plain numbers (probabilities as fractions), indexed by variant id, for a
        notebook user's own tables and plots; the wording is in :mod:`deliberation.numbers`.
        """
        import pandas as pd

        rows = {key: summary.model_dump(exclude={"histogram", "quantiles", "mitigations"})
                for key, summary in self.variants.items()}
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "variant"
        frame["chosen"] = frame.index == self.chosen
        return frame

    def comparisons_frame(self) -> pd.DataFrame:
        """One row per comparison ("add modification Y: does it change?"), on the same draws,
        and one per mitigation applied alone to the release without mitigations."""
        import pandas as pd

        rows = [{"kind": "variants", **d.model_dump()} for d in self.comparisons]
        rows += [{"kind": "mitigation alone", **e.difference.model_dump(),
                  "mitigation": e.mitigation} for e in self.mitigation_effects]
        return pd.DataFrame(rows)
