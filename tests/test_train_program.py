"""examples/train_alexnet.py and examples/evaluate.py end to end, in-process, on a few hundred real images."""
import importlib.util
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tinyconv import threads
from tinyconv.train import loop, run
from tinyconv.train.checkpoint import load_checkpoint, save_checkpoint

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL = ["--train-images", "192", "--val-images", "48", "--batch-size", "16", "--workers", "1", "--no-progress"]


def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYCONV_DATA", str(tmp_path / "data-home"))  # cached mean images go here


@pytest.fixture(scope="module")
def train_main():
    return _example("train_alexnet").main


def test_run_writes_metrics_figures_checkpoint_and_evaluates(train_main, tmp_path, capsys, request):
    out = tmp_path / "run"
    request.addfinalizer(lambda: threads.set_threads(None))          # --threads fixes the budget of the process
    assert train_main(SMALL + ["--epochs", "1", "--out", str(out), "--backend", "numpy", "--tf32",
                               "--augment-on-gpu", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "threads: BLAS 1, op pool 1, loader 1 worker, fixed by --threads 1; this process may use" in printed
    assert {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"} == {1}
    assert "--tf32 has no effect on the CPU" in printed and "validation (centre-crop): top-1 error" in printed
    assert "--augment-on-gpu has no effect on the CPU" in printed
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1] and rows[0]["lr"] == 0.01
    assert 0 <= rows[0]["val_top5"] <= rows[0]["val_top1"] <= 1 and np.isfinite(rows[0]["train_loss"])
    assert (out / "metrics.csv").read_text().startswith("epoch,lr,train_loss,train_top1,val_loss")
    for figure in ("curves", "filters", "top5", "neighbours"):
        assert (out / f"{figure}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == 1 and state["model_name"] == "alexnet-28" and state["progress"]["batches"] == 0
    assert state["model"]["conv1.weight"].shape == (32, 1, 5, 5)
    assert state["config"]["pad"] == 1  # Fashion-MNIST's shifts, stored resolved so evaluate.py pads the same
    assert any(k.startswith("velocity.") for k in state["optimizer"])

    assert _example("evaluate").main([str(out / "checkpoint.npz"), "--no-progress", "--backend", "numpy"]) == 0
    printed = capsys.readouterr().out
    assert "after 1 epochs, 48 validation images" in printed
    centre = float(printed.split("centre: top-1 error ")[1].split("%")[0])
    assert abs(centre - 100 * rows[0]["val_top1"]) < 0.006  # the same number the training run reported
    assert "ten_crop: top-1 error" in printed

    # the net's own training error: 100 of the 192 training images, centre crops, dropout off
    assert _example("evaluate").main([str(out / "checkpoint.npz"), "--no-progress", "--backend", "numpy",
                                      "--split", "train", "--val-images", "100"]) == 0
    printed = capsys.readouterr().out
    assert "after 1 epochs, 100 training images" in printed
    assert float(printed.split("centre: top-1 error ")[1].split("%")[0]) != centre


def _weights(path):
    state = load_checkpoint(path)
    return state["model"], state["optimizer"]


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_interrupted_and_resumed_run_ends_with_identical_weights(train_main, tmp_path, monkeypatch, capsys):
    straight, pieces = tmp_path / "straight", tmp_path / "pieces"
    common = SMALL + ["--no-figures", "--seed", "3", "--erase", "0.5"]  # erasing's draws resume too
    assert train_main(common + ["--epochs", "2", "--out", str(straight)]) == 0
    # 1 epoch, then resume; Ctrl-C (a real SIGINT) after batch 4 of epoch 2; then resume again
    assert train_main(common + ["--epochs", "1", "--out", str(pieces)]) == 0
    real_train_epoch = run.train_epoch

    def ctrl_c_after_batch_4(*args, **kwargs):
        kwargs["on_step"] = lambda b: os.kill(os.getpid(), signal.SIGINT) if b == 4 else None
        return real_train_epoch(*args, **kwargs)

    class Clock:                     # run.py's clock: 100 s pass between two readings
        now = 0.0

        @classmethod
        def perf_counter(cls):
            cls.now += 100.0
            return cls.now

    monkeypatch.setattr(run, "train_epoch", ctrl_c_after_batch_4)
    monkeypatch.setattr(run, "time", Clock)
    ckpt = str(pieces / "checkpoint.npz")
    assert train_main(common + ["--epochs", "2", "--out", str(pieces), "--resume", ckpt]) == 130
    assert "Ctrl-C: finishing this step" in capsys.readouterr().out
    state = load_checkpoint(ckpt)
    assert state["epoch"] == 1 and state["progress"]["batches"] == 5 and state["progress"]["seconds"] == 100.0
    monkeypatch.setattr(run, "train_epoch", real_train_epoch)
    assert train_main(common + ["--epochs", "2", "--out", str(pieces), "--resume", ckpt]) == 0
    assert "5 batches into epoch 2" in capsys.readouterr().out
    for a, b in zip(_weights(straight / "checkpoint.npz"), _weights(pieces / "checkpoint.npz")):
        _assert_identical(a, b)
    rows = [json.loads(line) for line in (pieces / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]
    assert [r["val_top1"] for r in rows] == [r["val_top1"] for r in expected]
    assert rows[1]["train_loss"] == pytest.approx(expected[1]["train_loss"], rel=1e-12)
    assert rows[1]["seconds"] == 200.0           # the epoch's time before the Ctrl-C and after the resume


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(train_main, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    calls = []
    real_loss = loop.softmax_cross_entropy

    def loss_turning_nan(logits, labels):
        calls.append(1)
        loss = real_loss(logits, labels)
        if len(calls) > 12 + 2:  # epoch 1 has 12 steps; the 3rd step of epoch 2 goes NaN
            loss.data = loss.data * np.nan
        return loss

    monkeypatch.setattr(loop, "softmax_cross_entropy", loss_turning_nan)
    assert train_main(SMALL + ["--no-figures", "--epochs", "3", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "stopped: the loss became nan at step 14 (counted from 0)" in printed  # step 2 of epoch 2
    assert f"the last good checkpoint is {out / 'checkpoint.npz'}" in printed
    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == 1 and state["progress"]["batches"] == 0
    assert all(np.isfinite(a).all() for a in state["model"].values())


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_diverging_learning_rate_is_caught(train_main, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--lr", "1e6", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "stopped: the loss became" in printed and "no checkpoint was written yet" in printed
    assert not (out / "checkpoint.npz").exists()  # nothing good to keep yet


def test_bad_checkpoints_and_missing_gpu_are_reported(train_main, tmp_path, capsys, monkeypatch):
    from dataclasses import asdict

    monkeypatch.chdir(tmp_path)   # the runs below without --out would claim runs/... here, not in the clone

    from tinyconv import models
    other = tmp_path / "other" / "checkpoint.npz"  # the options of a run on 10 classes, the weights of a 5-class net
    options = run.TrainConfig(train_images=192, val_images=48, batch_size=16, workers=1, progress=False, epochs=1)
    save_checkpoint(other, {"config": asdict(options), "model_name": "alexnet-28", "num_classes": 10, "input_size": 28,
                            "model": models.create("alexnet-28", 5).state_dict(), "epoch": 0,
                            "progress": {"batches": 0}})
    evaluate_main = _example("evaluate").main
    for program in (lambda: train_main(["--resume", str(other)]), lambda: evaluate_main([str(other), "--no-progress"])):
        assert program() == 2
        err = capsys.readouterr().err
        assert "holds alexnet-28 for 10 classes of fashion-mnist-mini, which does not fit" in err
        assert "fc8.weight: model (10, 1024), checkpoint (5, 1024)" in err and "fc8.bias" in err
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    assert evaluate_main([str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "is not a tinyconv checkpoint" in err and "damaged" not in err
    data = other.read_bytes()
    other.write_bytes(data[:len(data) // 2])
    assert train_main(SMALL + ["--resume", str(other)]) == 2
    assert "is damaged" in capsys.readouterr().err
    assert train_main(["--model", "alexnet-split", "--backend", "numpy"]) == 2
    assert "ask for it with --model alexnet --devices 0,1" in capsys.readouterr().err
    from tinyconv import backend
    if not backend.cupy_available():
        assert train_main(["--backend", "cupy"]) == 2
        err = capsys.readouterr().err
        assert "--backend cupy needs CuPy and a CUDA GPU" in err
        if importlib.util.find_spec("cupy") is None:                   # what to install
            assert "pip install" in err
        else:                                                           # CuPy, but no GPU: which devices exist
            assert "CUDA devices present: none" in err
        assert "--backend numpy" in err
        assert train_main(["--devices", "0,1"]) == 2
        assert "--devices 0,1 needs CuPy and a CUDA GPU" in capsys.readouterr().err


def test_two_devices_on_a_one_gpu_machine_says_what_is_missing(train_main, monkeypatch, capsys):
    from tinyconv import backend
    monkeypatch.setattr(backend, "gpu_count", lambda: 1)         # CuPy present, one GPU answers
    monkeypatch.setattr(backend, "_require_cupy", lambda: None)
    assert train_main(["--devices", "0,1", "--model", "alexnet"]) == 2
    err = capsys.readouterr().err
    assert "--devices 0,1 asks for 2 GPUs but this machine has 1" in err
    assert "device 'cuda:1' does not exist" in err and "leave out --devices" in err


def test_dropout_option_reaches_both_hidden_layers_and_is_checked(train_main, tmp_path, capsys):
    from tinyconv.nn import Dropout
    model = run.build_model(run.TrainConfig(dropout=0.25), "alexnet-28", 10, ["cpu"])
    assert [m.p for m in model.modules() if isinstance(m, Dropout)] == [0.25, 0.25]
    assert train_main(SMALL + ["--dropout", "1.5", "--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    assert "error: dropout probability p must be in [0, 1), got 1.5" in capsys.readouterr().err


def test_threads_option_takes_a_positive_number(capsys):
    parser = _example("train_alexnet").parser()
    assert parser.parse_args(["--threads", "3"]).threads == 3 and parser.parse_args([]).threads is None
    for bad in ("0", "two"):
        with pytest.raises(SystemExit):
            parser.parse_args(["--threads", bad])
        assert "--threads must be a positive number of threads" in capsys.readouterr().err


def test_help_explains_every_option():
    parser = _example("train_alexnet").parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 24
    for action in options:
        assert action.help and len(action.help) > 15, f"{action.option_strings} has no explanation"
    text = parser.format_help()
    for option in ("--backend", "--devices", "--model", "--dataset", "--data-dir", "--batch-size", "--lr",
                   "--momentum", "--weight-decay", "--patience", "--max-reductions", "--epochs", "--seed",
                   "--out", "--resume", "--overwrite", "--skip-corrupt", "--tf32"):
        assert option in text
    explained = {a.dest: " ".join(a.help.split()) for a in options}
    module = _example("train_alexnet")
    assert all(name in explained["model"] for name in module.models.available_models())
    assert "the weights as --init says" in explained["bias_init"] and "N(0, 0.01)" not in explained["bias_init"]
    flags = module.option_names(parser)
    assert all(flags[name] in explained["resume"] for name in module.CHANGEABLE_ON_RESUME)
    assert "--no-progress" in explained["resume"] and "--batch-size" not in explained["resume"]
    defaults = {a.dest: a.default for a in options}  # the paper's hyperparameters (§5)
    assert (defaults["batch_size"], defaults["lr"], defaults["momentum"]) == (128, 0.01, 0.9)
    assert (defaults["weight_decay"], defaults["max_reductions"]) == (5e-4, 3)
    # --bias-init and --dropout leave the model's own values: §5's biases of 1 and §4.2's p = 0.5 for the family
    assert (defaults["bias_init"], defaults["dropout"]) == (None, None)
    family = _example("train_alexnet").models.create("alexnet-28", 10)
    assert (float(family.conv2.bias.data[0]), family.drop6.p) == (1.0, 0.5)


def test_erase_option_changes_the_training_crops_is_recorded_and_checked(train_main, tmp_path, capsys):
    for name, extra in (("plain", []), ("erased", ["--erase", "0.5"])):
        assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--out", str(tmp_path / name)] + extra) == 0
    plain, erased = (json.loads((tmp_path / name / "metrics.jsonl").read_text().splitlines()[0])
                     for name in ("plain", "erased"))
    assert erased["train_loss"] != plain["train_loss"]
    assert load_checkpoint(tmp_path / "erased" / "checkpoint.npz")["config"]["erase"] == 0.5
    capsys.readouterr()
    assert train_main(SMALL + ["--no-figures", "--erase", "1.5", "--out", str(tmp_path / "bad")]) == 2
    assert "random erasing needs a probability in (0, 1]" in capsys.readouterr().err


def test_padding_default_depends_on_the_dataset_and_an_explicit_pad_wins():
    from tinyconv.train.datasets import dataset_pad
    assert dataset_pad("fashion-mnist", None) == dataset_pad("fashion-mnist-mini", None) == 1
    assert dataset_pad("cifar10", None) is None          # make_loaders then pads by input size // 8
    assert dataset_pad("fashion-mnist", 3) == 3 and dataset_pad("fashion-mnist", 0) == 0


def test_averaging_checkpoints_reports_each_net_and_their_mean_prediction(train_main, tmp_path, capsys):
    from tinyconv.train.evaluation import evaluate_average, evaluate_checkpoint
    a, b = tmp_path / "a", tmp_path / "b"  # same seed, so the same 48 validation images; other nets
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--out", str(a)]) == 0
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--lr", "0.02", "--out", str(b)]) == 0
    paths = [str(a / "checkpoint.npz"), str(b / "checkpoint.npz")]
    options = dict(backend="numpy", workers=1, show=False, say=lambda line: None)
    results = evaluate_average(paths, **options)
    for path in paths:  # each net's figures from its host-side predictions equal evaluate()'s
        alone = evaluate_checkpoint(path, **options)
        for mode in ("centre", "ten_crop"):
            for key in ("loss", "top1", "top5"):
                assert results[path][mode][key] == pytest.approx(alone[mode][key], abs=1e-6)
    for mode in ("centre", "ten_crop"):
        losses = [results[p][mode]["loss"] for p in paths]
        assert results["average"][mode]["loss"] <= sum(losses) / 2 + 1e-9  # -log is convex (Jensen)
        assert min(abs(results["average"][mode]["loss"] - loss) for loss in losses) > 1e-6  # neither net alone
    twice = evaluate_average([paths[0], paths[0]], **options)["average"]  # one net averaged with itself is that net
    for mode in ("centre", "ten_crop"):
        assert twice[mode]["loss"] == pytest.approx(results[paths[0]][mode]["loss"], abs=1e-6)
        assert twice[mode]["top1"] == results[paths[0]][mode]["top1"]

    capsys.readouterr()
    assert _example("evaluate").main(paths + ["--no-progress", "--backend", "numpy"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("after 1 epochs, 48 validation images") == 2
    assert "average of the 2 nets' softmax outputs (§6):" in printed
    assert printed.split("(§6):")[1].count("top-1 error") == 2  # centre and ten crops


def test_averaging_refuses_nets_evaluated_on_other_images(train_main, tmp_path, capsys):
    from tinyconv.train.evaluation import evaluate_average
    first, other, fewer = tmp_path / "seed0", tmp_path / "seed1", tmp_path / "val40"
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--out", str(first)]) == 0
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--seed", "1", "--out", str(other)]) == 0
    small_val = [a if a != "48" else "40" for a in SMALL]              # another 40 validation images
    assert train_main(small_val + ["--no-figures", "--epochs", "1", "--out", str(fewer)]) == 0
    paths = [str(p / "checkpoint.npz") for p in (first, other, fewer)]
    # --val-images draws the same 48 images whatever the seed: nets of two seeds average
    assert _example("evaluate").main(paths[:2] + ["--no-progress", "--backend", "numpy"]) == 0
    capsys.readouterr()
    assert _example("evaluate").main([paths[0], paths[2], "--no-progress", "--backend", "numpy"]) == 2
    printed = capsys.readouterr()
    assert "is evaluated on other images than" in printed.err and "the same --val-images" in printed.err
    assert "after 1 epochs" not in printed.out                     # refused before either net was evaluated
    state = load_checkpoint(paths[0])                              # the same net, said to be of another dataset
    state["config"]["dataset"] = "cifar10"
    save_checkpoint(tmp_path / "cifar" / "checkpoint.npz", state)
    assert _example("evaluate").main([paths[0], str(tmp_path / "cifar" / "checkpoint.npz"), "--no-progress"]) == 2
    printed = capsys.readouterr()
    assert "was trained on cifar10" in printed.err and "only nets of the same dataset" in printed.err
    assert "after 1 epochs" not in printed.out
    # the hint works: both nets on all 1,000 validation images of the embedded set
    results = evaluate_average([paths[0], paths[2]], backend="numpy", val_images=10 ** 6, workers=1, show=False,
                               say=lambda line: None)
    assert set(results) == {paths[0], paths[2], "average"}
    with pytest.raises(ValueError, match="at least two checkpoints"):
        evaluate_average(paths[:1], backend="numpy", show=False)


def test_hold_out_splits_the_training_images_in_two_disjoint_seeded_parts():
    from tinyconv import data
    from tinyconv.train.datasets import hold_out
    images = data.fashion_mnist_mini(train=True)
    rest, held = hold_out(images, 500, seed=3)
    assert (len(rest), len(held)) == (len(images) - 500, 500)
    assert set(rest.indices).isdisjoint(held.indices)
    assert sorted(np.concatenate([rest.indices, held.indices])) == list(range(len(images)))
    np.testing.assert_array_equal(held.labels, np.asarray(images.labels)[held.indices])
    np.testing.assert_array_equal(hold_out(images, 500, seed=3)[1].indices, held.indices)   # seeded
    assert not np.array_equal(hold_out(images, 500, seed=4)[1].indices, held.indices)
    assert rest.name != held.name  # so their cached mean images are not confused
    for count in (0, len(images)):
        with pytest.raises(ValueError, match="hold out at least 1 and at most"):
            hold_out(images, count, seed=0)


def test_holdout_run_watches_held_out_images_and_tests_on_the_dataset_split(train_main, tmp_path, capsys):
    from tinyconv.train.evaluation import evaluate_checkpoint
    out = tmp_path / "held"
    assert train_main(SMALL + ["--no-figures", "--epochs", "2", "--holdout", "40", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "152 training / 40 validation images" in printed      # 192 - 40: the schedule watches the 40
    assert "the 48 images of the dataset's own split are the test set" in printed
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    test = json.loads((out / "test.json").read_text())
    assert (test["epoch"], test["images"], test["crops"]) == (2, 48, "centre-crop")
    assert f"test, 48 images (centre-crop): top-1 error {100 * test['top1']:.2f}%" in printed

    options = dict(backend="numpy", workers=1, show=False, say=lambda line: None)
    held = evaluate_checkpoint(out / "checkpoint.npz", split="holdout", **options)["centre"]
    assert held["loss"] == pytest.approx(rows[-1]["val_loss"], abs=1e-6)  # the images the epochs reported
    tested = evaluate_checkpoint(out / "checkpoint.npz", split="val", **options)["centre"]
    for key in ("loss", "top1", "top5"):                                # the images test.json reports
        assert tested[key] == pytest.approx(test[key], abs=1e-6)
    assert tested["loss"] != pytest.approx(held["loss"], abs=1e-6)

    plain = tmp_path / "plain"
    assert train_main(SMALL + ["--no-figures", "--epochs", "1", "--out", str(plain)]) == 0
    assert not (plain / "test.json").exists()
    with pytest.raises(ValueError, match="trained without --holdout"):
        evaluate_checkpoint(plain / "checkpoint.npz", split="holdout", **options)
    assert train_main(SMALL + ["--no-figures", "--holdout", "192", "--out", str(tmp_path / "bad")]) == 2
    assert "hold out at least 1 and at most 191 of the 192 training images" in capsys.readouterr().err


@pytest.fixture
def cifar_like_folder(tmp_path):
    """train/<class>/ and test/<class>/ (no val/) of 32 px JPEGs, 3 classes: CIFAR-10's JPEG copy, small."""
    from tests.data.data_builders import save_image
    rng = np.random.default_rng(3)
    for split, count in (("train", 24), ("test", 8)):
        for name in ("cat", "dog", "frog"):
            for i in range(count):
                save_image(tmp_path / "cifar" / split / name / f"{i}.jpg",
                           rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    return tmp_path / "cifar"


def test_folder_of_small_images_trains_the_small_net_on_whole_images(train_main, cifar_like_folder, tmp_path,
                                                                     capsys):
    from tinyconv.train.datasets import default_model, stored_size
    assert (stored_size(227), stored_size(64), stored_size(32)) == (256, 64, 32)   # §2's 256 for AlexNet only
    assert default_model("folder", str(cifar_like_folder)) == "alexnet-cifar"       # picked by image size
    out = tmp_path / "run"
    assert train_main(["--dataset", "folder", "--data-dir", str(cifar_like_folder), "--batch-size", "16",
                       "--epochs", "1", "--no-figures", "--no-progress", "--workers", "0", "--out", str(out)]) == 0
    assert "alexnet-cifar on cpu: 72 training / 24 validation images" in capsys.readouterr().out
    state = load_checkpoint(out / "checkpoint.npz")
    assert (state["model_name"], state["input_size"], state["config"]["epochs"]) == ("alexnet-cifar", 32, 1)
    # the 32 px images are kept at 32 px and padded by 4 (shifts), not blown up to 256 px and cropped
    from tinyconv.train.datasets import choose_splits, make_loaders
    train, val, _ = choose_splits("folder", str(cifar_like_folder), train_images=None, val_images=None,
                                  holdout=0, seed=0, input_size=32)
    loaders = make_loaders(train, val, 32, batch_size=8, seed=0, workers=0, device="cpu")
    assert loaders.train.images.shape[1:] == (40, 40, 3)
    np.testing.assert_array_equal(loaders.train.images[0, 4:36, 4:36], train[0][0])


def test_model_options_schedule_and_fit_options_of_the_program(train_main, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(SMALL + ["--model-option", "dropout_mode=inverted", "--lr", "0.001", "--lr-drops", "1",
                               "--epochs", "2", "--no-augment", "--train-eval-images", "32", "--no-figures",
                               "--out", str(out)]) == 0
    assert "a fixed drop after epochs 1: learning rate 0.001 -> 0.0001" in capsys.readouterr().out
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows] == [0.001, pytest.approx(0.0001)]
    assert all(0 <= r["train_eval_top1"] <= 1 and "train_eval_loss" in r for r in rows)
    config = load_checkpoint(out / "checkpoint.npz")["config"]
    assert config["model_options"] == {"dropout_mode": "inverted"}
    assert (config["lr_drops"], config["augment"]) == ([1], False)
    for bad, message in ((["--model-option", "lrn"], "expected KEY=VALUE"),
                         (["--lr-drops", "two"], "expected epoch numbers separated by commas")):
        with pytest.raises(SystemExit):
            train_main(SMALL + bad)
        assert message in capsys.readouterr().err
    assert train_main(SMALL + ["--model", "fourlayer-cifar", "--dropout", "0.5", "--out", str(tmp_path / "x")]) == 2
    assert "--dropout does not apply to --model fourlayer-cifar" in capsys.readouterr().err
    assert train_main(SMALL + ["--model-option", "wings=2", "--out", str(tmp_path / "y")]) == 2
    assert "model 'alexnet-28' takes no option wings" in capsys.readouterr().err


def test_no_augment_trains_on_the_centre_crops():
    from tinyconv import data
    from tinyconv.train.datasets import make_loaders
    train = data.fashion_mnist_mini(train=True)
    plain = make_loaders(train, train, 28, batch_size=4, seed=0, workers=0, device="cpu", augment=False)
    assert type(plain.train_loader.transform) is data.CenterCrop
    with pytest.raises(ValueError, match="--erase changes the training crops, which --no-augment turns off"):
        make_loaders(train, train, 28, batch_size=4, seed=0, workers=0, device="cpu", augment=False, erase=0.5)
