"""Data-parallel training on real MPI ranks (``mpiexec``): the same parameters as one
process, for every optimizer and setting, on P = 1..4 ranks; the command line's
``mpiexec -n P ldnn train``; a rank that dies or fails ends the job; an interrupted job
resumes on another number of ranks to the numbers of one that never stopped.

The ranks run on this machine over its loopback interface (MPICH from the package
registry, the [mpi] extra, which ``make test`` installs). In CI a missing MPI fails
these tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn import DeepNetwork
from ldnn.errors import ConfigurationError, InvalidValueError, RanksDisagreeError
from ldnn.training.mpi import MPIRanks, launched_ranks, share

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "mpi"))
from cases import CASES, M, fit  # noqa: E402
from thread_comm import run_ranks  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() in ("true", "1")
LDNN = [sys.executable, "-m", "ldnn.cli"]


def mpiexec() -> str:
    """The mpiexec beside this Python (the mpich wheel's), else on PATH."""
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec"
    )
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        found = None
    if found is None:
        message = "no MPI: mpiexec or mpi4py missing (pip install 'ldnn[mpi]')"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def environment(**more) -> dict:
    """One BLAS thread per rank: two cores, several ranks."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **more)
    return env


def launch(ranks: int, command: list[str], *, timeout=120, **options):
    return subprocess.run(
        [mpiexec(), "-n", str(ranks), *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=options.pop("env", environment()),
        **options,
    )


# -- the shares --------------------------------------------------------------------------
@given(st.integers(0, 500), st.integers(1, 16))
def test_shares_are_consecutive_blocks_that_differ_by_at_most_one(m, size):
    blocks = [share(m, size, rank) for rank in range(size)]
    assert blocks[0].start == 0 and blocks[-1].stop == m
    assert all(a.stop == b.start for a, b in zip(blocks, blocks[1:], strict=False))
    lengths = [b.stop - b.start for b in blocks]
    assert max(lengths) - min(lengths) <= 1


def test_no_launcher_means_one_process(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert launched_ranks() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert launched_ranks() == 4


class TwoRanks:
    """A communicator's size, for the checks made before training: the other rank was
    given what this one was."""

    def Get_size(self):
        return 2

    def Get_rank(self):
        return 0

    def allgather(self, value):
        return [value, value]


@pytest.mark.parametrize(
    "settings, fit_options, expected",
    [
        ({"optimizer": "lbfgs"}, {}, "optimizer 'lbfgs' does not train data-parallel"),
        ({"validation_split": 0.2}, {}, "validation_split does not split data held by"),
    ],
)
def test_what_several_ranks_do_not_do_is_refused_in_one_line(settings, fit_options, expected):
    net = DeepNetwork((2, 3, 1), epochs=1, **settings)
    X, Y = np.ones((2, 4)), np.array([[0, 1, 0, 1]])
    with pytest.raises(ConfigurationError, match=expected):
        net.fit(X, Y, comm=TwoRanks(), **fit_options)


# -- ranks agree or stop ----------------------------------------------------------------
def fit_on_ranks(ranks: int, **differences):
    """Each rank fits its share of one data set; ``differences`` are (rank, change) pairs:
    what that rank alone is given otherwise. Each rank's History, or its error."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(4, 30)), rng.integers(0, 2, (1, 30)).astype(float)

    def rank_fit(comm):
        rank = comm.Get_rank()
        part = share(30, comm.Get_size(), rank)
        settings = {"epochs": 2, "learning_rate": 0.01, "optimizer": "adam"}
        arguments = {"X": X[:, part], "Y": Y[:, part]}
        for name, (who, value) in differences.items():
            if who != rank:
                continue
            if name == "features":
                arguments["X"] = arguments["X"][:value]
            elif name in ("sample_weight", "rng"):
                arguments[name] = value(part)
            elif name != "warm_start":
                settings[name] = value
        net = DeepNetwork((arguments["X"].shape[0], 3, 1), **settings)
        if differences.get("warm_start", (None,))[0] == rank:
            net.fit(arguments["X"], arguments["Y"], comm=None)
        try:
            return net.fit(**arguments, comm=comm, warm_start=True)
        except RanksDisagreeError as error:
            return error

    return run_ranks(ranks, rank_fit)


@pytest.mark.parametrize(
    "differences, expected",
    [
        ({"learning_rate": (1, 0.1)}, "rank 1 of 3 has learning_rate 0.1 where rank 0 has 0.01"),
        ({"optimizer": (2, "gd")}, "rank 2 of 3 has optimizer gd where rank 0 has adam"),
        ({"features": (1, 3)}, r"rank 1 of 3 has X of shape \(3, m\) where rank 0 has \(4, m\)"),
        ({"dtype": (1, "float64")}, "rank 1 of 3 has X of dtype float64 where rank 0 has float32"),
        (
            {"sample_weight": (1, lambda part: np.ones(part.stop - part.start))},
            "rank 1 of 3 has sample_weight given where rank 0 has none",
        ),
        ({"warm_start": (2, True)}, "rank 2 of 3 has parameters from a warm start after 2 epochs"),
        (
            {"rng": (1, lambda part: np.random.default_rng(99))},
            "rank 1 of 3 has a generator of state [0-9a-f]{16} where rank 0 has",
        ),
    ],
)
def test_ranks_given_different_fits_stop_together_naming_the_rank(differences, expected):
    """Every rank raises the same one line, before the first step: none waits."""
    errors = fit_on_ranks(3, **differences)
    assert all(isinstance(e, RanksDisagreeError) for e in errors)
    assert len({str(e) for e in errors}) == 1 and "\n" not in str(errors[0])
    assert re.match(expected, str(errors[0])), str(errors[0])


def test_an_error_about_a_setting_that_differs_names_its_field():
    assert {e.field for e in fit_on_ranks(2, learning_rate=(1, 0.1))} == {"learning_rate"}


def test_ranks_given_the_same_fit_agree_and_one_process_never_asks(monkeypatch):
    assert not any(isinstance(h, Exception) for h in fit_on_ranks(3))

    def refuse(self, values, hint=""):
        raise AssertionError("one process compared itself with other ranks")

    monkeypatch.setattr(MPIRanks, "agree", refuse)
    DeepNetwork((2, 3, 1), epochs=1).fit(np.ones((2, 4)), np.array([[0, 1, 0, 1]]))


def test_regression_targets_are_checked_over_every_share_even_an_empty_one():
    X, Y = np.ones((2, 2)), np.array([[0.5, 1e300]])

    def rank_fit(comm):  # three ranks, two examples: rank 2's share is empty
        part = share(2, comm.Get_size(), comm.Get_rank())
        net = DeepNetwork((2, 3, 1), output="linear", loss="mse", epochs=1, dtype="float64")
        try:
            return net.fit(X[:, part], Y[:, part], comm=comm)
        except InvalidValueError as error:
            return str(error)

    said = run_ranks(3, rank_fit)
    assert len(set(said)) == 1 and said[0].startswith("Y holds targets up to |y| = 1e+300")


# -- any architecture, batch size and P (ranks as threads) ------------------------------
@settings(max_examples=150, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    m=st.integers(1, 40),
    batch=st.one_of(st.none(), st.integers(1, 16)),
    ranks=st.integers(1, 5),
    optimizer=st.sampled_from(["gd", "momentum", "adam", "adamw"]),
    keep=st.sampled_from([1.0, 0.6]),
    dtype=st.sampled_from(["float64", "float32"]),
    seed=st.integers(0, 10),
)
def test_any_network_trains_on_p_ranks_as_on_one_process(
    hidden, m, batch, ranks, optimizer, keep, dtype, seed
):
    linear = optimizer in ("gd", "momentum")
    # Only the order of the sums differs, and gd and momentum pass that rounding on as it
    # is. Adam's step is m_hat / (sqrt(s_hat) + epsilon): a gradient that is 0 in exact
    # arithmetic (a dead network on balanced classes) moves by +-alpha on the sign of its
    # rounding error with the default epsilon 1e-8. A larger epsilon bounds how much
    # Adam magnifies rounding (by 1/epsilon), which makes the comparison well-posed; the
    # real ranks above check Adam with its defaults on well-posed cases (to 1e-15).
    adam = {} if linear else {"epsilon": 1e-4}
    rng = np.random.default_rng(seed)
    X, labels = rng.normal(size=(3, m)), rng.integers(0, 3, m)
    settings = dict(
        activations=("relu",) * len(hidden) + ("softmax",),
        optimizer=optimizer,
        learning_rate=0.05,
        batch_size=batch,
        epochs=3,
        keep_prob=keep,
        lambd=0.1,
        dtype=dtype,
        seed=seed,
        **adam,
    )
    dims = (3, *hidden, 3)
    one = DeepNetwork(dims, **settings)
    one.fit(X, labels)

    def rank_fit(comm):
        part = share(m, comm.Get_size(), comm.Get_rank())
        net = DeepNetwork(dims, **settings)
        net.fit(X[:, part], labels[part], comm=comm)
        return net

    nets = run_ranks(ranks, rank_fit)
    tolerance = (1e-12 if linear else 1e-9) if dtype == "float64" else (1e-5 if linear else 1e-3)
    for net in nets:  # every rank ends with the same parameters, one process's
        for key, value in one.parameters.items():
            np.testing.assert_allclose(net.parameters[key], value, rtol=0, atol=tolerance)
        np.testing.assert_allclose(net.history.cost, one.history.cost, rtol=tolerance)


# -- exactness on real ranks ------------------------------------------------------------
@pytest.fixture(scope="module")
def one_process():
    """Each case fitted by one ordinary process on all the examples."""
    return {name: fit(name) for name in CASES}


@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_ranks_learn_the_parameters_of_one_process(ranks, one_process, tmp_path):
    done = launch(ranks, [sys.executable, str(HERE / "mpi" / "worker.py"), str(tmp_path)])
    assert done.returncode == 0, done.stderr[-2000:]
    for name, net in one_process.items():
        saved = np.load(tmp_path / f"{name}.npz")
        for key, value in net.parameters.items():
            np.testing.assert_allclose(saved[key], value, rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(saved["cost"], net.history.cost, rtol=1e-12, err_msg=name)
        if net.history.val_cost and net.history.val_cost[0] is not None:
            np.testing.assert_allclose(saved["val_cost"], net.history.val_cost, rtol=1e-12)


# -- the Allreduce in buckets, started during backward (issue 27) ---------------------------
@pytest.mark.parametrize("ranks", [2, 3])
def test_buckets_sent_during_backward_add_up_to_the_single_allreduce_bit_for_bit(ranks, tmp_path):
    """A bucket of 8 bytes sends every layer's gradients (and E1's, b's) on their own, by
    Iallreduce, as backward finishes them; 0 sends dtheta in one Allreduce after backward.
    Every entry is the sum of the same P values either way: the same bits."""
    saved = {}
    for bucket in ("0", "8"):
        folder = tmp_path / f"bucket{bucket}"
        folder.mkdir()
        command = [sys.executable, str(HERE / "mpi" / "worker.py"), str(folder)]
        done = launch(ranks, command, env=environment(LDNN_ALLREDUCE_BUCKET=bucket))
        assert done.returncode == 0, done.stderr[-2000:]
        saved[bucket] = {name: np.load(folder / f"{name}.npz") for name in CASES}
    for name in CASES:
        single, buckets = saved["0"][name], saved["8"][name]
        for key in single.files:
            np.testing.assert_array_equal(buckets[key], single[key], err_msg=f"{name} {key}")


def test_thread_ranks_with_buckets_train_one_process_parameters(monkeypatch):
    """Through the step's own hook, in every recipe of the cases, 2 and 3 ranks."""
    monkeypatch.setenv("LDNN_ALLREDUCE_BUCKET", "8")
    for ranks in (2, 3):
        nets = run_ranks(
            ranks,
            lambda comm: fit("recipes", share(M, comm.Get_size(), comm.Get_rank()), comm=comm),
        )
        one = fit("recipes")
        for net in nets:
            for key, value in one.parameters.items():
                np.testing.assert_allclose(net.parameters[key], value, rtol=0, atol=1e-12)


def test_a_bucket_size_that_is_not_one_is_refused_in_one_line(monkeypatch):
    from ldnn.training.mpi import bucket_bytes

    for text, expected in (("", 0), ("0", 0), ("64K", 65536), ("1m", 2**20), ("300", 300)):
        monkeypatch.setenv("LDNN_ALLREDUCE_BUCKET", text)
        assert bucket_bytes() == expected
    monkeypatch.setenv("LDNN_ALLREDUCE_BUCKET", "lots")
    with pytest.raises(ConfigurationError, match="LDNN_ALLREDUCE_BUCKET must be a size.*'lots'"):
        bucket_bytes()


# -- batch norm: the whole batch's statistics on every rank (issue 27) ------------------
BATCH_NORM_M = 47  # 16, 16, 15 examples on three ranks


def batch_norm_fit(optimizer: str, part=slice(None), comm=None) -> DeepNetwork:
    """A batch-normalised network (two hidden layers, float64, no dropout) fitted on the
    examples ``part``: mini-batches of 7, which neither 2 nor 3 ranks divide (a rank may
    hold none of a batch); a mean far from 0, where E[z^2] - mu^2 would lose digits."""
    rng = np.random.default_rng(5)
    X, labels = rng.normal(3.0, 1.0, size=(4, BATCH_NORM_M)), rng.integers(0, 3, BATCH_NORM_M)
    net = DeepNetwork(
        (4, 6, 5, 3),
        activations=("relu", "tanh", "softmax"),
        batch_norm=True,
        optimizer=optimizer,
        learning_rate=0.05,
        lambd=0.1,
        batch_size=7,
        epochs=4,
        seed=2,
        dtype="float64",
    )
    net.fit(X[:, part], labels[part], comm=comm)
    return net


BATCH_NORM_WORKER = f"""
import sys
sys.path.insert(0, {str(HERE)!r})
import numpy as np
from mpi4py import MPI
from test_parallel import BATCH_NORM_M, batch_norm_fit
from ldnn.training.mpi import share
comm = MPI.COMM_WORLD
rank = comm.Get_rank()
for optimizer in ("momentum", "adam"):
    net = batch_norm_fit(optimizer, share(BATCH_NORM_M, comm.Get_size(), rank), comm)
    np.savez(f"{{sys.argv[1]}}/{{optimizer}}-{{rank}}.npz", **net.parameters)
"""


@pytest.mark.parametrize("ranks", [2, 3])
def test_batch_norm_on_ranks_learns_one_process_parameters_and_statistics(ranks, tmp_path):
    done = launch(ranks, [sys.executable, "-c", BATCH_NORM_WORKER, str(tmp_path)])
    assert done.returncode == 0, done.stderr[-2000:]
    for optimizer in ("momentum", "adam"):
        one = batch_norm_fit(optimizer).parameters
        assert {"gamma1", "beta2", "mean1", "var2"} <= one.keys()
        for rank in range(ranks):
            saved = np.load(tmp_path / f"{optimizer}-{rank}.npz")
            assert sorted(saved.files) == sorted(one)
            for key, value in one.items():  # gamma, beta, W and the running mean and var
                np.testing.assert_allclose(
                    saved[key], value, rtol=1e-10, atol=0, err_msg=f"{optimizer} {key}"
                )


# -- the command line -------------------------------------------------------------------
@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    """X.npy (m, 6) and y.npy of a noisy two-class problem."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 6))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=500) > 0).astype(np.int64)
    np.save(folder / "X.npy", X)
    np.save(folder / "y.npy", y)
    return folder


FLAGS = [
    "--layers",
    "16,8",
    "--keep-prob",
    "0.8",
    "--batch-size",
    "32",
    "--val-split",
    "0.2",
    "--no-early-stopping",  # every epoch runs: the signal below must find them training
    "--optimizer",
    "adam",
    "--lr",
    "0.01",
    "--dtype",
    "float64",
    "--no-plots",
    "-q",
]


def train_command(arrays, runs, name, epochs=6, *more):
    return [
        *LDNN,
        "train",
        str(arrays / "X.npy"),
        "--labels",
        str(arrays / "y.npy"),
        *FLAGS,
        "--epochs",
        str(epochs),
        "--runs-dir",
        str(runs),
        "--name",
        name,
        *more,
    ]


def parameters_of(folder: Path) -> dict:
    with np.load(folder / "model.npz", allow_pickle=False) as model:
        return {k: model[k] for k in model.files if k[0] in "Wb" and k[1:].isdigit()}


def assert_same_parameters(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=0, atol=1e-12, err_msg=key)


def test_mpiexec_ldnn_train_is_one_process_and_rank_0_alone_writes(arrays, tmp_path):
    runs = tmp_path / "runs"
    single = subprocess.run(
        train_command(arrays, runs, "one"),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=120,
    )
    assert single.returncode == 0, single.stderr
    done = launch(3, train_command(arrays, runs, "three"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("run folder:") == 1  # only rank 0 prints
    # Each epoch's time, compute and waiting for the reductions, on the ranks alone.
    epochs = re.findall(
        r"epoch (\d+): ([\d.]+) s, compute ([\d.]+) s, waiting for the reduction ([\d.]+) s",
        done.stdout,
    )
    assert [int(e[0]) for e in epochs] == list(range(len(epochs))) and epochs
    assert all(float(t) == pytest.approx(float(c) + float(w), abs=2e-3) for _, t, c, w in epochs)
    assert "waiting for the reduction" not in single.stdout
    assert sorted(p.name for p in runs.iterdir()) == ["one", "three"]
    assert_same_parameters(parameters_of(runs / "one"), parameters_of(runs / "three"))
    record = json.loads((runs / "three" / "provenance.json").read_text())
    assert record["mpi"]["ranks"] == 3 and record["mpi"]["library"]  # e.g. "MPICH Version: 5.0.2"
    assert "mpi" not in json.loads((runs / "one" / "provenance.json").read_text())


def test_mpiexec_seeds_train_each_seed_on_every_rank(arrays, tmp_path):
    runs = tmp_path / "runs"
    done = launch(2, train_command(arrays, runs, "s", 2, "--seeds", "0,1"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["s-seed0", "s-seed1"]
    assert done.stdout.count("over seeds 0, 1") == 1


def test_other_commands_refuse_several_ranks(arrays, tmp_path):
    done = launch(2, [*LDNN, "datasets"])
    assert done.returncode == 2
    assert "only `ldnn train` (data-parallel)" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_rank_that_fails_ends_the_job_naming_the_rank(arrays, tmp_path):
    """Rank 1 starts where the data file is missing (a node without it): rank 0, waiting
    for it in the first collective, must not hang."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    for name in ("X.npy", "y.npy"):
        shutil.copy(arrays / name, here / name)
    command = [*LDNN, "train", "X.npy", "--labels", "y.npy", "--epochs", "2", "-q", "--no-plots"]
    start = time.monotonic()
    done = subprocess.run(
        [
            mpiexec(),
            "-n",
            "1",
            "-wdir",
            str(here),
            *command,
            ":",
            "-n",
            "1",
            "-wdir",
            str(elsewhere),
            *command,
        ],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=120,
    )
    assert done.returncode == 2  # bad input, as one process exits
    assert time.monotonic() - start < 60
    assert "X.npy" in done.stderr and "[rank 1 of 2; stopping all ranks]" in done.stderr
    assert "Traceback" not in done.stderr


def mpmd(first: list[str], second: list[str], where=(None, None)):
    """Rank 0 runs ``first`` and rank 1 ``second`` (mpiexec's MPMD form), each in its
    folder of ``where``; the job may take a minute at most."""
    command = [mpiexec()]
    for rank, folder in zip((first, second), where, strict=True):
        command += [":"] if len(command) > 1 else []
        command += ["-n", "1", *(["-wdir", str(folder)] if folder else []), *rank]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=environment(), timeout=60)
    return done, time.monotonic() - start


def assert_every_rank_said(done, line: str, ranks: int = 2) -> None:
    """Exit 2 as for any bad input; each rank's one line, no MPI abort and no traceback."""
    assert done.returncode == 2, done.stderr[-2000:]
    said = sorted(s for s in done.stderr.splitlines() if line in s)
    assert [s[s.rindex(" [") :] for s in said] == [f" [rank {r} of {ranks}]" for r in range(ranks)]
    assert "Traceback" not in done.stderr and "BAD TERMINATION" not in done.stdout


def test_ranks_started_with_another_learning_rate_stop_together(arrays, tmp_path):
    runs = tmp_path / "runs"
    done, seconds = mpmd(
        train_command(arrays, runs, "lr"),
        [*train_command(arrays, runs, "lr"), "--lr", "0.1"],
    )
    assert_every_rank_said(
        done,
        "ldnn train: error: rank 1 of 2 has [training] learning_rate 0.1 where rank 0 has 0.01: "
        "start every rank with the same data and settings",
    )
    assert seconds < 60 and list(runs.iterdir()) == []  # rank 0's run folder is removed


def test_ranks_started_on_other_data_stop_together(arrays, tmp_path):
    """Rank 1's X.npy lacks a column (it used to end in MPICH's own error, exit 142); then
    it has every column with other numbers: its SHA-256 differs."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    X = np.load(arrays / "X.npy")
    for folder in (here, elsewhere):
        shutil.copy(arrays / "y.npy", folder / "y.npy")
    np.save(here / "X.npy", X)
    np.save(elsewhere / "X.npy", X[:, :5])
    command = [*LDNN, "train", "X.npy", "--labels", "y.npy", "--epochs", "2", "-q", "--no-plots"]
    done, _ = mpmd(command, command, (here, elsewhere))
    assert_every_rank_said(
        done, "rank 1 of 2 has training data of shape (5, 400) where rank 0 has (6, 400)"
    )
    np.save(elsewhere / "X.npy", X[::-1])
    done, _ = mpmd(command, command, (here, elsewhere))
    assert_every_rank_said(done, "rank 1 of 2 has data of sha256 ")
    assert list((here / "runs").iterdir()) == []


@pytest.mark.parametrize(
    "what, expected",
    [
        ("lr", "has learning_rate 0.1 where rank 0 has 0.01"),
        ("features", "has X of shape (3, m) where rank 0 has (4, m)"),
    ],
)
def test_ranks_of_a_script_that_fit_differently_stop_together(what, expected):
    done = launch(2, [sys.executable, str(HERE / "mpi" / "disagree.py"), what], timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr[-2000:]
    for rank in (0, 1):
        assert f"rank {rank}: rank 1 of 2 {expected}" in done.stdout


def rank_pids(tag: str) -> dict[int, int]:
    """{rank: pid} of the processes started with LDNN_TEST_TAG=tag."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = dict(
                item.split("=", 1)
                for item in (entry / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in item
            )
        except OSError:
            continue
        if env.get("LDNN_TEST_TAG") == tag and "PMI_RANK" in env:
            cmdline = (entry / "cmdline").read_bytes()
            if b"ldnn.cli" in cmdline:
                found[int(env["PMI_RANK"])] = int(entry.name)
    return found


def start_ranks(ranks: int, command: list[str]):
    tag = uuid.uuid4().hex
    job = subprocess.Popen(
        [mpiexec(), "-n", str(ranks), *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(LDNN_TEST_TAG=tag),
    )
    deadline = time.monotonic() + 60
    while len(pids := rank_pids(tag)) < ranks and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pids) == ranks, "the ranks did not start"
    return job, pids


def wait_until_training(folder: Path, job, timeout=60) -> None:
    """Until the run folder exists and training has had time to start."""
    deadline = time.monotonic() + timeout
    while not (folder / "config.toml").exists():
        assert job.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.05)
    time.sleep(1.0)


def wait_until_catching(pid: int, signum: int, timeout=60) -> None:
    """Until process ``pid`` has a handler for ``signum`` (its SigCgt mask in /proc):
    training installs one for SIGTERM when it starts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(
            next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16
        )
        if caught >> (signum - 1) & 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never caught signal {signum}")


def test_a_rank_killed_ends_the_job(arrays, tmp_path):
    runs = tmp_path / "runs"
    job, pids = start_ranks(2, train_command(arrays, runs, "killed", 5000))
    wait_until_training(runs / "killed", job)
    os.kill(pids[1], signal.SIGKILL)
    try:
        job.wait(timeout=60)
    finally:
        job.kill()
    assert job.returncode != 0


def test_an_interrupted_job_resumes_on_other_ranks_to_the_same_numbers(arrays, tmp_path):
    """SIGTERM to rank 1 alone: every rank stops after the same step, rank 0 writes the
    checkpoint; three ranks then finish it as one process trains without stopping."""
    runs = tmp_path / "runs"
    epochs = 1500  # several seconds: the signal must find the ranks training
    whole = subprocess.run(
        train_command(arrays, runs, "whole", epochs),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert whole.returncode == 0, whole.stderr
    job, pids = start_ranks(2, train_command(arrays, runs, "stopped", epochs))
    wait_until_training(runs / "stopped", job)
    wait_until_catching(pids[1], signal.SIGTERM)  # rank 1 is training, not starting
    assert job.poll() is None, "the job ended before it could be interrupted"
    os.kill(pids[1], signal.SIGTERM)
    out, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    assert (runs / "stopped" / "checkpoint.npz").exists()
    assert "--resume" in err
    resumed = launch(
        3, [*LDNN, "train", "--resume", str(runs / "stopped"), "-q", "--no-plots"], timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_same_parameters(parameters_of(runs / "whole"), parameters_of(runs / "stopped"))


# -- embarrassingly parallel work on the same ranks -------------------------------------
def test_mpiexec_experiment_shares_the_grid_and_writes_what_one_process_writes(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    quick = ["experiment", "depth-vs-width", "--quick", "--seed", "0", "--out"]
    single = subprocess.run(
        [*LDNN, *quick, str(one)], capture_output=True, text=True, env=environment(), timeout=300
    )
    assert single.returncode == 0, single.stderr
    done = launch(2, [*LDNN, *quick, str(two)], timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.parent for p in tmp_path.rglob("report.md")) == [one, two]
    csvs = sorted(p.name for p in one.glob("*.csv"))
    assert csvs and csvs == sorted(p.name for p in two.glob("*.csv"))
    for name in csvs:
        assert (one / name).read_text() == (two / name).read_text(), name


def test_mpiexec_tune_makes_every_rank_a_worker_of_one_study(tmp_path):
    pytest.importorskip("optuna")
    space = tmp_path / "space.toml"
    space.write_text(
        "[space]\nlearning_rate = { low = 1e-3, high = 1e-1, log = true }\nhidden_layers = 1\n"
        'units = [4, 8]\nepochs = 3\n[tune]\npruner = "none"\n'
    )
    done = launch(
        2,
        [
            *LDNN,
            "tune",
            "xor",
            "--trials",
            "8",
            "--space",
            str(space),
            "--seed",
            "0",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--name",
            "study",
            "--no-plots",
        ],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = (tmp_path / "runs" / "study" / "trials.csv").read_text().splitlines()
    header = rows[0].split(",")
    workers = {row.split(",")[header.index("worker")] for row in rows[1:]}
    assert len(rows) - 1 >= 8 and len(workers) == 2
    assert done.stdout.count("tune folder:") == 1


def test_a_share_that_fails_its_checks_stops_every_rank_naming_it():
    """Rank 1's X has 4 features where the network takes 5: rank 1's own check would
    stop it alone, and rank 0 would wait for it in the first collective."""

    def rank_fit(comm):
        X = np.ones((5 if comm.Get_rank() == 0 else 4, 10))
        net = DeepNetwork((5, 3, 1), epochs=1, seed=0)
        said = r"rank 1 of 2: X must have shape .*got \(4, 10\)"
        with pytest.raises(RanksDisagreeError, match=said):
            net.fit(X, np.ones((1, 10)), comm=comm)
        return True

    assert run_ranks(2, rank_fit) == [True, True]


@pytest.mark.parametrize("ranks, suffix, split", [(2, ".csv", "shuffle"), (3, ".parquet", "hash")])
def test_a_table_streamed_from_disk_trains_on_ranks_as_one_process(ranks, suffix, split, tmp_path):
    """``--stream on``: each rank reads its share of the file's rows (a byte range of a
    CSV, a run of a Parquet file's row groups) to disk, the column rules are fitted on
    the columns the ranks gather one at a time, and each trains on its share of the
    examples, read a mini-batch at a time: the parameters of one process that read the
    table whole (split by a seeded shuffle, or by a hash of each row)."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(3)
    m = 900
    a = rng.normal(size=m)
    colour = rng.choice(["red", "blue", "green", "violet"], m)
    # Empty in the first ranks' rows: each rank's reader types it alone, then they agree.
    late = np.where(np.arange(m) < 0.6 * m, np.nan, rng.normal(size=m))
    y = (a + (colour == "red") + 0.5 * rng.normal(size=m) > 0.3).astype(int)
    table = pa.table({"a": a, "b": np.arange(m) % 7, "colour": colour, "late": late, "y": y})
    path = tmp_path / f"t{suffix}"
    if suffix == ".csv":
        pytest.importorskip("pyarrow.csv").write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=100)
    runs = tmp_path / "runs"
    flags = [f for f in FLAGS if f != "-q"]

    def command(name):
        where = ["--runs-dir", str(runs), "--name", name]
        return [*LDNN, "train", str(path), *flags, "--epochs", "4", "--split", split, *where]

    one = [*command("one"), "--stream", "off"]
    single = subprocess.run(one, capture_output=True, text=True, env=environment())
    assert single.returncode == 0, single.stderr
    env = environment(TMPDIR=str(tmp_path))
    done = launch(ranks, [*command("many"), "--stream", "on"], env=env)
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("table:")]
    assert said and f"{ranks} ranks, each read its share of the rows: " in said[0], said
    counts = said[0].split("rows: ")[1].split(";")[0]
    shares = [int(n.replace(",", "")) for n in counts.split(", ")]
    # split by hash, each rank keeps only its own rows (of the targets, the parts, X)
    assert ("each keeps its own rows" in said[0]) == (split == "hash"), said[0]
    assert sum(shares) == m and max(shares) < m  # each read a part, together the file
    assert_same_parameters(parameters_of(runs / "one"), parameters_of(runs / "many"))
    assert not list(tmp_path.glob("ldnn-stream-*"))


def test_an_interrupted_streamed_job_resumes_on_other_ranks_to_the_same_numbers(tmp_path):
    """Two ranks streaming a CSV file split by hash, each keeping its own rows, stopped by
    SIGTERM to rank 1; three ranks resume it, each streaming and keeping its own rows
    again (other rows than before), to the parameters of one process that read the file
    whole and never stopped. (The default split's resume on other ranks: the test above
    on arrays; its streamed table trains as one process: the test before.)"""
    rng = np.random.default_rng(6)
    m = 500
    a = rng.normal(size=m)
    colour = rng.choice(["red", "blue", "green"], m)
    y = (a * (colour == "red") + 0.3 * rng.normal(size=m) > 0).astype(int)
    rows = ["a,colour,y", *(f"{a[i]:.6f},{colour[i]},{y[i]}" for i in range(m))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    runs, epochs = tmp_path / "runs", 800

    def command(name, stream):
        where = ["--runs-dir", str(runs), "--name", name, "--stream", stream, "--split", "hash"]
        # Momentum, not Adam: Adam's step divides a gradient that tends to 0 by its own
        # size, so that the ranks' rounding of it (sums in another order, at a point the
        # signal chooses) becomes a step of size alpha; momentum keeps it 1e-16.
        optimizer = ["--optimizer", "momentum"]
        return [
            *LDNN,
            "train",
            str(tmp_path / "t.csv"),
            *FLAGS,
            *optimizer,
            "--epochs",
            str(epochs),
            *where,
        ]

    whole = subprocess.run(
        command("whole", "off"), capture_output=True, text=True, env=environment(), timeout=300
    )
    assert whole.returncode == 0, whole.stderr
    job, pids = start_ranks(2, command("stopped", "on"))
    wait_until_training(runs / "stopped", job)
    wait_until_catching(pids[1], signal.SIGTERM)
    assert job.poll() is None, "the job ended before it could be interrupted"
    os.kill(pids[1], signal.SIGTERM)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    resumed = launch(
        3, [*LDNN, "train", "--resume", str(runs / "stopped"), "-q", "--no-plots"], timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert_same_parameters(parameters_of(runs / "whole"), parameters_of(runs / "stopped"))
