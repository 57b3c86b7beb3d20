"""Rare tails by importance sampling (engine.rare): unbiased, sound, and far cheaper.

The reviews here have harms (and a benefit) whose chance of the event is known in
closed form: one harm past the threshold with chance p gives p; two independent harms
that reach it only together give p1·p2; a benefit that offsets the harm gives
p·(1 - b); a mitigation's likelihood factor f gives p·f; two harms tied by a driver of
copula correlation ρ give the bivariate normal Φ2(Φ⁻¹(p1), Φ⁻¹(p2); ρ). A review with
uncertain likelihoods and impacts is checked against a large plain run instead.
"""

from __future__ import annotations

import json
import math
import re
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import multivariate_normal

from deliberation.cli import main
from deliberation.engine import rare
from deliberation.engine.analysis import analyze
from deliberation.engine.copula import copula_rho
from deliberation.engine.rare import Model, Weighted, cross_entropy, weighted
from deliberation.engine.sequential import level, schedule
from deliberation.engine.simulate import simulate
from deliberation.review.model import parse_review
from deliberation.review.opening import open_review
from deliberation.review.template import Template

from .conftest import MINIMAL_TEMPLATE, ROOT

BAD: rare.Kind = "max-p-extreme-bad"
CATASTROPHE: rare.Kind = "max-p-catastrophe"


def _template(template: Template, limit: float, kind: str = BAD) -> Template:
    data = template.model_dump(mode="json")
    data["thresholds"]["catastrophe"] = 100_000
    data["policy"] = [{"id": "tail", "rule": kind, "value": limit}]
    return Template.model_validate(data)


def _review(harms: list[tuple[str, Any, Any]], **options: Any) -> Any:
    return parse_review(_data(harms, **options))


def _data(harms: list[tuple[str, Any, Any]], *, benefit: tuple[Any, Any] | None = None,
          mitigations: list[dict[str, Any]] | None = None,
          driver: float | None = None) -> dict[str, Any]:
    """Harms (id, likelihood, impact), an optional benefit, mitigations (then a variant
    "mitigated" with all of them) and an optional driver over every harm."""
    items = [{"id": h, "kind": "harm", "title": h.title(), "category": "misuse"}
             for h, _, _ in harms]
    estimates = [{"item": h, "participant": "ana", "likelihood": p, "impact": impact}
                 for h, p, impact in harms]
    if benefit is not None:
        items.append({"id": "help", "kind": "benefit", "title": "Help", "category": "education"})
        estimates.append({"item": "help", "participant": "ana", "likelihood": benefit[0],
                          "impact": benefit[1]})
    data: dict[str, Any] = {
        "schema": "deliberation/review@1", "id": "rare", "title": "Rare",
        "subject": {"name": "m"}, "template": {"id": "test-minimal", "version": "1"},
        "participants": [{"id": "ana", "name": "Ana", "role": "safety"}],
        "items": items, "estimates": estimates, "mitigations": mitigations or [],
    }
    if mitigations:
        data["variants"] = [{"id": "as-is", "title": "As is"},
                            {"id": "mitigated", "title": "Mitigated",
                             "mitigations": [m["id"] for m in mitigations]}]
    if driver is not None:
        data["drivers"] = [{"id": "cause", "title": "Cause", "items": [h for h, _, _ in harms],
                            "strength": driver}]
    return data


def _model(review: Any, template: Template, variant: str = "baseline") -> Model:
    return Model(review, _template(template, 0.001), pool="linear", variant=variant)


def _within(sums: Weighted, truth: float, sigmas: float = 4.0) -> None:
    assert abs(sums.estimate - truth) <= sigmas * math.sqrt(sums.variance), (
        sums.estimate, truth, math.sqrt(sums.variance))


def _tilted_run(model: Model, kind: rare.Kind, seed: int, samples: int) -> tuple[Weighted, float]:
    fitted = cross_entropy(model, kind, seed)
    assert fitted is not None
    theta, _, gain = fitted
    return weighted(model.run(rare.entropy_of(seed, kind, 1, 1), samples, theta, kind)), gain


# --------------------------------------------------------------------------- unbiasedness

CASES = [
    # (name, review, kind, variant, truth)
    ("one harm", lambda: _review([("leak", 0.001, 12_000)]), BAD, "baseline", 0.001),
    ("both needed", lambda: _review([("a", 0.02, 3000), ("b", 0.03, 3000)]), BAD,
     "baseline", 0.02 * 0.03),
    ("a benefit offsets", lambda: _review([("leak", 0.002, 12_000)], benefit=(0.5, 8000)),
     BAD, "baseline", 0.002 * 0.5),
    ("a mitigation halves", lambda: _review(
        [("leak", 0.004, 12_000)],
        mitigations=[{"id": "halve", "title": "Halve", "targets": ["leak"],
                      "likelihood_factor": 0.5, "owner": "ana"}]),
     BAD, "mitigated", 0.002),
    ("catastrophe, both needed", lambda: _review([("a", 0.02, 60_000), ("b", 0.04, 60_000)],
                                                 benefit=(1.0, 1e9)),
     CATASTROPHE, "baseline", 0.02 * 0.04),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_weighted_mean_is_its_closed_form_at_any_tilt(
        template: Template, case: tuple[str, Any, rare.Kind, str, float]) -> None:
    _, make, kind, variant, truth = case
    model = _model(make(), template, variant)
    width = len(model.models)
    # any tilt is unbiased: none, a fixed one, and the cross-entropy's
    for step in (0.0, 2.0, 5.0):
        theta = [step if m.sign < 0 else -step / 2 for m in model.models]
        _within(weighted(model.run(11, 200_000, theta, kind)), truth)
    sums, gain = _tilted_run(model, kind, 3, 50_000)
    _within(sums, truth)
    assert gain > 10  # the tilt makes rare occurrences common: far fewer samples needed
    assert sums.effective > 10 * sums.samples
    assert width == len(model.models)


def test_two_harms_tied_by_a_driver_give_the_bivariate_normal(template: Template) -> None:
    p, strength = 0.02, 0.6
    rho = copula_rho(strength)
    quantile = NormalDist().inv_cdf(p)
    truth = float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
        [quantile, quantile]))
    model = _model(_review([("a", p, 3000), ("b", p, 3000)], driver=strength), template)
    sums, gain = _tilted_run(model, BAD, 5, 100_000)
    _within(sums, truth)
    assert truth > 3 * p * p  # the driver matters: independent harms would give p²
    assert gain > 2


def test_an_uncertain_likelihood_gives_its_mean(template: Template) -> None:
    # P(extremely bad) = E[p] for a logit-normal p: Gauss-Hermite quadrature of expit
    review = _review([("leak", [0.0005, 0.005], 12_000)], benefit=(0.5, 1000))
    model = _model(review, template)
    (harm,) = [m for m in model.models if m.sign < 0]
    mu, sigma = harm.components[0].likelihood_mu, harm.components[0].likelihood_sigma
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)
    truth = float(np.sum(weights / math.sqrt(2 * math.pi)
                         / (1 + np.exp(-(mu + sigma * nodes)))))
    sums, gain = _tilted_run(model, BAD, 4, 100_000)
    _within(sums, truth)
    assert gain > 10


def test_uncertain_estimates_agree_with_a_large_plain_run(template: Template) -> None:
    review = _review([("leak", [0.0005, 0.005], [4000, 9000]), ("spill", [0.01, 0.05], 3000)],
                     benefit=([0.3, 0.7], [100, 1500]))
    plain = simulate(review, _template(template, 0.001), samples=2_000_000,
                     rng=np.random.default_rng(1), sensitivity=False)
    net = plain.net_of("baseline")
    hits = int(np.count_nonzero(net <= np.float32(-5000)))
    p_plain = hits / len(net)
    sums, _ = _tilted_run(_model(review, template), BAD, 2, 100_000)
    # two independent estimators of one probability: their difference within 4 SE
    se = math.sqrt(sums.variance + p_plain * (1 - p_plain) / len(net))
    assert abs(sums.estimate - p_plain) <= 4 * se, (sums.estimate, p_plain, se)
    assert sums.variance < p_plain * (1 - p_plain) / len(net)  # 20x fewer, and tighter


def test_the_example_agrees_with_a_large_plain_run(monkeypatch: Any) -> None:
    # the shipped review (read, never written): 16 items, mitigations, three
    # participants under the linear pool; its tail comes mostly from large impacts, so
    # only the normals' shifts (off by default) gain anything there: unbiased with them
    monkeypatch.setattr(rare, "SHIFT_NORM", 1.0)
    review, template, _ = open_review(ROOT / "workbooks" / "example" / "review.json")
    chosen = "api-preview-provenance"
    plain = simulate(review, template, samples=1_000_000, rng=np.random.default_rng(8),
                     sensitivity=False)
    net = plain.net_of(chosen)
    p_plain = int(np.count_nonzero(net <= np.float32(plain.extreme_bad))) / len(net)
    model = Model(review, template, pool="linear", variant=chosen)
    sums, gain = _tilted_run(model, BAD, 1, 100_000)
    se = math.sqrt(sums.variance + p_plain * (1 - p_plain) / len(net))
    assert abs(sums.estimate - p_plain) <= 4 * se, (sums.estimate, p_plain, se)
    assert gain > rare.MIN_GAIN


# --------------------------------------------------------------------------- the interval


def test_the_interval_covers_the_truth_on_about_95_percent_of_seeds(
        template: Template) -> None:
    # weights that vary: two harms needed together, one with an uncertain likelihood
    review = _review([("a", [0.005, 0.04], 3000), ("b", 0.03, 3000)])
    model = _model(review, template)
    fitted = cross_entropy(model, BAD, 0)
    assert fitted is not None
    theta = fitted[0]
    truth = weighted(model.run(99, 2_000_000, theta, BAD))  # the reference: 400x the runs
    z = NormalDist().inv_cdf(0.975)
    covered = 0
    for seed in range(200):
        sums = weighted(model.run(1000 + seed, 5000, theta, BAD))
        _, low, high = sums.interval(z)
        covered += low <= truth.estimate <= high
    # 95% of 200: 190, binomial sd 3.1; the band is 4 sd wide below, 3 above
    assert 177 <= covered <= 199, covered


def test_the_interval_is_the_plain_wilson_one_without_a_tilt() -> None:
    hits, samples, z = 130, 100_000, 2.5
    sums = Weighted(samples=samples, hits=hits, total=float(hits), squares=float(hits),
                    largest=1.0)
    _, low, high = sums.interval(z)
    # scipy-free closed form of Wilson's interval at n - 1 (the unbiased variance)
    n, p = samples - 1, sums.estimate
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (low, high) == pytest.approx((centre - half, centre + half), rel=1e-3)


def test_the_cautious_variance_adds_one_standard_error_of_the_sample_variance() -> None:
    values = np.random.default_rng(3).lognormal(-6, 1.5, 4000) * (np.arange(4000) % 7 == 0)
    block = rare.Block(event=values > 0, log_weight=np.log(np.where(values > 0, values, 1.0)),
                       score=values)
    sums = weighted(block)
    n = len(values)
    centred = values - values.mean()
    m2, m4 = np.mean(centred ** 2), np.mean(centred ** 4)
    expected = np.var(values, ddof=1) / n + rare.VARIANCE_MARGIN * math.sqrt((m4 - m2 * m2) / n) / n
    assert sums.cautious_variance == pytest.approx(expected, rel=1e-9)
    assert sums.variance == pytest.approx(np.var(values, ddof=1) / n, rel=1e-9)


def test_too_few_hits_or_one_dominant_weight_decide_nothing() -> None:
    few = Weighted(samples=10_000, hits=rare.MIN_HITS - 1, total=0.01, squares=1e-6,
                   largest=1e-3)
    assert few.interval(2.5)[1:] == (0.0, 1.0)
    dominant = Weighted(samples=10_000, hits=500, total=1.0, squares=0.1, largest=0.2)
    assert dominant.interval(2.5)[1:] == (0.0, 1.0)


# --------------------------------------------------------------------------- the gates


def _gate(review: Any, template: Template, seed: int) -> Any:
    analysis = analyze(review, template, samples=20_000, seed=seed, sensitivity=False)
    return next(g for g in analysis.gates if g.rule == "tail")


@pytest.mark.parametrize("seed", range(10))
def test_a_gate_near_its_limit_is_decided_in_far_fewer_samples(
        template: Template, seed: int) -> None:
    # P(extremely bad) = 0.09% against a 0.1% limit: plain Wilson at the looks' level
    # needs z² p / (limit - p)² samples before its upper end can clear the limit
    z = NormalDist().inv_cdf(1 - (1 - level(len(schedule(20_000)))) / 2)
    plain_needs = z * z * 0.0009 / 0.0001 ** 2
    assert plain_needs > 600_000
    passing = _gate(_review([("leak", 0.0009, 12_000)]), _template(template, 0.001), seed)
    assert passing.method == "importance sampling"
    assert passing.status == "pass"
    assert passing.samples < 150_000  # analysis, pilot and tilted samples together
    assert passing.low <= 0.0009 <= passing.high
    # P(catastrophe) = 0.12% against a 0.1% limit, from two harms needed together
    failing = _gate(_review([("a", 0.03, 60_000), ("b", 0.04, 60_000)]),
                    _template(template, 0.001, CATASTROPHE), seed)
    assert failing.method == "importance sampling"
    assert failing.status == "fail"
    assert failing.samples < 150_000
    assert failing.low > 0.001


def test_plain_sampling_needs_the_look_the_closed_form_says(template: Template,
                                                            monkeypatch: Any) -> None:
    monkeypatch.setattr(rare, "RARE_LIMIT", 0.0)  # importance sampling off
    gate = _gate(_review([("leak", 0.0009, 12_000)]), _template(template, 0.001), 0)
    assert gate.method is None
    assert gate.samples >= 640_000


def test_same_seed_same_verdict_and_a_gate_at_its_limit_fails_saying_how(
        template: Template) -> None:
    review, limited = _review([("leak", 0.001, 12_000)]), _template(template, 0.001)
    first, again = _gate(review, limited, 7), _gate(review, limited, 7)
    assert first == again
    assert first.method == "importance sampling"
    assert first.status == "undecided"  # the truth is the limit: no look can decide
    assert first.tilted == 2_000_000 - 20_000
    assert first.effective > 50 * first.tilted


def test_check_says_the_method(tmp_path: Any) -> None:
    folder = tmp_path / "standard"
    folder.mkdir()
    text = MINIMAL_TEMPLATE.read_text(encoding="utf-8").split("\npolicy:")[0]
    (folder / "test-minimal.yaml").write_text(
        text + "\npolicy:\n  - {id: tail, rule: max-p-extreme-bad, value: 0.001}\n",
        encoding="utf-8")
    path = tmp_path / "review.json"
    path.write_text(json.dumps(_data([("leak", 0.0009, 12_000)])), encoding="utf-8")
    run = CliRunner().invoke(main, ["check", "--templates", str(folder), str(path)])
    line = next((x for x in run.output.splitlines() if "tail:" in x), run.output)
    assert line.startswith("PASS"), run.output
    assert "decided by importance sampling" in line, line
    assert re.search(r"decided by importance sampling at [\d,]+ samples \([\d,]+ tilted, "
                     r"worth [\d,]+ plain samples; look 2 of 8\)", line), line


def test_a_tail_from_large_impacts_is_unbiased_with_the_impact_normal_shifted(
        template: Template, monkeypatch: Any) -> None:
    # the harm is common; its lognormal impact passes 5,000 rarely: P = p (1 - Φ(...))
    monkeypatch.setattr(rare, "SHIFT_NORM", 4.0)
    review = _review([("leak", 0.5, [100, 2000])])
    model = _model(review, template)
    (harm,) = model.models
    mu, sigma = harm.components[0].impact_mu, harm.components[0].impact_sigma
    truth = 0.5 * (1 - NormalDist(mu, sigma).cdf(math.log(5000)))
    assert 0.0005 < truth < 0.003
    sums, gain = _tilted_run(model, BAD, 6, 50_000)
    _within(sums, truth)
    assert gain > 10
    fitted = cross_entropy(model, BAD, 6)
    assert fitted is not None
    assert fitted[0][0, 2] > 1  # the impact normal's mean moved up
    assert fitted[0][0, 1] == 0  # a point likelihood has no normal to move
    # by default the normals are not shifted (their weights' tail is too heavy for the
    # interval), so this tail gains nothing and the plain looks decide it
    monkeypatch.setattr(rare, "SHIFT_NORM", 0.0)
    fitted = cross_entropy(model, BAD, 6)
    assert fitted is None or fitted[2] < rare.MIN_GAIN
    gate = _gate(review, _template(template, truth * 1.1), 0)
    assert gate.method is None


def test_a_tail_from_a_mitigation_factor_stays_with_plain_sampling(
        template: Template) -> None:
    # a certain harm of 5,500 under a mitigation whose uncertain impact factor rarely
    # leaves it past 5,000: nothing the tilt moves (factors are drawn untilted), so the
    # pilot shows no gain and the plain looks decide
    review = _review([("leak", 1.0, 5500)], mitigations=[
        {"id": "shrink", "title": "Shrink", "targets": ["leak"], "impact_factor": [0.2, 0.6],
         "owner": "ana"}])
    model = _model(review, template, "mitigated")
    fitted = cross_entropy(model, BAD, 0)
    assert fitted is None or fitted[2] < rare.MIN_GAIN
    gate = _gate(review, _template(template, 0.003), 0)
    assert gate.method is None
    assert gate.status is not None
