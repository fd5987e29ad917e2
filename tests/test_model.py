"""The predictors: the seed rule exactly, and the committed logreg artifact reproducible from the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps import model
from apps.model import (
    FOREST_CARD,
    LOGREG_ARTIFACT,
    MODEL_NAMES,
    Sex,
    load_batch_model,
    load_forest,
    load_model,
    predict_rule,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "titanic.csv"
needs_data = pytest.mark.skipif(not DATA.is_file(), reason=f"training data not found at {DATA}")


@pytest.mark.parametrize("age", [0, 5, 9, 10, 11, 40, 120])
@pytest.mark.parametrize("sex", ["M", "F"])
def test_rule_is_the_seed_model(age: int, sex: str) -> None:
    assert predict_rule(age, sex) == {"survived": int(age < 10 or sex == "F")}  # type: ignore[arg-type]


def test_unknown_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        load_model("forest")


def test_logreg_probability_falls_with_age_and_favours_women() -> None:
    predict = load_model("logreg")
    assert predict(30, "F")["probability"] > predict(30, "M")["probability"]
    assert predict(5, "M")["probability"] > predict(60, "M")["probability"]
    assert {predict(age, "F")["survived"] for age in range(0, 121, 10)} == {1}


@needs_data
def test_committed_artifact_matches_a_retrain(tmp_path: Path) -> None:
    from apps.train import main

    assert main(["--data", str(DATA), "--out-dir", str(tmp_path)]) == 0
    out = tmp_path / "logreg.json"
    retrained, committed = json.loads(out.read_text()), json.loads(LOGREG_ARTIFACT.read_text())
    assert retrained["data_sha256"] == committed["data_sha256"]
    assert retrained["training_rows"] == 891 and retrained["imputed_age_rows"] == 177
    assert retrained["intercept"] == pytest.approx(committed["intercept"], abs=1e-6)
    for name, weight in committed["coefficients"].items():
        assert retrained["coefficients"][name] == pytest.approx(weight, abs=1e-6)


@needs_data
def test_pure_python_serving_agrees_with_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    from apps.train import SEED, read_passengers

    ages, is_female, survived = read_passengers(DATA)
    known = [(age, female) for age, female in zip(ages, is_female, strict=True) if age is not None]
    median_age = json.loads(LOGREG_ARTIFACT.read_text())["encoding"]["median_age"]
    classifier = LogisticRegression(random_state=SEED).fit(
        [[median_age if age is None else age, female] for age, female in zip(ages, is_female, strict=True)], survived
    )
    predict = load_model("logreg")
    whole = [
        (row, p) for row, p in zip(known, classifier.predict_proba(known)[:, 1], strict=True) if row[0] == int(row[0])
    ]
    assert len(whole) > 650  # of 714 known ages, all but the fractional ones are compared
    for (age, female), probability in whole:
        assert predict(int(age), "F" if female else "M")["probability"] == pytest.approx(probability, abs=1e-6)


def test_forest_loads_from_its_committed_file_and_agrees_with_the_training_run() -> None:
    card = json.loads(FOREST_CARD.read_text())
    predict = load_model("sklearn")
    whole_years = [row for row in card["held_out"] if row["age"] == int(row["age"])]
    assert len(card["held_out"]) == 179 and len(whole_years) > 150
    for row in whole_years:
        served = predict(int(row["age"]), "F" if row["is_female"] else "M")
        assert served["probability"] == pytest.approx(row["probability"], abs=1e-6)
        assert served["survived"] == int(row["probability"] > 0.5)


def test_forest_refuses_a_file_with_types_it_does_not_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model, "FOREST_TRUSTED_TYPES", frozenset())
    with pytest.raises(ValueError, match=r"not trusted: sklearn\.tree\._tree\.Tree"):
        load_forest()


@needs_data
def test_committed_forest_matches_a_retrain(tmp_path: Path) -> None:
    from apps.train import main

    assert main(["--data", str(DATA), "--out-dir", str(tmp_path)]) == 0
    retrained, committed = json.loads((tmp_path / FOREST_CARD.name).read_text()), json.loads(FOREST_CARD.read_text())
    assert retrained["data_sha256"] == committed["data_sha256"]
    assert [(row["age"], row["is_female"]) for row in retrained["held_out"]] == [
        (row["age"], row["is_female"]) for row in committed["held_out"]
    ]
    assert [row["probability"] for row in retrained["held_out"]] == pytest.approx(
        [row["probability"] for row in committed["held_out"]], abs=1e-9
    )
    assert retrained["held_out_accuracy"] == committed["held_out_accuracy"]
    predict = load_forest(tmp_path / "forest.skops")
    assert predict(8, "M") == load_model("sklearn")(8, "M")


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_batch_is_answered_as_each_passenger_alone(name: str) -> None:
    passengers: list[tuple[int, Sex]] = [(age, sex) for age in (0, 5, 9, 10, 28, 61, 120) for sex in ("M", "F")]
    predict = load_model(name)
    assert load_batch_model(name)(passengers) == [predict(age, sex) for age, sex in passengers]
