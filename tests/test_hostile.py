"""Hostile and clumsy input through the command line: one line and exit 2, never a
traceback, a hang, a bypass or a lost file (issue 13's four serious cases first)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from .conftest import DATA, ROOT, TEST_TEMPLATES
from .strategies import any_json, field_paths, replaced
from .test_archive import build_archive

MINIMAL = DATA / "good" / "minimal.json"


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "deliberation", *map(str, args)], capture_output=True,
        text=True, cwd=cwd, env={**os.environ, **(env or {})}, check=False, timeout=timeout,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == f"error: {expected}\n"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = tmp_path_factory.mktemp("hostile") / "archive"
    build_archive(archive)
    return archive


@pytest.fixture
def archive(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "archive"
    shutil.copytree(pristine, copy)
    return copy


# --------------------------------------------------------------------------- verify bypass


def test_a_record_copied_into_the_archive_root_does_not_bypass_the_chain(archive: Path) -> None:
    first = archive / "records" / "000001-alpha-v1"
    for name in ("record.json", "record.html"):
        shutil.copy(first / name, archive / name)
    edited = archive / "records" / "000002-beta-v1" / "record.json"
    edited.chmod(0o644)
    edited.write_bytes(edited.read_bytes().replace(b"Tutoring", b"Tutorinh", 1))
    result = run("verify", archive)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(f"TAMPERED: {archive}: record 000002-beta-v1 ")
    assert "record.json does not match its sha256" in result.stderr


@pytest.mark.parametrize("kind", ["empty folder", "review folder", "record folder"])
def test_verify_on_a_folder_that_is_no_archive_exits_2(
    archive: Path, tmp_path: Path, kind: str
) -> None:
    folder = tmp_path / "not-an-archive"
    folder.mkdir()
    if kind == "review folder":
        shutil.copy(MINIMAL, folder / "review.json")
    elif kind == "record folder":
        folder = archive / "records" / "000001-alpha-v1"
    one_line_error(run("verify", folder), f"{folder}: not an archive: no manifest.jsonl (to "
                   "check one record folder, run `deliberation verify --record FOLDER`)")


def test_verify_record_names_what_it_checks(archive: Path) -> None:
    record = run("verify", "--record", archive / "records" / "000002-beta-v1")
    assert record.returncode == 0, record.stderr
    assert record.stdout.splitlines()[-1] == "ok: record 000002-beta-v1 intact"
    one_line_error(run("verify", "--record", archive), f"{archive}: not a record folder: no "
                   "record.json (to check a whole archive, run `deliberation verify ARCHIVE`)")
    one_line_error(run("verify"), "verify: expected an archive folder, or --record FOLDER "
                   "(one of the two)")


def test_verify_record_on_a_file_or_a_device_says_what_it_found(archive: Path) -> None:
    record_json = archive / "records" / "000002-beta-v1" / "record.json"
    one_line_error(run("verify", "--record", record_json), f"{record_json}: expected a record "
                   "folder, found a file (give the folder that holds record.json)")
    one_line_error(run("verify", "--record", "/dev/null"), "/dev/null: expected a record "
                   "folder, found a character device (give the folder that holds record.json)")


def test_a_record_json_over_its_limit_is_named_as_a_record(tmp_path: Path) -> None:
    """A record.json is read as a record, so its limit is the record's 64 MiB, not the
    review's 16 MiB (a sparse file: nothing is written)."""
    big = tmp_path / "record.json"
    with big.open("wb") as out:
        out.truncate((64 << 20) + 1)
    one_line_error(run("diff", big, MINIMAL),
                   f"{big}: expected a file of at most 64 MiB, found 67,108,865 bytes")


# --------------------------------------------------------------------------- control characters

CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f", "\x9b", "\ufffe", "\uffff"]


@pytest.mark.parametrize("character", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_control_character_in_a_title_is_refused_by_check(
    character: str, tmp_path: Path
) -> None:
    data = json.loads(MINIMAL.read_text())
    data["variants"][0]["title"] = f"Open{character}release"
    path = tmp_path / "review.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    one_line_error(
        run("check", "--templates", TEST_TEMPLATES, path),
        f"{path}: variants[0].title: expected text without control characters, found "
        f"U+{ord(character):04X} at character 5",
    )


RENDER_EVERY_CHART = r"""
import json, sys
from deliberation.readout import catalog, charts
analysis = json.loads(sys.stdin.read())
for name, svg in catalog.all_charts(analysis).items():
    svg = charts.to_svg(svg)
    assert svg.lstrip().startswith("<svg"), name
    print(name)
"""


def _retitle(value: object, title: str) -> object:
    if isinstance(value, dict):
        return {k: (title if k in {"title", "label"} and isinstance(v, str) else _retitle(v, title))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_retitle(v, title) for v in value]
    return value


def test_every_chart_draws_every_control_character_without_dying() -> None:
    """vl-convert aborts the process (exit 134) on C0 controls and U+FFFE/U+FFFF: a chart
    drawn from any data (an old record, a library caller) shows them as marks instead."""
    from deliberation.engine.analysis import analyze
    from deliberation.review.templates import load_template_file

    from .test_analysis import TEMPLATE_FILE, three_variants

    analysis = analyze(three_variants(), load_template_file(TEMPLATE_FILE), samples=2_000, seed=3)
    title = "x" + "".join(CONTROLS) + "\u202e" + "y"
    data = _retitle(analysis.to_json(), title)
    child = subprocess.run([sys.executable, "-c", RENDER_EVERY_CHART], input=json.dumps(data),
                           capture_output=True, text=True, check=False, timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["tails", "net_value", "mitigations", "risk_matrix",
                                    "tornado", "disagreement", "information"]


def test_bidi_controls_are_shown_not_obeyed_in_the_record_page() -> None:
    from deliberation.record.render import render_register
    from deliberation.review.model import parse_review

    data = json.loads(MINIMAL.read_text())
    data["items"][0]["title"] = "Tutoring \u202eevil\u202c"
    review = parse_review(data)
    html = render_register(review)
    assert "\u202e" not in html
    assert "Tutoring ⟪U+202E⟫evil⟪U+202C⟫" in html


# --------------------------------------------------------------------------- policy bypass

EMPTY_POLICY = """\
id: test-minimal
version: "1"
title: The team's own copy, without gates
extends: release-review
policy: []
"""


def test_a_review_can_not_replace_its_standards_template(tmp_path: Path) -> None:
    folder = tmp_path / "review"
    (folder / "templates").mkdir(parents=True)
    shutil.copy(MINIMAL, folder / "review.json")
    shadow = folder / "templates" / "test-minimal.yaml"
    shadow.write_text(EMPTY_POLICY)
    result = run("check", folder, env={"DELIBERATION_TEMPLATES": str(TEST_TEMPLATES)})
    one_line_error(result, f"{shadow}: template 'test-minimal' is defined both in "
                   f"$DELIBERATION_TEMPLATES ({TEST_TEMPLATES / 'test-minimal.yaml'}) and in "
                   f"the review's templates/ ({shadow}); a review's own templates/ may add "
                   "templates but not replace its standard's: rename or remove it")
    builtin = folder / "templates" / "release-review.yaml"
    shadow.unlink()
    builtin.write_text(EMPTY_POLICY.replace("test-minimal", "release-review").replace(
        "extends: release-review\n", ""))
    data = json.loads(MINIMAL.read_text())
    data["template"] = {"id": "release-review"}
    data["items"][0]["category"] = data["items"][1]["category"] = None
    (folder / "review.json").write_text(json.dumps(data))
    result = run("check", folder)
    assert result.returncode == 2
    assert "is defined both in built-in" in result.stderr
    assert f"and in the review's templates/ ({builtin})" in result.stderr


def test_a_command_line_template_wins_and_says_so(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(TEST_TEMPLATES / "test-minimal.yaml", mine / "test-minimal.yaml")
    result = run("check", "--templates", mine, MINIMAL,
                 env={"DELIBERATION_TEMPLATES": str(TEST_TEMPLATES)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"template test-minimal v1: {mine / 'test-minimal.yaml'} (--templates), shadowing "
        f"{TEST_TEMPLATES / 'test-minimal.yaml'} ($DELIBERATION_TEMPLATES)")


def test_a_review_may_add_a_template_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "review"
    (folder / "templates").mkdir(parents=True)
    own = (TEST_TEMPLATES / "test-minimal.yaml").read_text().replace(
        "id: test-minimal", "id: team-extra")
    (folder / "templates" / "team-extra.yaml").write_text(own)
    data = json.loads(MINIMAL.read_text())
    data["template"] = {"id": "team-extra"}
    (folder / "review.json").write_text(json.dumps(data))
    result = run("check", folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"template team-extra v1: {folder / 'templates' / 'team-extra.yaml'} "
        "(the review's templates/)")


# --------------------------------------------------------------------------- render -o


def test_render_never_writes_into_an_archive(archive: Path, tmp_path: Path) -> None:
    record = archive / "records" / "000001-alpha-v1"
    before = (record / "record.html").read_bytes()
    for target in (record / "record.html", archive / "HEAD", archive / "records" / "new.html"):
        for force in ((), ("--force",)):
            result = run("render", record / "record.json", "-o", target, *force)
            one_line_error(result, f"{target}: refusing to write into the archive {archive}, "
                           "where files are written once")
    assert (record / "record.html").read_bytes() == before
    assert run("verify", archive).returncode == 0


def test_render_overwrites_only_with_force(archive: Path, tmp_path: Path) -> None:
    record = archive / "records" / "000001-alpha-v1" / "record.json"
    target = tmp_path / "page.html"
    target.write_text("my notes")
    one_line_error(run("render", record, "-o", target), f"{target}: refusing to overwrite an "
                   "existing file (give --force to replace it)")
    assert target.read_text() == "my notes"
    forced = run("render", record, "-o", target, "--force")
    assert forced.returncode == 0, forced.stderr
    assert target.read_bytes() == record.with_name("record.html").read_bytes()
    missing = tmp_path / "no" / "such" / "page.html"
    one_line_error(run("render", record, "-o", missing),
                   f"{missing}: the folder to write into does not exist")


# --------------------------------------------------------------------------- numbers and sizes


@pytest.mark.parametrize(("option", "value", "bound"), [
    ("--seed", "-1", "0<=x<=9223372036854775807"),
    ("--samples", str(10**12), "100<=x<=10000000"),
])
@pytest.mark.parametrize("command", ["check", "report"])
def test_seed_and_samples_are_bounded(command: str, option: str, value: str, bound: str) -> None:
    result = run(command, "--templates", TEST_TEMPLATES, MINIMAL, option, value)
    one_line_error(result, f"Invalid value for '{option}': {value} is not in the range "
                   f"{bound}. (see `deliberation {command} --help`)")


def test_a_template_number_of_400_digits_is_one_line(tmp_path: Path) -> None:
    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text().replace(
        "[1, 10]", "[1, 1" + "0" * 400 + "]", 1)
    (tmp_path / "test-minimal.yaml").write_text(text)
    listed = run("templates", "--templates", tmp_path)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("test-minimal"))
    assert line == (f"test-minimal         INVALID  {tmp_path / 'test-minimal.yaml'}: line 14: "
                    "likelihood_scale[0].interval: expected impact numbers of at most 1e+18, "
                    "got an integer of about 401 digits").replace("likelihood_scale[0]",
                                                                  "impact_scale[0]")


# --------------------------------------------------------------------------- not regular files


def test_a_fifo_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "review.json"
    os.mkfifo(fifo)
    one_line_error(run("check", fifo, timeout=20),
                   f"{fifo}: expected a regular file, found a FIFO (named pipe)")
    templates = tmp_path / "templates"
    templates.mkdir()
    os.mkfifo(templates / "piped.yaml")
    listed = run("templates", "--templates", templates, timeout=20)
    assert f"piped                INVALID  {templates / 'piped.yaml'}: expected a regular " \
           "file, found a FIFO (named pipe)" in listed.stdout.splitlines()


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "review.json"
    link.symlink_to("/dev/zero")
    one_line_error(run("check", link, timeout=20),
                   f"{link}: expected a regular file, found a character device")


def test_new_onto_odd_places(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("mine")
    one_line_error(run("new", file), f"{file}: expected a new or empty folder, found a file")
    one_line_error(run("new", "/dev/null"),
                   "/dev/null: expected a new or empty folder, found a file")
    under = file / "review"
    one_line_error(run("new", under), f"{under}: cannot create the review: Not a directory")
    long = tmp_path / "new"
    one_line_error(run("new", long, "--subject", "x" * 150),
                   f"{long}: the review id made from --subject would be 150 characters "
                   "long; expected at most 100 (give a shorter --subject)")
    assert file.read_text() == "mine"


# --------------------------------------------------------------------------- templates


def test_template_names_resolve_only_inside_the_search_folders(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(TEST_TEMPLATES / "test-minimal.yaml", outside / "x.yaml")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "sneaky.yaml").write_text("id: sneaky\nversion: '1'\ntitle: t\nextends: ../outside/x\n")
    listed = run("templates", "--templates", mine)
    assert (f"sneaky               INVALID  {mine / 'sneaky.yaml'}: extends: expected a template "
            "id (letters, digits, '-', '_' or '.', starting with a letter or digit; never a "
            "path), got '../outside/x'") in listed.stdout.splitlines()
    one_line_error(run("new", tmp_path / "r", "--template", "../outside/x"),
                   "template.id: expected a template id (letters, digits, '-', '_' or '.', "
                   "starting with a letter or digit; never a path), got '../outside/x'")


def test_an_extends_cycle_is_named_with_its_chain(tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text("id: one\nextends: second\n")
    (tmp_path / "second.yaml").write_text("id: two\nextends: first\n")
    listed = run("templates", "--templates", tmp_path)
    assert (f"first                INVALID  {tmp_path / 'first.yaml'}: extends: a cycle of "
            "templates: first.yaml -> second.yaml -> first.yaml") in listed.stdout.splitlines()


def test_an_id_that_is_a_list_is_an_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "listy.yaml").write_text(
        "id: listy\nversion: '1'\ntitle: t\nextends: test-minimal\npolicy:\n  - id: [1, 2]\n"
        "    rule: decision-recorded\n")
    listed = run("templates", "--templates", tmp_path, "--templates", TEST_TEMPLATES)
    line = next(x for x in listed.stdout.splitlines() if x.startswith("listy"))
    assert line == (f"listy                INVALID  {tmp_path / 'listy.yaml'}: line 5: "
                    "policy[6].id: expected text, got [1, 2]")


@pytest.mark.slow
def test_a_long_extends_chain_resolves_in_linear_time(tmp_path: Path) -> None:
    shutil.copy(TEST_TEMPLATES / "test-minimal.yaml", tmp_path / "t0.yaml")
    (tmp_path / "t0.yaml").write_text((tmp_path / "t0.yaml").read_text().replace(
        "id: test-minimal", "id: t0"))
    for n in range(1, 400):
        (tmp_path / f"t{n}.yaml").write_text(f"id: t{n}\nextends: t{n - 1}\n")
    import time

    started = time.perf_counter()
    listed = run("templates", "--templates", tmp_path, timeout=60)
    assert listed.returncode == 0, listed.stderr
    chain = [x for x in listed.stdout.splitlines() if re.match(r"t[0-9]+ ", x)]
    assert len(chain) == 400
    assert not [x for x in chain if " INVALID " in x]
    assert time.perf_counter() - started < 30  # it took over a minute re-resolving chains


# --------------------------------------------------------------------------- records


def _mutated_record(pristine: Path, tmp_path: Path, change: Any) -> Path:
    data = json.loads((pristine / "records" / "000001-alpha-v1" / "record.json").read_text())
    change(data)
    path = tmp_path / "loose" / "record.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False).replace('"NAN"', "NaN"))
    return path


def _set(*keys: Any, value: Any) -> Any:
    def change(data: Any) -> None:
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value
    return change


def _deep(data: Any) -> None:
    data["versions"] = json.loads("[" * 900 + "]" * 900)


@pytest.mark.parametrize(("case", "change", "expected"), [
    ("created missing", lambda d: d.pop("created"), "created: this field is required"),
    ("analysis a list", _set("analysis", value=[1]),
     "analysis: expected an object, got [1]"),
    ("variant null", _set("analysis", "variants", "open", value=None),
     "analysis.variants.open: expected an object, got None"),
    ("NaN", _set("analysis", "variants", "open", "mean", value="NAN"),
     "analysis.variants.open.mean: expected a finite number, got nan"),
    ("deep nesting", _deep, "expected JSON nested at most 64 levels deep"),
    ("seed negative", _set("seed", value=-1), "seed: expected at least 0, got -1"),
    ("review invalid", _set("review", "items", 0, "title", value="x\x1b[2K"),
     "review.items[0].title: expected text without control characters, found U+001B at "
     "character 2"),
])
@pytest.mark.parametrize("command", ["render", "verify", "diff"])
def test_a_malformed_record_is_one_line_naming_the_path_given(
    pristine: Path, tmp_path: Path, *, case: str, change: Any, expected: str, command: str
) -> None:
    path = _mutated_record(pristine, tmp_path, change)
    arguments = {"render": ("render", path, "-o", tmp_path / "page.html"),
                 "verify": ("verify", "--record", path.parent),
                 "diff": ("diff", path, path)}[command]
    result = run(*arguments)
    if command == "verify":  # a record folder whose record.json is no record: tampered
        assert result.returncode == 1, result.stderr
        assert result.stderr == (f"TAMPERED: {path.parent}: record.json is not a valid "
                                 f"record: {expected}\n")
    else:
        one_line_error(result, f"{path}: {expected}")
    assert not (tmp_path / "page.html").exists()


@pytest.mark.parametrize(("case", "expected"), [
    ("HEAD a folder", "TAMPERED: {archive}/HEAD: expected a regular file, found a folder"),
    ("manifest a folder",
     "TAMPERED: {archive}/manifest.jsonl: expected a regular file, found a folder"),
    ("manifest a link to /dev/zero", "TAMPERED: {archive}: manifest.jsonl is a symbolic link "
     "(an archive holds only regular files)"),
    (".lock a FIFO", "error: {archive}: .lock: expected a regular file, found a FIFO (named "
     "pipe)"),
    ("records a link", "TAMPERED: {archive}: records is a symbolic link, expected a folder"),
    ("record folder a link", "TAMPERED: {archive}: record 000002-beta-v1 (manifest.jsonl line "
     "2): records/000002-beta-v1 is a symbolic link, expected the record's folder"),
    ("file a link", "TAMPERED: {archive}: record 000002-beta-v1 (manifest.jsonl line 2): "
     "record.json is a symbolic link, expected the file itself"),
    ("name with a newline", "TAMPERED: {archive}: manifest.jsonl line 3: record "
     "'000003-alpha-v2\\n' is not a record folder name"),
    ("non-ASCII digits", "TAMPERED: {archive}: manifest.jsonl line 3: record "
     "'٠٠٠٠٠٣-alpha-v2' is not a record folder name"),
])
def test_odd_archive_states_are_one_line_and_never_hang(
    archive: Path, tmp_path: Path, case: str, expected: str
) -> None:
    outside = tmp_path / "outside"
    if case == "HEAD a folder":
        (archive / "HEAD").unlink()
        (archive / "HEAD").mkdir()
    elif case == "manifest a folder":
        (archive / "manifest.jsonl").unlink()
        (archive / "manifest.jsonl").mkdir()
    elif case == "manifest a link to /dev/zero":
        (archive / "manifest.jsonl").unlink()
        (archive / "manifest.jsonl").symlink_to("/dev/zero")
    elif case == ".lock a FIFO":
        (archive / ".lock").unlink()
        os.mkfifo(archive / ".lock")
    elif case == "records a link":
        shutil.move(archive / "records", outside)
        (archive / "records").symlink_to(outside)
    elif case == "record folder a link":
        shutil.move(archive / "records" / "000002-beta-v1", outside)
        (archive / "records" / "000002-beta-v1").symlink_to(outside)
    elif case == "file a link":
        record = archive / "records" / "000002-beta-v1" / "record.json"
        shutil.move(record, outside)
        record.symlink_to(outside)
    else:  # a manifest line rewritten with a name the exporter never writes, chain rehashed
        from deliberation.record.archive import line_hash

        lines = (archive / "manifest.jsonl").read_bytes().splitlines(keepends=True)
        entry = json.loads(lines[2])
        entry["record"] = ("000003-alpha-v2\n" if "newline" in case
                           else "\u0660" * 5 + "\u0663-alpha-v2")
        lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        (archive / "manifest.jsonl").write_bytes(b"".join(lines))
        (archive / "HEAD").write_text(line_hash(lines[2]) + "\n")
    result = run("verify", archive, timeout=20)
    assert result.returncode == (2 if expected.startswith("error") else 1), result.stderr
    assert result.stderr == expected.format(archive=archive) + "\n"


def test_export_checks_the_archive_before_running_the_workbook(tmp_path: Path) -> None:
    review = ROOT / "workbooks" / "example"
    file = tmp_path / "file"
    file.write_text("mine")
    lock_folder = tmp_path / "a1"
    lock_folder.mkdir()
    (lock_folder / "records").mkdir()
    (lock_folder / ".lock").mkdir()
    records_file = tmp_path / "a2"
    records_file.mkdir()
    (records_file / "manifest.jsonl").write_bytes(b"")
    (records_file / "records").write_text("not a folder")
    busy = tmp_path / "a3"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    for target, expected in [
        (file / "archive", f"{file / 'archive'}: cannot create the archive: {file} is a file"),
        (file, f"{file}: expected an archive folder, found a file"),
        (lock_folder, f"{lock_folder}: .lock: expected a regular file, found a folder"),
        (records_file, f"{records_file}: records: expected a folder, found a file"),
        (busy, f"{busy}: expected an archive (with manifest.jsonl) or a new or empty folder; "
               "it holds other files"),
    ]:
        result = run("export", review, "--archive", target, timeout=30)
        one_line_error(result, expected)
    assert file.read_text() == "mine"
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


# --------------------------------------------------------------------------- nothing is lost


def test_recovery_removes_only_what_its_exporter_wrote(archive: Path) -> None:
    from deliberation.record.archive import publish, verify_archive

    records = archive / "records"
    user_files = {
        records / ".notes" / "minutes.txt": b"the meeting's minutes",
        records / ".DS_Store": b"finder",
        archive / ".backup.tmp": b"a user's temp file",
        archive / ".manifest.jsonl.mine.tmp": b"not what an exporter writes",
        records / ".pending-000002-old" / "record.json": b"an old number, not the next one",
    }
    for path, content in user_files.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
    # an interrupted export's own leftovers: the next record's pending folder, a temp file
    pending = records / ".pending-000004-alpha-v3"
    pending.mkdir()
    (pending / "record.html").write_bytes(b"<html>half")
    manifest = (archive / "manifest.jsonl").read_bytes()
    (archive / ".manifest.jsonl.ab12cd34.tmp").write_bytes(manifest + b'{"seq":4,')
    notes = verify_archive(archive).notes
    assert "records/.notes: not part of the archive (verify ignores it, export leaves it " \
           "alone)" in notes
    assert "records/.pending-000004-alpha-v3: left by an interrupted export, never published " \
           "(the next export removes it)" in notes
    publish(archive, review_id="alpha-v3", subject="alpha", created="later",
            build=lambda slot: {"record.json": b"{}\n"})
    for path, content in user_files.items():
        assert path.read_bytes() == content, path
    assert not pending.exists()
    assert not (archive / ".manifest.jsonl.ab12cd34.tmp").exists()
    assert verify_archive(archive).entries[-1].record == "000004-alpha-v3"


def test_recovery_removes_a_manifest_copy_cut_short(archive: Path) -> None:
    """A kill while write_atomic copies the manifest leaves a temp holding only its first
    bytes (or none): the exporter's own, so the next publish removes it."""
    from deliberation.record.archive import publish

    manifest = (archive / "manifest.jsonl").read_bytes()
    cut = archive / ".manifest.jsonl.dkthu780.tmp"
    cut.write_bytes(manifest[: len(manifest) // 2])
    empty = archive / ".HEAD.q1w2e3r4.tmp"
    empty.write_bytes(b"")
    mine = archive / ".manifest.jsonl.zzzzzzzz.tmp"
    mine.write_bytes(b"a user's notes, not the manifest")
    publish(archive, review_id="alpha-v3", subject="alpha", created="later",
            build=lambda slot: {"record.json": b"{}\n"})
    assert not cut.exists()
    assert not empty.exists()
    assert mine.read_bytes() == b"a user's notes, not the manifest"


KILLED_EXPORT = r"""
import sys, time
from deliberation.record.archive import publish
def build(slot):
    print("building", flush=True)
    time.sleep(60)
    return {}
publish(sys.argv[1], review_id="late", subject="s", created="t", build=build)
"""


def test_a_user_file_survives_an_interrupted_export_and_its_recovery(archive: Path) -> None:
    import signal

    from deliberation.record.archive import clean

    notes = archive / "records" / ".notes"
    notes.mkdir()
    (notes / "minutes.txt").write_text("keep me")
    child = subprocess.Popen([sys.executable, "-c", KILLED_EXPORT, str(archive)],
                             stdout=subprocess.PIPE, env={**os.environ,
                                                          "PYTHONPATH": str(ROOT / "src")})
    assert child.stdout is not None
    assert child.stdout.readline() == b"building\n"  # the lock is held, mid-export
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    clean(archive)
    assert (notes / "minutes.txt").read_text() == "keep me"
    assert run("verify", archive).returncode == 0


def test_a_pending_link_is_never_renamed_into_place(archive: Path, tmp_path: Path) -> None:
    from deliberation.errors import RecordTampered
    from deliberation.record.archive import line_hash, publish

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "record.json").write_bytes(b"{}\n")
    lines = (archive / "manifest.jsonl").read_bytes()
    prev = line_hash(lines.splitlines(keepends=True)[-1])
    line = json.dumps({"seq": 4, "record": "000004-evil", "prev": prev, "created": "t",
                       "subject": "s", "files": {"record.json": hashlib_sha256(b"{}\n")}},
                      sort_keys=True, separators=(",", ":")).encode() + b"\n"
    (archive / "manifest.jsonl").write_bytes(lines + line)
    (archive / "records" / ".pending-000004-evil").symlink_to(outside)
    with pytest.raises(RecordTampered, match="is a symbolic link"):
        publish(archive, review_id="next", subject="s", created="t",
                build=lambda slot: {"record.json": b"{}\n"})
    assert (archive / "records" / ".pending-000004-evil").is_symlink()
    assert not (archive / "records" / "000004-evil").exists()


def hashlib_sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- random JSON


def _invoke(*args: str) -> tuple[int, str]:
    """The command in this process (click's runner): its exit code and stderr. Anything
    but our own exits (a traceback) fails the test."""
    from click.testing import CliRunner

    from deliberation.cli import main

    result = CliRunner().invoke(main, list(args), prog_name="deliberation")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr


def _our_outcome(code: int, stderr: str) -> None:
    assert code in {0, 1, 2}, stderr
    if code == 2:
        assert stderr.startswith("error: "), stderr
        assert stderr.count("\n") == 1, stderr  # one line


REVIEW_DATA = json.loads(MINIMAL.read_text())
REVIEW_PATHS = field_paths(REVIEW_DATA)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(REVIEW_PATHS), value=any_json)
# found by this test: a subnormal impact's expected value underflowed to 0 (a traceback)
@example(path=("estimates", 1, "impact"), value=5e-324)
def test_random_json_in_any_field_of_a_review(tmp_path: Path, path: Any, value: Any) -> None:
    review = tmp_path / "review.json"
    review.write_text(json.dumps(replaced(REVIEW_DATA, path, value)), encoding="utf-8")
    templates = str(TEST_TEMPLATES)
    _our_outcome(*_invoke("check", "--templates", templates, str(review)))
    _our_outcome(*_invoke("report", "--samples", "200", "--templates", templates, str(review)))
    _our_outcome(*_invoke("diff", "--samples", "200", "--templates", templates, str(MINIMAL),
                          str(review)))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_json_in_any_field_of_a_record(pristine: Path, tmp_path: Path,
                                              data: st.DataObject) -> None:
    source = json.loads((pristine / "records" / "000001-alpha-v1" / "record.json").read_text())
    path = data.draw(st.sampled_from(field_paths(source)), label="path")
    value = data.draw(any_json, label="value")
    import tempfile

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    record = folder / "record.json"
    record.write_text(json.dumps(replaced(source, path, value)), encoding="utf-8")
    _our_outcome(*_invoke("render", str(record), "-o", str(folder / "page.html")))
    _our_outcome(*_invoke("verify", "--record", str(folder)))
    _our_outcome(*_invoke("diff", str(record), str(record)))
