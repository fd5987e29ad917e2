"""The predictors, framework-free and pure Python on the request path.

``rule`` is the seed model; ``logreg`` is a logistic regression on age and sex read from the
committed JSON artifact that ``python -m apps.train`` writes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

Sex = Literal["M", "F"]
Prediction = dict[str, int | float]
Predictor = Callable[[int, Sex], Prediction]

ARTIFACTS = Path(__file__).parent / "artifacts"
LOGREG_ARTIFACT = ARTIFACTS / "logreg.json"
MODEL_NAMES = ("rule", "logreg")
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


def load_model(name: str) -> Predictor:
    """Return the predictor called ``name`` (one of ``MODEL_NAMES``)."""
    if name == "rule":
        return predict_rule
    if name == "logreg":
        return load_logreg()
    raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")


MODEL_ENV_VAR = "TITANIC_MODEL"


def model_from_env() -> Predictor:
    """The predictor named by ``$TITANIC_MODEL`` (``rule`` when unset): how servers choose at start-up."""
    return load_model(os.environ.get(MODEL_ENV_VAR, DEFAULT_MODEL))
