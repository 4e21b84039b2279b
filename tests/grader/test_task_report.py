"""A harness task's report keeps known metrics, one value per epoch asked for, plain numbers."""

from __future__ import annotations

import json

from grader.engine.task_report import task_report


def test_a_history_bomb_is_cut_to_the_known_metrics_and_the_epochs_asked_for():
    bomb = {f"metric_{k}": [0.5] * 10_000 for k in range(6_000)}
    bomb["loss"] = [1.0 / (e + 1) for e in range(10_000)]
    bomb["val_accuracy"] = [0.9] * 3
    reply = {"history": bomb, "seconds": 12.5, "epochs": 10_000, "batch_size": 32, "predictions": [1, 2]}
    report = task_report(reply, {"epochs": 15})
    assert set(report["history"]) == {"loss", "val_accuracy"}
    assert report["history"]["loss"] == [1.0 / (e + 1) for e in range(15)]
    assert report["history"]["val_accuracy"] == [0.9] * 3
    assert report["seconds"] == 12.5 and report["batch_size"] == 32 and "predictions" not in report
    assert len(json.dumps(report)) < 2_000


def test_malformed_history_values_are_left_out():
    reply = {"history": {"loss": [1.0, "x"], "accuracy": [True], "val_loss": "nope", "acc": [0.5, float("nan")]},
             "seconds": float("inf"), "epochs": 2**80, "batch_size": "32"}
    report = task_report(reply, {})
    assert report == {"history": {"acc": [0.5, report["history"]["acc"][1]]}}
    assert task_report(["not", "a", "dict"], {"epochs": 3}) == {}
