"""Value of information (engine.voi) against closed forms, on the analysis' own draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deliberation.engine.analysis import analyze
from deliberation.engine.results import Analysis, InformationValue, ValueOfInformation
from deliberation.engine.simulate import simulate
from deliberation.engine.voi import value_of_information
from deliberation.numbers import plus_minus
from deliberation.readout.report import format_report
from deliberation.record.render import render_tradeoffs
from deliberation.review.model import Review, parse_review
from deliberation.review.template import Template

from .strategies import review_from

Z90 = 2 * 1.6448536269514722  # a 90% interval spans this many standard deviations


def phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def lognormal(low: float, high: float) -> tuple[float, float]:
    """mu, sigma of the lognormal with 5th/95th percentiles ``low``/``high``."""
    return (math.log(low) + math.log(high)) / 2, (math.log(high) - math.log(low)) / Z90


def mean_above(mu: float, sigma: float, k: float) -> float:
    """E[X; X > k] of a lognormal (its partial expectation)."""
    return math.exp(mu + sigma**2 / 2) * phi((mu + sigma**2 - math.log(k)) / sigma)


def mean_below(mu: float, sigma: float, k: float) -> float:
    return math.exp(mu + sigma**2 / 2) * phi((math.log(k) - mu - sigma**2) / sigma)


def entry(voi: ValueOfInformation, subject: str, name: str, quantity: str) -> InformationValue:
    (found,) = [e for e in voi.entries
                if (e.subject, e.id, e.quantity) == (subject, name, quantity)]
    return found


def gamble(c: float = 1000, extra_items: list[tuple[str, str]] | None = None,
           extra_estimates: list[tuple[str, str, object, object]] | None = None,
           only_a: list[str] | None = None) -> Review:
    """Variant a gains b (lognormal, 500 to 2000), variant b gains c = 1000 for sure;
    ``only_a`` items are removed from variant b, other extra items are in both."""
    return review_from(
        [("b", "benefit"), ("c", "benefit"), *(extra_items or [])],
        [("b", "ana", 1, [500, 2000]), ("c", "ana", 1, c), *(extra_estimates or [])],
        mitigations=[
            {"id": "drop-b", "targets": ["b", *(only_a or [])], "likelihood_factor": 0},
            {"id": "drop-c", "targets": ["c"], "likelihood_factor": 0},
        ],
        variants=[("a", ["drop-c"]), ("b", ["drop-b"])],
    )


def gamble_evpi() -> float:
    mu, sigma = lognormal(500, 2000)
    c = 1000.0
    mean = math.exp(mu + sigma**2 / 2)
    best_informed = c * phi((math.log(c) - mu) / sigma) + mean_above(mu, sigma, c)
    return best_informed - max(mean, c)


def voi_of(review: Review, template: Template, seed: int = 0,
           samples: int = 10_000) -> ValueOfInformation:
    voi = analyze(review, template, samples=samples, seed=seed).value_of_information
    assert voi is not None
    return voi


def test_evpi_and_the_deciding_items_evppi_match_the_closed_form(template: Template) -> None:
    truth = gamble_evpi()
    assert truth > 50  # a real stake: the choice turns on b
    voi = voi_of(gamble(), template, seed=3)
    assert voi.samples == 10_000
    assert abs(voi.evpi - truth) < 4 * voi.evpi_se
    impact = entry(voi, "item", "b", "impact")
    # all the uncertainty is b's impact: knowing it is knowing everything
    assert abs(impact.evppi - truth) < 4 * math.hypot(impact.evppi_se, voi.evpi_se)
    assert impact.could_change_choice
    assert voi.entries[0] == impact  # ranked first
    assert impact.sentence.startswith("resolving the impact of Item b could change the choice;")


def test_an_item_that_cannot_change_the_choice_is_worth_zero(template: Template) -> None:
    # n weighs on both variants alike; t is in variant a only, but far too small to
    # close the gap between E[b] + t and c
    review = gamble(
        1000, [("n", "harm"), ("t", "benefit")],
        [("n", "ana", [0.2, 0.6], [100, 1000]), ("t", "ana", [0.2, 0.6], [0.5, 2])],
        only_a=["t"],
    )
    voi = voi_of(review, template, seed=5)
    for name in ("n", "t"):
        for quantity in ("likelihood", "impact"):
            found = entry(voi, "item", name, quantity)
            assert found.evppi <= 4 * found.evppi_se + 1e-9, (name, quantity, found)
            assert not found.could_change_choice
            assert "would not measurably change the choice" in found.sentence
    assert entry(voi, "item", "n", "impact").evppi == 0  # same change to every variant
    assert abs(voi.evpi - gamble_evpi()) < 4 * voi.evpi_se + 2  # t adds at most ~1.2


def test_at_a_tie_noise_in_the_bins_is_not_counted_as_information(template: Template) -> None:
    # c = E[b]: the variants tie on average, so every bin's mean lead is noise; n weighs
    # on both alike, so knowing it is worth nothing. Picking and scoring on the same
    # samples would count that noise as a gain; cross-fitting does not.
    mu, sigma = lognormal(500, 2000)
    review = gamble(math.exp(mu + sigma**2 / 2), [("n", "harm")],
                    [("n", "ana", [0.2, 0.6], [100, 1000])])
    simulation = simulate(review, template, samples=20_000, rng=np.random.default_rng(6))
    capture = simulation.voi
    assert capture is not None
    voi = value_of_information(simulation.net, [1, 2], capture, item_titles={},
                               mitigation_titles={})
    assert voi is not None
    lead = (simulation.net[1].astype(np.float64) - simulation.net[2])[:capture.filled]
    for quantity in ("likelihood", "impact"):
        found = entry(voi, "item", "n", quantity)
        assert found.evppi <= 4 * found.evppi_se
        # the in-sample estimate: each bin's own mean lead, taken when positive
        (row,) = [i for i, q in enumerate(capture.quantities)
                  if (q.id, q.quantity) == ("n", quantity)]
        codes = capture.codes[row] // 2  # each code is its bin x 2 plus its fold
        sums = np.bincount(codes, weights=lead)
        counts = np.bincount(codes)
        held = counts > 0
        best = max(lead.mean(), 0.0)
        naive = float(np.sum(np.maximum(sums[held] / counts[held], 0) * counts[held])
                      / len(lead)) - best
        # the bias the test guards against: about 2 standard errors at 20 bins
        assert naive > found.evppi + found.evppi_se


def test_which_participant_is_right_against_a_two_point_closed_form(template: Template) -> None:
    # ana: b is 500, ben: b is 2000; c = 1100. E[b] = 1250, so a is preferred; knowing
    # ana is right (half the samples) switches to b and gains 600: EVPI = 300.
    review = review_from(
        [("b", "benefit"), ("c", "benefit")],
        [("b", "ana", 1, 500), ("b", "ben", 1, 2000), ("c", "ana", 1, 1100)],
        mitigations=[{"id": "drop-b", "targets": ["b"], "likelihood_factor": 0},
                     {"id": "drop-c", "targets": ["c"], "likelihood_factor": 0}],
        variants=[("a", ["drop-c"]), ("b", ["drop-b"])],
    )
    voi = voi_of(review, template, seed=1)
    assert abs(voi.evpi - 300) < 4 * voi.evpi_se
    who = entry(voi, "participants", "participants", "participant")
    assert abs(who.evppi - 300) < 4 * who.evppi_se
    assert who.sentence.startswith("resolving which participant's view is right could change")
    assert abs(entry(voi, "item", "b", "impact").evppi - 300) < 4 * who.evppi_se


def test_a_mitigation_factor_against_the_closed_form_of_a_put(template: Template) -> None:
    # a: harm h = 1000 for sure. b: h cut by a factor f (lognormal, 0.3 to 1.2) at a cost
    # of 300. Net a - b = 1000 f - 700 ... knowing f picks b exactly when 1000 f < 700.
    review = review_from(
        [("h", "harm"), ("cost", "harm")],
        [("h", "ana", 1, 1000), ("cost", "ana", 1, 300)],
        mitigations=[{"id": "no-cost", "targets": ["cost"], "likelihood_factor": 0},
                     {"id": "m", "targets": ["h"], "impact_factor": [0.3, 1.2]}],
        variants=[("a", ["no-cost"]), ("b", ["m"])],
    )
    mu, sigma = lognormal(300, 1200)  # X = 1000 f
    k = 700.0
    put = k * phi((math.log(k) - mu) / sigma) - mean_below(mu, sigma, k)
    truth = put - max(0.0, k - math.exp(mu + sigma**2 / 2))
    voi = voi_of(review, template, seed=2)
    assert abs(voi.evpi - truth) < 4 * voi.evpi_se
    factor = entry(voi, "mitigation", "m", "impact_factor")
    assert abs(factor.evppi - truth) < 4 * math.hypot(factor.evppi_se, voi.evpi_se)
    assert factor.sentence.startswith("resolving how much Mitigation m cuts the impact could")


def test_no_partial_value_exceeds_the_perfect_one(template: Template) -> None:
    review = review_from(
        [("art", "benefit"), ("fakes", "harm"), ("research", "benefit")],
        [("art", "ana", [0.6, 0.9], [2000, 8000]), ("art", "ben", 0.8, [1000, 4000]),
         ("fakes", "ana", [0.05, 0.3], [3000, 30000]), ("fakes", "ben", [0.2, 0.5], 5000),
         ("research", "ana", [0.3, 0.7], [500, 6000])],
        mitigations=[{"id": "filter", "targets": ["fakes"], "likelihood_factor": [0.2, 0.5]},
                     {"id": "api", "targets": ["fakes", "research"],
                      "impact_factor": [0.3, 0.6]}],
        variants=[("open", []), ("filtered", ["filter"]), ("api", ["filter", "api"])],
    )
    voi = voi_of(review, template, seed=4, samples=8_000)
    assert voi.samples == 8_000
    assert len(voi.entries) == 9  # 3 items x 2, 2 interval factors, the participants
    assert voi.evpi > 0
    for found in voi.entries:
        # each sample's score is at most its perfect-information gain: no noise here
        assert found.evppi <= voi.evpi + 1e-6 * abs(voi.evpi)
    assert [e.evppi for e in voi.entries] == sorted((e.evppi for e in voi.entries),
                                                    reverse=True)


def test_the_same_seed_gives_the_same_numbers_whatever_the_chunk(template: Template) -> None:
    review = gamble(1000, [("n", "harm")], [("n", "ana", [0.2, 0.6], [100, 1000])],
                    only_a=["n"])
    first, second = voi_of(review, template, seed=9), voi_of(review, template, seed=9)
    assert first == second
    titles = {item.id: item.title for item in review.items}

    def chunked(chunk: int | None) -> ValueOfInformation | None:
        simulation = simulate(review, template, samples=6_000,
                              rng=np.random.default_rng(9), chunk=chunk)
        return value_of_information(simulation.net, [1, 2], simulation.voi,
                                    item_titles=titles, mitigation_titles={})

    whole = chunked(None)
    assert whole is not None
    assert chunked(700) == whole
    assert chunked(1024) == whole
    assert chunked(7) == whole


def test_tiny_chunks_and_equal_points_change_nothing(template: Template) -> None:
    # ben and ana state the same point for e: drawn per sample, but one value throughout
    review = review_from(
        [("b", "benefit"), ("c", "benefit"), ("e", "harm")],
        [("b", "ana", 1, 500), ("b", "ben", 1, 2000), ("c", "ana", 1, 1100),
         ("e", "ana", 0.5, 10), ("e", "ben", 0.5, 10)],
        mitigations=[{"id": "drop-b", "targets": ["b", "e"], "likelihood_factor": 0},
                     {"id": "drop-c", "targets": ["c"], "likelihood_factor": 0}],
        variants=[("a", ["drop-c"]), ("b", ["drop-b"])],
    )

    def chunked(chunk: int | None) -> ValueOfInformation | None:
        simulation = simulate(review, template, samples=1_500,
                              rng=np.random.default_rng(1), chunk=chunk)
        return value_of_information(simulation.net, [1, 2], simulation.voi,
                                    item_titles={}, mitigation_titles={})

    whole = chunked(None)
    assert whole is not None
    assert {(e.id, e.quantity) for e in whole.entries} == {
        ("b", "impact"), ("participants", "participant")}  # e's points never vary
    assert chunked(1) == whole
    assert chunked(3) == whole


def test_no_choice_or_no_sensitivity_has_no_value_of_information(template: Template) -> None:
    single = review_from([("b", "benefit")], [("b", "ana", 1, [500, 2000])])
    assert analyze(single, template, samples=2_000).value_of_information is None
    assert analyze(gamble(), template, samples=2_000,
                   sensitivity=False).value_of_information is None


def test_it_round_trips_through_the_analysis_json(template: Template) -> None:
    analysis = analyze(gamble(), template, samples=3_000, seed=1)
    assert analysis.value_of_information is not None
    again = Analysis.from_json(analysis.to_json())
    assert again.value_of_information == analysis.value_of_information
    older = analysis.to_json()
    del older["value_of_information"]  # a record made before it existed
    assert Analysis.from_json(older).value_of_information is None


def test_the_report_and_the_record_rank_it_in_the_same_digits(template: Template) -> None:
    payload = '<script>alert("x")</script>'
    data = gamble().model_dump(mode="json", by_alias=True)
    data["items"][0]["title"] = f"Fakes {payload}"
    review = parse_review(data)
    analysis = analyze(review, template, samples=4_000, seed=1)
    voi = analysis.value_of_information
    assert voi is not None
    top = voi.entries[0]
    gain = plus_minus(top.evppi, top.evppi_se)
    assert top.sentence == (f"resolving the impact of Fakes {payload} could change the choice; "
                            f"expected gain {gain} points")
    text = format_report(analysis, review)
    section = text[text.index("What is worth investigating before release"):]
    assert ("knowing every outcome in advance (an upper bound: chance included): expected gain "
            f"{plus_minus(voi.evpi, voi.evpi_se)} points") in section
    assert f"  {top.sentence}\n" in section
    html = render_tradeoffs(review, analysis.to_json(), template=template)
    assert "<h3>What is worth investigating before release</h3>" in html
    row = html[html.index('class="grid information'):]
    assert (f'<th scope="row" class="text">the impact of Fakes '
            f'&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</th><td class="num">{gain}</td>'
            ) in row
    assert payload not in html
    assert plus_minus(voi.evpi, voi.evpi_se) in html


def test_the_chart_draws_the_ranked_gains_and_its_text_says_them(template: Template) -> None:
    from deliberation.readout.information import describe, information_chart

    analysis = analyze(gamble(1000, [("n", "harm")], [("n", "ana", [0.2, 0.6], [100, 1000])]),
                       template, samples=4_000, seed=2)
    voi = analysis.value_of_information
    assert voi is not None
    spec = information_chart(analysis).to_dict()
    bars, spans, evpi = spec["layer"]
    assert spans["data"]["values"] == bars["data"]["values"]  # each bar's 95% interval
    rows = bars["data"]["values"]
    assert [row["gain"] for row in rows] == [e.evppi for e in voi.entries]
    assert rows[0]["estimate"] == "impact: Item b"
    top = voi.entries[0]
    assert rows[0]["high"] == pytest.approx(top.evppi + 1.959964 * top.evppi_se)
    assert evpi["data"]["values"] == [{"evpi": voi.evpi}]
    text = describe(analysis)
    assert voi.entries[0].sentence in text
    assert f"chance included): expected gain {plus_minus(voi.evpi, voi.evpi_se)} points" in text


def test_a_draw_cache_reuses_unchanged_items_bins_and_changes_no_number(
        template: Template) -> None:
    from deliberation.engine.draws import DrawCache

    review = gamble(1000, [("n", "harm")], [("n", "ana", [0.2, 0.6], [100, 1000])])
    data = review.model_dump(mode="json", by_alias=True)
    data["estimates"][-1]["impact"] = [200, 2000]
    edited = parse_review(data)
    cache = DrawCache()
    for each in (review, review, edited, review):
        cached = analyze(each, template, samples=5_000, seed=4, cache=cache)
        fresh = analyze(each, template, samples=5_000, seed=4)
        assert cached.value_of_information == fresh.value_of_information
    assert any(draws.binned for draws in cache.items.values())
