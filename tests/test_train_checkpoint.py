"""Checkpoints: round trip without pickle, atomic writes, damaged files and other models refused."""
import json
import os
import zipfile

import numpy as np
import pytest

from tinyconv.train import checkpoint
from tinyconv.train.checkpoint import CheckpointError, check_compatible, load_checkpoint, save_checkpoint


def _state(seed=0):
    rng = np.random.default_rng(seed)
    gen = np.random.default_rng(123)
    gen.random(7)  # move the generator so its state is not the seed's
    return {
        "model": {"features.0.weight": rng.standard_normal((4, 3, 5, 5)).astype(np.float32),
                  "features.0.bias": np.ones(4, np.float32),
                  "dropout.counter": np.array(17, np.int64)},
        "optimizer": {"lr": 0.01, "groups": [{"lr": 0.01, "weight_decay": 5e-4}],
                      "velocity": {0: rng.standard_normal(3), 1: None}},
        "epoch": 3, "name": "alexnet", "history": (0.5, np.float32(0.25)),
        "rng": gen.bit_generator.state,
    }


def test_round_trip_keeps_arrays_numbers_and_rng_state(tmp_path):
    path = tmp_path / "ckpt.npz"
    state = _state()
    save_checkpoint(path, state)
    back = load_checkpoint(path)
    for name, array in state["model"].items():
        assert back["model"][name].dtype == array.dtype
        np.testing.assert_array_equal(back["model"][name], array)
    np.testing.assert_array_equal(back["optimizer"]["velocity"][0], state["optimizer"]["velocity"][0])
    assert back["optimizer"]["velocity"][1] is None and 0 in back["optimizer"]["velocity"]
    assert back["optimizer"]["groups"] == [{"lr": 0.01, "weight_decay": 5e-4}]
    assert back["epoch"] == 3 and back["history"] == [0.5, 0.25]
    # the restored generator continues exactly where the saved one was
    restored, original = np.random.default_rng(), np.random.default_rng(123)
    original.random(7)
    restored.bit_generator.state = back["rng"]
    np.testing.assert_array_equal(restored.random(5), original.random(5))


def test_file_holds_no_pickled_objects(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, _state())
    with np.load(path, allow_pickle=False) as npz:  # would raise on any object array
        assert all(npz[name].dtype != object for name in npz.files)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(np.load(z.open("__meta__.npy"), allow_pickle=False).tobytes())
    assert meta["format"] == checkpoint.FORMAT


def test_unstorable_value_is_named():
    with pytest.raises(TypeError, match="'/model/f'"):
        checkpoint.flatten_state({"model": {"f": object()}}, {})


def test_crash_mid_write_leaves_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, _state(0))
    before = path.read_bytes()

    def half_write_then_die(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # Ctrl-C, or the power going, in the middle of np.savez

    monkeypatch.setattr(checkpoint, "_write_npz", half_write_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _state(1))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(load_checkpoint(path)["model"]["features.0.weight"],
                                  _state(0)["model"]["features.0.weight"])


@pytest.mark.parametrize("keep", [0.5, 0.95, 0.0])
def test_truncated_file_is_refused_with_a_clear_message(tmp_path, keep):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, _state())
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="is damaged.*cut short"):
        load_checkpoint(path)


def test_missing_file_and_foreign_files_are_refused_as_such_not_as_damaged(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.npz")
    np.savez(tmp_path / "other.npz", w=np.zeros(3))
    np.save(tmp_path / "array.npy", np.zeros(3))
    for path, what in ((tmp_path / "other.npz", "it is an .npz file without the '__meta__' member.*it holds w"),
                       (tmp_path / "array.npy", "it is not an .npz file at all")):
        with pytest.raises(CheckpointError, match=f"is not a tinyconv checkpoint: {what}") as info:
            load_checkpoint(path)
        assert "damaged" not in str(info.value) and "cut short" not in str(info.value)


def test_options_read_without_the_arrays(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, _state())
    back = load_checkpoint(path, arrays=False)
    assert back["epoch"] == 3 and back["optimizer"]["groups"] == [{"lr": 0.01, "weight_decay": 5e-4}]
    assert back["model"] == {"features.0.weight": None, "features.0.bias": None, "dropout.counter": None}


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_checkpoint_has_the_permissions_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "ckpt.npz", _state())
        (tmp_path / "other.txt").write_text("written with open()")
    finally:
        os.umask(old)
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == (tmp_path / "other.txt").stat().st_mode & 0o777


def test_other_model_names_every_differing_shape(tmp_path):
    model = {"conv1.weight": np.zeros((96, 3, 11, 11)), "conv1.bias": np.zeros(96), "fc.weight": np.zeros((10, 5))}
    ckpt = {"conv1.weight": np.zeros((64, 1, 5, 5)), "conv1.bias": np.zeros(64), "fc2.weight": np.zeros(1)}
    with pytest.raises(CheckpointError) as info:
        check_compatible(model, ckpt, "run/ckpt.npz", holds="alexnet-28 for 10 classes of fashion-mnist-mini")
    message = str(info.value)
    assert message.startswith("checkpoint 'run/ckpt.npz' holds alexnet-28 for 10 classes of fashion-mnist-mini,")
    assert "conv1.weight: model (96, 3, 11, 11), checkpoint (64, 1, 5, 5)" in message
    assert "conv1.bias: model (96,), checkpoint (64,)" in message
    assert "fc.weight: in the model, not in the checkpoint" in message
    assert "fc2.weight: in the checkpoint, not in the model" in message
    assert "4 entries differ" in message
    check_compatible(model, {k: v.copy() for k, v in model.items()}, "same.npz")  # no error


def test_describe_says_what_a_checkpoint_of_the_program_holds():
    state = {"model_name": "alexnet-cifar", "num_classes": 10, "config": {"dataset": "cifar10"}}
    assert checkpoint.describe(state) == "alexnet-cifar for 10 classes of cifar10"
    assert checkpoint.describe({}) == "a model"
