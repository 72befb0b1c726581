"""The claims files (benchmark/claims/<paper>.py): unique ids, known experiments, arms that select one run
per seed of their grid, and every numbered prose claim of shared/CLAIMS.md quoted by at least one claim."""
import re
from pathlib import Path

import pytest

from benchmark.catalogue import list_ids
from benchmark.claims import PAPERS, Exact, all_claims
from benchmark.claims.evaluate import arm_problems

CLAIMS_MD = Path(__file__).resolve().parents[3] / "shared" / "CLAIMS.md"


def test_ids_unique_and_named_for_their_paper():
    claims = all_claims()
    ids = [c.id for c in claims]
    assert len(ids) == len(set(ids))
    assert len(claims) >= 100
    ids_known = set(list_ids())
    for c in claims:
        assert c.paper in PAPERS and c.source.paper == c.paper, c.id
        assert c.experiment in ids_known and c.experiment.split(".")[0] == c.paper, c.id
        assert c.better in ("higher", "lower") and c.statement and "\n" not in c.statement, c.id


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_every_arm_selects_one_run_per_seed(scale):
    problems = [f"{c.id}: {p}" for c in all_claims() for p in arm_problems(c, scale)]
    assert not problems, "\n".join(problems[:20])


def test_untestable_claims_say_why():
    for c in all_claims():
        for scale, reason in c.untestable.items():
            assert scale in ("all", "smoke", "cpu", "paper") and len(reason) > 10, c.id
        if isinstance(c.form, Exact):
            assert c.form.row and c.form.column, c.id


def _entries(text: str):
    """(paper, number, quote) of every numbered entry of CLAIMS.md."""
    out = []
    for m in re.finditer(r"^(\d+)\. \*\*paper:\*\* `(\w+)`.*?\n((?:   >.*\n)+)", text, flags=re.M):
        quote = " ".join(line.strip()[1:].strip() for line in m.group(3).splitlines())
        out.append((m.group(2), int(m.group(1)), quote))
    return out


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


@pytest.mark.skipif(not CLAIMS_MD.exists(), reason="shared/CLAIMS.md is not next to this checkout")
def test_every_prose_claim_is_quoted_by_a_claim():
    entries = _entries(CLAIMS_MD.read_text())
    assert len(entries) == 69
    quotes = {p: [_norm(c.source.quote) for c in all_claims() if c.paper == p and c.source.quote] for p in PAPERS}
    missing = []
    for paper, n, quote in entries:
        full = _norm(quote)
        # a claim quotes the entry when each of its fragments (split at "...") lies in the entry's words
        if not any(all(_norm(f) in full for f in re.split(r"\s*(?:\.\.\.|…)\s*", q) if _norm(f)) for q in quotes[paper]):
            missing.append(f"{paper} #{n}")
    assert not missing, missing
