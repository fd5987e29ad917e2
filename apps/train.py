"""Train the logistic regression and write its small JSON artifact.

    python -m apps.train --data ../shared/data/titanic.csv

Features are age and sex. Passengers with no recorded age are kept: their age is imputed with the
median age of the passengers that have one, and the artifact records how many were imputed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from apps.model import LOGREG_ARTIFACT

SEED = 20261126
THRESHOLD = 0.5


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


def train(data: Path) -> dict[str, Any]:
    """Fit the model on ``data`` and return the artifact as a JSON-ready dict."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    ages, is_female, survived = read_passengers(data)
    median_age = statistics.median(age for age in ages if age is not None)
    features = [[median_age if age is None else age, female] for age, female in zip(ages, is_female, strict=True)]
    classifier = LogisticRegression(random_state=SEED).fit(features, survived)
    return {
        "model": "logreg",
        "features": ["age", "is_female"],
        "encoding": {"is_female": {"F": 1, "M": 0}, "missing_age": "median", "median_age": median_age},
        "intercept": float(classifier.intercept_[0]),
        "coefficients": {"age": float(classifier.coef_[0][0]), "is_female": float(classifier.coef_[0][1])},
        "threshold": THRESHOLD,
        "training_rows": len(survived),
        "imputed_age_rows": sum(age is None for age in ages),
        "training_accuracy": round(float(classifier.score(features, survived)), 6),
        "seed": SEED,
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "trainer": f"scikit-learn {sklearn.__version__} LogisticRegression (lbfgs, L2, C=1.0)",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m apps.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="path to titanic.csv")
    parser.add_argument("--out", type=Path, default=LOGREG_ARTIFACT, help="artifact to write")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.exit(2, f"error: no such file: {args.data}\n")
    artifact = train(args.data)
    args.out.write_text(json.dumps(artifact, indent=2) + "\n")
    print(f"wrote {args.out}: {artifact['training_rows']} rows, accuracy {artifact['training_accuracy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
