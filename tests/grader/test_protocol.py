"""The grading protocol (grader/engine/protocol.py): its types read and write the stored data
byte for byte, every reply kind has its words, and the otter helper words failures as the engine does."""

from __future__ import annotations

import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np
import pytest

from grader.engine import grading, protocol
from grader.engine.authoring import Case, slot
from grader.engine.checks import ArrayClose
from grader.engine.protocol import (
    CHILD_KINDS,
    FAILURE_KINDS,
    REPLY_KINDS,
    Assembly,
    Reply,
    Session,
    SlotRef,
    describe_failure,
    parse_request,
    shows_details,
)
from grader.engine.results import ERROR, FAILED, NOT_IMPLEMENTED, PASSED, TIMEOUT
from grader.engine.sandbox import SandboxSession
from grader.engine.sandbox.child import wire
from grader.engine.sheets import AnswerSheetSession

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "grader" / "course" / "export" / "dlgrade_otter.py"
SECRET = "SECRET-7f3a"


@pytest.fixture(scope="module")
def helper():
    spec = importlib.util.spec_from_file_location("dlgrade_otter_protocol_test", HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- reply kinds ---------------------------------------------------------------


def test_every_failure_kind_has_a_status_and_words_that_name_the_call():
    assert REPLY_KINDS[0] == "ok" and len(FAILURE_KINDS) == 13 and set(REPLY_KINDS) == {"ok", *FAILURE_KINDS}
    assert CHILD_KINDS == {"ok", "exception", "missing", "not_callable", "unsupported"}
    for kind in FAILURE_KINDS:
        failure = describe_failure(Reply.failure(kind, "ValueError: went wrong"), "dense_forward")
        assert failure.status in (ERROR, FAILED, NOT_IMPLEMENTED, TIMEOUT), kind
        assert failure.message and "{" not in failure.message, (kind, failure.message)
        # The grader's words name the function, or repeat the grader's own reason.
        assert "dense_forward" in failure.message or "went wrong" in failure.message, (kind, failure.message)


@pytest.mark.parametrize("kind, error, message", [
    ("timeout", "", "`f` did not finish in time (time limit): an infinite loop?"),
    ("crashed", "", "your program stopped while running `f` (the process ended)"),
    ("budget", "", "not graded: the submission used up its time budget"),
    ("missing", "no name 'f'", "`f` is not defined in your submission"),
    ("exception", "NotImplementedError: f: use the chain rule", "`f` is not implemented yet (hint: use the chain rule)"),
    ("exception", "Traceback (most recent call last):\n  File x\nKeyError: 'w'", "`f` raised KeyError: 'w'"),
    ("brand_new", "oops", "the grader could not read the answer of `f` (brand_new: oops)"),
])
def test_failures_are_worded_from_the_table(kind, error, message):
    assert describe_failure(Reply.failure(kind, error), "f").message == message


@pytest.mark.parametrize("kind", [k for k, v in FAILURE_KINDS.items() if v.hidden is not None])
def test_a_hidden_question_never_shows_text_the_student_chose(kind):
    reply = Reply.failure(kind, f"MyError: {SECRET}")
    shown = describe_failure(reply, "f", disclose=False)
    assert SECRET not in shown.message
    assert SECRET in shown.detail  # the instructor still sees it
    assert SECRET in describe_failure(reply, "f", disclose=True).message + describe_failure(reply, "f").detail


def test_a_hidden_exception_keeps_a_builtin_name_only():
    assert describe_failure(Reply.failure("exception", f"ValueError: {SECRET}"), "f", disclose=False).message \
        == "`f` raised ValueError (its message is not shown for a hidden question)"
    assert describe_failure(Reply.failure("exception", f"Leak{SECRET}: x"), "f", disclose=False).message \
        == "`f` raised an exception (its message is not shown for a hidden question)"


def test_the_disclosure_rule():
    assert shows_details("instructor", False) and shows_details("instructor", True)
    assert shows_details("student", True) and not shows_details("student", False)
    with pytest.raises(ValueError, match="view must be one of student, instructor"):
        shows_details("teacher", True)


# -- stored data ---------------------------------------------------------------


def test_every_stored_request_and_assembly_reads_and_writes_back_byte_for_byte():
    stored = sorted(ROOT.glob("student_template/*/checks/public.json"))
    assert stored
    kinds = set()
    for path in stored:
        for question in json.loads(path.read_text())["questions"]:
            for case in question["cases"]:
                request = parse_request(case["request"])
                kinds.add(request.kind)
                # Compiled files are written with sorted keys (grader.engine.datafile).
                assert json.dumps(request.to_data(), sort_keys=True) == json.dumps(case["request"], sort_keys=True), path
                assert Assembly.parse(case["assemble"]).to_data() == case["assemble"]
    assert {"call", "get"} <= kinds


def test_a_slot_reference_round_trips_through_the_stored_and_the_wire_form():
    ref = SlotRef("forward", 1)
    assert slot("forward", 1) == ref.to_data() == {"__slot__": "forward", "index": 1}
    assert SlotRef.from_data(ref.to_data()) == ref
    call = protocol.Call.from_data({"fn": "backward", "args": [np.ones(2), ref.to_data()], "kwargs": {}})
    assert call.args[1] == ref and call.to_data()["args"][1] == ref.to_data()
    obj, arrays = wire.encode([ref], tuples=True, special=lambda v: v.to_wire() if isinstance(v, SlotRef) else None)
    (marker,) = wire.decode(obj, {}, request=True)
    assert (marker.name, marker.index) == (ref.slot, ref.index)
    with pytest.raises(TypeError, match="non-empty str"):
        SlotRef("")


def test_bad_requests_and_assemblies_are_refused_by_name():
    with pytest.raises(ValueError, match="unknown request kind 'shell': expected one of call, get, task, trainer"):
        parse_request({"kind": "shell"})
    with pytest.raises(ValueError, match="'value', 'gradient' or 'field:PATH', got 'field:'"):
        Assembly.parse("field:")
    with pytest.raises(ValueError, match="got 'values'"):
        Assembly.parse("values")


# -- the otter helper speaks the engine's words ----------------------------------


def _student(x):
    raise ValueError(f"bad shape {SECRET}")


def _not_done(x):
    raise NotImplementedError("_not_done: start from the forward pass")


ENV = {"raises": _student, "not_done": _not_done, "opaque": lambda x: object(), "constant": 3,
       "ANSWER": None, "pair": lambda x: (x, 1)}


@pytest.mark.parametrize("request_data, assemble", [
    ({"kind": "call", "calls": [{"fn": "raises", "args": [1], "kwargs": {}, "keep": None, "pick": None}]}, "value"),
    ({"kind": "call", "calls": [{"fn": "not_done", "args": [1], "kwargs": {}, "keep": None, "pick": None}]}, "value"),
    ({"kind": "call", "calls": [{"fn": "absent", "args": [1], "kwargs": {}, "keep": None, "pick": None}]}, "value"),
    ({"kind": "call", "calls": [{"fn": "constant", "args": [1], "kwargs": {}, "keep": None, "pick": None}]}, "value"),
    ({"kind": "call", "calls": [{"fn": "opaque", "args": [1], "kwargs": {}, "keep": None, "pick": None}]}, "value"),
    ({"kind": "call", "calls": [{"fn": "pair", "args": [1], "kwargs": {}, "keep": None, "pick": 5}]}, "value"),
    ({"kind": "get", "name": "ANSWER"}, "value"),
    ({"kind": "get", "name": "MISSING"}, "value"),
    ({"kind": "call", "calls": [{"fn": "pair", "args": [2], "kwargs": {}, "keep": "p", "pick": 0},
                                {"fn": "raises", "args": [slot("p", 1)], "kwargs": {}, "keep": None,
                                 "pick": None}]}, "gradient"),
])
def test_the_otter_helper_and_the_engine_word_a_failure_the_same(helper, request_data, assemble):
    replies = helper.send(ENV, request_data)
    case = Case("c", request_data, {"directions": []}, ArrayClose(), assemble=assemble,
                meta={"single_gradient": True, "value_and_grad": False})
    _, engine = grading.assemble(case, replies)
    assert engine is not None and engine.status != PASSED
    with pytest.raises(helper.CaseFailure) as failed:
        helper.assemble(case.to_data(), replies)
    assert str(failed.value) == engine.message


def test_the_otter_helper_assembles_a_field_path_as_the_engine_does(helper):
    replies = [Reply.success({"history": {"loss": [0.5, 0.25]}})]
    data = {"request": {"kind": "task", "task": "t", "params": {}, "target": "train"}, "assemble": "field:history.loss.-1",
            "expected": None, "meta": {}}
    assert helper.assemble(data, replies) == 0.25
    case = Case("c", data["request"], None, ArrayClose(), assemble=data["assemble"])
    assert grading.assemble(case, replies) == (0.25, None)


# -- sessions ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SandboxSession, AnswerSheetSession])
def test_both_sessions_have_the_session_protocols_methods(cls):
    for name in ("call", "get", "task", "close", "__enter__", "__exit__"):
        wanted = list(inspect.signature(getattr(Session, name)).parameters)
        assert list(inspect.signature(getattr(cls, name)).parameters) == wanted, (cls.__name__, name)
    for name in ("stdout", "stderr"):
        assert isinstance(inspect.getattr_static(cls, name), property), (cls.__name__, name)


def test_an_answer_sheet_session_is_a_session(tmp_path):
    sheet = tmp_path / "answers.toml"
    sheet.write_text("LOSS = 0.5\n")
    with AnswerSheetSession(sheet) as session:
        assert isinstance(session, Session)
        assert session.get("LOSS").value == 0.5
