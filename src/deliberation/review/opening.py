"""Opening a review with its template: one function finds the template and checks both.

Templates are searched in the caller's folders (--templates), then $DELIBERATION_TEMPLATES,
then the built-in ones; a templates/ folder beside the review may add templates, never
replace one (the precedence is stated in :mod:`.templates`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import TemplateNotFound
from .template import Template
from .templates import Found, resolve_template


def resolve_likelihood(value: Any, template: Template) -> tuple[float, float]:
    """A likelihood as a numeric 90% interval: labels looked up, points doubled."""
    return _interval(value, template.likelihood_of)


def resolve_impact(value: Any, template: Template) -> tuple[float, float]:
    """An impact as a numeric 90% interval: labels looked up, points doubled."""
    return _interval(value, template.impact_of)


def _interval(value: Any, label: Callable[[str], tuple[float, float]]) -> tuple[float, float]:
    if isinstance(value, str):
        return label(value)
    if isinstance(value, tuple | list):
        return (float(value[0]), float(value[1]))
    return (float(value), float(value))


def check_review_against(review: Any, template: Template, path: Path | str | None = None) -> None:
    """Raise ReviewInvalid unless every label and category of ``review`` exists in ``template``."""
    from ..errors import ReviewInvalid

    likelihoods = [level.label for level in template.likelihood_scale]
    impacts = [level.label for level in template.impact_scale]
    if review.template.id != template.id:
        raise ReviewInvalid(
            f"expected template {template.id!r}, got {review.template.id!r}",
            path=path,
            field="template.id",
        )
    for index, estimate in enumerate(review.estimates):
        if isinstance(estimate.likelihood, str) and estimate.likelihood not in likelihoods:
            raise ReviewInvalid(
                f"expected [low, high], a probability or one of {', '.join(likelihoods)}; "
                f"got {estimate.likelihood!r}",
                path=path,
                field=f"estimates[{index}].likelihood",
            )
        if isinstance(estimate.impact, str) and estimate.impact not in impacts:
            raise ReviewInvalid(
                f"expected [low, high], a number or one of {', '.join(impacts)}; "
                f"got {estimate.impact!r}",
                path=path,
                field=f"estimates[{index}].impact",
            )
    categories = {c.id: c for c in template.categories}
    for index, item in enumerate(review.items):
        if item.category is None:
            continue
        category = categories.get(item.category)
        if category is None:
            raise ReviewInvalid(
                f"expected one of the template's categories ({', '.join(categories)}), "
                f"got {item.category!r}",
                path=path,
                field=f"items[{index}].category",
            )
        if category.kind != item.kind:
            raise ReviewInvalid(
                f"category {item.category!r} is a {category.kind} category, but the item is a "
                f"{item.kind}",
                path=path,
                field=f"items[{index}].category",
            )
    for index, entry in enumerate(review.not_applicable):
        if entry.category not in categories:
            raise ReviewInvalid(
                f"expected one of the template's categories, got {entry.category!r}",
                path=path,
                field=f"not_applicable[{index}].category",
            )
    rules = [rule.id for rule in template.policy]
    for index, override in enumerate(review.decision.overrides if review.decision else []):
        if override.gate not in rules:
            raise ReviewInvalid(
                f"expected one of the template's gates ({', '.join(rules) or 'none'}), "
                f"got {override.gate!r}",
                path=path,
                field=f"decision.overrides[{index}].gate",
            )


def open_review(
    path: Path | str, *, search: Iterable[Path | str] = ()
) -> tuple[Any, Template, Path]:
    """Load ``review.json`` (or a folder holding one), find its template, check them together.

    Templates are searched in ``search`` (--templates), then $DELIBERATION_TEMPLATES, then
    the built-in ones, each shadowing the next and saying so; a ``templates/`` folder beside
    the review may add templates but never replace one of those (see
    :mod:`.templates`).
    """
    review, template, path, _ = open_review_with_sources(path, search=search)
    return review, template, path


def open_review_with_sources(
    path: Path | str, *, search: Iterable[Path | str] = ()
) -> tuple[Any, Template, Path, list[Found]]:
    """:func:`open_review`, and the file each link of the template's chain came from."""
    from ..errors import ReviewInvalid
    from .model import load_review

    path = Path(path)
    if path.is_dir():
        path = path / "review.json"
    review = load_review(path)
    try:
        template, sources = resolve_template(
            review.template.id, search=search, review_folder=path.parent)
    except TemplateNotFound as error:
        raise ReviewInvalid(error.detail, path=path, field="template.id") from None
    check_review_against(review, template, path)
    return review, template, path, sources
