"""Train AlexNet (Krizhevsky, Sutskever & Hinton, 2012) or a small member of its family.

    python examples/train_alexnet.py                       # embedded Fashion-MNIST subset, a few minutes on a CPU
    python examples/train_alexnet.py --dataset fashion-mnist --epochs 40
    python examples/train_alexnet.py --dataset imagenette --data-dir DIR --backend cupy --tf32
    python examples/train_alexnet.py --resume runs/NAME/checkpoint.npz   # after Ctrl-C: the run's own options
    mpirun -n 4 python examples/train_alexnet.py ...       # data parallel over 4 processes (docs/scaling.md)

The paper's hyperparameters are the defaults (§5): batch 128, momentum 0.9, weight decay
0.0005, learning rate 0.01 divided by 10 when the validation error stops improving, at most
three times. The work is done by tinyconv.train.run.train; this file only reads the options.
It imports the installed package: run `pip install -e .` in the clone first (README).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from dataclasses import fields

from tinyconv import distributed, models, threads
from tinyconv.train.config import CHANGEABLE_ON_RESUME, ResumeConflict, TrainConfig, config_from, resume_config
from tinyconv.train.datasets import DATASETS, DEFAULT_MODEL
from tinyconv.train.initialisation import INITS
from tinyconv.train.messages import USER_ERRORS, error_message, plain_warnings
from tinyconv.train.run import train

EXIT_CODES = {"finished": 0, "diverged": 1, "interrupted": 130}


def parser() -> argparse.ArgumentParser:
    d = TrainConfig()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, default=d.dataset,
                      help="fashion-mnist-mini: 6,000/1,000 real Fashion-MNIST images shipped with tinyconv (default); "
                           "fashion-mnist: the official IDX files (Debian package dataset-fashion-mnist, or "
                           "--download); cifar10; imagenette; folder: --data-dir with train/<class>/ and val/<class>/")
    data.add_argument("--data-dir", metavar="DIR", help="where the dataset lives (default: fashion-mnist looks in "
                      "/usr/share/datasets/fashion-mnist, then $TINYCONV_DATA or ~/.cache/tinyconv, which the "
                      "others use too)")
    data.add_argument("--download", action="store_true", help="download the dataset if it is missing "
                      "(fashion-mnist, cifar10, imagenette)")
    data.add_argument("--skip-corrupt", action="store_true", help="leave out the image files that do not decode "
                      "(imagenette, folder), with a warning naming them; without it such a file stops the run")
    data.add_argument("--train-images", type=int, metavar="N", help="use only N (seeded random) training images "
                      "(default: all)")
    data.add_argument("--val-images", type=int, metavar="N", help="use only N (seeded random) validation images "
                      "(default: all; for fashion-mnist and cifar10 the test set is the validation set)")
    data.add_argument("--holdout", type=int, default=d.holdout, metavar="N",
                      help="hold out N (seeded random) training images as the validation set that each epoch "
                           "reports and the learning-rate schedule watches (§5); the dataset's own validation "
                           "split (limited by --val-images) is then the test set, evaluated once at the end "
                           "and written to test.json (default: 0, none)")
    data.add_argument("--pad", type=int, metavar="PX",
                      help="zero pixels added around images that are already the input size, so "
                      "random crops become random shifts (default: 1 for fashion-mnist, input size // 8 otherwise; "
                      "0 turns it off)")
    data.add_argument("--erase", type=float, default=d.erase, metavar="P",
                      help="random erasing (Zhong et al. 2017, not in the paper): each training crop loses a "
                           "random rectangle of 2-40%% of its area to the mean image with probability P "
                           "(default: %(default)s, off; crops made on the CPU only)")
    data.add_argument("--no-augment", dest="augment", action="store_false",
                      help="train on centre crops: no random crops, mirrors or colour noise (§4.1 off)")
    data.add_argument("--train-eval-images", type=int, default=d.train_eval_images, metavar="N",
                      help="after every epoch also measure the errors of N (seeded) training images, centre crops, "
                           "dropout off: how well the net fits its training set (default: %(default)s, off)")
    data.add_argument("--workers", type=int, default=d.workers, metavar="N",
                      help="threads preparing the next batches while the net trains (§4.1; 0: in the main "
                           "thread; default: from the thread budget, 1 on the CPU, 0 when it is 1 thread)")
    data.add_argument("--augment-on-gpu", action="store_true",
                      help="copy the uint8 images to the GPU and crop, mirror and colour-shift them there, with "
                           "the same random draws (§4.1 does it on the CPU; for when the CPU cannot keep up)")
    data.add_argument("--ten-crop", action="store_true",
                      help="validate on the ten crops of §4.1 (corners, centre, mirrored; softmax averaged)")
    net = p.add_argument_group("model and hardware")
    net.add_argument("--model", metavar="NAME", choices=models.available_models(),
                     help="one of " + ", ".join(models.available_models()) + "; default by dataset: " +
                     ", ".join(f"{k} -> {v}" for k, v in DEFAULT_MODEL.items()) + " (up to 48 px: alexnet-cifar, "
                     "up to 128 px: alexnet-64, larger: alexnet)")
    net.add_argument("--model-option", dest="model_options", action="append", type=model_option, default=[],
                     metavar="KEY=VALUE", help="an option of the model's class, e.g. lrn=false or pool_size=2 "
                     "(convnet-cifar), activation=tanh (fourlayer-cifar); repeat for several")
    net.add_argument("--bias-init", type=float, default=d.bias_init, metavar="B",
                     help="initial bias of the layers §5 starts at 1: conv2, conv4, conv5 and the hidden FC layers "
                          "of the AlexNet family, conv2 and the hidden FC layers of convnet-cifar; the other biases "
                          "start at 0 and the weights as --init says (§5: 1; Caffe: 0.1; default: the model's own, "
                          "1 for the AlexNet family, 0 for convnet-cifar)")
    net.add_argument("--dropout", type=float, default=d.dropout, metavar="P",
                     help="probability of zeroing each output of the two hidden FC layers in training "
                          "(§4.2: 0.5; default: the model's own, 0.5 for the AlexNet family)")
    net.add_argument("--init", choices=INITS, default=d.init,
                     help="paper: every weight from N(0, 0.01) (§5); he: conv1 and the last layer as in the "
                          "paper, the hidden layers from N(0, 2/fan_in) (He et al. 2015), for narrow nets where "
                          "N(0, 0.01) shrinks the image to nothing before the logits and the loss sits at "
                          "ln(classes); auto (default): paper for "
                          "--model alexnet, he for the small members, and fourlayer-cifar draws its own (see "
                          "tinyconv/train/initialisation.py)")
    net.add_argument("--backend", choices=("auto", "numpy", "cupy"), default=d.backend,
                     help="numpy (CPU) or cupy (GPU); auto (default) takes CuPy when a GPU answers")
    net.add_argument("--devices", metavar="LIST", help="GPU numbers, e.g. 1 (one GPU) or 0,1: two GPUs run the "
                     "device-split AlexNet, one tower on each (§3.2; --model alexnet). Default: cuda:0 with "
                     "CuPy, else the CPU")
    net.add_argument("--comm", choices=("auto", "mpi", "nccl"), default="auto",
                     help="how data-parallel ranks (mpirun -n N) sum gradients: mpi (auto's choice under mpirun; GPU "
                     "arrays go through host memory) or nccl (GPU to GPU, one GPU per rank; needs CuPy's NCCL)")
    net.add_argument("--threads", type=thread_count, default=d.threads, metavar="N",
                     help="threads this process computes with: BLAS and the op pool N each, as they take turns "
                          "(same as TINYCONV_THREADS=N; under mpirun N per rank). Default: the cores this process "
                          "may use (its affinity, its share of the MPI ranks on this machine) less those other "
                          "processes keep busy, looked at again every second (tinyconv/threads.py)")
    net.add_argument("--tf32", action="store_true", help="let CuPy multiply float32 matrices in TF32 on "
                     "Ampere or newer GPUs (faster, 10-bit mantissa); no effect on the CPU")
    opt = p.add_argument_group("optimisation (§5)")
    opt.add_argument("--batch-size", type=int, default=d.batch_size, metavar="N",
                     help="examples per step (paper and default: %(default)s)")
    opt.add_argument("--lr", type=float, default=d.lr,
                     help="initial learning rate epsilon (paper and default: %(default)s)")
    opt.add_argument("--momentum", type=float, default=d.momentum, metavar="M",
                     help="the 0.9 in v <- 0.9 v - 0.0005 lr w - lr grad, w <- w + v (paper and default: %(default)s)")
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay, metavar="WD",
                     help="the 0.0005 in that update (paper and default: %(default)s)")
    opt.add_argument("--patience", type=int, default=d.patience, metavar="E",
                     help="epochs in a row without a lower validation top-1 error before the learning rate is divided "
                          "by 10 (§5: 'when the validation error rate stopped improving'; default: %(default)s, so "
                          "that one noisy epoch does not divide it; --patience 1 is the paper's literal rule)")
    opt.add_argument("--max-reductions", type=int, default=d.max_reductions, metavar="K",
                     help="divisions by 10 before training stops at the next plateau (paper and default: %(default)s)")
    opt.add_argument("--lr-drops", type=epoch_list, default=d.lr_drops, metavar="E1,E2,...",
                     help="divide the learning rate by 10 after these epochs instead of watching the validation "
                          "error (a fixed budget for comparisons; 'none': a constant rate; default: the §5 rule above)")
    opt.add_argument("--epochs", type=int, default=d.epochs, metavar="E",
                     help="at most this many epochs (paper: about 90; default: 6 on the embedded dataset, a few "
                          "minutes on a 2-core CPU, and 30 on the others)")
    opt.add_argument("--seed", type=int, default=d.seed, help="seeds the weights, the order, the crops, dropout "
                     "and the images shown in the figures (default: %(default)s)")
    run = p.add_argument_group("output")
    run.add_argument("--out", metavar="DIR", help="folder for checkpoint.npz, metrics.jsonl/.csv and the PNG figures "
                     "(default: runs/<dataset>-<model>-seed<seed>); a folder that holds another run is refused "
                     "(see --resume and --overwrite), and so is one another process is training into")
    resume = run.add_argument("--resume", metavar="CHECKPOINT")
    run.add_argument("--overwrite", action="store_true",
                     help="delete the files of the run already in --out (checkpoint, metrics, figures) and start "
                          "a new one there")
    run.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bars (they show the running loss, top-1 error and images per second)")
    run.add_argument("--no-figures", dest="figures", action="store_false",
                     help="write no PNG figures (curves.png after every epoch; filters.png, top5.png and "
                          "neighbours.png, the paper's Figures 3 and 4, at the end)")
    flags = option_names(p)
    resume.help = ("continue the run saved in CHECKPOINT with the options it was trained with, in the folder that "
                   "holds it; ends with the same weights as a run that was never interrupted. Given again, these "
                   "options may differ from the run's: " + ", ".join(flags[name] for name in CHANGEABLE_ON_RESUME) +
                   " (--epochs: at least the epochs done; raise it to train a finished run further); any other "
                   "option that differs is refused")
    return p


def option_names(p: argparse.ArgumentParser) -> dict:
    """Option name by TrainConfig field: batch_size -> --batch-size, progress -> --no-progress."""
    return {action.dest: action.option_strings[0] for action in p._actions if action.option_strings}


def model_option(text: str) -> tuple:
    """``KEY=VALUE`` -> (key, value), the value read as JSON where it can be (false, 2, 0.5), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. lrn=false), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def thread_count(text: str) -> int:
    try:
        return threads.parse_threads(text, "--threads")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc))


def epoch_list(text: str) -> tuple:
    """``20,26`` -> (20, 26); ``none`` -> () (a constant learning rate)."""
    if text.strip().lower() == "none":
        return ()
    try:
        return tuple(int(e) for e in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected epoch numbers separated by commas (e.g. 20,26), got {text!r}")


def given_options(argv) -> dict:
    """The options ``argv`` names, as TrainConfig fields with their values, and none of the defaults."""
    p = parser()
    for action in p._actions:
        action.default = argparse.SUPPRESS
    given = vars(p.parse_args(argv))
    if "model_options" in given:
        given["model_options"] = dict(given["model_options"])
    return {name: value for name, value in given.items() if name in {f.name for f in fields(TrainConfig)}}


def conflict_message(exc: ResumeConflict) -> str:
    """A :class:`ResumeConflict` in command-line words: the options given that the checkpoint's run did not use."""
    flags = option_names(parser())
    shown = []
    for name, saved, asked in exc.conflicts:
        if isinstance(asked, bool):  # a flag such as --ten-crop or --no-augment: the run went without it
            shown.append(f"{flags[name]} (the run: without it)")
        else:
            shown.append(f"{flags[name]} {_value(asked)} (the run's: {_value(saved)})")
    return (f"--resume continues the run saved in {exc.path} with the options it was trained with, and these differ "
            f"from them: {', '.join(shown)}. Leave them out (--help lists under --resume the options that may "
            "change), or start a new run with another --out")


def _value(value) -> str:
    if value is None:
        return "the default"
    if isinstance(value, dict):
        return " ".join(f"{k}={json.dumps(v)}" for k, v in value.items()) or "none"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def resume_hint(out: str, world_size: int) -> str:
    """The command that continues the run in ``out``, as it can be typed in the current folder."""
    program = os.path.relpath(__file__)
    program = __file__ if program.startswith("..") else program
    mpirun = f"mpirun -n {world_size} " if world_size > 1 else ""
    return f"{mpirun}python {shlex.quote(program)} --resume {shlex.quote(os.path.join(out, 'checkpoint.npz'))}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)
    args.model_options = dict(args.model_options)
    comm = None
    try:
        cfg = resume_config(args.resume, given_options(argv)) if args.resume else config_from(args)
        comm = distributed.init(args.comm)  # under `mpirun -n N`: N ranks, data parallel; else one process
        with plain_warnings():
            result = train(cfg, comm=comm)
    except ResumeConflict as exc:
        return _fail(conflict_message(exc), comm)
    except USER_ERRORS as exc:
        return _fail(error_message(exc), comm)
    except KeyboardInterrupt:
        print("\nstopped by Ctrl-C before a checkpoint was saved; a checkpoint saved earlier is whole (checkpoints "
              "are replaced in one step), and --resume continues from it", file=sys.stderr)
        return comm.finish(130) if comm is not None else 130
    if result["status"] == "interrupted" and comm.is_root:
        print(f"continue with: {resume_hint(result['out'], comm.world_size)}")
    return comm.finish(EXIT_CODES[result["status"]])  # a rank that stops early stops them all


def _fail(message: str, comm) -> int:
    print(f"error: {message}", file=sys.stderr)
    return comm.finish(2) if comm is not None else 2


if __name__ == "__main__":
    sys.exit(main())
