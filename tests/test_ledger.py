"""The preface's ledger lists exactly the claims that the chapters verify, and all of them pass."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL = r"((?:\d+|[A-Z]\d*)\.\d+[a-z]?)"   # chapter labels 2.7, appendix labels A1.1


def chapter_of(path):
    """The label prefix of a notebook: "2" for 02_name.ipynb, "A1" for A1_name.ipynb (appendix A.1)."""
    prefix = path.name.split("_")[0]
    return str(int(prefix)) if prefix.isdigit() else prefix


def ledger_labels():
    text = (ROOT / "intro.md").read_text(encoding="utf-8")
    return set(re.findall(rf"^\|\s*{LABEL}\s*\|", text, flags=re.M))


def verdicts():
    """{label: [verdict lines]} from the stored outputs of every chapter."""
    found = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        chapter = chapter_of(path)
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                text = "".join(output.get("text", ""))
                # a verdict wrapped at 88 characters goes on in lines indented by 4 spaces
                for label, line in re.findall(rf"^\[{LABEL}\] (.*(?:\n    .*)*)$", text,
                                              flags=re.M):
                    line = " ".join(part.strip() for part in line.split("\n"))
                    if label.split(".")[0] == "0":
                        continue  # the demonstration of the checker itself
                    assert label.split(".")[0] == chapter, f"{path.name}: label {label}"
                    found.setdefault(label, []).append(line)
    return found


def test_every_verified_claim_is_in_the_ledger_and_vice_versa():
    ledger, stored = ledger_labels(), set(verdicts())
    assert stored - ledger == set(), f"claims verified in chapters but missing from intro.md"
    assert ledger - stored == set(), f"ledger rows with no verifying cell in the chapters"


def test_every_stored_verdict_is_true():
    for label, lines in verdicts().items():
        for line in lines:
            assert line.endswith(": True"), f"[{label}] {line}"
