"""validate treats every question that runs a Keras task as costly, wherever the task runs.

Assignment 04 grades its model in the grader's trainer process (``trainer``
requests) and not in the student's (``task`` requests); both kinds are left
out by ``--no-tasks`` and exempt from mutation testing, as the docs promise.
"""

from __future__ import annotations

from grader.course.validate.proof import mutation_targets, without_tasks
from grader.engine.authoring import load_assignment
from grader.engine.protocol import runs_a_model

MODEL_QUESTIONS = {"model_io", "model_compiled", "model_architecture", "output_probabilities", "trained_accuracy"}


def test_the_trainers_questions_count_as_model_questions():
    compiled = load_assignment("04_keras_mnist").compile()
    kept, dropped = without_tasks(compiled)
    assert set(dropped) == MODEL_QUESTIONS
    assert not any(runs_a_model(case.request) for q in kept.questions for case in q.cases)
    by_name = {q.name: q for q in compiled.questions}
    assert all(mutation_targets(by_name[name]) == [] for name in MODEL_QUESTIONS)
    assert mutation_targets(by_name["preprocess_pixels"]) == ["preprocess"]


def test_runs_a_model_reads_the_stored_kind():
    assert runs_a_model({"kind": "trainer", "export": {}, "task": "keras_train_saved", "params": {}})
    assert runs_a_model({"kind": "task", "task": "keras_describe", "params": {}})
    assert not runs_a_model({"kind": "call", "calls": []})
    assert not runs_a_model("trainer")
