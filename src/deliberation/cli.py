"""The ``deliberation`` command line (docs/design.md, *The command line*).

Exit codes are a contract for release pipelines: 0 pass, 1 a gate failed or an
archive is tampered, 2 invalid input. A user mistake prints one line naming the
file, the field and what was expected; never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .console import (
    ARTIFACT_OPTION,
    SAMPLES,
    SEED,
    TEMPLATES_OPTION,
    Commands,
    one_line,
    say,
    say_json,
    user_errors,
)
from .errors import DeliberationError


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deliberation")
def main() -> None:
    """Structured release reviews of AI models: check, report, export, verify."""


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
    from .review.starting import start_review
    from .review.templates import load_template

    template = load_template(template_id, search=template_dirs)
    start_review(directory, template, title=title, subject=subject)
    say(
        f"created {directory / 'review.json'} from template {template.id} v{template.version}"
    )
    say(f"open the workbook: jupyter lab {directory / 'release_review.ipynb'}")


@main.command("templates")
@TEMPLATES_OPTION
@user_errors
def list_templates_command(template_dirs: tuple[Path, ...]) -> None:
    """List built-in and local templates."""
    from .review.templates import list_templates

    for template_id, path, template in list_templates(template_dirs):
        if isinstance(template, str):
            say(f"{template_id:<20} INVALID  {template}")
        else:
            say(f"{template_id:<20} v{template.version:<4} {template.title}  ({path})")


def load_checked(review_path: Path, template_dirs: tuple[Path, ...] = ()) -> tuple[Any, Any, Path]:
    """Load a review and its template, and check one against the other."""
    from .review.opening import open_review

    return open_review(review_path, search=template_dirs)


@main.command()
@click.argument("review_path", metavar="REVIEW", type=click.Path(path_type=Path))
@click.option(
    "--samples",
    default=20_000,
    show_default=True,
    type=SAMPLES,
    help="Monte Carlo samples for the probability gates.",
)
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed.")
@click.option("--json", "as_json", is_flag=True, help="Print the gate results as JSON.")
@TEMPLATES_OPTION
@user_errors
def check(
    review_path: Path, samples: int, seed: int, as_json: bool, template_dirs: tuple[Path, ...]
) -> None:
    """Validate REVIEW and run its template's policy gates: exit 0 pass, 1 fail, 2 invalid."""
    from .review.opening import open_review_with_sources
    from .review.overrides import gate_line
    from .review.policy import evaluate_policy, needs_analysis, passed

    review, template, path, sources = open_review_with_sources(review_path, search=template_dirs)
    analysis = None
    if needs_analysis(template):
        from .engine.analysis import analyze

        analysis = analyze(review, template, samples=samples, seed=seed)
    results = evaluate_policy(review, template, analysis)
    drift = bool(review.template.sha256) and review.template.sha256 != template.sha256()
    if as_json:
        say_json(
                {
                    "review": str(path),
                    "template": template.id,
                    "template_sha256": template.sha256(),
                    "template_changed": drift,
                    "template_files": [
                        {"id": f.id, "path": str(f.path), "origin": f.origin,
                         "shadows": [{"path": str(p), "origin": o} for p, o in f.shadows]}
                        for f in sources
                    ],
                    "samples": samples,
                    "seed": seed,
                    "passed": passed(results),
                    "gates": [r.to_json() for r in results],
                }
        )
    else:
        for index, found in enumerate(sources):
            label = f"template {found.id} v{template.version}" if index == 0 else (
                f"  extends {found.id}")
            say(f"{label}: {found.describe()}")
        for result in results:
            say(gate_line(result))
        if drift:
            say(
                f"note  the template {template.id!r} changed since the review recorded "
                f"it (sha256 {review.template.sha256[:12]}… now {template.sha256()[:12]}…)"
            )
        failed = sum(r.status == "fail" for r in results)
        warned = sum(r.status == "warn" for r in results)
        overridden = sum(r.status == "overridden" for r in results)
        say(
            f"{len(results)} gates: {len(results) - failed - warned - overridden} passed, "
            f"{failed} failed, " + (f"{overridden} failed but overridden, " if overridden else "")
            + f"{warned} warned"
        )
    sys.exit(0 if passed(results) else 1)


@main.command()
@click.argument("review_path", metavar="REVIEW", type=click.Path(path_type=Path))
@click.option("--samples", default=20_000, show_default=True, type=SAMPLES,
              help="Monte Carlo samples.")
@click.option("--seed", default=0, show_default=True, type=SEED,
              help="Random seed (the same review and seed give the same numbers).")
@click.option("--pool", type=click.Choice(["linear", "geometric"]), default="linear",
              show_default=True,
              help="How participants are pooled: draw one per sample (linear), or the "
                   "geometric mean of their odds of each impact size (geometric).")
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON.")
@TEMPLATES_OPTION
@user_errors
def report(*, review_path: Path, samples: int, seed: int, pool: str, as_json: bool,
           template_dirs: tuple[Path, ...]) -> None:
    """The analysis per variant: tails, comparisons, sensitivity, disagreement."""
    from .engine.analysis import analyze
    from .readout.progress import Progress
    from .readout.report import format_report

    review, template, _ = load_checked(review_path, template_dirs)
    analysis = analyze(review, template, samples=samples, seed=seed,
                       pool="geometric" if pool == "geometric" else "linear",
                       progress=Progress())
    if as_json:
        say_json(analysis.to_json())
    else:
        from .review.policy import evaluate_policy

        gates = evaluate_policy(review, template, analysis)
        say(format_report(analysis, review, gates), nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of review.json."""
    from .review.model import review_json_schema

    click.echo(json.dumps(review_json_schema(), indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------- records
# export, render, verify, diff: the decision record (record.py, archive.py, diff.py).


@main.command()
@click.argument("review_dir", metavar="REVIEW_DIR", type=click.Path(path_type=Path))
@click.option("--archive", "archive_dir", required=True,
              type=click.Path(path_type=Path),
              help="The archive folder the record is published into (created if new).")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Random seed.")
@click.option("--samples", default=20_000, show_default=True, type=SAMPLES,
              help="Monte Carlo samples.")
@click.option("--pdf", is_flag=True, help="Also print record.pdf with headless Chromium.")
@ARTIFACT_OPTION
@TEMPLATES_OPTION
@user_errors
def export(*, review_dir: Path, archive_dir: Path, seed: int, samples: int, pdf: bool,
           artifact: Path | None, template_dirs: tuple[Path, ...]) -> None:
    """Execute the workbook headless and publish a write-once record into the archive."""
    from .record.build import export as export_record

    def progress(message: str) -> None:
        say(message, err=True)

    exported = export_record(review_dir, archive_dir, seed=seed, samples=samples, pdf=pdf,
                             template_dirs=template_dirs, progress=progress, artifact=artifact,
                             artifact_progress=True)
    published = exported.published
    say(f"record {published.name} published in {exported.seconds:.1f} s")
    say(f"record.html: {exported.html}")
    if exported.artifact is not None:
        say(f"artifact: {exported.artifact.name} ({exported.artifact.kind}, "
                   f"{exported.artifact.files:,} files, {exported.artifact.size:,} bytes) "
                   f"sha256 {exported.artifact.sha256}")
    say(f"HEAD: {published.head}")
    say("keep the HEAD elsewhere (a ticket, minutes): `deliberation verify "
               f"{archive_dir} --anchor {published.head}` proves the archive unchanged since")


@main.command("render")
@click.argument("record_json", metavar="RECORD", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the HTML (default: record.html beside record.json); "
                   "never inside an archive.")
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.option("--signatures", is_flag=True,
              help="Show the signatures the record's archive holds for it (the page then "
                   "differs from the published one, written before anyone signed).")
@user_errors
def render_command(record_json: Path, output: Path | None, force: bool, signatures: bool) -> None:
    """Rebuild record.html from record.json, byte for byte, without a kernel."""
    from .record.build import render_record_file

    say(f"wrote {render_record_file(record_json, output, force=force, signatures=signatures)}")


@main.command()
@click.argument("path", metavar="ARCHIVE", required=False, type=click.Path(path_type=Path))
@click.option("--record", "record_folder", type=click.Path(path_type=Path), default=None,
              metavar="FOLDER", help="Check one record folder instead of a whole archive.")
@click.option("--anchor", default=None, metavar="HASH",
              help="A HEAD printed at export time: fails if the chain no longer contains it.")
@user_errors
def verify(path: Path | None, record_folder: Path | None, anchor: str | None) -> None:
    """Check an archive, or with --record one record folder: exit 0 intact, 1 tampered,
    2 when the path is not what the command says it is."""
    from .errors import RecordTampered
    from .record.archive import verify_archive
    from .record.build import verify_record

    if (path is None) == (record_folder is None):
        raise DeliberationError("expected an archive folder, or --record FOLDER (one of the "
                                "two)", field="verify")
    try:
        if record_folder is not None:
            notes = verify_record(record_folder, anchor=anchor)
            summary = f"ok: record {record_folder.name} intact"
        elif path is not None:
            verified = verify_archive(path, anchor=anchor)
            notes = verified.notes
            count = sum(e.kind == "record" for e in verified.entries)
            summary = (f"ok: {count} record{'s' if count != 1 else ''} intact, "
                       f"HEAD {verified.head}")
            if anchor:
                summary += f", anchor {anchor[:16]}… found in the chain"
        notes += _signature_notes(record_folder or path or Path())
    except RecordTampered as error:
        say(f"TAMPERED: {one_line(str(error))}", err=True)
        sys.exit(1)
    for note in notes:
        say(f"note: {note}")
    say(summary)


def _signature_notes(path: Path) -> list[str]:
    """verify's check of attestations and signatures, for an archive or a record in one."""
    from .record.archive import read_entries
    from .record.layout import find_archive
    from .record.signing import verify_attestations

    archive = path if (path / "manifest.jsonl").is_file() else find_archive(path)
    return verify_attestations(archive, read_entries(archive)) if archive else []


@main.command()
@click.argument("record_dir", metavar="RECORD_DIR", type=click.Path(path_type=Path))
@click.option("--key", "key_path", required=True, type=click.Path(path_type=Path),
              help="Your OpenSSH ed25519 private key, e.g. ~/.ssh/id_ed25519 (asks for its "
                   "passphrase if it has one).")
@click.option("--as", "participant", required=True, metavar="PARTICIPANT",
              help="The participant id you sign as (allowed_signers must list your key for it).")
@click.option("--allowed-signers", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Who may sign as whom (git's format); default: the archive's "
                                 "allowed_signers, if it has one.")
@user_errors
def sign(record_dir: Path, key_path: Path, participant: str,
         allowed_signers: Path | None) -> None:
    """Add PARTICIPANT's signature to a published record's attestation (never rewriting it)."""
    from .record.signing import sign_record

    def passphrase() -> str:
        return str(click.prompt(f"Enter passphrase for {key_path}", hide_input=True,
                                err=True))

    signature = sign_record(record_dir, key_path=key_path.expanduser(),
                            participant=participant, allowed_signers=allowed_signers,
                            passphrase=passphrase)
    say(f"signed {signature.record} as {signature.participant} with "
               f"{signature.fingerprint}: {signature.entry.record}")


@main.command()
@click.option("--archive", "archive_dir", required=True,
              type=click.Path(file_okay=False, path_type=Path), help="The archive of records.")
@click.option("--artifact", required=True, type=click.Path(path_type=Path),
              help="The model file or folder about to be released.")
@click.option("--allowed-signers", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Who may sign as whom (git's format), kept where the release "
                                 "engineer cannot edit it; default: the archive's own.")
@click.option("--anchor", default=None, metavar="HASH",
              help="A HEAD kept elsewhere: fails if the archive was rewritten or rolled back.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@user_errors
def gate(archive_dir: Path, artifact: Path, allowed_signers: Path | None, anchor: str | None,
         as_json: bool) -> None:
    """The release gate: exit 0 only if an approved, signed, intact record covers ARTIFACT."""
    from .record.gate import release_gate

    verdict = release_gate(archive_dir, artifact, allowed_signers=allowed_signers,
                           anchor=anchor, progress=not as_json)
    if as_json:
        say_json(verdict.to_json())
    elif verdict.passed:
        say(f"PASS  {verdict.message}")
    else:
        say(f"FAIL  {verdict.failed}: {verdict.message}")
    sys.exit(0 if verdict.passed else 1)


@main.command("diff")
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--seed", default=0, show_default=True, type=SEED,
              help="Random seed for a review's analysis (records use their stored one).")
@click.option("--samples", default=20_000, show_default=True, type=SAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
@TEMPLATES_OPTION
@user_errors
def diff_command(*, old: Path, new: Path, seed: int, samples: int, as_json: bool,
                 template_dirs: tuple[Path, ...]) -> None:
    """What changed between two reviews or records: items, estimates, tails, decision."""
    from .record.diff import diff_reviews, format_diff, load_side

    result = diff_reviews(
        load_side(old, samples=samples, seed=seed, template_dirs=template_dirs),
        load_side(new, samples=samples, seed=seed, template_dirs=template_dirs),
    )
    if as_json:
        say_json(result.to_json())
    else:
        say(format_diff(result))


# --------------------------------------------------------------------------- the meeting
# `serve` runs a meeting (deliberation.meeting); `meeting ...` are its round controls.

STORE_OPTION = click.option(
    "--store", "store_url", default=None, metavar="URL",
    help="The meeting's store: a SQLAlchemy URL such as postgresql://USER@HOST/DB "
         "(default: SQLite beside review.json; also $DELIBERATION_STORE).")


def _store_url(store_url: str | None) -> str | None:
    import os

    return store_url or os.environ.get("DELIBERATION_STORE") or None


@main.command()
@click.argument("review_dir", metavar="REVIEW_DIR", type=click.Path(path_type=Path))
@STORE_OPTION
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on; beyond this machine, put TLS in front.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="The port (0: any free one).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"facilitator", "participants": {ID: URL}, "store"} as one line.')
@user_errors
def serve(*, review_dir: Path, store_url: str | None, host: str, port: int,
          as_json: bool) -> None:
    """Run the meeting: a console for the facilitator, a private page per participant."""
    import asyncio

    from .journal.store import shown_url
    from .meeting.rounds import open_store
    from .meeting.server import LOCAL_HOSTS, Links
    from .meeting.server import serve as serve_meeting

    store = open_store(review_dir, _store_url(store_url))

    def ready(links: Links, _: int) -> None:
        people = [pid for pid in links.tokens if not pid.startswith("@")]
        if as_json:
            click.echo(json.dumps({"facilitator": links.facilitator(),
                                   "participants": {p: links.participant(p) for p in people},
                                   "store": shown_url(store.url)}), nl=True)
        else:
            say(f"facilitator: {links.facilitator()}")
            for pid in people:
                say(f"  {pid}: {links.participant(pid)}")
            say(f"store: {shown_url(store.url)}")
            click.echo("each link is private: send it to that participant only. Ctrl+C stops "
                       "the meeting; every acknowledged estimate is in the store.")
        if host not in LOCAL_HOSTS:
            click.echo(
                f"warning: serving on {host} without TLS: anyone on the network can read the "
                "links. Put a TLS proxy in front and share its https:// links, e.g. `caddy "
                f"reverse-proxy --from meeting.example.org --to 127.0.0.1:{_}`", err=True)
        sys.stdout.flush()

    try:
        asyncio.run(serve_meeting(store, host=host, port=port, ready=ready))
    except OSError as error:
        raise DeliberationError(f"cannot listen on {host}:{port}: {error.strerror}",
                                field="--port") from None
    finally:
        store.close()


@main.group()
def meeting() -> None:
    """The facilitator's round controls, from a shell."""


def _round_command(action: str, help_text: str) -> None:
    @meeting.command(action, help=help_text)
    @click.argument("review_dir", metavar="REVIEW_DIR", type=click.Path(path_type=Path))
    @STORE_OPTION
    @user_errors
    def command(review_dir: Path, store_url: str | None) -> None:
        from .meeting.rounds import open_store, status_lines, step_round

        store = open_store(review_dir, _store_url(store_url))
        try:
            state = store.open() if action == "status" else step_round(store, action)
            for line in status_lines(store, state):
                say(line)
        finally:
            store.close()


_round_command("status", "The open round, who has entered estimates, the event log.")
_round_command("reveal", "Show the open round's estimates to everyone.")
_round_command("hide", "Make the open round blind again.")
_round_command("next-round", "Open a new blind round.")
