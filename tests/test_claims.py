"""The claims' machinery (tinyconv.claims, examples/reproduce.py) on made-up CIFAR-10 data, quick budgets only.

These check that every experiment trains its arms, shares and resumes them, and reports what the arms
measured; the claims themselves are checked by the full runs (docs/results.md), never here.
"""
import contextlib
import importlib.util
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.data.data_builders import cifar_members, save_image
from tinyconv.claims import QUICK, ArmError, Diverged, Lab, figure1
from tinyconv.claims import dropout as dropout_claim
from tinyconv.claims.normalization import compare
from tinyconv.train.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _reproduce():
    spec = importlib.util.spec_from_file_location("example_reproduce", REPO / "examples" / "reproduce.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def jpeg_folder(tmp_path_factory):
    """CIFAR-10's layout as the JPEG copy has it: train/<class>/ (16 each) and test/<class>/ (8 each), 32x32."""
    root = tmp_path_factory.mktemp("cifar-jpeg")
    rng = np.random.default_rng(0)
    for split, count in (("train", 16), ("test", 8)):
        for label, name in enumerate(CLASSES):
            for i in range(count):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                image[..., label % 3] //= 2                        # a little signal per class
                save_image(root / split / name / f"{i:04d}.jpg", image)
    return root


@pytest.fixture(scope="module")
def batches_folder(tmp_path_factory):
    """The official Python batches (cifar-10-batches-py/), made up: 5 x 40 training and 60 test images."""
    root = tmp_path_factory.mktemp("cifar-batches")
    members, _ = cifar_members(counts=(40, 40, 40, 40, 40, 60))
    for name, content in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


@pytest.fixture(scope="module")
def all_quick(jpeg_folder, tmp_path_factory):
    """Every experiment, quick, on the JPEG folders: (output folder, what it printed)."""
    out = tmp_path_factory.mktemp("reproduce")
    args = ["all", "--quick", "--data-dir", str(jpeg_folder), "--out", str(out), "--no-progress", "--workers", "0"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert _reproduce().main(args) == 0
    return out, printed.getvalue()


def _result(out, name):
    return json.loads((out / name / "result.json").read_text())


def _last(out, arm, key="val_top1"):
    rows = [json.loads(line) for line in (out / "runs" / arm / "metrics.jsonl").read_text().splitlines()]
    return rows[-1][key]


def test_every_experiment_writes_its_result_and_figure(all_quick):
    out, printed = all_quick
    for name in ("figure1", "lrn", "overlap", "dropout", "average"):
        result = _result(out, name)
        assert result["experiment"] == name and result["quick"] is True and result["dataset"] == "folder"
        assert (out / name / f"{name}.png").stat().st_size > 10_000
        assert f"{name}: {out / name / 'result.json'}" in printed
    # the arms the experiments share were trained once: five baseline seeds and one seed of each variant
    convnets = sorted(p.name for p in (out / "runs").iterdir() if p.name.startswith("convnet"))
    assert convnets == sorted([f"convnet-lrn-pool3-seed{s}" for s in range(5)]
                              + ["convnet-lrn-pool2-seed0", "convnet-nolrn-pool3-seed0"])


def test_results_are_what_the_arms_measured(all_quick):
    out, _ = all_quick
    lrn = _result(out, "lrn")["test_error"]
    assert lrn["baseline"]["values"] == [_last(out, f"convnet-lrn-pool3-seed{s}") for s in range(5)]
    assert lrn["variant"]["values"] == [_last(out, "convnet-nolrn-pool3-seed0")]
    assert lrn["variant_minus_baseline"] == pytest.approx(lrn["variant"]["mean"] - lrn["baseline"]["mean"])
    overlap = _result(out, "overlap")
    assert overlap["gap"]["variant"] == [pytest.approx(_last(out, "convnet-lrn-pool2-seed0")
                                                       - _last(out, "convnet-lrn-pool2-seed0", "train_eval_top1"))]
    average = _result(out, "average")
    singles = [_last(out, f"convnet-lrn-pool3-seed{s}") for s in range(5)]
    assert average["test_error_each"] == pytest.approx(singles)             # the checkpoints re-evaluated
    assert average["test_error_average_of_first_k"][0] == pytest.approx(singles[0])
    drop = _result(out, "dropout")
    assert drop["dropout0"]["test_error"] == _last(out, "alexnet-cifar-dropout0-seed0")
    assert drop["dropout0.5"]["gap"] == pytest.approx(
        _last(out, "alexnet-cifar-dropout0.5-seed0") - _last(out, "alexnet-cifar-dropout0.5-seed0", "train_eval_top1"))
    fig = _result(out, "figure1")
    scores = fig["learning_rate_search"]["training_error"]
    for act, chosen in fig["learning_rate_search"]["chosen"].items():
        finite = {lr: e for lr, e in scores[act].items() if e is not None}
        assert scores[act][f"{chosen:g}"] == min(finite.values())
    config = load_checkpoint(out / "runs" / "figure1-tanh" / "checkpoint.npz")["config"]
    assert (config["augment"], config["weight_decay"], config["model_options"]) == (False, 0.0, {"activation": "tanh"})


def test_running_again_trains_nothing_and_gives_the_same_result(all_quick, jpeg_folder, capsys):
    out, _ = all_quick
    before = _result(out, "overlap")
    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").glob("*/checkpoint.npz")}
    assert _reproduce().main(["overlap", "--quick", "--data-dir", str(jpeg_folder), "--out", str(out),
                              "--no-progress", "--workers", "0"]) == 0
    printed = capsys.readouterr().out
    assert ": training" not in printed and ": resuming" not in printed
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert _result(out, "overlap") == before


def test_quick_experiment_on_the_official_batches(batches_folder, tmp_path):
    assert _reproduce().main(["dropout", "--quick", "--data-dir", str(batches_folder), "--out", str(tmp_path),
                              "--no-progress", "--workers", "0"]) == 0
    result = _result(tmp_path, "dropout")
    assert result["dataset"] == "cifar10" and set(result) >= {"dropout0.5", "dropout0"}


def test_missing_data_is_an_error_message(tmp_path, capsys):
    assert _reproduce().main(["lrn", "--quick", "--dataset", "folder", "--data-dir", str(tmp_path),
                              "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "has no train folder" in capsys.readouterr().err


def _lab(root, out, **budget):
    return Lab("folder", str(root), str(out), replace(QUICK, **budget), workers=0, progress=False,
               say=lambda *_: None)


def test_a_longer_arm_resumes_where_the_shorter_one_ended(jpeg_folder, tmp_path):
    lab = _lab(jpeg_folder, tmp_path, epochs_scale=1.0, min_epochs=1)
    short = lab.arm("c", epochs=1, model="convnet-cifar").rows
    longer = lab.arm("c", epochs=3, model="convnet-cifar").rows
    assert [r["epoch"] for r in longer] == [1, 2, 3] and longer[0] == short[0]
    fresh_lab = _lab(jpeg_folder, tmp_path / "fresh", epochs_scale=1.0, min_epochs=1)
    fresh = fresh_lab.arm("c", epochs=3, model="convnet-cifar")
    assert [r["val_loss"] for r in fresh.rows] == [r["val_loss"] for r in longer]   # as if never stopped
    assert len(lab.arm("c", epochs=2, model="convnet-cifar").rows) == 3           # read back whole


def test_an_arm_folder_of_other_options_is_refused(jpeg_folder, tmp_path):
    lab = _lab(jpeg_folder, tmp_path)
    lab.arm("net", epochs=1, model="convnet-cifar", seed=1)
    with pytest.raises(ArmError, match=r"holds a run of other options \(seed 1 there, 2 now\)"):
        lab.arm("net", epochs=1, model="convnet-cifar", seed=2)


def test_a_diverged_arm_is_remembered_and_skipped_by_the_search(jpeg_folder, tmp_path):
    lab = _lab(jpeg_folder, tmp_path)
    with pytest.raises(Diverged, match="diverged in epoch"):
        lab.arm("hot", epochs=1, model="fourlayer-cifar", lr=1e12, augment=False, weight_decay=0.0)
    assert (tmp_path / "runs" / "hot" / "diverged.json").exists()
    with pytest.raises(Diverged, match="diverged before"):   # not trained again
        lab.arm("hot", epochs=1, model="fourlayer-cifar", lr=1e12, augment=False, weight_decay=0.0)
    assert figure1.probe(lab, "relu", 1e12) is None


def test_the_rate_search_goes_past_an_end_of_the_grid_where_the_best_rate_lies():
    tried = []

    def score(lr):                       # lowest error at 0.08; diverges above 0.1
        tried.append(lr)
        return None if lr > 0.1 else abs(np.log2(lr / 0.08))

    scores = figure1.search(score, (0.005, 0.01, 0.02))
    assert tried == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16]   # doubled until the best was inside
    assert min((lr for lr in scores if scores[lr] is not None), key=scores.get) == 0.08
    assert list(figure1.search(lambda lr: lr, (0.01, 0.02), extensions=2)) == [0.0025, 0.005, 0.01, 0.02]  # halved
    assert figure1.search(lambda lr: abs(np.log2(lr / 0.08)), (0.01, 0.02), extensions=1) == {0.01: 3.0, 0.02: 2.0,
                                                                                             0.04: 1.0}
    with pytest.raises(ValueError, match="every learning rate tried diverged"):
        figure1.search(lambda lr: None, (0.01, 0.02))


def test_summaries_of_the_curves():
    rows = [{"epoch": e, "train_top1": t, "seconds": 10.0, "val_top1": v}
            for e, t, v in ((1, 0.6, 0.7), (2, 0.3, 0.5), (3, 0.2, 0.41), (4, 0.1, 0.4))]
    assert figure1.epochs_to(rows) == (3, 30.0) and figure1.epochs_to(rows, 0.05) == (None, None)
    assert dropout_claim.converged_epoch(rows) == 3          # the first within 1 point of the lowest test error

    class Arm:
        def __init__(self, value):
            self.value = value

        def last(self, key):
            return self.value
    result = compare([Arm(0.2), Arm(0.3)], [Arm(0.4)], "val_top1")
    assert result["variant_minus_baseline"] == pytest.approx(0.15)
    assert result["in_baseline_stds"] == pytest.approx(0.15 / np.std([0.2, 0.3], ddof=1))
