"""The claims' bench (tinyconv.claims.lab): an arm trains, trains on from its checkpoint when asked for more
epochs, is read back when it has them, and refuses to mix in a run of other options."""
import pytest

from tinyconv.claims.lab import ArmError, Budget, Lab


def test_an_arm_resumes_for_more_epochs_is_read_back_and_refuses_other_options(tmp_path):
    said = []
    lab = Lab("fashion-mnist-mini", None, str(tmp_path), Budget(train_images=64, val_images=32, train_eval_images=0),
              workers=0, progress=False, say=said.append)
    first = lab.arm("a", epochs=1, batch_size=16)
    assert first.column("epoch") == [1]
    longer = lab.arm("a", epochs=2, batch_size=16)                 # on from the checkpoint of epoch 1
    assert longer.column("epoch") == [1, 2] and longer.rows[0] == first.rows[0]
    assert any(line.startswith("arm a: resuming") for line in said)
    trained = (tmp_path / "runs" / "a" / "checkpoint.npz").read_bytes()
    said.clear()
    assert lab.arm("a", epochs=1, batch_size=16).column("epoch") == [1, 2]  # has them: read back, not trained
    assert said == [] and (tmp_path / "runs" / "a" / "checkpoint.npz").read_bytes() == trained
    with pytest.raises(ArmError, match="holds a run of other options \\(lr 0.01 there, 0.02 now\\)"):
        lab.arm("a", epochs=3, batch_size=16, lr=0.02)
