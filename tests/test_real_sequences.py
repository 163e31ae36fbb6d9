"""Every style on real multivariate sequences in long format: JapaneseVowels
(9 speakers, 12 features per frame, 7-29 frames, rows shuffled so that only the
frame column orders them), with only the data keys that name columns set.

Slow (about a minute a style): CI runs it in the tf style, whose GRU is written
by hand, and the keras style, whose Keras GRU the hybrid style shares; run it
for every style with TFK_REAL_SEQUENCE_STYLES=all. The data is a gzipped sample
in tests/data (see its README for the source and how it was made).
"""

import csv
import gzip
import json
import os
from pathlib import Path

import pytest
from end_to_end import run

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import STYLES, make_spec

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data" / "japanese_vowels.csv.gz"
SPEAKERS = tuple(f"speaker{index}" for index in range(1, 10))
ALL = os.environ.get("TFK_REAL_SEQUENCE_STYLES") == "all"
CHECKED_STYLES = tuple(STYLES) if ALL else ("tf", "keras")


@pytest.fixture(scope="module")
def vowels(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "japanese_vowels.csv"
    path.write_bytes(gzip.decompress(DATA.read_bytes()))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, vowels):
    """A sequence project per style, trained on the vowels, evaluated without
    repeating the data flags."""
    keys = {
        "path": str(vowels),
        "sequence_id": "utterance",
        "order": "frame",
        "label": "speaker",
    }
    flags = [f"--set=data.{key}={json.dumps(value)}" for key, value in keys.items()]
    results = {}
    for style in CHECKED_STYLES:
        parent = tmp_path_factory.mktemp(style)
        new_project(
            make_spec("vowels", style, "sequence"), parent, force=False, git=False
        )
        project = parent / "vowels"
        trained = run(project, "-m", "vowels", "train", *flags)
        assert "steps per sequence: min 7, median 15, max 29" in trained.stdout
        evaluated = run(project, "-m", "vowels", "evaluate", "--json")
        results[style] = (project, json.loads(evaluated.stdout))
    return results


def test_the_checked_styles_tell_the_speakers_apart_and_agree(trained):
    accuracies = {style: metrics["accuracy"] for style, (_, metrics) in trained.items()}
    print(f"japanese vowels held-out accuracy: {accuracies}")
    assert min(accuracies.values()) >= 0.9, accuracies
    assert max(accuracies.values()) - min(accuracies.values()) <= 0.05, accuracies


def test_predict_names_each_utterance_and_its_speaker(trained, vowels):
    rows = list(csv.DictReader(vowels.open()))
    truth = {row["utterance"]: row["speaker"] for row in rows}
    for style, (project, _) in trained.items():
        run(project, "-m", "vowels", "export")
        output = run(project, "-m", "vowels", "predict", str(vowels)).stdout
        predicted = list(csv.DictReader(output.splitlines()))
        assert list(predicted[0])[:2] == ["utterance", "class"], style
        assert {f"probability_{name}" for name in SPEAKERS} == set(predicted[0]) - {
            "utterance",
            "class",
        }
        assert len(predicted) == len(truth) == 640
        hits = sum(row["class"] == truth[row["utterance"]] for row in predicted)
        assert hits >= 0.9 * 640, (style, hits)
