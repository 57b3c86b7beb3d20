"""Writes the hostile templates of this folder (issue 13's "Templates" and "Numbers"
classes); run from the repository root: python tests/data/bad-templates/_make.py.
Each is listed by `deliberation templates --templates tests/data/bad-templates
--templates tests/data/templates` as INVALID with the line in expected.json."""

from pathlib import Path

HERE = Path(__file__).parent
BASE = (HERE.parent / "templates" / "test-minimal.yaml").read_text()


def child(template_id: str, body: str) -> str:
    return f'id: {template_id}\nversion: "1"\ntitle: t\n{body}'


FILES = {
    "extends-a-path.yaml": child("extends-a-path", "extends: ../templates/test-minimal\n"),
    "extends-absolute.yaml": child("extends-absolute", "extends: /etc/passwd\n"),
    "extends-a-list.yaml": child("extends-a-list", "extends: [test-minimal]\n"),
    "id-a-list.yaml": 'id: [1, 2]\nversion: "1"\ntitle: t\nextends: test-minimal\n',
    "id-a-mapping.yaml": 'id: {a: 1}\nversion: "1"\ntitle: t\nextends: test-minimal\n',
    "rule-id-a-list.yaml": child("rule-id-a-list", "extends: test-minimal\npolicy:\n"
                                 "  - id: [1, 2]\n    rule: decision-recorded\n"),
    "cycle-first.yaml": "id: one\nextends: cycle-second\n",
    "cycle-second.yaml": "id: two\nextends: cycle-first\n",
    "interval-400-digits.yaml": BASE.replace("id: test-minimal", "id: interval-400-digits")
    .replace("[1, 10]", "[1, 1" + "0" * 400 + "]", 1),
    "interval-5000-digits.yaml": BASE.replace("id: test-minimal", "id: interval-5000-digits")
    .replace("[1, 10]", "[1, 1" + "0" * 5000 + "]", 1),
    "count-400-digits.yaml": BASE.replace("id: test-minimal", "id: count-400-digits")
    .replace("count: 2,", "count: 1" + "0" * 400 + ","),
    "title-escape-sequence.yaml": BASE.replace("id: test-minimal", "id: title-escape-sequence")
    .replace("title: A small template for the test suite",
             'title: "A small\\e[2K\\rPASS template"'),
    "threshold-1e308.yaml": BASE.replace("id: test-minimal", "id: threshold-1e308")
    .replace("extreme_bad: -5000", "extreme_bad: -1.0e+308"),
}

if __name__ == "__main__":
    for name, text in FILES.items():
        (HERE / name).write_text(text, encoding="utf-8")
