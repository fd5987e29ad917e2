"""The predictors, framework-free.

``rule`` is the seed model; ``logreg`` is a logistic regression on age and sex, served in pure Python
from the committed JSON artifact that ``python -m apps.train`` writes; ``sklearn`` is a scikit-learn
random forest on the same features, loaded with skops (never unpickled) and called as a data scientist
would call it, one ``predict_proba`` per request. ``load_batch_model`` answers many passengers in one call,
for a server that batches requests (LitServe): the forest in one ``predict_proba``, the others one by one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

Sex = Literal["M", "F"]
Prediction = dict[str, int | float]
Predictor = Callable[[int, Sex], Prediction]
BatchPredictor = Callable[[Sequence[tuple[int, Sex]]], list[Prediction]]

ARTIFACTS = Path(__file__).parent / "artifacts"
LOGREG_ARTIFACT = ARTIFACTS / "logreg.json"
FOREST_ARTIFACT = ARTIFACTS / "forest.skops"
FOREST_CARD = ARTIFACTS / "forest.json"  # how it was trained, and its predictions on held-out rows
# The one type in the skops file that skops does not trust by default; anything else is refused.
FOREST_TRUSTED_TYPES = frozenset({"sklearn.tree._tree.Tree"})
MODEL_NAMES = ("rule", "logreg", "sklearn")
DEFAULT_MODEL = "rule"


def predict_rule(age: int, sex: Sex) -> Prediction:
    """The seed model, exactly: survived if younger than 10 or female."""
    return {"survived": 1 if age < 10 or sex == "F" else 0}


def load_logreg(path: Path = LOGREG_ARTIFACT) -> Predictor:
    """Read the logistic-regression artifact and return its predictor."""
    artifact = json.loads(path.read_text())
    intercept = float(artifact["intercept"])
    age_weight = float(artifact["coefficients"]["age"])
    female_weight = float(artifact["coefficients"]["is_female"])
    threshold = float(artifact["threshold"])

    def predict_logreg(age: int, sex: Sex) -> Prediction:
        logit = intercept + age_weight * age + (female_weight if sex == "F" else 0.0)
        probability = 1.0 / (1.0 + math.exp(-logit))
        return {"survived": 1 if probability >= threshold else 0, "probability": round(probability, 6)}

    return predict_logreg


def read_forest(path: Path = FOREST_ARTIFACT) -> Any:
    """The random forest from its skops file, trusting only the types it is known to hold."""
    from skops.io import get_untrusted_types, load

    untrusted = get_untrusted_types(file=path)
    unexpected = sorted(set(untrusted) - FOREST_TRUSTED_TYPES)
    if unexpected:
        raise ValueError(f"{path} holds types that are not trusted: {', '.join(unexpected)}")
    return load(path, trusted=untrusted)


def forest_answer(probability: float) -> Prediction:
    # survived as forest.predict says: the more probable class, the first one (0) on a tie
    return {"survived": 1 if probability > 0.5 else 0, "probability": round(probability, 6)}


def load_forest(path: Path = FOREST_ARTIFACT) -> Predictor:
    forest = read_forest(path)

    def predict_forest(age: int, sex: Sex) -> Prediction:
        return forest_answer(float(forest.predict_proba([[age, 1 if sex == "F" else 0]])[0][1]))

    return predict_forest


def load_model(name: str) -> Predictor:
    """Return the predictor called ``name`` (one of ``MODEL_NAMES``)."""
    if name == "rule":
        return predict_rule
    if name == "logreg":
        return load_logreg()
    if name == "sklearn":
        return load_forest()
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


def load_batch_model(name: str) -> BatchPredictor:
    """The predictor called ``name``, for many passengers at once: the answers ``load_model(name)`` gives."""
    if name == "sklearn":
        forest = read_forest()

        def predict_forest_batch(passengers: Sequence[tuple[int, Sex]]) -> list[Prediction]:
            rows = [[age, 1 if sex == "F" else 0] for age, sex in passengers]
            return [forest_answer(float(p)) for p in forest.predict_proba(rows)[:, 1]]

        return predict_forest_batch
    predict = load_model(name)
    return lambda passengers: [predict(age, sex) for age, sex in passengers]


MODEL_ENV_VAR = "TITANIC_MODEL"


def model_from_env() -> Predictor:
    """The predictor named by ``$TITANIC_MODEL`` (``rule`` when unset): how servers choose at start-up."""
    return load_model(os.environ.get(MODEL_ENV_VAR, DEFAULT_MODEL))
