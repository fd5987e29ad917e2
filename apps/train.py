"""Train the models and write their small artifacts into ``apps/artifacts/``.

    python -m apps.train --data ../shared/data/titanic.csv

Features are age and sex. Passengers with no recorded age are kept: their age is imputed with the
median age of the passengers that have one, and the artifacts record how many were imputed.
- ``logreg.json``: a logistic regression fitted on every passenger, served in pure Python.
- ``forest.skops`` and ``forest.json``: a 100-tree random forest fitted on 80% of the passengers; the
  card holds the other 20% (held out, stratified) with the forest's predictions on them, against which
  the committed file is checked.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import sys
import zipfile
from pathlib import Path
from typing import Any

from apps.model import ARTIFACTS, FOREST_ARTIFACT, FOREST_CARD, LOGREG_ARTIFACT

SEED = 20261126
THRESHOLD = 0.5
FOREST_TREES = 100
FOREST_DEPTH = 6  # keeps the committed file small (0.3 MB compressed); the cost per request is much the same
HELD_OUT_SHARE = 0.2


def read_passengers(data: Path) -> tuple[list[float | None], list[int], list[int]]:
    """Ages (None where unknown), is_female flags and survival labels, one per CSV row."""
    ages: list[float | None] = []
    is_female: list[int] = []
    survived: list[int] = []
    with data.open(newline="") as handle:
        for row in csv.DictReader(handle):
            ages.append(float(row["age"]) if row["age"] else None)
            is_female.append(1 if row["sex"] == "female" else 0)
            survived.append(int(row["survived"]))
    return ages, is_female, survived


def features_of(data: Path) -> tuple[list[list[float]], list[int], float, int]:
    """Rows of [age, is_female] with missing ages imputed, labels, the median age, and how many were imputed."""
    ages, is_female, survived = read_passengers(data)
    median_age = statistics.median(age for age in ages if age is not None)
    features = [[median_age if age is None else age, female] for age, female in zip(ages, is_female, strict=True)]
    return features, survived, median_age, sum(age is None for age in ages)


def train_logreg(data: Path) -> dict[str, Any]:
    """Fit the logistic regression on every passenger and return its artifact as a JSON-ready dict."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    features, survived, median_age, imputed = features_of(data)
    classifier = LogisticRegression(random_state=SEED).fit(features, survived)
    return {
        "model": "logreg",
        "features": ["age", "is_female"],
        "encoding": {"is_female": {"F": 1, "M": 0}, "missing_age": "median", "median_age": median_age},
        "intercept": float(classifier.intercept_[0]),
        "coefficients": {"age": float(classifier.coef_[0][0]), "is_female": float(classifier.coef_[0][1])},
        "threshold": THRESHOLD,
        "training_rows": len(survived),
        "imputed_age_rows": imputed,
        "training_accuracy": round(float(classifier.score(features, survived)), 6),
        "seed": SEED,
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "trainer": f"scikit-learn {sklearn.__version__} LogisticRegression (lbfgs, L2, C=1.0)",
    }


def train_forest(data: Path, out: Path) -> dict[str, Any]:
    """Fit the random forest on 80% of the passengers, write it with skops, and return its card."""
    import sklearn
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split
    from skops.io import dump

    features, survived, median_age, imputed = features_of(data)
    fit_rows, held_rows, fit_labels, held_labels = train_test_split(
        features, survived, test_size=HELD_OUT_SHARE, random_state=SEED, stratify=survived
    )
    forest = RandomForestClassifier(n_estimators=FOREST_TREES, max_depth=FOREST_DEPTH, random_state=SEED)
    forest.fit(fit_rows, fit_labels)
    dump(forest, out, compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    return {
        "model": "sklearn",
        "estimator": f"RandomForestClassifier(n_estimators={FOREST_TREES}, max_depth={FOREST_DEPTH})",
        "features": ["age", "is_female"],
        "encoding": {"is_female": {"F": 1, "M": 0}, "missing_age": "median", "median_age": median_age},
        "training_rows": len(fit_rows),
        "imputed_age_rows": imputed,
        "held_out_accuracy": round(float(forest.score(held_rows, held_labels)), 6),
        "held_out": [
            {"age": age, "is_female": int(female), "probability": float(probability)}
            for (age, female), probability in zip(held_rows, forest.predict_proba(held_rows)[:, 1], strict=True)
        ],
        "seed": SEED,
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "trainer": f"scikit-learn {sklearn.__version__}, saved with skops",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="path to titanic.csv")
    parser.add_argument("--out-dir", type=Path, default=ARTIFACTS, help="where the artifacts go")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.exit(2, f"error: no such file: {args.data}\n")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    logreg = train_logreg(args.data)
    (args.out_dir / LOGREG_ARTIFACT.name).write_text(json.dumps(logreg, indent=2) + "\n")
    print(f"logreg: {logreg['training_rows']} rows, training accuracy {logreg['training_accuracy']}")
    card = train_forest(args.data, args.out_dir / FOREST_ARTIFACT.name)
    (args.out_dir / FOREST_CARD.name).write_text(json.dumps(card, indent=2) + "\n")
    print(f"sklearn forest: {card['training_rows']} rows, held-out accuracy {card['held_out_accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
