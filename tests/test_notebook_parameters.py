"""A parameter outside a chapter's domain stops the run at the validation cell, with a message that
names the parameter and the allowed range.  Checked for every chapter through papermill, as a reader
would run it (`make notebooks CHAPTER=... PARAMS=...`)."""

from pathlib import Path

import papermill
import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# chapter -> (parameter, a value outside its domain, a fragment of the allowed range in the message)
BAD_PARAMETERS = {
    "learning_law": ("eta", 1.5, "(0, 1]"),
    "linear1d": ("etas", [0.1, 0.7], "stable range"),
    "tuned_rate": ("log10_T_max", 13, "12]"),
    "compute_optimal": ("b", 0.5, ">= 1"),
    "multipower_law": ("eta_max", 0.5, "(0, 1/3]"),
    "noise_scale": ("rate_factor", 1.5, "(0, 1]"),
    "surge": ("n_coupled", 1, "[4, "),
    "zipf_scaling": ("a_b_pairs", [[1.0, 0.5]], "b >= 1"),
}


def test_every_chapter_has_a_bad_parameter_case():
    chapters = {p.stem for p in BOOK.glob("*.ipynb")}
    missing = sorted(chapters - set(BAD_PARAMETERS))
    assert not missing, f"add a case to BAD_PARAMETERS for: {missing}"


@pytest.mark.parametrize("chapter", sorted(BAD_PARAMETERS))
def test_bad_parameter_stops_at_validation(chapter, tmp_path):
    name, value, allowed = BAD_PARAMETERS[chapter]
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(str(BOOK / f"{chapter}.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters={name: value}, kernel_name="python3", cwd=str(BOOK),
                                   progress_bar=False, log_output=False)
    error = info.value
    assert error.ename == "ValueError"
    assert name in error.evalue and allowed in error.evalue and "got" in error.evalue, error.evalue
    # cell 1: parameters, cell 2: papermill's injected parameters, cell 3: the validation cell
    assert error.exec_count == 3, f"stopped at cell {error.exec_count}, not at the validation cell"
