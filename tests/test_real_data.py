"""Every style on a real CSV as it ships: the Palmer penguins (string labels,
categorical columns, NA cells), with only data.path and data.label set.

Slow (about a minute a style): CI runs it. The data comes from the
`palmerpenguins` package, a test-only dependency.
"""

import csv
import importlib.util
import json
import random
from pathlib import Path

import pytest
from end_to_end import run

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import STYLES, make_spec

pytestmark = pytest.mark.slow

SPECIES = ("Adelie", "Chinstrap", "Gentoo")


def penguins_csv() -> Path:
    spec = importlib.util.find_spec("palmerpenguins")
    if spec is None:
        pytest.skip("palmerpenguins is not installed (pip install -e '.[test]')")
    return Path(spec.submodule_search_locations[0]) / "data" / "penguins.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tabular project per style, trained on penguins.csv, evaluated without
    repeating the data flags."""
    data, results = penguins_csv(), {}
    for style in STYLES:
        parent = tmp_path_factory.mktemp(style)
        new_project(
            make_spec("birds", style, "tabular"), parent, force=False, git=False
        )
        project = parent / "birds"
        data_flags = ["--set", f"data.path={json.dumps(str(data))}"]
        run(project, "-m", "birds", "train", *data_flags, "--set", "data.label=species")
        evaluated = run(project, "-m", "birds", "evaluate", "--json")
        results[style] = (project, json.loads(evaluated.stdout))
    return results


def test_every_style_learns_the_species_and_they_agree(trained):
    accuracies = {style: metrics["accuracy"] for style, (_, metrics) in trained.items()}
    print(f"penguins held-out accuracy: {accuracies}")
    assert min(accuracies.values()) >= 0.94, accuracies
    assert max(accuracies.values()) - min(accuracies.values()) <= 0.03, accuracies


def test_predict_reads_shuffled_and_extra_columns_and_names_the_species(
    trained, tmp_path
):
    rows = list(csv.DictReader(penguins_csv().open()))
    random.Random(0).shuffle(rows)
    rows = [row for row in rows if row["bill_length_mm"] != "NA"][:60]
    columns = [*sorted(rows[0], reverse=True), "ticket"]
    path = tmp_path / "new.csv"
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows({**row, "ticket": index} for index, row in enumerate(rows))
    for style, (project, _) in trained.items():
        run(project, "-m", "birds", "export")
        output = run(project, "-m", "birds", "predict", str(path)).stdout
        predicted = list(csv.DictReader(output.splitlines()))
        # The column the model does not take comes first, as the file wrote it.
        assert list(predicted[0])[:2] == ["ticket", "class"], style
        assert [p["ticket"] for p in predicted] == [str(i) for i in range(60)]
        assert {f"probability_{name}" for name in SPECIES} <= set(predicted[0])
        hits = sum(
            p["class"] == row["species"] for p, row in zip(predicted, rows, strict=True)
        )
        assert hits >= 55, (style, hits)


def test_a_run_reused_on_other_data_is_refused(trained, tmp_path):
    other = tmp_path / "other.csv"
    lines = penguins_csv().read_text().splitlines(keepends=True)
    other.write_text("".join(lines[:200]))
    for style, (project, _) in trained.items():
        result = run(
            project,
            "-m",
            "birds",
            "train",
            "--set",
            f"data.path={json.dumps(str(other))}",
            "--set",
            "data.label=species",
            check=False,
        )
        assert result.returncode == 1, style
        assert "was trained with other data" in result.stderr, style
        assert "Traceback" not in result.stderr, style
