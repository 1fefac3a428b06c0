"""The recipes of docs/recipes.md, measured: each setting's validation and test scores
over seeds, every setting alone (added to a base) and together.

    python benchmarks/recipes.py mnist1d                # the MNIST-1D table, 3 seeds
    python benchmarks/recipes.py digits --cv 5            # chosen by 5-fold CV
    python benchmarks/recipes.py mnist1d --only base,all --epochs 100 --out /tmp/r.json
    python benchmarks/recipes.py mnist1d --only base,adamw+cosine --validation-split 0

Settings are chosen on the validation part (``validation_split`` of the training part);
the test part is only reported. Each run is what ``ldnn train DATA`` with the same flags
runs (:class:`ldnn.runs.run.TrainingRun`), at one BLAS thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from threadpoolctl import threadpool_limits

from ldnn.runs import config as configuration
from ldnn.runs.run import TrainingRun

#: The recipes each data set tries, alone and together.
CHANGES = {
    "adamw": {"training": {"optimizer": "adamw", "weight_decay": 0.1}},
    "cosine": {"training": {"lr_schedule": "cosine", "warmup_epochs": 5, "learning_rate": 0.003}},
    "batch_norm": {"model": {"batch_norm": True}},
    "label_smoothing": {"training": {"label_smoothing": 0.1}},
}

#: Per data set: the base recipe, and each change tried alone and all together.
RECIPES = {
    "mnist1d": {
        "base": {
            "model": {"layers": [768, 768, 768], "keep_prob": 0.5},
            "training": {
                "optimizer": "adam",
                "learning_rate": 0.001,
                "epochs": 200,
                "batch_size": 128,
            },
        },
        "changes": {**CHANGES, "clip_norm": {"training": {"clip_norm": 5.0}}},
        # the search around the cosine schedule (--only cosine+lr5, ...)
        "sizes": {
            "lr2": {"training": {"learning_rate": 0.002}},
            "lr5": {"training": {"learning_rate": 0.005}},
            "epochs300": {"training": {"epochs": 300}},
            "keep40": {"model": {"keep_prob": 0.4}},
            "keep60": {"model": {"keep_prob": 0.6}},
            # initialisation under batch norm (--only all+he,all+scaled,all+uniform), and at
            # the smaller alpha where rows' lengths matter more (all+lr1+he, all+lr1+uniform)
            "lr1": {"training": {"learning_rate": 0.001}},
            "he": {"model": {"init": "he"}},
            "scaled": {"model": {"init": "scaled"}},
            "uniform": {"model": {"init": "uniform"}},
        },
    },
    "digits": {
        "base": {
            "model": {"layers": [256, 256], "keep_prob": 0.8},
            "training": {
                "optimizer": "adam",
                "learning_rate": 0.001,
                "epochs": 100,
                "batch_size": 64,
            },
        },
        "changes": CHANGES,
        # not recipes: sizes the search may also try (--only all+wide)
        "sizes": {
            "wide": {"model": {"layers": [512, 512]}},
            "longer": {"training": {"epochs": 200}},
        },
    },
}


def merged(*tables: dict) -> dict:
    result = {"data": {}, "model": {}, "training": {}}
    for table in tables:
        for key, values in table.items():
            result[key] = {**result[key], **values}
    return result


def settings_of(data: str) -> dict:
    """{setting name: config changes}: base, base + each change, base + all of them."""
    recipe = RECIPES[data]
    changes = recipe["changes"]
    found = {"base": recipe["base"]}
    found |= {name: merged(recipe["base"], change) for name, change in changes.items()}
    found["all"] = merged(recipe["base"], *changes.values())
    return found


def run_once(data: str, changes: dict, seed: int, validation_split: float, epochs) -> dict:
    # The recipes were measured without L2 and with every epoch run (ldnn train's defaults
    # before issue 25): their base pins both, whatever the defaults are now.
    base = {"data": {"source": data}, "training": {"lambd": 0.0, "early_stopping": 0}}
    config = configuration.merge(configuration.DEFAULTS, base, "recipes")
    config = configuration.merge(config, changes, "recipes")
    config = configuration.merge(
        config, {"training": {"seed": seed, "validation_split": validation_split}}, "recipes"
    )
    if epochs:
        config = configuration.merge(config, {"training": {"epochs": epochs}}, "recipes")
    run = TrainingRun(config)
    start = time.perf_counter()
    run.fit()
    seconds = time.perf_counter() - start
    scores = run.scores()
    return {
        "seed": seed,
        "val_accuracy": run.history.val_accuracy[-1] if validation_split else None,
        "test_accuracy": scores["test"]["accuracy"],
        "seconds": seconds,
    }


def estimator_of(changes: dict, seed: int):
    """The scikit-learn pipeline (standardise, then ldnn's DNNClassifier) of a setting."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ldnn.sklearn import DNNClassifier

    model, training = dict(changes["model"]), dict(changes["training"])
    model["hidden_layer_sizes"] = tuple(model.pop("layers"))
    return make_pipeline(StandardScaler(), DNNClassifier(**model, **training, random_state=seed))


def cross_validated(data: str, changes: dict, seeds, folds: int, epochs) -> dict:
    """K-fold accuracy on the training part (first seed) and test accuracy per seed, on
    scikit-learn's split of the data set: 25% test, random_state 0."""
    from sklearn import datasets
    from sklearn.model_selection import cross_val_score, train_test_split

    X, y = getattr(datasets, f"load_{data}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    if epochs:
        changes = merged(changes, {"training": {"epochs": epochs}})
    start = time.perf_counter()
    cv = cross_val_score(estimator_of(changes, seeds[0]), X_train, y_train, cv=folds)
    tests = [
        estimator_of(changes, seed).fit(X_train, y_train).score(X_test, y_test) for seed in seeds
    ]
    seconds = (time.perf_counter() - start) / (folds + len(seeds))
    return {"cv_accuracy": list(cv), "test_accuracy": tests, "seconds": seconds}


def summary(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.fmean(values):.1f} ± {100 * sd:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", choices=sorted(RECIPES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--only", help="comma-separated settings (default: all)")
    parser.add_argument("--validation-split", type=float, default=0.2)
    parser.add_argument("--epochs", type=int, help="instead of each recipe's")
    parser.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="choose by K-fold cross-validation on scikit-learn's training "
        "part (25%% test, random_state 0) instead of a validation split",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", help="also write the runs as JSON here")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    settings = settings_of(args.data)
    names = args.only.split(",") if args.only else list(settings)
    for name in names:  # "adamw+cosine": the base with those changes together
        if name not in settings:
            changes = RECIPES[args.data]["changes"] | RECIPES[args.data].get("sizes", {})
            unknown = [part for part in name.split("+") if part not in changes and part != "all"]
            if unknown:
                parser.error(
                    f"--only: unknown setting {unknown[0]!r}; expected one of "
                    f"{', '.join(settings)} or changes joined by '+'"
                )
            everything = RECIPES[args.data]["changes"].values()
            picked = [
                c
                for part in name.split("+")
                for c in (everything if part == "all" else [changes[part]])
            ]
            settings[name] = merged(RECIPES[args.data]["base"], *picked)
    results = {}
    score = (
        f"{args.cv}-fold CV accuracy % (seed {seeds[0]})" if args.cv else "validation accuracy %"
    )
    print(f"| setting | {score} | test accuracy % | seconds per run |")
    print("|---|---|---|---|")
    with threadpool_limits(args.threads):
        for name in names:
            if args.cv:
                found = cross_validated(args.data, settings[name], seeds, args.cv, args.epochs)
                scores, tests = found["cv_accuracy"], found["test_accuracy"]
            else:
                runs = [
                    run_once(args.data, settings[name], seed, args.validation_split, args.epochs)
                    for seed in seeds
                ]
                found = {"runs": runs, "seconds": statistics.fmean(r["seconds"] for r in runs)}
                scores = [r["val_accuracy"] for r in runs]
                tests = [r["test_accuracy"] for r in runs]
            results[name] = {"changes": settings[name], **found}
            print(
                f"| {name} | {summary(scores)} | {summary(tests)} | {found['seconds']:.0f} |",
                flush=True,
            )
            if args.out:
                with open(args.out, "w") as file:
                    json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
