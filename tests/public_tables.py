"""Generated files with the properties of two well-known public tables, for tests that
need real-looking data (nothing is downloaded).

``passengers``: like the Titanic passenger list of Kaggle's "Titanic" competition
(train.csv: 891 rows; PassengerId, Survived, Pclass, Name, Sex, Age, SibSp, Parch,
Ticket, Fare, Cabin, Embarked; 177 ages and 687 cabins empty, 2 ports empty, 342
survivors). Survival depends on sex, class and age as in the published table.

``census``: like UCI's "Adult" census extract (adult.data: ``, `` separators, ``?`` for a
missing workclass, occupation or native country, about 24% earning >50K).
"""

from __future__ import annotations

import csv

import numpy as np

FIRST = ["Owen", "John", "William", "Mary", "Anna", "Elizabeth", "James", "Margaret"]
LAST = ["Braund", "Cumings", "Heikkinen", "Futrelle", "Allen", "Moran", "McCarthy", "Palsson"]


def passengers(m: int = 891, seed: int = 0, *, survived: bool = True) -> dict:
    """Columns of a Titanic-like table (in its column order), ``m`` rows."""
    rng = np.random.default_rng(seed)
    pclass = rng.choice([1, 2, 3], m, p=[0.24, 0.21, 0.55])
    sex = rng.choice(["male", "female"], m, p=[0.65, 0.35])
    age = np.clip(rng.normal(30, 14, m), 0.4, 80).round(1)
    age[rng.random(m) < 177 / 891] = np.nan
    sibsp = rng.choice([0, 1, 2, 3, 4], m, p=[0.68, 0.23, 0.04, 0.03, 0.02])
    parch = rng.choice([0, 1, 2, 3], m, p=[0.76, 0.13, 0.09, 0.02])
    fare = np.round(rng.lognormal(np.log(np.array([60, 20, 9]))[pclass - 1], 0.5), 4)
    cabin = np.array([f"{rng.choice(list('ABCDEF'))}{rng.integers(1, 150)}" for _ in range(m)])
    cabin = np.where((rng.random(m) < 687 / 891) & (pclass > 1) | (rng.random(m) < 0.3), "", cabin)
    embarked = rng.choice(["S", "C", "Q"], m, p=[0.72, 0.19, 0.09]).astype(object)
    embarked[rng.choice(m, 2, replace=False)] = ""
    names = [
        f"{LAST[i % 8]}, {'Mr.' if s == 'male' else 'Mrs.'} {FIRST[(i // 8) % 8]} {i}"
        for i, s in enumerate(sex)
    ]
    # Women and children first, and the upper classes: the table's well-known pattern.
    known_age = np.nan_to_num(age, nan=30)
    logit = -1.2 + 2.6 * (sex == "female") - 0.9 * (pclass - 2) - 0.03 * (known_age - 30)
    columns = {
        "PassengerId": np.arange(1, m + 1),
        "Survived": (rng.random(m) < 1 / (1 + np.exp(-logit))).astype(int),
        "Pclass": pclass,
        "Name": names,
        "Sex": sex,
        "Age": age,
        "SibSp": sibsp,
        "Parch": parch,
        "Ticket": tickets(rng, m),
        "Fare": fare,
        "Cabin": cabin,
        "Embarked": embarked,
    }
    if not survived:
        del columns["Survived"]
    return columns


def tickets(rng, m: int) -> list[str]:
    """Numbers ("113803"), or a prefix and a number ("PC 17599"); some shared by families."""
    prefixes = ["", "", "", "PC ", "A/5 ", "STON/O2. ", "C.A. ", "SOTON/OQ "]
    own = [f"{rng.choice(prefixes)}{rng.integers(1000, 400000)}" for _ in range(m)]
    return [own[i - 1] if i and rng.random() < 0.2 else own[i] for i in range(m)]


WORKCLASS = ["Private", "Self-emp-not-inc", "Local-gov", "State-gov", "Self-emp-inc", "?"]
EDUCATION = ["HS-grad", "Some-college", "Bachelors", "Masters", "Assoc-voc", "11th", "Doctorate"]
OCCUPATION = ["Prof-specialty", "Craft-repair", "Exec-managerial", "Adm-clerical", "Sales", "?"]
COUNTRY = ["United-States", "Mexico", "Philippines", "Germany", "?"]


def census(m: int = 2000, seed: int = 0) -> dict:
    """Columns of an Adult-like census table, ``m`` rows, ``?`` marking missing text."""
    rng = np.random.default_rng(seed)
    age = rng.integers(17, 90, m)
    education = rng.choice(EDUCATION, m, p=[0.33, 0.23, 0.17, 0.06, 0.05, 0.12, 0.04])
    years = {e: y for e, y in zip(EDUCATION, [9, 10, 13, 14, 11, 7, 16], strict=True)}
    education_num = np.array([years[e] for e in education])
    hours = np.clip(rng.normal(40, 12, m), 1, 99).round()
    sex = rng.choice(["Male", "Female"], m, p=[0.67, 0.33])
    logit = -9.0 + 0.45 * education_num + 0.04 * age + 0.03 * hours + 0.8 * (sex == "Male")
    return {
        "age": age,
        "workclass": rng.choice(WORKCLASS, m, p=[0.70, 0.08, 0.06, 0.04, 0.06, 0.06]),
        "fnlwgt": rng.integers(12285, 1484705, m),
        "education": education,
        "education-num": education_num,
        "occupation": rng.choice(OCCUPATION, m, p=[0.25, 0.25, 0.2, 0.15, 0.09, 0.06]),
        "sex": sex,
        "hours-per-week": hours,
        "native-country": rng.choice(COUNTRY, m, p=[0.9, 0.03, 0.02, 0.03, 0.02]),
        "income": np.where(rng.random(m) < 1 / (1 + np.exp(-logit)), ">50K", "<=50K"),
    }


def write_csv(path, columns: dict, separator: str = ",") -> None:
    """Write columns as a CSV: numbers as Python writes them, NaN as an empty cell."""
    names = list(columns)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*(columns[n] for n in names), strict=True):
            cells = ["" if isinstance(v, float) and v != v else str(v) for v in row]
            writer.writerow(cells)
    if separator != ",":  # the census file's ", ": rewrite the rows (no cell holds a comma)
        text = open(path).read().replace(",", separator)
        open(path, "w").write(text)
