"""Issue 13's acceptance audit: the edges test_hostile.py did not reach yet, each through
the command line with its exact one line and exit code (paths the OS refuses, a link
into an archive, bidi controls in the page's title, a template integer of thousands of
digits, unbounded template counts, every command's --seed and --samples)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import DATA, ROOT, TEST_TEMPLATES
from .strategies import field_paths
from .test_hostile import MINIMAL, one_line_error, pristine, run

__all__ = ["pristine"]  # the module-scoped archive fixture, shared with test_hostile

LONG = "x" * 300  # a file name over the 255 bytes of every common file system


# --------------------------------------------------------------------------- paths the OS refuses


@pytest.mark.parametrize("arguments", [
    ("check", "{long}"),
    ("report", "{long}"),
    ("diff", "--templates", str(TEST_TEMPLATES), str(MINIMAL), "{long}"),
    ("render", "{long}"),
    ("render", str(MINIMAL), "-o", "{long}"),
    ("verify", "{long}"),
    ("verify", "--record", "{long}"),
    ("export", "{long}", "--archive", "{tmp}/archive"),
    ("export", str(ROOT / "workbooks" / "example"), "--archive", "{long}"),
])
def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path: Path,
                                                         arguments: tuple[str, ...]) -> None:
    """ENAMETOOLONG was a traceback in every command (pathlib's exists() raises it)."""
    long = tmp_path / LONG
    result = run(*(a.format(long=long, tmp=tmp_path) for a in arguments))
    one_line_error(result, f"{long}: File name too long")
    assert list(tmp_path.iterdir()) == []


def test_a_loop_of_links_is_one_line(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.symlink_to(second)
    second.symlink_to(first)
    one_line_error(run("check", first, timeout=20),
                   f"{first}: cannot read: Too many levels of symbolic links")


def test_new_with_a_name_too_long(tmp_path: Path) -> None:
    long = tmp_path / LONG
    one_line_error(run("new", long), f"{long}: cannot create the review: File name too long")
    folder = tmp_path / ("y" * 150)
    one_line_error(run("new", folder), f"{folder}: the review id made from the folder's name "
                   "would be 150 characters long; expected at most 100 (give a shorter "
                   "--subject)")
    assert not folder.exists()
    created = run("new", folder, "--subject", "short")
    assert created.returncode == 0, created.stderr
    assert json.loads((folder / "review.json").read_text())["id"] == "short"


# --------------------------------------------------------------------------- render -o


def test_render_never_writes_through_a_link_into_an_archive(pristine: Path,
                                                              tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(pristine, archive)
    record = archive / "records" / "000001-alpha-v1" / "record.json"
    target_folder = archive / "records" / "000002-beta-v1"
    before = (target_folder / "record.html").read_bytes()
    link = tmp_path / "linked"
    link.symlink_to(target_folder)
    for target in (link / "record.html", link / "new.html"):
        one_line_error(run("render", record, "-o", target, "--force"),
                       f"{target}: refusing to write into the archive {archive}, where files "
                       "are written once")
    assert (target_folder / "record.html").read_bytes() == before
    assert sorted(p.name for p in target_folder.iterdir()) == [
        "record.html", "record.json", "review.ipynb"]
    assert run("verify", archive).returncode == 0


# --------------------------------------------------------------------------- bidi controls

BIDI = "\u202eevil\u202c\u2066"


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _put(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def test_no_bidi_control_reaches_the_record_page(pristine: Path, tmp_path: Path) -> None:
    """U+202E appended to every string of record.json the record's model accepts (titles,
    names, roles, rationales, labels, versions ...): `render` shows each as a mark, in the
    body, the <title> and the <meta> alike; not one reaches the page raw."""
    from deliberation.errors import DeliberationError
    from deliberation.record.document import validate_record
    from deliberation.text import BIDI_CONTROLS

    data = json.loads((pristine / "records" / "000001-alpha-v1" / "record.json").read_text())
    marked = []
    for path in field_paths(data):
        value = _get(data, path)
        if not isinstance(value, str) or path == ("schema",):
            continue
        _put(data, path, value + BIDI)
        try:
            validate_record(json.loads(json.dumps(data)), "record.json")
        except DeliberationError:
            _put(data, path, value)
        else:
            marked.append(path)
    assert ("review", "title") in marked
    assert ("versions", "deliberation") in marked
    assert len(marked) > 50
    record = tmp_path / "record.json"
    record.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    page = tmp_path / "page.html"
    result = run("render", record, "-o", page)
    assert result.returncode == 0, result.stderr
    html = page.read_text(encoding="utf-8")
    assert not [c for c in BIDI_CONTROLS if c in html]
    assert "<title>Decision record: Release review: chat model v1⟪U+202E⟫evil⟪U+202C⟫" \
           "⟪U+2066⟫</title>" in html
    assert html.count("evil⟪U+202C⟫⟪U+2066⟫") >= 20


# --------------------------------------------------------------------------- template numbers


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_template_integer_of_thousands_of_digits_is_one_line(tmp_path: Path,
                                                               digits: int) -> None:
    """Python refuses to read an integer of over 4300 digits; the template's line says
    which field and which bound, as it does for 400 digits."""
    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text().replace(
        "[1, 10]", "[1, 1" + "0" * digits + "]", 1)
    (tmp_path / "test-minimal.yaml").write_text(text)
    listed = run("templates", "--templates", tmp_path)
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith("test-minimal"))
    assert line == (f"test-minimal         INVALID  {tmp_path / 'test-minimal.yaml'}: line 14: "
                    "impact_scale[0].interval: expected impact numbers of at most 1e+18, got an "
                    f"integer of about {digits + 1} digits")
    one_line_error(run("check", "--templates", tmp_path, MINIMAL),
                   line.split("INVALID  ", 1)[1])


@pytest.mark.parametrize("count", ["1001", "1" + "0" * 400, "1" + "0" * 5000])
def test_a_gate_count_is_bounded(tmp_path: Path, count: str) -> None:
    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text()
    assert "count: 2," in text
    (tmp_path / "test-minimal.yaml").write_text(text.replace("count: 2,", f"count: {count},"))
    got = count if len(count) < 19 else f"an integer of {len(count)} digits"
    one_line_error(run("check", "--templates", tmp_path, MINIMAL),
                   f"{tmp_path / 'test-minimal.yaml'}: line 30: policy[1].count: expected at "
                   f"most 1000, got {got}")


def test_yaml_integers_below_the_limit_read_exactly() -> None:
    from deliberation.review.strict_yaml import parse_yaml

    assert parse_yaml("a: 1_000\nb: -0x10\nc: 017\nd: " + "9" * 1000 + "\n", "t.yaml") == {
        "a": 1000, "b": -16, "c": 15, "d": int("9" * 1000)}
    assert parse_yaml("e: -" + "7" * 1001 + "\n", "t.yaml") == {"e": -(10**1000)}


# --------------------------------------------------------------------------- --seed, --samples


@pytest.mark.parametrize(("option", "value", "bound"), [
    ("--seed", "-1", "0<=x<=9223372036854775807"),
    ("--seed", str(2**63), "0<=x<=9223372036854775807"),
    ("--samples", str(10**12), "100<=x<=10000000"),
])
@pytest.mark.parametrize("command", ["diff", "export"])
def test_seed_and_samples_are_bounded_in_diff_and_export(
    tmp_path: Path, command: str, option: str, value: str, bound: str
) -> None:
    arguments = {"diff": ("diff", "--templates", TEST_TEMPLATES, MINIMAL, MINIMAL),
                 "export": ("export", ROOT / "workbooks" / "example", "--archive",
                            tmp_path / "archive")}[command]
    one_line_error(run(*arguments, option, value),
                   f"Invalid value for '{option}': {value} is not in the range {bound}. "
                   f"(see `deliberation {command} --help`)")
    assert not (tmp_path / "archive").exists()


def test_the_bad_fixtures_are_one_line_in_report_and_diff_too() -> None:
    """tests/data/bad/ runs through `check` in test_cli.py; `report` and `diff` read the
    review the same way and print the same line."""
    expected = json.loads((DATA / "bad" / "expected.json").read_text())
    for name in ("thresholds-1e308.json", "nested-1000-deep.json", "impact-5000-digits.json",
                 "role-forges-a-line.json"):
        path = DATA / "bad" / name
        one_line_error(run("report", "--samples", "200", "--templates", TEST_TEMPLATES, path),
                       f"{path}: {expected[name]}")
        one_line_error(run("diff", "--samples", "200", "--templates", TEST_TEMPLATES, MINIMAL,
                           path), f"{path}: {expected[name]}")


# --------------------------------------------------------------------------- export, links


@pytest.mark.parametrize(("case", "expected"), [
    ("records a link", "{archive}: records: expected a folder, found a symbolic link"),
    (".lock a FIFO", "{archive}: .lock: expected a regular file, found a FIFO (named pipe)"),
    (".lock a link", "{archive}: .lock: expected a regular file, found a symbolic link"),
    ("HEAD a folder", "{archive}: refusing to add a record to an archive that fails "
     "verification: HEAD: expected a regular file, found a folder"),
    ("the archive a link", "{archive}: expected an archive folder, found a symbolic link (to "
     "{outside}; give that folder)"),
])
def test_export_never_writes_through_a_link_nor_into_an_odd_archive(
    pristine: Path, tmp_path: Path, case: str, expected: str
) -> None:
    """Refused before the workbook runs (a second, not the whole analysis); nothing is
    written, inside the archive or where a link points."""
    archive, outside = tmp_path / "archive", tmp_path / "outside"
    shutil.copytree(pristine, archive)
    if case == "records a link":
        shutil.move(archive / "records", outside)
        (archive / "records").symlink_to(outside)
    elif case == ".lock a FIFO":
        (archive / ".lock").unlink()
        os.mkfifo(archive / ".lock")
    elif case == ".lock a link":
        (archive / ".lock").unlink()
        (archive / ".lock").symlink_to(outside)
    elif case == "HEAD a folder":
        (archive / "HEAD").unlink()
        (archive / "HEAD").mkdir()
    else:
        shutil.move(archive, outside)
        archive.symlink_to(outside)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    result = run("export", ROOT / "workbooks" / "example", "--archive", archive, timeout=30)
    one_line_error(result, expected.format(archive=archive, outside=outside))
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    if case == "the archive a link":
        one_line_error(run("verify", archive), expected.format(archive=archive,
                                                               outside=outside))


# --------------------------------------------------------------------------- terminal


def test_a_file_name_with_controls_is_printed_escaped(tmp_path: Path) -> None:
    """A carriage return or form feed in a name was turned into a space (the message's
    lines joined); now every control of a name is shown as its escape, none raw."""
    name = "r\x1b[2K\r\x0c\x0bPASS.json"
    one_line_error(run("check", tmp_path / name),
                   f"{tmp_path}/r\\x1b[2K\\x0d\\x0c\\x0bPASS.json: no such file")
    archive = tmp_path / "arch\rive"
    one_line_error(run("verify", archive),
                   f"{tmp_path}/arch\\x0dive: expected an archive folder, found nothing")


# --------------------------------------------------------------------------- extends, linear


def test_a_long_extends_chain_reads_each_file_once(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear, counted rather than timed: listing a chain of 400 templates reads each
    file once (re-resolving the chain per file read 80,000 of them; over a minute)."""
    from collections import Counter

    from deliberation.review import templates

    text = (TEST_TEMPLATES / "test-minimal.yaml").read_text()
    (tmp_path / "t0.yaml").write_text(text.replace("id: test-minimal", "id: t0"))
    for n in range(1, 400):
        (tmp_path / f"t{n}.yaml").write_text(f"id: t{n}\nextends: t{n - 1}\n")
    reads: Counter[Path] = Counter()
    read = templates._read

    def counted(path: Path) -> Any:
        reads[Path(path).resolve()] += 1
        return read(path)

    monkeypatch.setattr(templates, "_read", counted)
    listed = templates.list_templates([tmp_path])
    chain = [entry for entry in listed if entry[1].parent == tmp_path]
    assert len(chain) == 400
    assert all(not isinstance(entry[2], str) for entry in chain)
    assert set(reads.values()) == {1}
    assert sum(reads[p] for p in reads if p.parent == tmp_path.resolve()) == 400


# --------------------------------------------------------------------------- manifest names


@pytest.mark.parametrize("name", ["record.json\n", "record.jso\u0660", "../../record.json",
                                  "records/x", ".record.json", ""])
def test_a_file_name_the_exporter_never_writes_is_tampering(pristine: Path, tmp_path: Path,
                                                            name: str) -> None:
    """The manifest's file names, like its record names, are exact ASCII (the chain
    rehashed, so only the name check can catch it)."""
    from deliberation.record.archive import line_hash
    from deliberation.text import for_terminal

    archive = tmp_path / "archive"
    shutil.copytree(pristine, archive)
    lines = (archive / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[2])
    entry["files"][name] = entry["files"].pop("record.json")
    lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    (archive / "manifest.jsonl").write_bytes(b"".join(lines))
    (archive / "HEAD").write_text(line_hash(lines[2]) + "\n")
    result = run("verify", archive)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (f"TAMPERED: {archive}: manifest.jsonl line 3: file "
                             f"{for_terminal(repr(name))} is not a record file name\n")


# --------------------------------------------------------------------------- the workbook


@pytest.mark.parametrize("character", ["\x0b", "\x0c", "\x1b", "\ufffe", "\uffff"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_the_workbook_refuses_a_control_character_before_saving(tmp_path: Path,
                                                                character: str) -> None:
    """The kernel died on the tradeoffs step, and the edit was already saved, so every
    restart died again: the edit is refused (ReviewInvalid, what the field shows) and
    review.json keeps its bytes."""
    from deliberation.errors import ReviewInvalid
    from deliberation.workbook.session import ReviewSession

    review = tmp_path / "review.json"
    shutil.copy(MINIMAL, review)
    before = review.read_bytes()
    session = ReviewSession(review, template_search=(TEST_TEMPLATES,), journal=None)

    def retitle(data: dict[str, Any]) -> None:
        data["variants"][0]["title"] = f"Open{character}release"

    with pytest.raises(ReviewInvalid, match=f"variants\\[0\\].title: expected text without "
                       f"control characters, found U\\+{ord(character):04X}"):
        session.edit(retitle)
    assert review.read_bytes() == before
    assert session.review.variants[0].title == "Open release"


# --------------------------------------------------------------------------- file sizes


def _sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk (a hole): what the size check sees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.truncate(size)
    return path


@pytest.mark.parametrize(("arguments", "name", "limit"), [
    (("check", "{file}"), "review.json", 16 << 20),
    (("report", "{file}"), "review.json", 16 << 20),
    (("render", "{file}", "-o", "{tmp}/page.html"), "record.json", 64 << 20),
    (("templates", "--templates", "{tmp}"), "big.yaml", 1 << 20),
])
def test_a_file_one_byte_over_its_limit_is_refused_unread(
    tmp_path: Path, arguments: tuple[str, ...], name: str, limit: int
) -> None:
    file = _sparse(tmp_path / name, limit + 1)
    result = run(*(a.format(file=file, tmp=tmp_path) for a in arguments))
    expected = (f"{file}: expected a file of at most {limit >> 20} MiB, found "
                f"{limit + 1:,} bytes")
    if arguments[0] == "templates":
        assert f"big                  INVALID  {expected}" in result.stdout.splitlines()
    else:
        one_line_error(result, expected)
    at_limit = _sparse(tmp_path / "at" / name, limit)  # at the limit: read, and judged
    result = run(*(a.format(file=at_limit, tmp=at_limit.parent) for a in arguments))
    assert "expected a file of at most" not in result.stdout + result.stderr


# --------------------------------------------------------------------------- template folders


@pytest.mark.parametrize(("where", "kind"), [
    ("--templates", "nothing"),
    ("$DELIBERATION_TEMPLATES", "nothing"),
    ("$DELIBERATION_TEMPLATES", "a file"),
])
def test_a_template_folder_that_is_not_there_is_an_error(tmp_path: Path, where: str,
                                                         kind: str) -> None:
    """A mistyped or unmounted organisation folder dropped its templates silently, and
    the built-in template of the same id was used in their place (--templates naming a
    file is click's usage error)."""
    folder = tmp_path / "org-templates"
    if kind == "a file":
        folder.write_text("not a folder")
    review = ROOT / "workbooks" / "example"
    if where == "--templates":
        one_line_error(run("check", "--templates", folder, review),
                       f"Invalid value for '--templates': Directory '{folder}' does not exist. "
                       "(see `deliberation check --help`)")
        return
    result = run("check", review, env={"DELIBERATION_TEMPLATES": f"{folder}:"})
    one_line_error(result, f"{folder}: {where}: expected a folder of templates, found {kind}")
    listed = run("templates", env={"DELIBERATION_TEMPLATES": str(folder)})
    one_line_error(listed, f"{folder}: {where}: expected a folder of templates, found {kind}")


# --------------------------------------------------------------------------- bad templates

BAD_TEMPLATES = DATA / "bad-templates"
BAD_TEMPLATE_LINES = json.loads((BAD_TEMPLATES / "expected.json").read_text())


def test_the_bad_template_fixtures_are_what_make_writes() -> None:
    import runpy

    files = runpy.run_path(str(BAD_TEMPLATES / "_make.py"))["FILES"]
    assert sorted(files) == sorted(BAD_TEMPLATE_LINES)
    for name, text in files.items():
        assert (BAD_TEMPLATES / name).read_text(encoding="utf-8") == text, name


def test_templates_lists_every_bad_template_as_invalid_with_its_line() -> None:
    listed = run("templates", "--templates", BAD_TEMPLATES, "--templates", TEST_TEMPLATES)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    for name, message in BAD_TEMPLATE_LINES.items():
        assert f"{name.removesuffix('.yaml'):<20} INVALID  {BAD_TEMPLATES / name}: " \
               f"{message}" in lines, name


@pytest.mark.parametrize("name", sorted(BAD_TEMPLATE_LINES))
def test_check_with_a_bad_template_is_its_one_line(tmp_path: Path, name: str) -> None:
    data = json.loads(MINIMAL.read_text())
    data["template"] = {"id": name.removesuffix(".yaml")}
    review = tmp_path / "review.json"
    review.write_text(json.dumps(data))
    one_line_error(run("check", "--templates", BAD_TEMPLATES, "--templates", TEST_TEMPLATES,
                       review), f"{BAD_TEMPLATES / name}: {BAD_TEMPLATE_LINES[name]}")


# --------------------------------------------------------------------------- gate and sign


@pytest.mark.parametrize(("kind", "found"), [("fifo", "a FIFO (named pipe)"),
                                             ("device", "a character device")])
def test_allowed_signers_and_keys_are_read_as_regular_files_only(
    pristine: Path, tmp_path: Path, kind: str, found: str
) -> None:
    """`gate --allowed-signers` on a FIFO hung, on /dev/zero read until memory ran out;
    `sign --key` the same."""
    from deliberation.record.signing import SigningError, load_private_key

    path = tmp_path / "odd"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    result = run("gate", "--archive", pristine, "--artifact", MINIMAL, "--allowed-signers",
                 path, timeout=20)
    one_line_error(result, f"{path}: --allowed-signers: expected a regular file, found {found}")
    with pytest.raises(SigningError) as raised:
        load_private_key(path)
    assert str(raised.value) == f"{path}: --key: expected a regular file, found {found}"
    big = _sparse(tmp_path / "big_key", (64 << 10) + 1)
    with pytest.raises(SigningError, match="--key: expected a file of at most 65,536 bytes"):
        load_private_key(big)


# --------------------------------------------------------------------------- the meeting


@pytest.mark.parametrize(("kind", "expected"), [
    ("fifo", "expected a regular file, found a FIFO (named pipe)"),
    ("device", "expected a regular file, found a character device"),
    ("deep", "expected JSON nested at most 64 levels deep"),
])
def test_the_meeting_reads_review_json_as_a_regular_file(tmp_path: Path, kind: str,
                                                        expected: str) -> None:
    """`meeting status` on a review.json that is a FIFO hung (the store read it raw)."""
    review = tmp_path / "review.json"
    if kind == "fifo":
        os.mkfifo(review)
    elif kind == "device":
        review.symlink_to("/dev/zero")
    else:
        shutil.copy(DATA / "bad" / "nested-1000-deep.json", review)
    one_line_error(run("meeting", "status", tmp_path, timeout=20), f"{review}: {expected}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["review.json"]
