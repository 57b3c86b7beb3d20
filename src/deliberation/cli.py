"""The ``deliberation`` command line (DESIGN.md, "Command line").

Exit codes are a contract for release pipelines: 0 pass, 1 a gate failed or an
archive is tampered, 2 invalid input. A user mistake prints one line naming the
file, the field and what was expected; never a traceback.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from .errors import DeliberationError

F = TypeVar("F", bound=Callable[..., Any])

TEMPLATES_OPTION = click.option(
    "--templates",
    "template_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A folder of your own templates (repeatable); also $DELIBERATION_TEMPLATES.",
)


def user_errors(function: F) -> F:
    """Print a DeliberationError as one line on stderr and exit 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except DeliberationError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deliberation")
def main() -> None:
    """Structured release reviews of AI models: check, report, export, verify."""


def _workbook_source() -> Path:
    shipped = Path(__file__).parent / "_workbooks" / "release_review.ipynb"
    if shipped.is_file():
        return shipped
    return Path(__file__).resolve().parents[2] / "workbooks" / "release_review.ipynb"


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--template",
    "template_id",
    default="release-review",
    show_default=True,
    help="The template the review follows.",
)
@click.option("--title", default=None, help="The review's title.")
@click.option("--subject", default=None, help="The model under review (default: the folder name).")
@TEMPLATES_OPTION
@user_errors
def new(
    directory: Path,
    template_id: str,
    title: str | None,
    subject: str | None,
    template_dirs: tuple[Path, ...],
) -> None:
    """Start a review in DIRECTORY: review.json plus the workbook."""
    from .model import Review, Subject, TemplateRef, save_review
    from .templates import load_template

    template = load_template(template_id, search=template_dirs)
    if directory.exists() and any(directory.iterdir()):
        raise DeliberationError(
            "expected a new or empty folder; it already holds files", path=directory
        )
    name = subject or directory.resolve().name
    review_id = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip("-.") or "review"
    review = Review(
        id=review_id,
        title=title or f"Release review: {name}",
        subject=Subject(name=name),
        template=TemplateRef(id=template.id, version=template.version, sha256=template.sha256()),
        horizon="12 months after release",
    )
    directory.mkdir(parents=True, exist_ok=True)
    save_review(review, directory / "review.json")
    shutil.copyfile(_workbook_source(), directory / "release_review.ipynb")
    click.echo(
        f"created {directory / 'review.json'} from template {template.id} v{template.version}"
    )
    click.echo(f"open the workbook: jupyter lab {directory / 'release_review.ipynb'}")


@main.command("templates")
@TEMPLATES_OPTION
@user_errors
def list_templates_command(template_dirs: tuple[Path, ...]) -> None:
    """List built-in and local templates."""
    from .templates import list_templates

    for template_id, path, template in list_templates(template_dirs):
        if isinstance(template, str):
            click.echo(f"{template_id:<20} INVALID  {template}")
        else:
            click.echo(f"{template_id:<20} v{template.version:<4} {template.title}  ({path})")


def load_checked(review_path: Path, template_dirs: tuple[Path, ...] = ()) -> tuple[Any, Any, Path]:
    """Load a review and its template, and check one against the other."""
    from .templates import open_review

    return open_review(review_path, search=template_dirs)


@main.command()
@click.argument("review_path", metavar="REVIEW", type=click.Path(path_type=Path))
@click.option(
    "--samples",
    default=20_000,
    show_default=True,
    type=click.IntRange(min=100),
    help="Monte Carlo samples for the probability gates.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the gate results as JSON.")
@TEMPLATES_OPTION
@user_errors
def check(
    review_path: Path, samples: int, seed: int, as_json: bool, template_dirs: tuple[Path, ...]
) -> None:
    """Validate REVIEW and run its template's policy gates: exit 0 pass, 1 fail, 2 invalid."""
    from .policy import evaluate_policy, needs_analysis, passed

    review, template, path = load_checked(review_path, template_dirs)
    analysis = None
    if needs_analysis(template):
        from .analysis import analyze

        analysis = analyze(review, template, samples=samples, seed=seed)
    results = evaluate_policy(review, template, analysis)
    drift = bool(review.template.sha256) and review.template.sha256 != template.sha256()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "review": str(path),
                    "template": template.id,
                    "template_sha256": template.sha256(),
                    "template_changed": drift,
                    "samples": samples,
                    "seed": seed,
                    "passed": passed(results),
                    "gates": [r.to_json() for r in results],
                },
                indent=2,
            )
        )
    else:
        for result in results:
            clause = f"  [{result.clause}]" if result.clause else ""
            click.echo(f"{result.status.upper():<4}  {result.id}: {result.message}{clause}")
        if drift:
            click.echo(
                f"note  the template {template.id!r} changed since the review recorded "
                f"it (sha256 {review.template.sha256[:12]}… now {template.sha256()[:12]}…)"
            )
        failed = sum(r.status == "fail" for r in results)
        warned = sum(r.status == "warn" for r in results)
        click.echo(
            f"{len(results)} gates: {len(results) - failed - warned} passed, "
            f"{failed} failed, {warned} warned"
        )
    sys.exit(0 if passed(results) else 1)


@main.command()
def schema() -> None:
    """Print the JSON Schema of review.json."""
    from .model import review_json_schema

    click.echo(json.dumps(review_json_schema(), indent=2, ensure_ascii=False))
