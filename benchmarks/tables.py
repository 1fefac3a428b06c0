"""Tables a practitioner brings, and the one-line alternatives, on the same splits.

    python benchmarks/tables.py                         # every table, 3 seeds, the peers too
    python benchmarks/tables.py --tables passengers,cars --seeds 0,1 --methods ldnn,hgb
    python benchmarks/tables.py --config my.toml        # ldnn with a config.toml's settings
    python benchmarks/tables.py --methods tune,hgb --seeds 0 --tune-time 5m

The suite: three generated tables with the properties of well-known public ones (a
Titanic-like passenger list, 891 rows; an Adult-like census extract, 32,561 rows with
"?" for missing text; an auto-mpg-like car fuel use table, 398 rows, a regression), and
the real tables scikit-learn ships (breast cancer, wine, digits; diabetes, a regression).
Each seed splits each table once (stratified for classes, 25% test) and writes the two
parts as CSV files; every method trains on the first and is scored on the second:

- ``ldnn``: ``ldnn train TRAIN --test-data TEST`` with the defaults (or ``--config``), as a
  user runs it (the library's TrainingRun, in this process);
- ``mlp``: scikit-learn's MLPClassifier / MLPRegressor in a pipeline that imputes (median)
  and standardises the numbers and one-hot encodes the text (most frequent for missing),
  the regressor's target standardised too (TransformedTargetRegressor);
- ``hgb``: HistGradientBoostingClassifier / Regressor, text columns as categories;
- ``ldnn-ple``, ``ldnn-periodic``: ``ldnn`` on the tables with each numeric column
  replaced by an encoding of it (fitted on the training part; Gorishniy et al. 2022),
  to measure whether such an option would pay before ldnn grows one: piecewise-linear
  over 8 quantile bins, or the standardised value beside sin and cos of 2 pi c z for 8
  frequencies c ~ N(0, 1) (fixed, not learned: the "lite" form);
- ``tune``: ``ldnn tune TRAIN --test-data TEST --time 5m`` (``--tune-time``) at one
  thread, in a child process, scored by its retrained best trial.

Accuracy for classes, R^2 for regression, on the test part; mean and sd over the seeds.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from public_tables import census, passengers, write_csv  # noqa: E402


def cars(m: int = 398, seed: int = 0) -> dict:
    """Columns of an auto-mpg-like table (UCI "Auto MPG": 398 cars of 1970-82, mpg the
    target, horsepower missing for 6), ``m`` rows: heavier cars with more cylinders burn
    more fuel, later years less."""
    rng = np.random.default_rng(seed)
    cylinders = rng.choice([4, 6, 8, 3, 5], m, p=[0.51, 0.21, 0.26, 0.01, 0.01])
    weight = np.round(rng.normal(1300 + 420 * cylinders, 330)).clip(1613, 5140)
    displacement = np.round(weight * 0.06 + 18 * cylinders + rng.normal(0, 25, m)).clip(68, 455)
    horsepower = np.round(displacement * 0.32 + 30 + rng.normal(0, 12, m)).clip(46, 230)
    year = rng.integers(70, 83, m)
    origin = np.where(cylinders >= 6, 1, rng.choice([1, 2, 3], m, p=[0.4, 0.3, 0.3]))
    acceleration = np.round(24 - horsepower * 0.05 + rng.normal(0, 1.8, m), 1).clip(8, 24.8)
    mpg = 58 - 0.0072 * weight + 0.75 * (year - 76) - 0.03 * horsepower + 1.2 * (origin > 1)
    mpg = np.round(mpg + rng.normal(0, 2.8, m), 1).clip(9, 46.6)
    hp = horsepower.astype(float)
    hp[rng.choice(m, 6 * m // 398, replace=False)] = np.nan
    makers = ["ford", "chevrolet", "plymouth", "dodge", "toyota", "datsun", "vw", "honda"]
    names = [f"{makers[i % 8]} model{rng.integers(1, 60)}" for i in range(m)]
    return {
        "mpg": mpg,
        "cylinders": cylinders,
        "displacement": displacement,
        "horsepower": hp,
        "weight": weight,
        "acceleration": acceleration,
        "model year": year,
        "origin": origin,
        "car name": names,
    }


def bundled(name: str) -> dict:
    """A table scikit-learn ships (no download), target last."""
    from sklearn import datasets

    load = {
        "breast_cancer": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
    }[name]
    data = load(as_frame=True)
    frame = data.frame
    return {column: frame[column].to_numpy() for column in frame.columns}


#: name: (columns, target, task, na marker)
TABLES = {
    "passengers": (lambda: passengers(891, seed=0), "Survived", "classification", ""),
    "census": (lambda: census(32_561, seed=0), "income", "classification", "?"),
    "cars": (lambda: cars(398, seed=0), "mpg", "regression", ""),
    "breast_cancer": (lambda: bundled("breast_cancer"), "target", "classification", ""),
    "wine": (lambda: bundled("wine"), "target", "classification", ""),
    "digits": (lambda: bundled("digits"), "target", "classification", ""),
    "diabetes": (lambda: bundled("diabetes"), "target", "regression", ""),
}


def split(columns: dict, target: str, task: str, seed: int, test: float = 0.25):
    """(train, test) columns: a seeded split, stratified by class for classification."""
    from sklearn.model_selection import train_test_split

    m = len(columns[target])
    y = np.asarray(columns[target])
    strata = y if task == "classification" else None
    train, held = train_test_split(np.arange(m), test_size=test, random_state=seed, stratify=strata)
    pick = lambda rows: {k: np.asarray(v)[rows] for k, v in columns.items()}  # noqa: E731
    return pick(np.sort(train)), pick(np.sort(held))


#: Candidate settings for tables' defaults ([model] and [training] changes), compared by
#: ``--select`` on validation parts of the training parts only.
#: The previous defaults (before issue 25), written out so the candidates below do not
#: move when DEFAULTS does: layers 32-16, Adam 0.01, batch 64, no validation part.
PREVIOUS = {
    "model": {"layers": [32, 16], "keep_prob": 1.0, "batch_norm": False},
    "training": {
        "learning_rate": 0.01,
        "batch_size": 64,
        "lambd": 0.0,
        "epochs": 200,
        "validation_split": 0.0,
        "early_stopping": 0,
    },
}


def _candidate(model=None, training=None) -> dict:
    """A candidate of the first selection, measured before weight averaging: none."""
    return {
        "model": {**PREVIOUS["model"], **(model or {})},
        "training": {**PREVIOUS["training"], "swa_start": 0, **(training or {})},
    }


_ES = {"validation_split": 0.2, "early_stopping": 10}
#: What --select scores (the defaults of issue 25 were chosen among these: wide+es+l2).
CANDIDATES = {
    "defaults": {},  # whatever DEFAULTS are now
    "previous": _candidate(),
    "small+es": _candidate(training=_ES),
    "wide+es": _candidate(
        {"layers": [256, 256], "keep_prob": 0.8},
        {"learning_rate": 0.001, "batch_size": 128, **_ES},
    ),
    "wide+es+l2": _candidate(
        {"layers": [256, 256], "keep_prob": 0.8},
        {"learning_rate": 0.001, "batch_size": 128, "lambd": 0.01, **_ES},
    ),
    "wide+es20+l2": _candidate(
        {"layers": [256, 256], "keep_prob": 0.8},
        {
            "learning_rate": 0.001,
            "batch_size": 128,
            "lambd": 0.01,
            "validation_split": 0.2,
            "early_stopping": 20,
        },
    ),
    "wide+es+l2+lr3": _candidate(
        {"layers": [256, 256], "keep_prob": 0.8},
        {"learning_rate": 0.003, "batch_size": 128, "lambd": 0.01, **_ES},
    ),
    "wide+es+l2+refit": {
        **_candidate(
            {"layers": [256, 256], "keep_prob": 0.8},
            {"learning_rate": 0.001, "batch_size": 128, "lambd": 0.01, **_ES},
        ),
        "refit": True,
    },
    "mid+es": _candidate(
        {"layers": [128, 64], "keep_prob": 0.9},
        {"learning_rate": 0.003, "batch_size": 64, **_ES},
    ),
    "mid+es+bn": _candidate(
        {"layers": [128, 64], "keep_prob": 0.9, "batch_norm": True},
        {"learning_rate": 0.003, "batch_size": 64, **_ES},
    ),
    "wide+adamw+cosine": _candidate(
        {"layers": [256, 256], "keep_prob": 0.8},
        {
            "optimizer": "adamw",
            "weight_decay": 0.01,
            "learning_rate": 0.002,
            "lr_schedule": "cosine",
            "warmup_epochs": 5,
            "epochs": 100,
            "batch_size": 128,
            "validation_split": 0.2,
            "early_stopping": 15,
        },
    ),
    # Stochastic weight averaging (issue 25) on the defaults: from epoch START on, the
    # model is the mean of the epochs' parameters; early stopping (auto) watches the average.
    "swa1": {"training": {"swa_start": 1}},
    "swa5": {"training": {"swa_start": 5}},
    "swa10": {"training": {"swa_start": 10}},
    # ... or instead of early stopping: every epoch, the whole training part, the last
    # half or quarter of the 200 epochs averaged (SWA as Izmailov et al. run it).
    "noes": {"training": {"validation_split": 0.0, "early_stopping": 0}},  # their control
    "swa.5-noes": {"training": {"swa_start": 0.5, "validation_split": 0.0, "early_stopping": 0}},
    "swa.75-noes": {"training": {"swa_start": 0.75, "validation_split": 0.0, "early_stopping": 0}},
    # Around the defaults with swa_start "auto" (averaging from epoch 1 under early
    # stopping): without it, a smaller validation part, a longer patience, and the whole
    # training part again for the epochs the validation part chose, averaged the same way.
    "noswa": {"training": {"swa_start": 0}},
    "val10": {"training": {"validation_split": 0.1}},
    "es20": {"training": {"early_stopping": 20}},
    "refit-swa": {"refit": True},
    # An ensemble of K networks (seeds seed..seed+K-1, each its own validation part),
    # their Z[L] averaged into one (ensemble "auto": 5 on tables of at most 10,000
    # training rows, 1 above).
    "one": {"training": {"ensemble": 1}},
    "ens3": {"training": {"ensemble": 3}},
    "ens5": {"training": {"ensemble": 5}},
    "ens10": {"training": {"ensemble": 10}},
    # Around the defaults with the ensemble: no dropout, a tenth of the L2, both.
    "kp1": {"model": {"keep_prob": 1.0}, "training": {"ensemble": "auto"}},
    "kp.9": {"model": {"keep_prob": 0.9}, "training": {"ensemble": "auto"}},
    "l2-0.001": {"training": {"lambd": 0.001, "ensemble": "auto"}},
    "kp1+l2-0.001": {"model": {"keep_prob": 1.0}, "training": {"lambd": 0.001, "ensemble": "auto"}},
}


#: The peers, which ``--select`` scores on the same validation parts as the candidates.
PEERS = ("mlp", "hgb")


def run_ldnn(train_csv, test_csv, target, task, na, seed, config_file=None, changes=None):
    from ldnn.runs import config as configuration
    from ldnn.runs.run import TrainingRun

    config = configuration.DEFAULTS
    if config_file:
        config = configuration.from_file(config_file, config)
    changes = dict(changes or {})
    refit = changes.pop("refit", False)
    if changes:
        config = configuration.merge(config, changes, "candidate")
    data = {"source": str(train_csv), "test_data": str(test_csv), "target": target, "task": task}
    if na:
        data["na_values"] = [na]
    config = configuration.merge(config, {"data": data, "training": {"seed": seed}}, "suite")
    run = TrainingRun(config)
    run.fit()
    if refit and run.history.best_epoch is not None:
        # the whole training part again, from the start, for the epochs the first kept
        whole = {"validation_split": 0.0, "early_stopping": 0}
        whole["epochs"] = run.history.best_epoch + 1
        # the same averaging as the first fit (swa_start "auto" would not average here)
        start = run.network.hyperparameters.swa_start
        whole["swa_start"] = start if 1 <= start < whole["epochs"] else 0
        run = TrainingRun(configuration.merge(config, {"training": whole}, "refit"))
        run.fit()
    scores = run.scores()["test"]
    return scores["accuracy"] if task == "classification" else scores["r2"]


def run_tune(train_csv, test_csv, target, task, na, seed, budget: str) -> float:
    """``ldnn tune`` with a time budget, as a user runs it; its retrained best's test score."""
    import json
    import os
    import subprocess

    folder = Path(train_csv).parent / f"tune-{Path(train_csv).stem}-{seed}"
    command = [sys.executable, "-m", "ldnn.cli", "tune", str(train_csv), "--target", target]
    command += ["--task", task, "--test-data", str(test_csv), "--time", budget]
    command += ["--seed", str(seed), "--name", folder.name, "--runs-dir", str(folder.parent)]
    command += ["--no-plots", "--quiet", "--threads", "1"]
    if na:
        command += ["--na-values", na]
    subprocess.run(command, check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    (best,) = folder.glob("best-trial-*")
    scores = json.loads((best / "metrics.json").read_text())["test"]
    return scores["accuracy"] if task == "classification" else scores["r2"]


def encoded(train_csv, test_csv, target, na, how: str, seed: int) -> tuple[Path, Path]:
    """The two CSVs with every numeric column (not the target) encoded ``how``: "ple"
    (piecewise-linear, 8 quantile bins) or "periodic"; fitted on the training part."""
    import pandas as pd

    read = lambda path: pd.read_csv(path, na_values=[na] if na else None)  # noqa: E731
    train, test = read(train_csv), read(test_csv)
    for column in [c for c in train.columns if c != target]:
        x = train[column]
        if not pd.api.types.is_numeric_dtype(x) or x.nunique() <= 2:
            continue
        for part in (train, test):
            values = part.pop(column).to_numpy(dtype=float)
            if how == "ple":
                edges = np.unique(np.nanquantile(x, np.linspace(0, 1, 9)))
                for t in range(1, len(edges)):
                    share = (values - edges[t - 1]) / (edges[t] - edges[t - 1])
                    part[f"{column}_ple{t}"] = np.clip(share, 0, 1)
            else:
                z = (values - np.nanmean(x)) / (np.nanstd(x) or 1.0)
                part[f"{column}_z"] = z
                for j, c in enumerate(np.random.default_rng([seed, len(column)]).normal(size=8)):
                    part[f"{column}_sin{j}"] = np.sin(2 * np.pi * c * z)
                    part[f"{column}_cos{j}"] = np.cos(2 * np.pi * c * z)
    paths = []
    for part, path in ((train, train_csv), (test, test_csv)):
        paths.append(Path(path).with_name(f"{Path(path).stem}-{how}.csv"))
        part.to_csv(paths[-1], index=False)
    return paths[0], paths[1]


def run_peer(method, train_csv, test_csv, target, task, na, seed) -> float:
    import pandas as pd
    from sklearn.compose import (
        ColumnTransformer,
        TransformedTargetRegressor,
        make_column_selector,
    )
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    read = lambda path: pd.read_csv(path, na_values=[na] if na else None)  # noqa: E731
    train, test = read(train_csv), read(test_csv)
    y_train, y_test = train.pop(target), test.pop(target)
    numbers, text = (
        make_column_selector(dtype_include="number"),
        make_column_selector(dtype_exclude="number"),
    )
    classes = task == "classification"
    if method == "mlp":
        prepare = ColumnTransformer(
            [
                (
                    "numbers",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    numbers,
                ),
                (
                    "text",
                    make_pipeline(
                        SimpleImputer(strategy="most_frequent"),
                        OneHotEncoder(handle_unknown="ignore"),
                    ),
                    text,
                ),
            ]
        )
        model = (MLPClassifier if classes else MLPRegressor)(random_state=seed, max_iter=500)
        if not classes:  # the target standardised too, as a practitioner would
            model = TransformedTargetRegressor(model, transformer=StandardScaler())
    else:  # boosting takes text columns as pandas categories
        boosting = HistGradientBoostingClassifier if classes else HistGradientBoostingRegressor
        model = boosting(random_state=seed, categorical_features="from_dtype")
        train, test = _categories_as_dtype(train, test)
        prepare = None
    pipeline = model if prepare is None else make_pipeline(prepare, model)
    pipeline.fit(train, y_train)
    predicted = pipeline.predict(test)
    return accuracy_score(y_test, predicted) if classes else r2_score(y_test, predicted)


def _categories_as_dtype(train, test):
    """Text columns as pandas categories (one set for both parts), as boosting takes
    them; one of more than 255 values (boosting's limit: names, tickets) as its codes."""
    import pandas as pd

    for column in train.columns:
        if not pd.api.types.is_numeric_dtype(train[column]):
            categories = sorted(set(train[column].dropna()) | set(test[column].dropna()))
            for part in (train, test):
                coded = part[column].astype("category").cat.set_categories(categories)
                part[column] = coded if len(categories) <= 255 else coded.cat.codes
    return train, test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument(
        "--methods", default="ldnn,mlp,hgb", help="ldnn, mlp, hgb, tune, ldnn-ple, ldnn-periodic"
    )
    parser.add_argument("--tune-time", default="5m", help="ldnn tune's --time budget")
    parser.add_argument("--config", help="a config.toml whose settings ldnn uses")
    parser.add_argument("--csv", help="also write every score to this CSV")
    parser.add_argument(
        "--select",
        help="candidates (names of CANDIDATES, or the peers mlp and hgb, comma-separated) "
        "scored on a validation part of each training part (a fifth of it): the test "
        "parts are not used",
    )
    args = parser.parse_args()
    if args.select:
        return select(
            args.tables.split(","), [int(s) for s in args.seeds.split(",")], args.select.split(",")
        )
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    found = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.tables.split(","):
            make, target, task, na = TABLES[name]
            columns = make()
            for seed in seeds:
                train, test = split(columns, target, task, seed)
                train_csv, test_csv = (
                    Path(tmp) / f"{name}-train.csv",
                    Path(tmp) / f"{name}-test.csv",
                )
                write_csv(train_csv, train), write_csv(test_csv, test)
                for method in methods:
                    start = time.perf_counter()
                    if method == "ldnn":
                        score = run_ldnn(train_csv, test_csv, target, task, na, seed, args.config)
                    elif method in ("ldnn-ple", "ldnn-periodic"):
                        how = method.split("-")[1]
                        parts = encoded(train_csv, test_csv, target, na, how, seed)
                        score = run_ldnn(*parts, target, task, na, seed, args.config)
                    elif method == "tune":
                        budget = args.tune_time
                        score = run_tune(train_csv, test_csv, target, task, na, seed, budget)
                    else:
                        score = run_peer(method, train_csv, test_csv, target, task, na, seed)
                    seconds = time.perf_counter() - start
                    found.setdefault((name, method), []).append(score)
                    rows.append((name, method, seed, score, seconds))
                    print(f"{name} seed {seed} {method}: {score:.4f} ({seconds:.1f} s)", flush=True)
    print("\n| table | metric | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for name in args.tables.split(","):
        metric = "accuracy" if TABLES[name][2] == "classification" else "R²"
        cells = []
        for method in methods:
            values = found[(name, method)]
            sd = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.fmean(values):.3f} ± {sd:.3f}")
        print(f"| {name} | {metric} | " + " | ".join(cells) + " |")
    if args.csv:
        with open(args.csv, "w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["table", "method", "seed", "score", "seconds"])
            writer.writerows(rows)
    return 0


def one_network(candidate: str) -> dict:
    """A candidate's changes; those measured before ldnn trained ensembles stay one
    network (ensemble = 1) unless they say otherwise, as "defaults" does not."""
    changes = CANDIDATES[candidate]
    if candidate == "defaults" or "ensemble" in changes.get("training", {}):
        return changes
    training = {**changes.get("training", {}), "ensemble": 1}
    return {**changes, "training": training}


def select(tables, seeds, candidates) -> int:
    """Each candidate's validation score on every table and seed, and their mean rank."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in tables:
            make, target, task, na = TABLES[name]
            columns = make()
            for seed in seeds:
                train, _ = split(columns, target, task, seed)
                inner, held = split(train, target, task, seed + 100, test=0.2)
                inner_csv, held_csv = Path(tmp) / "inner.csv", Path(tmp) / "held.csv"
                write_csv(inner_csv, inner), write_csv(held_csv, held)
                for candidate in candidates:
                    start = time.perf_counter()
                    if candidate in PEERS:  # scikit-learn's, on the same parts
                        score = run_peer(candidate, inner_csv, held_csv, target, task, na, seed)
                    else:
                        changes = one_network(candidate)
                        score = run_ldnn(
                            inner_csv, held_csv, target, task, na, seed, changes=changes
                        )
                    found.setdefault((name, candidate), []).append(score)
                    print(
                        f"{name} seed {seed} {candidate}: {score:.4f} "
                        f"({time.perf_counter() - start:.1f} s)",
                        flush=True,
                    )
    print("\n| table | " + " | ".join(candidates) + " |")
    print("|---|" + "---|" * len(candidates))
    ranks = {c: [] for c in candidates}
    for name in tables:
        means = {c: statistics.fmean(found[(name, c)]) for c in candidates}
        for rank, c in enumerate(sorted(candidates, key=lambda c: -means[c]), 1):
            ranks[c].append(rank)
        print(f"| {name} | " + " | ".join(f"{means[c]:.3f}" for c in candidates) + " |")
    print(
        "| mean rank | "
        + " | ".join(f"{statistics.fmean(ranks[c]):.2f}" for c in candidates)
        + " |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
