"""Fingerprints of training: does a change of the code move any number?

    python benchmarks/fingerprints.py                      # this tree's fingerprints, as JSON
    python benchmarks/fingerprints.py --against ../before  # another checkout and this one,
                                                           # in one run, compared bit for bit

A fingerprint is the SHA-256 of what a fit leaves: every parameter array's bytes, the
history's columns (each float's exact repr) and the scores. The grid covers each
optimizer, schedule, dropout, L2, batch norm, sample weights, label smoothing, clipping,
early stopping, float32 and float64, the GPU path on the CPU stand-in
(tests/fake_gpu.py), data-parallel training on 1-3 MPI ranks, a fit stopped between two
steps and continued through a model file, the command line, the estimators and the
course's functions.

Bit-identity holds only for the same machine and BLAS thread count (OpenBLAS picks its
kernels per CPU, and its float32 products differ between thread counts on some CPUs), so
both trees run here, one after the other, with ``--threads`` BLAS threads each (default
1). ``--against DIR`` takes DIR/src for the other tree's ldnn and DIR/tests for its GPU
stand-in.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.dtype, part.shape)).encode())
            h.update(np.ascontiguousarray(part).tobytes())
        else:
            h.update(repr(part).encode())
    return h.hexdigest()[:16]


def exact(value):
    """A number as its exact bits (whatever its Python or NumPy type); others as they are."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        return float(value).hex()
    return value


def network_print(net) -> str:
    params = [np.asarray(net.parameters[k]) for k in sorted(net.parameters)]
    history = net.history
    columns = []
    if history is not None:
        columns = [[exact(v) for v in getattr(history, c)] for c in history.COLUMNS]
    ending = None if history is None else (history.stop_reason, history.best_epoch)
    return digest(*params, columns, ending)


def data(task: str, m: int = 203, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, m))
    if task == "binary":
        Y = (X[0] * X[1] + X[2] > 0).astype(np.float64).reshape(1, -1)
    elif task == "labels":  # three classes as integer labels (m,)
        Y = (X[0] > 0).astype(int) + (X[1] > 0.5).astype(int)
    else:  # regression, two outputs
        Y = np.vstack([np.sin(X[0] + X[1]), X[2] * X[3]])
    return X, Y


BASE = {"epochs": 5, "batch_size": 32, "seed": 3, "learning_rate": 0.01}
#: name: (network settings, fit options)
CASES = {
    "gd full batch": ({"optimizer": "gd", "batch_size": None, "learning_rate": 0.3}, {}),
    "gd minibatch": ({"optimizer": "gd", "learning_rate": 0.1}, {}),
    "momentum": ({"optimizer": "momentum"}, {}),
    "nesterov": ({"optimizer": "momentum", "nesterov": True}, {}),
    "rmsprop": ({"optimizer": "rmsprop"}, {}),
    "adam": ({"optimizer": "adam"}, {}),
    "adamw": ({"optimizer": "adamw", "weight_decay": 0.1}, {}),
    "lbfgs": ({"optimizer": "lbfgs", "batch_size": None, "dtype": "float64"}, {}),
    "inverse time": ({"optimizer": "gd", "lr_schedule": "inverse_time", "decay_rate": 0.5}, {}),
    "exponential": ({"optimizer": "adam", "lr_schedule": "exponential", "decay_rate": 0.9}, {}),
    "step": (
        {"optimizer": "adam", "lr_schedule": "step", "decay_rate": 0.5, "time_interval": 2},
        {},
    ),
    "cosine warmup": (
        {
            "optimizer": "adamw",
            "lr_schedule": "cosine",
            "warmup_epochs": 2,
            "min_learning_rate": 0.001,
        },
        {},
    ),
    "plateau": (
        {
            "optimizer": "adam",
            "lr_schedule": "plateau",
            "lr_patience": 1,
            "decay_rate": 0.5,
            "validation_split": 0.2,
            "learning_rate": 0.05,
        },
        {},
    ),
    "dropout": ({"optimizer": "adam", "keep_prob": (0.7, 0.9)}, {}),
    "l2": ({"optimizer": "gd", "lambd": 0.7, "learning_rate": 0.1}, {}),
    "batch norm": ({"optimizer": "adam", "batch_norm": True}, {}),
    "batch norm dropout l2": (
        {
            "optimizer": "momentum",
            "batch_norm": (True, False),
            "keep_prob": (0.8, 1.0),
            "lambd": 0.2,
        },
        {},
    ),
    "sample weights": ({"optimizer": "adam", "lambd": 0.3}, {"weights": True}),
    "smoothing clipping": ({"optimizer": "adam", "label_smoothing": 0.1, "clip_norm": 0.05}, {}),
    "early stopping": (
        {
            "optimizer": "adam",
            "learning_rate": 0.05,
            "validation_split": 0.25,
            "early_stopping": 2,
            "epochs": 12,
        },
        {},
    ),
    "validation data": ({"optimizer": "adam"}, {"validation": True}),
    "softmax labels": ({"optimizer": "adam", "keep_prob": 0.8}, {"task": "labels"}),
    "softmax labels weights": ({"optimizer": "rmsprop"}, {"task": "labels", "weights": True}),
    "regression": ({"optimizer": "adam", "activations": "tanh"}, {"task": "regression"}),
    "regression bn weights": (
        {"optimizer": "adam", "batch_norm": True},
        {"task": "regression", "weights": True},
    ),
    "tanh sigmoid hidden": (
        {"optimizer": "gd", "activations": ("tanh", "sigmoid", "sigmoid"), "learning_rate": 0.5},
        {},
    ),
}
#: the cases also run in float64, and on the GPU stand-in
FLOAT64 = (
    "gd minibatch",
    "adam",
    "dropout",
    "batch norm",
    "sample weights",
    "softmax labels",
    "regression",
    "early stopping",
    "smoothing clipping",
)
ON_DEVICE = (
    "adam",
    "dropout",
    "batch norm",
    "sample weights",
    "softmax labels",
    "rmsprop",
    "smoothing clipping",
    "cosine warmup",
    "regression",
    "early stopping",
)
#: the cases stopped between two steps, saved, loaded and continued
RESUMED = (
    "adam",
    "dropout",
    "batch norm",
    "plateau",
    "early stopping",
    "softmax labels",
    "smoothing clipping",
)
#: the cases on 1, 2 and 3 MPI ranks
ON_RANKS = (
    "gd minibatch",
    "adam",
    "dropout",
    "l2",
    "sample weights",
    "smoothing clipping",
    "validation data",
    "regression",
    "cosine warmup",
)


def build(name: str, **more):
    from ldnn import DeepNetwork

    settings, options = CASES[name]
    settings = {**BASE, **settings, **more}
    task = options.get("task", "binary")
    hidden = settings.pop("activations", "relu")
    if isinstance(hidden, str):
        hidden = (hidden, hidden)
    output = {"binary": "sigmoid", "labels": "softmax", "regression": "linear"}[task]
    n_out = {"binary": 1, "labels": 3, "regression": 2}[task]
    activations = (*hidden[:2], output)
    return DeepNetwork((6, 9, 7, n_out), activations=activations, **settings)


def fit_arguments(name: str, part=slice(None), comm=None):
    options = CASES[name][1]
    X, Y = data(options.get("task", "binary"))
    Xv, Yv = data(options.get("task", "binary"), m=41, seed=5)
    arguments = {"X": X[:, part], "Y": Y[..., part]}
    if options.get("weights"):
        w = np.random.default_rng(2).uniform(0, 2, X.shape[1])
        w[:7] = 0.0
        arguments["sample_weight"] = w[part]
    if options.get("validation"):
        vpart = part
        if comm is not None:
            vpart = share(Xv.shape[1], comm.Get_size(), comm.Get_rank())
        arguments["validation_data"] = (Xv[:, vpart], Yv[..., vpart])
    return arguments


def share(m: int, size: int, rank: int) -> slice:
    """Rank ``rank``'s consecutive block of m examples, as ldnn's data-parallel training
    expects them (the first m % size ranks hold one more)."""
    base, extra = divmod(m, size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (rank < extra))


def score_print(net, name: str) -> str:
    X, Y = data(CASES[name][1].get("task", "binary"), m=57, seed=9)
    scores = sorted((k, exact(v)) for k, v in net.evaluate(X, Y).items())
    return digest(scores, np.asarray(net.predict_proba(X)))


def one_fit(name: str, **more) -> str:
    import warnings

    net = build(name, **more)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(**fit_arguments(name))
    return f"{network_print(net)} {score_print(net, name)}"


def resumed_fit(name: str, tmp: Path) -> str:
    """Stopped after 13 steps, saved, loaded, continued: the numbers of one fit."""
    from ldnn import DeepNetwork

    net = build(name)
    steps = iter(range(10**6))
    arguments = fit_arguments(name)
    net.fit(**arguments, stop=lambda: next(steps) >= 12)
    path = tmp / f"{name}.npz"
    net.save(path)
    again = DeepNetwork.load(path)
    again.fit(**arguments, warm_start=True)
    return f"{network_print(again)} {score_print(again, name)}"


def grid(tests_dir: Path) -> dict:
    """Every fingerprint of this process's ldnn (the MPI cases run under mpiexec)."""
    prints = {}
    for name in CASES:
        prints[f"{name} / float32" if "dtype" not in CASES[name][0] else name] = one_fit(name)
    for name in FLOAT64:
        prints[f"{name} / float64"] = one_fit(name, dtype="float64")
    sys.path.insert(0, str(tests_dir))
    from fake_gpu import fake_gpu

    for name in ON_DEVICE:
        for dtype in ("float32", "float64"):
            with fake_gpu():
                found = one_fit(name, dtype=dtype, device="gpu")
            prints[f"{name} / {dtype} / gpu stand-in"] = found
    with tempfile.TemporaryDirectory() as tmp:
        for name in RESUMED:
            prints[f"{name} / stopped and resumed"] = resumed_fit(name, Path(tmp))
        prints.update(command_line(Path(tmp)))
    prints.update(estimators_and_course())
    prints.update(on_ranks())
    return prints


def command_line(tmp: Path) -> dict:
    """``ldnn train`` on two built-in sets: the model file's arrays and metrics.json."""
    from ldnn import DeepNetwork
    from ldnn.cli import main

    runs = {
        "cli iris": [
            "iris",
            "--layers",
            "16,8",
            "--epochs",
            "30",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
            "--batch-size",
            "16",
            "--val-split",
            "0.2",
            "--early-stopping",
            "5",
        ],
        "cli planar": [
            "planar",
            "--layers",
            "6",
            "--activation",
            "tanh",
            "--epochs",
            "40",
            "--lr",
            "0.5",
            "--keep-prob",
            "0.9",
            "--l2",
            "0.1",
        ],
    }
    prints = {}
    with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
        for name, argv in runs.items():
            folder = tmp / "runs" / name.replace(" ", "-")
            argv = [
                "train",
                *argv,
                "--runs-dir",
                str(tmp / "runs"),
                "--name",
                folder.name,
                "--no-plots",
                "--quiet",
                "--seed",
                "4",
            ]
            assert main(argv) == 0, name
            metrics = json.loads((folder / "metrics.json").read_text())
            for volatile in ("train_seconds", "pictures"):
                metrics.pop(volatile, None)
            net = DeepNetwork.load(folder / "model.npz")
            prints[name] = f"{network_print(net)} {digest(json.dumps(metrics, sort_keys=True))}"
    return prints


def estimators_and_course() -> dict:
    from sklearn.datasets import load_iris

    from ldnn.course import L_layer_model, initialize_parameters_deep
    from ldnn.sklearn import DNNClassifier, DNNRegressor

    X, y = load_iris(return_X_y=True)
    prints = {}
    clf = DNNClassifier((10,), epochs=20, random_state=0, early_stopping=True).fit(X, y)
    prints["DNNClassifier iris"] = digest(clf.predict_proba(X))
    reg = DNNRegressor(hidden_layer_sizes=(10,), epochs=20, random_state=0).fit(X[:, :3], X[:, 3])
    prints["DNNRegressor iris"] = digest(reg.predict(X[:, :3]))
    Xc, Yc = data("binary", m=50)
    np.random.seed(1)  # noqa: NPY002 (the course's global generator, on purpose)
    parameters, costs = L_layer_model(Xc, Yc, [6, 5, 3, 1], num_iterations=30)
    prints["course L_layer_model"] = digest(*[parameters[k] for k in sorted(parameters)], costs)
    prints["course initialize_parameters_deep"] = digest(
        *sorted(initialize_parameters_deep([5, 4, 3]).items())
    )
    return prints


# -- MPI ranks -------------------------------------------------------------------------------
def on_ranks() -> dict:
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec"
    )
    if mpiexec is None:
        return {"mpi": "skipped: no mpiexec"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    prints = {}
    for ranks in (1, 2, 3):
        done = subprocess.run(
            [mpiexec, "-n", str(ranks), sys.executable, __file__, "--mpi-worker"],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
        if done.returncode:
            raise SystemExit(f"mpiexec -n {ranks} failed:\n{done.stderr[-2000:]}")
        for name, value in json.loads(done.stdout).items():
            prints[f"{name} / {ranks} ranks"] = value
    return prints


def mpi_worker() -> None:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    prints = {}
    for name in ON_RANKS:
        m = data(CASES[name][1].get("task", "binary"))[0].shape[1]
        part = share(m, comm.Get_size(), comm.Get_rank())
        net = build(name, dtype="float64")
        net.fit(**fit_arguments(name, part, comm), comm=comm)
        prints[name] = network_print(net)
    if comm.Get_rank() == 0:
        print(json.dumps(prints))


# -- two trees, one run ----------------------------------------------------------------------
def run_tree(root: Path, threads: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root / "src"))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    done = subprocess.run(
        [sys.executable, __file__, "--emit", "--tests", str(root / "tests")],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
    )
    if done.returncode:
        raise SystemExit(f"{root}: the grid failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument("--emit", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tests", type=Path, default=HERE.parent / "tests", help=argparse.SUPPRESS)
    parser.add_argument("--mpi-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mpi_worker:
        mpi_worker()
        return 0
    if args.emit:
        print(json.dumps(grid(args.tests)))
        return 0
    this = run_tree(HERE.parent, args.threads)
    if args.against is None:
        print(json.dumps(this, indent=1))
        return 0
    other = run_tree(args.against.resolve(), args.threads)
    differ = [k for k in sorted(set(this) | set(other)) if this.get(k) != other.get(k)]
    print(f"{len(this)} fingerprints at {args.threads} BLAS thread(s); {len(differ)} differ")
    for name in differ:
        print(f"  {name}: {other.get(name)} (against) vs {this.get(name)} (this tree)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
