"""The book names its source articles: it cites them by title (references.bib), and never calls one "the
seed", "Seed 002" or a bare "the source", never names a source file or the project's brief (SPEC.md).

Scanned: every page of the book (the .md pages; every notebook's markdown cells, code cells, which the
reader sees, and stored outputs), the README and the library's source (docstrings, comments and code), since the
API appendix is generated from it. The word "seed" stays allowed where it means the seed of a random
generator (``seed=0``, ``default_rng(seed)``, "the data seed", "for any seed", "seeds 1 and 2"...).
Every offending line is printed, with its file and cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_KEYS = ["src-mrgr-linear", "src-learning-law-article", "src-synced-surge", "src-scaling-notes"]

# Always wrong, whatever the context.
FORBIDDEN = [
    (re.compile(r"SPEC\.md|DESIGN\.md|\bshared/|\bseeds/"), "names a file of the project's brief"),
    (re.compile(r"\b\d{3}_[0-9a-f]{16}(?:\.txt)?\b"), "names a source file"),
    (re.compile(r"\bseed\s*#?\s*0\d\d\b", re.I), "numbers a source article as a seed (cite it by key)"),
    (re.compile(r"\bthe sources?\b(?!\s+(?:code|articles))(?!.*\{cite)", re.I),
     "a bare 'the source': say which article, and cite it ({cite:p}`src-...`)"),
]

# "seed" for a random generator: every other use of the word is taken for a source article.
SEED = re.compile(r"seed", re.I)
RANDOM_SEED = [re.compile(p, re.I) for p in [
    # (not after an article or demonstrative: "the seed, however" is prose about a source article)
    r"(?<!the )(?<!The )(?<!this )(?<!This )(?<!that )(?<!That )(?<!our )(?<!Our )"
    r"\bseeds?\s*(?:[=:,)\]}<>]|!r\b|!=|\s*[+*]\s*[\w(]|\s+-\s+[\w(]|(?:and|or|if|in)\b)",  # seed=0, seed: int, f(seed), seed + 1,
                                                             # {seed!r}, seed >= 0, seed and ...
    r"[\"'`{]seeds?[\"'`}]",                                 # "seed", `seed`, {seed}
    r"-p\s+seed\b",                                          # papermill parameter
    r"\bseed\(",                                             # a function named seed (validation, numpy)
    r"\b(?:random|rng|generator|data|bootstrap|noise|sampling|any|every|each|other|another|different|same|"
    r"fixed|given|its|integer|two|three|several|per|across|over|\d+)[\s_]+seeds?\b",
    r"\bseeds?\s+(?:of|for)\s+(?:the\s+|a\s+|its\s+)?`*(?:random|generator|bootstrap|rng|resampling|data|noise|"
    r"draws?|simulation|sampling|monte carlo|numpy)",
    r"\ba seed\b(?!\s*(?:article|document|text|post|file))",
    r"\bseeds?\s+\d+(?:\s*(?:,|and|or|to|-|–)\s*\d+)*(?![\d/.])",   # seed 1, seeds 0, 1 and 2 (not 1/b)
    r"\bseed(?:ed|ing)\b",
    r"\bseeds?\s+(?:every|all|each|the random|must|is an integer|sequence)\b",
    r"\bSeedSequence\b|\bseed_seq(?:uence)?\b",
]]


def offences(line: str) -> list[str]:
    """What is wrong with one line of text (an empty list if nothing is)."""
    found = [f"{meaning}: {m.group(0)!r}" for pattern, meaning in FORBIDDEN for m in pattern.finditer(line)]
    allowed = [m.span() for pattern in RANDOM_SEED for m in pattern.finditer(line)]
    for m in SEED.finditer(line):
        if any(a <= m.start() and m.end() <= b for a, b in allowed):
            continue
        if any("seed" in f.lower() for f in found):
            continue  # already reported on this line
        start, end = m.start(), m.end()
        while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_-'’"):
            start -= 1
        while end < len(line) and (line[end].isalnum() or line[end] in "_-'’"):
            end += 1
        found.append(f"'seed' for a source article (name it, cite it): {line[start:end]!r}")
    return found


def _output_texts(output: dict) -> list[str]:
    if output.get("output_type") == "stream":
        return ["".join(output.get("text", ""))]
    data = output.get("data", {})
    return ["".join(data[k]) if isinstance(data[k], list) else str(data[k])
            for k in data if k.startswith("text/")]


def book_texts():
    """(where, text) for every piece of the book and the library a reader sees."""
    for path in sorted((ROOT / "book").glob("*.md")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        rel = path.relative_to(ROOT)
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            yield f"{rel} cell {index} ({cell['cell_type']})", "".join(cell["source"])
            for output in cell.get("outputs", []):
                for text in _output_texts(output):
                    yield f"{rel} cell {index} (output)", text
    for path in sorted((ROOT / "lib").rglob("*.py")):
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
    # the README is the first page a reader of the repository sees
    yield "README.md", (ROOT / "README.md").read_text(encoding="utf-8")


def test_no_seed_spec_or_bare_source_in_the_book_or_library():
    problems = []
    for where, text in book_texts():
        for number, line in enumerate(text.splitlines(), 1):
            for offence in offences(line):
                problems.append(f"{where} line {number}: {offence}\n      {line.strip()[:160]}")
    assert not problems, f"{len(problems)} lines name a source article badly:\n" + "\n".join(problems)


def test_the_four_source_articles_are_in_the_bibliography():
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    entries = dict(re.findall(r"@\w+\{([^,\s]+),(.*?)\n\}", bib, re.S))
    for key in SOURCE_KEYS:
        assert key in entries, f"references.bib has no entry {key}"
        entry = entries[key]
        assert re.search(r"title\s*=\s*\{.*[\u4e00-\u9fff]", entry), f"{key}: the original (Chinese) title is missing"
        assert re.search(r"title\s*=\s*\{.*\[[A-Z]", entry), f"{key}: the English translation of the title is missing"
        assert re.search(r"\b(author|howpublished)\s*=", entry), f"{key}: no author or site"
        assert re.search(r"\byear\s*=\s*\{\d{4}\}", entry), f"{key}: no year"


def test_intro_and_api_cite_the_source_articles():
    """The front page cites all four articles; the API appendix cites the ones its modules answer."""
    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    missing = [k for k in SOURCE_KEYS if k not in intro]
    assert not missing, f"book/intro.md does not cite {missing}"
    api = (ROOT / "book" / "api.md").read_text(encoding="utf-8")
    assert any(k in api for k in SOURCE_KEYS), "book/api.md cites none of the source articles"


@pytest.mark.parametrize("line", [
    "Seed 002, on the surge of the optimal learning rate",
    "References: the exam problem restated in SPEC.md (seed 000)",
    "The seed proposes $\\alpha = 1/b$",
    "the seed's numbers are refuted",
    "seed_loss = (9 * eta**2 * T_sym**2)",
    "eta_seed = 2 / (3 * T)",
    'glue("linear1d-seed-min-sep", x)',
    "| alpha fit  a/b  seed 1/b |",
    "Where the worked solution in the source goes wrong",
    "The source's answer, $g(T) = 13$, is wrong",
    "as the source article says",
    "as laid out in 003_5a10e7f47be1a0f3.txt",
    "The seed, however, proposes alpha = 1/b",
    "the seed: alpha=1/b is wrong",
    "the seed and the paper disagree",
    "the seed in its section 3 claims",
])
def test_pattern_flags(line):
    assert offences(line), f"not flagged: {line!r}"


@pytest.mark.parametrize("line", [
    "seed = 0                         # seed of the random generator",
    "seed = 0                # data seed",
    "seed = 0                      # seeds every random number in the chapter",
    'raise ValueError(f"seed must be an integer >= 0, got {seed!r}")',
    "rng = np.random.default_rng(seed + 1)",
    "def seed(name: str, value) -> int:",
    'domain="an integer seed in [0, 2**63)"',
    "run it with `PARAMS=\"-p seed 1\"` and seeds 2 and 3; the spread across seeds is small",
    "every assert holds for any seed",
    "resample with replacement (1000 times, seeded; the bootstrap)",
    "seed : int, optional",
    "seed : int >= 0, seed of the ``numpy.random.default_rng`` that draws the resamples.",
    "from ``numpy.random.default_rng(seed)``, so a seed fixes the result.",
    'final = simulate(e_, b_, 10 * runs, seed=seed + (1 if name == "schedule" else 2))[-1]',
    "The exam problem {cite:p}`src-mrgr-linear` claims that the source code is wrong",
    "the source article {cite:t}`src-synced-surge` reports",
    "the Chinese titles of the source articles",
])
def test_pattern_allows(line):
    assert not offences(line), f"flagged: {line!r}: {offences(line)}"
