"""Every style on a real image set laid out as people keep one: the UCI
optical recognition set's 1,797 handwritten digits (8x8, upscaled to 32x32
PNGs) in train/ val/ test/ folders of class folders, with only data.path set.

Slow (a few minutes a style): CI runs it in the tf style, whose convolution
blocks and batch normalisation are written by hand; keras and hybrid build theirs
from Keras layers, and each style's image training is checked end to end on
synthetic images. Run it for every style with TFK_REAL_IMAGE_STYLES=all (their
figures are in config.toml). The digits are tests/data/digits.csv.gz, the
file scikit-learn's load_digits reads (see tests/data/README.md).
"""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from end_to_end import run

from tfk_scaffold.generate import new_project
from tfk_scaffold.spec import STYLES, make_spec

pytestmark = pytest.mark.slow
DIGITS = Path(__file__).parent / "data" / "digits.csv.gz"
ALL = os.environ.get("TFK_REAL_IMAGE_STYLES") == "all"
CHECKED_STYLES = tuple(STYLES) if ALL else ("tf",)


def write_digits(root):
    """The digits as PNGs: every 10th to test/, the next to val/, the rest to
    train/, each in a folder named after its digit."""
    import tensorflow as tf

    table = np.loadtxt(DIGITS, delimiter=",")  # 64 pixels (0-16), then the digit
    images, targets = table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(int)
    order = np.random.default_rng(0).permutation(len(targets))
    for rank, index in enumerate(order):
        split = {0: "test", 1: "val"}.get(rank % 10, "train")
        folder = root / split / f"digit_{targets[index]}"
        folder.mkdir(parents=True, exist_ok=True)
        pixels = tf.image.resize(images[index][..., None] / 16.0, [32, 32])
        png = tf.io.encode_png(tf.cast(tf.round(pixels * 255), tf.uint8))
        (folder / f"{index:04d}.png").write_bytes(png.numpy())
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    data, results = write_digits(tmp_path_factory.mktemp("digits")), {}
    for style in CHECKED_STYLES:
        parent = tmp_path_factory.mktemp(style)
        new_project(make_spec("glyphs", style, "image"), parent, force=False, git=False)
        project = parent / "glyphs"
        trained = run(
            project,
            "-m",
            "glyphs",
            "train",
            "--set",
            f"data.path={json.dumps(str(data))}",
        )
        evaluated = run(project, "-m", "glyphs", "evaluate", "--json")
        results[style] = (project, trained.stdout, json.loads(evaluated.stdout))
    return data, results


def test_the_checked_styles_learn_the_digits_from_the_split_folders(trained):
    _, results = trained
    accuracies = {
        style: metrics["accuracy"] for style, (_, _, metrics) in results.items()
    }
    print(f"digits held-out accuracy: {accuracies}")
    assert min(accuracies.values()) >= 0.90, accuracies
    for style, (_, output, _) in results.items():
        assert "splits from the folders train/, val/, test/" in output, style
        assert "digit_0: " in output, style
        assert "classes (10): digit_0, digit_1" in output, style


def test_predict_names_each_file_and_its_digit(trained):
    data, results = trained
    files = sorted((data / "test" / "digit_7").glob("*.png"))
    for style, (project, _, _) in results.items():
        run(project, "-m", "glyphs", "export")
        output = run(project, "-m", "glyphs", "predict", str(data / "test" / "digit_7"))
        rows = list(csv.DictReader(output.stdout.splitlines()))
        assert [row["path"] for row in rows] == [str(file) for file in files], style
        assert {f"probability_digit_{d}" for d in range(10)} <= set(rows[0]), style
        hits = sum(row["class"] == "digit_7" for row in rows)
        assert hits >= 0.8 * len(rows), (style, hits, len(rows))
