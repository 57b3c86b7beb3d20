"""Decision records: export a review, write record.json, render record.html from it.

``record.html`` is a pure function of ``record.json``: :func:`render_record` builds
a notebook whose cells display the static step fragments of :mod:`.render`, and
converts it with nbconvert through our template (``record_template/``). Export
produces ``record.html`` by that same function, from the very bytes it writes as
``record.json``, so ``deliberation render record.json`` rebuilds it byte for byte
without a kernel. The created time is read from ``record.json``, never the clock.

Export also executes the review's workbook headless (nbclient, :mod:`.execute`) in
record mode (:mod:`.mode`), where every widget displays the same static fragments:
export renders the steps' fragments once, from the record as it will be written, and
hands them to the kernel, so the executed notebook (kept as ``review.ipynb``) and
``record.html`` show the numbers and charts of one analysis, drawn once.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import platform
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import DeliberationError, RecordError, RecordTampered
from ..files import kind_of, load_json
from ..review.model import Review, parse_review, review_to_data
from ..review.opening import open_review
from ..review.template import Template
from ..text import reveal
from . import render
from .archive import Published, Slot, preflight, publish, verify_archive
from .artifact import SUMS_FILE, Artifact
from .attest import required_roles, seal
from .document import MAX_RECORD_BYTES, RECORD_JSON, RECORD_SCHEMA, validate_record
from .execute import Progress, _quiet, execute_workbook, find_workbook
from .layout import enclosing_archive, find_archive, record_name
from .pdf import print_pdf
from .quick_import import defer_iri_grammar

RECORD_HTML = "record.html"
NOTEBOOK = "review.ipynb"
PDF = "record.pdf"
TEMPLATE_DIR = Path(__file__).parent / "record_template"
VERSIONED = ("deliberation", "numpy", "pandas", "pydantic", "jinja2", "nbconvert", "nbclient",
             "nbformat", "ipykernel", "ipywidgets", "altair")

# --------------------------------------------------------------------------- record.json


def package_versions() -> dict[str, str]:
    """The versions of Python and of the packages that made the numbers and the page."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def build_record(
    *,
    review: Review,
    template: Template,
    analysis_json: Mapping[str, Any],
    gate_results_json: Sequence[Mapping[str, Any]],
    seed: int,
    samples: int,
    created: str,
    slot: Slot | None = None,
    versions: Mapping[str, str] | None = None,
    artifact: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a record shows, as plain JSON-ready data."""
    return {
        **({"artifact": dict(artifact)} if artifact else {}),
        "schema": RECORD_SCHEMA,
        "record": slot.name if slot else None,
        "seq": slot.seq if slot else None,
        "created": created,
        "supersedes": slot.supersedes if slot else None,
        "review": review_to_data(review),
        "template": {
            "id": template.id,
            "version": template.version,
            "sha256": template.sha256(),
            "definition": template.model_dump(mode="json"),
        },
        "seed": seed,
        "samples": samples,
        "analysis": dict(analysis_json),
        "policy": {
            "passed": all(g.get("status") != "fail" for g in gate_results_json),
            "gates": [dict(g) for g in gate_results_json],
        },
        "versions": dict(versions if versions is not None else package_versions()),
        # A review kept by a meeting's store names the event log it came from.
        **({"event_log": log} if (log := (review.model_extra or {}).get("event_log")) else {}),
    }


def dumps_record(record: Mapping[str, Any]) -> bytes:
    """record.json's bytes: sorted keys, two-space indent, UTF-8, no NaN."""
    text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def load_record(path: Path | str) -> dict[str, Any]:
    """Read and validate record.json (or the record.json of a record folder): a regular
    file, bounded in size and depth, that satisfies the record's model
    (:mod:`.document`); RecordError naming the path given and the field otherwise."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_JSON
    return validate_record(load_json(path, limit=MAX_RECORD_BYTES, error=RecordError), path)


# --------------------------------------------------------------------------- record.html


def _record_parts(record: Mapping[str, Any]) -> tuple[Review, Template]:
    try:
        review = parse_review(record["review"], path=RECORD_JSON)
        template = Template.model_validate(record["template"]["definition"])
    except (KeyError, TypeError) as error:
        raise RecordError(f"expected the field {error}", path=RECORD_JSON) from None
    except ValueError as error:  # pydantic's ValidationError for the template
        raise RecordError(f"template.definition: {error}", path=RECORD_JSON) from None
    return review, template


def _record_sha256(record: Mapping[str, Any]) -> str:
    try:
        return hashlib.sha256(dumps_record(record)).hexdigest()
    except ValueError as error:  # a number beyond float's range (a 400-digit integer)
        raise RecordError(f"expected finite numbers throughout: {error}",
                          path=RECORD_JSON) from None


def _step_fragments(record: Mapping[str, Any], review: Review,
                    template: Template) -> dict[str, str]:
    analysis: Mapping[str, Any] = record.get("analysis") or {}
    gates: Sequence[Mapping[str, Any]] = (record.get("policy") or {}).get("gates", [])
    return {
        "setup": render.render_setup(review, template),
        "register": render.render_register(review, template),
        "mitigations": render.render_mitigations(review),
        "tradeoffs": render.render_tradeoffs(review, analysis, template=template),
        "policy": render.render_policy(gates),
        "decision": render.render_decision(review, gates, analysis, template=template),
    }


def step_fragments(record: Mapping[str, Any]) -> dict[str, str]:
    """The record's sections a workbook shows in record mode (``mode.STEP_FRAGMENTS``):
    they depend on the review, the template, the analysis and the policy only, never on
    the record's name, time or signatures (:func:`step_inputs`)."""
    return _step_fragments(record, *_record_parts(record))


def step_inputs(record: Mapping[str, Any]) -> tuple[Any, ...]:
    """What :func:`step_fragments` reads of a record: equal inputs, equal fragments."""
    return tuple(record.get(key) for key in ("review", "template", "analysis", "policy"))


def record_fragments(record: Mapping[str, Any],
                     signatures: Sequence[Mapping[str, Any]] | None = None,
                     *, steps: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The record's sections in reading order: decision first, provenance last.
    ``signatures`` (checked ones, from the archive) are shown beside the sign-offs;
    ``steps``: the :func:`step_fragments` of a record with the same :func:`step_inputs`
    (export renders them once, for the workbook and the page)."""
    review, template = _record_parts(record)
    if steps is None:
        steps = _step_fragments(record, review, template)
    name = record.get("record") or ""
    return [
        ("masthead", render.render_masthead(review, record_name=name, created=record["created"],
                                            supersedes=record.get("supersedes"))),
        *((step, steps[step]) for step in ("decision", "policy", "tradeoffs", "register",
                                           "mitigations", "setup")),
        ("attestation", render.render_attestation(
            review, artifact=record.get("artifact"), signatures=signatures,
            roles=required_roles(record["template"].get("definition") or {}))),
        ("provenance", render.render_provenance(
            record_name=name, created=record["created"], supersedes=record.get("supersedes"),
            template={k: record["template"].get(k, "") for k in ("id", "version", "sha256")},
            seed=record.get("seed"), samples=record.get("samples"),
            versions=record.get("versions") or {},
            record_sha256=_record_sha256(record),
        )),
    ]


def record_notebook(record: Mapping[str, Any],
                    signatures: Sequence[Mapping[str, Any]] | None = None,
                    *, steps: Mapping[str, str] | None = None) -> Any:
    """The notebook nbconvert turns into record.html: one output-only cell per section."""
    nbformat: Any = importlib.import_module("nbformat")

    review, _ = _record_parts(record)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["deliberation"] = {
        "title": reveal(f"Decision record: {review.title}"),  # bidi shown, as in the page
        "generator": reveal(str((record.get("versions") or {}).get("deliberation", ""))),
    }
    for index, (step, html) in enumerate(record_fragments(record, signatures, steps=steps)):
        cell = nbformat.v4.new_code_cell(source="", metadata={"deliberation": {"step": step}})
        cell["id"] = f"record-{index}"  # fixed ids: the notebook is a pure function too
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
        notebook.cells.append(cell)
    return notebook


@cache
def _exporter() -> Any:
    from nbconvert.exporters import TemplateExporter

    class RecordExporter(TemplateExporter):
        """nbconvert with our template only: no lab theme, no require.js, no MathJax."""

        export_from_notebook = "Decision record"
        output_mimetype = "text/html"
        file_extension = ".html"

    exporter: Any = RecordExporter
    return exporter(
        extra_template_basedirs=[str(TEMPLATE_DIR.parent)],
        template_name=TEMPLATE_DIR.name,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def render_record(record: Mapping[str, Any],
                  signatures: Sequence[Mapping[str, Any]] | None = None,
                  *, steps: Mapping[str, str] | None = None) -> str:
    """record.html from record.json's data: the same data always gives the same bytes.
    The published page has ``signatures=None``; a re-render may show those made since.
    ``steps``: see :func:`record_fragments` (``verify`` never passes them)."""
    defer_iri_grammar()
    body, _ = _exporter().from_notebook_node(record_notebook(record, signatures, steps=steps))
    return str(body)


def render_record_file(
    path: Path | str, output: Path | str | None = None, *, force: bool = False,
    signatures: bool = False,
) -> Path:
    """``deliberation render``: write record.html beside record.json (or to ``output``);
    ``signatures``: show the checked signatures its archive holds for it.

    Never into an archive (its files are written once, by export), and never over an
    existing file unless ``force``.
    """
    path = Path(path)
    source = path / RECORD_JSON if path.is_dir() else path
    target = Path(output) if output is not None else source.with_name(RECORD_HTML)
    archive = enclosing_archive(target)
    if archive is not None:
        hint = "" if output is not None else "; give -o FILE to write the HTML elsewhere"
        raise RecordError(f"refusing to write into the archive {archive}, where files are "
                          f"written once{hint}", path=target)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise RecordError("refusing to write: it exists and is not a regular file", path=target)
    if target.exists() and not force:
        raise RecordError("refusing to overwrite an existing file (give --force to replace it)",
                          path=target)
    if not target.parent.is_dir():
        raise RecordError("the folder to write into does not exist", path=target)
    shown = None
    if signatures:
        record_archive = find_archive(source.parent)
        if record_archive is None:
            raise RecordError("--signatures needs the record in its archive", path=source,
                              field="--signatures")
        from .signing import signature_rows

        shown = signature_rows(record_archive, record_name(source.parent))
    html = render_record(load_record(source), shown).encode("utf-8")
    from ..atomic import write_atomic

    try:
        write_atomic(target, html)
    except OSError as error:
        raise RecordError(f"cannot write: {error.strerror}", path=target) from None
    return target


# --------------------------------------------------------------------------- export


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Exported:
    """What an export published: the record folder, its record.html and the new HEAD."""

    published: Published
    html: Path
    seconds: float
    artifact: Artifact | None = None

    @property
    def path(self) -> Path:
        return self.published.path

    @property
    def head(self) -> str:
        return self.published.head


def export(
    review_dir: Path | str,
    archive: Path | str,
    *,
    seed: int = 0,
    samples: int = 20_000,
    pdf: bool = False,
    template_dirs: Sequence[Path] = (),
    progress: Progress = _quiet,
    clock: Callable[[], str] = utc_now,
    timeout: int = 600,
    artifact: Path | str | None = None,
    artifact_progress: bool = False,
) -> Exported:
    """Execute the review's workbook, then publish record.html, record.json, review.ipynb and
    attestation.json; with ``artifact`` (the model file or folder) the record is about it."""
    import time

    from ..engine.analysis import analyze
    from ..review.policy import evaluate_policy

    started = time.perf_counter()
    defer_iri_grammar()  # before altair and nbformat import jsonschema
    review_dir = Path(review_dir)
    review, template, review_path = open_review(review_dir, search=template_dirs)
    preflight(archive)  # fail fast: before the analysis and the workbook run
    hashed = None
    if artifact is not None:
        from .artifact import hash_artifact

        progress(f"hashing the artifact {artifact}")
        hashed = hash_artifact(artifact, progress=artifact_progress)
    progress(f"analysing {review.id}: {samples:,} samples, seed {seed}")
    analysis = analyze(review, template, samples=samples, seed=seed)
    analysis_json = analysis.to_json()
    gates_json = [gate.to_json() for gate in evaluate_policy(review, template, analysis)]
    workbook = find_workbook(review_path.parent)
    versions = package_versions()

    def record_json(slot: Slot | None, created: str) -> bytes:
        return dumps_record(build_record(
            review=review, template=template, analysis_json=analysis_json,
            gate_results_json=gates_json, seed=seed, samples=samples, created=created,
            slot=slot, versions=versions, artifact=hashed.to_json() if hashed else None,
        ))

    # The steps' fragments, rendered once (the charts drawn once) from the record as it
    # will be written: the executed workbook shows them and record.html embeds them.
    progress("rendering the steps (the charts)")
    draft = json.loads(record_json(None, ""))  # as record.json will hold it, bar the slot
    steps = step_fragments(draft)
    with tempfile.TemporaryDirectory(prefix="deliberation-export-") as scratch:
        fragments = Path(scratch) / "fragments.json"
        fragments.write_text(json.dumps(steps), encoding="utf-8")
        progress(f"executing the workbook {workbook.name} headless (record mode)")
        notebook = execute_workbook(workbook, review_path.parent, seed=seed, samples=samples,
                                    template_dirs=template_dirs, timeout=timeout,
                                    progress=progress, fragments=fragments)

    def build(slot: Slot) -> dict[str, bytes]:
        progress(f"rendering record {slot.name}")
        record_bytes = record_json(slot, slot.created)
        # Rendered from the bytes written, exactly as `deliberation render` will; the
        # steps drawn above are reused only when they were drawn from the same inputs.
        record = json.loads(record_bytes)
        same = step_inputs(record) == step_inputs(draft)
        html = render_record(record, steps=steps if same else None).encode("utf-8")
        files = {RECORD_HTML: html, RECORD_JSON: record_bytes, NOTEBOOK: notebook}
        if pdf:
            progress("printing record.pdf with headless Chromium")
            files[PDF] = print_pdf(html)
        if hashed is not None and hashed.manifest:
            files[SUMS_FILE] = hashed.manifest
        return seal(files, record)

    published = publish(archive, review_id=review.id, subject=review.subject.name,
                        created=clock(), build=build)
    return Exported(published, published.path / RECORD_HTML, time.perf_counter() - started,
                    hashed)


# --------------------------------------------------------------------------- verify


def verify_record(folder: Path | str, *, anchor: str | None = None) -> list[str]:
    """Check one record folder: its archive's hashes and chain when it sits in one, and that
    record.html re-renders from record.json. Returns notes; raises RecordTampered."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        found = folder.stat().st_mode
        what = "a file" if stat.S_ISREG(found) else kind_of(found)
        raise RecordError(f"expected a record folder, found {what} (give the folder that "
                          f"holds {RECORD_JSON})", path=folder)
    if not folder.is_dir() or not (folder / RECORD_JSON).is_file():
        raise RecordError(f"not a record folder: no {RECORD_JSON} (to check a whole archive, "
                          "run `deliberation verify ARCHIVE`)", path=folder)
    notes: list[str] = []
    archive = find_archive(folder)
    if archive is not None:
        verified = verify_archive(archive, anchor=anchor)
        name = record_name(folder)
        if name not in {e.record for e in verified.entries}:
            raise RecordTampered(f"record {name}: not in the archive's manifest", path=folder)
        notes += verified.notes
        notes.append(f"{name}: hashes match the manifest of {archive}, chain intact")
    elif anchor is not None:
        raise RecordError("--anchor needs the archive (this record folder is not in one)",
                          path=folder, field="--anchor")
    else:
        notes.append("not inside an archive: no manifest to check the hashes against")
    try:
        record = load_record(folder / RECORD_JSON)
        review_id = _record_parts(record)[0].id
    except DeliberationError as error:
        where = f"{error.field}: " if error.field else ""
        raise RecordTampered(f"record.json is not a valid record: {where}{error.detail}",
                             path=folder) from None
    expected = record.get("record")
    if archive is not None and expected != record_name(folder):
        raise RecordTampered(f"record.json names record {expected!r}, the folder is "
                             f"{record_name(folder)!r}", path=folder)
    if not record_name(folder).endswith(review_id):
        notes.append(f"the folder name does not end with the review id {review_id!r}")
    made_with = str((record.get("versions") or {}).get("deliberation", ""))
    current = package_versions().get("deliberation", "")
    if made_with and made_with != current:
        notes.append(f"rendered by deliberation {made_with}, this is {current}: "
                     "record.html not re-rendered for comparison")
        return notes
    try:
        html = (folder / RECORD_HTML).read_bytes()
    except FileNotFoundError:
        raise RecordTampered("record.html is missing", path=folder) from None
    if html != render_record(record).encode("utf-8"):
        raise RecordTampered("record.html does not match what record.json renders to "
                             "(one of them was edited)", path=folder)
    notes.append("record.html re-renders byte for byte from record.json")
    return notes

