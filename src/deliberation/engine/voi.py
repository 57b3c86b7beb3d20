"""Value of information: what resolving one estimate before deciding is worth, in value points.

The choice is between the review's variants; with today's estimates one picks the
variant with the highest mean net value. With **perfect information** one would pick,
sample by sample, the variant that turns out best:

    EVPI = E[max_v net_v] - max_v E[net_v]

With perfect information about one uncertain quantity ``theta`` only (an item's drawn
likelihood, its drawn impact, a mitigation's drawn factor, or which participant's view
holds, the participant drawn per sample under the linear pool), one would pick the
variant best *given theta*:

    EVPPI(theta) = E_theta[max_v E[net_v | theta]] - max_v E[net_v]

Both are read from the analysis' own draws (common random numbers: the same samples the
summaries use), on the first ``VOI_SAMPLES`` samples at most. Per sample, ``theta`` is
recorded as its quantile bin (``bins`` of them, edges from the first chunk's values;
a participant is its own bin), so memory stays one byte per quantity per sample.

**Estimator (cross-fitted bins).** The samples are split into two folds (even and odd
sample numbers). In each bin the variant to pick is the one with the highest mean
lead over the overall best *in the other fold*; each sample then scores the lead of the
variant its bin picked. EVPPI is the mean of those scores, and its standard error their
standard deviation over the square root of the samples (samples are independent;
conditional on the picks). Picking on one fold and scoring on the other removes the
upward bias of the plain binned estimator (which rewards the noise of each bin's mean as
if it were information); what remains is downward (a noisy pick can only lose, and a
bin cannot tell values inside it apart), so an estimate is a lower bound in
expectation, and a quantity that cannot change the choice scores 0 within its
standard error. Each sample's score is at most its perfect-information gain, so
EVPPI never exceeds EVPI on the same samples. A negative estimate (noise) is reported
as 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..numbers import Z95, plus_minus
from .draws import Factor, Indices, _ItemDraws
from .estimates import ItemModel
from .results import InformationValue, ValueOfInformation

Subject = Literal["item", "mitigation", "participants"]
Quantity = Literal["likelihood", "impact", "likelihood_factor", "impact_factor", "participant"]

VOI_SAMPLES = 10_000
# Bytes of bin numbers kept (one per quantity per sample): fewer samples above it.
VOI_BYTES = 8 << 20
MIN_VOI_SAMPLES = 2_000
MAX_BINS = 20
EDGE_SAMPLES = 1024  # the bins' edges are the quantiles of this many first samples
SAMPLES_PER_BIN = 500  # at least, over both folds
PARTICIPANT_BINS = 127  # uint8 codes (bin x 2 + fold): more participants are not resolved


@dataclass
class _Quantity:
    subject: Subject
    id: str
    quantity: Quantity
    edges: npt.NDArray[np.float32] | None = None  # None: the values are the bins
    constant: bool = False  # one value on every edge sample: nothing to resolve


@dataclass
class VoiCapture:
    """Each uncertain quantity's bin per sample, filled chunk by chunk during the run.

    ``mitigations`` are those some reported variant uses (a factor no variant uses
    cannot change the choice between them). The bins' edges are the quantiles of the
    first ``EDGE_SAMPLES`` samples' values (kept raw until then), so the chunk size
    changes no edge and no number.
    """

    samples: int
    mitigations: Sequence[str]
    bins: int = 0
    quantities: list[_Quantity] = field(default_factory=list)
    codes: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    raw: npt.NDArray[np.float32] | None = None  # the first samples' values, until binned
    filled: int = 0
    started: bool = False
    participants: int = 0  # the participant quantity's bins (0: none)
    _folds: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))

    @property
    def complete(self) -> bool:
        """Whether every sample the value of information uses is in."""
        return self.started and self.filled >= self.samples

    def add(
        self,
        size: int,
        models: Sequence[ItemModel],
        chunk_draws: Sequence[_ItemDraws],
        factors: dict[str, tuple[Factor, Factor]],
        *,
        picked: Indices | None,
        participants: int,
    ) -> None:
        """Record one chunk's values (``size`` samples; ``chunk_draws`` in the order of
        ``models``; ``participants`` is how many the linear pool picks from)."""
        if self.filled >= self.samples:
            return
        values = list(self._values(models, chunk_draws, factors, picked, participants))
        if not self.started:  # the first chunk fixes the quantities
            self.started = True
            self.samples = min(self.samples,
                               max(MIN_VOI_SAMPLES, VOI_BYTES // max(1, len(values))))
            self.bins = max(2, min(MAX_BINS, self.samples // SAMPLES_PER_BIN))
            self.quantities = [_Quantity(subject, name, quantity)
                               for (subject, name), quantity, _, _ in values]
            if any(q.quantity == "participant" for q in self.quantities):
                self.participants = participants
            self.codes = np.zeros((len(self.quantities), self.samples), np.uint8)
            self.raw = np.zeros((len(self.quantities), min(EDGE_SAMPLES, self.samples)),
                                np.float32)
        count = min(size, self.samples - self.filled)
        start = self.filled
        whole = start == 0 and count == self.samples  # one chunk holds every VOI sample
        for position, (quantity, (_, _, value, holder)) in enumerate(
                zip(self.quantities, values, strict=True)):
            part = value[:count]
            key = (quantity.quantity, self.bins, self.samples)
            if whole and holder is not None and key in holder.binned:
                # an unchanged item's bins from the cache (a DrawCache keeps its draws)
                quantity.edges, quantity.constant, codes = holder.binned[key]
                self.codes[position] = codes
                continue
            if quantity.quantity == "participant":
                self._code(position, start, part)
            elif whole and self.raw is not None:
                # one chunk holds every sample: the edges from the first ones, then
                # every sample binned at once
                width = self.raw.shape[1]
                self.raw[position] = part[:width]
                self._fix(position, code=False)
                self._code(position, 0, part)
            elif self.raw is not None:
                kept = min(count, self.raw.shape[1] - start)
                self.raw[position, start:start + kept] = part[:kept]
                rest = part[kept:]
                if len(rest):  # the raw samples are all in: fix the edges, bin the rest
                    self._fix(position)
                    self._code(position, start + kept, rest)
            else:
                self._code(position, start, part)
            if whole and holder is not None:
                holder.binned[key] = (quantity.edges, quantity.constant,
                                      self.codes[position].copy())
        self.filled += count
        if self.raw is not None and self.filled >= self.raw.shape[1]:
            self.finish()

    def finish(self) -> None:
        """Bin the values still kept raw (a run shorter than ``EDGE_SAMPLES``)."""
        if self.raw is None:
            return
        for position in range(len(self.quantities)):
            self._fix(position)
        self.raw = None

    def _fix(self, position: int, *, code: bool = True) -> None:
        quantity = self.quantities[position]
        if quantity.quantity == "participant" or quantity.edges is not None or self.raw is None:
            return
        kept = self.raw[position]  # full: the run has drawn at least its width
        quantity.constant = bool(kept.min() == kept.max())
        ranks = (np.arange(1, self.bins) * (len(kept) - 1)) // self.bins
        quantity.edges = np.unique(np.sort(kept)[ranks])
        if code:
            self._code(position, 0, kept)

    def _code(self, position: int, start: int, part: npt.NDArray[Any]) -> None:
        """Store each sample's bin times 2 plus its fold (its sample number's parity)."""
        edges = self.quantities[position].edges
        out = self.codes[position, start:start + len(part)]
        if edges is None:  # a participant: its index is its bin
            np.copyto(out, part, casting="unsafe")
        else:
            # a sample's bin is how many edges it reaches: one (edges x samples)
            # comparison summed down, cheaper than a comparison pass per edge or a
            # binary search per sample
            np.sum(np.greater_equal(part[None, :], edges[:, None]), axis=0, dtype=np.uint8,
                   out=out)
        out *= 2
        out += self._parity(start, len(part))

    def _parity(self, start: int, count: int) -> npt.NDArray[np.uint8]:
        """Each sample's fold: its sample number's parity (kept for the whole run)."""
        if len(self._folds) < self.samples:
            self._folds = _parity(0, self.samples)
        return self._folds[start:start + count]

    def _values(
        self,
        models: Sequence[ItemModel],
        chunk_draws: Sequence[_ItemDraws],
        factors: dict[str, tuple[Factor, Factor]],
        picked: Indices | None,
        participants: int,
    ) -> Any:
        """((subject, id), quantity, per-sample values, the item's draws or None) of every
        quantity that varies.

        Which quantities are drawn per sample is decided on the first chunk, from the
        review's structure alone (a point is a scalar); later chunks give the same.
        """
        known = {(q.subject, q.id, q.quantity) for q in self.quantities}
        first = not self.started

        def varies(subject: str, name: str, quantity: str, value: Factor) -> bool:
            if not first:
                return (subject, name, quantity) in known
            # an array may still be one value throughout (equal points of several
            # participants): such a quantity is dropped once its edges are fixed
            return isinstance(value, np.ndarray)

        for model, draws in zip(models, chunk_draws, strict=True):
            for quantity, value in (("likelihood", draws.likelihood), ("impact", draws.impact)):
                if varies("item", model.id, quantity, value):
                    yield ("item", model.id), quantity, value, draws
        for m_id in sorted(self.mitigations):
            likelihood, impact = factors[m_id]
            for quantity, value in (("likelihood_factor", likelihood),
                                    ("impact_factor", impact)):
                if varies("mitigation", m_id, quantity, value):
                    yield ("mitigation", m_id), quantity, value, None
        if picked is not None and 1 < participants <= PARTICIPANT_BINS:
            yield ("participants", "participants"), "participant", picked, None


def value_of_information(
    net: npt.NDArray[np.float32],
    reported: Sequence[int],
    capture: VoiCapture | None,
    *,
    item_titles: dict[str, str],
    mitigation_titles: dict[str, str],
) -> ValueOfInformation | None:
    """EVPI and each quantity's EVPPI for the choice between the sets ``reported`` (the
    variants' distinct mitigation sets, in the variants' order) from ``net`` (a row per
    set, a column per sample) and the bins ``capture`` recorded; None when there is no
    choice (fewer than two distinct variants) or nothing was recorded."""
    if capture is None or capture.filled < 2 or len(reported) < 2:
        return None
    capture.finish()
    samples = capture.filled
    values = net[list(reported), :samples].astype(np.float64)
    means = values.mean(axis=1)
    best = int(np.argmax(means))  # ties: the first, as the preferred variant
    lead = values - values[best]  # each variant's lead over the best on average
    perfect = lead.max(axis=0)
    evpi, evpi_se = _mean_se(perfect)
    squares = np.square(lead)
    quantities = capture.quantities
    width = 2 * max([capture.participants, *(len(q.edges) + 1 for q in quantities
                                             if q.edges is not None)])
    others = [row for row in range(len(lead)) if row != best]  # the best's lead is 0
    keys = capture.codes[:, :samples]
    counts = np.zeros((len(quantities), width))
    sums = np.zeros((len(quantities), len(lead), width))
    for position in range(len(quantities)):
        row_keys = keys[position].astype(np.intp)
        counts[position] = np.bincount(row_keys, minlength=width)
        for row in others:
            sums[position, row] = np.bincount(row_keys, weights=lead[row], minlength=width)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts[:, None, :] > 0, sums / np.maximum(counts, 1)[:, None, :],
                         -np.inf)
    means[:, best] = 0.0  # the best on average is the pick when a bin has no samples
    # each key's pick is made on the other fold's samples of the same bin
    picks = np.argmax(means[:, :, np.arange(width) ^ 1], axis=1)  # (quantity, key)
    totals = np.take_along_axis(sums, picks[:, None, :], axis=1)[:, 0].sum(axis=1)
    entries = []
    for position, quantity in enumerate(quantities):
        if quantity.constant:
            continue
        square_total = 0.0
        for row in set(picks[position].tolist()) - {best}:  # where the best is picked: 0
            square_sums = np.bincount(keys[position].astype(np.intp), weights=squares[row],
                                      minlength=width)
            square_total += float(square_sums[picks[position] == row].sum())
        evppi = float(totals[position]) / samples
        variance = max(0.0, square_total / samples - evppi**2) * samples / (samples - 1)
        entries.append((max(0.0, evppi), math.sqrt(variance / samples), quantity))
    entries.sort(key=lambda entry: (-entry[0], entry[2].subject, entry[2].id,
                                    entry[2].quantity))
    ranked = [
        _entry(value, se, quantity, item_titles, mitigation_titles)
        for value, se, quantity in entries
    ]
    return ValueOfInformation(samples=samples, bins=capture.bins, evpi=evpi, evpi_se=evpi_se,
                              entries=ranked)


def _parity(start: int, count: int) -> npt.NDArray[np.uint8]:
    """Each sample's fold: its sample number's parity."""
    return (np.arange(start, start + count) & 1).astype(np.uint8)


def _mean_se(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return mean, sd / math.sqrt(len(values))


def _entry(
    value: float, se: float, quantity: _Quantity, item_titles: dict[str, str],
    mitigation_titles: dict[str, str],
) -> InformationValue:
    could = value > Z95 * se
    titles = item_titles if quantity.subject == "item" else mitigation_titles
    title = titles.get(quantity.id, quantity.id)
    what = subject_words(quantity.subject, quantity.quantity, title)
    gain = f"expected gain {plus_minus(value, se)} points"
    sentence = (f"resolving {what} could change the choice; {gain}" if could else
                f"resolving {what} would not measurably change the choice ({gain})")
    return InformationValue(
        subject=quantity.subject, id=quantity.id, title=title, quantity=quantity.quantity,
        evppi=value,
        evppi_se=se, could_change_choice=could, sentence=sentence,
    )


def subject_words(subject: str, quantity: str, title: str) -> str:
    """What is resolved, in words: "the likelihood of Election fakes"."""
    if subject == "participants":
        return "which participant's view is right"
    if subject == "mitigation":
        what = "likelihood" if quantity == "likelihood_factor" else "impact"
        return f"how much {title} cuts the {what}"
    return f"the {quantity} of {title}"
