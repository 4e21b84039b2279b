'''The files of a new assignment: a worked example of every kind of question.

The topic is a scale-and-shift layer (``out = gamma * x + beta``, as in
batch normalisation's last step), small enough to read at once and rich
enough to show a function call, a backward pass with a gradient check, a
numeric answer, a symbolic derivative and a public form check. Its answer
key lives in the assignment's own ``key/`` folder, which, like
``reference/``, never reaches students.
'''

from __future__ import annotations

import keyword
import re
from pathlib import Path

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check_names(name: str, module: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"an assignment name is letters, digits, '_' and '-' (e.g. 05_batchnorm), got {name!r}")
    if not module.isidentifier() or keyword.iskeyword(module):
        raise ValueError(f"--module is the student's file name without .py, a Python identifier "
                         f"(e.g. batchnorm), got {module!r}")


def default_module(name: str) -> str:
    """``05_batch-norm`` → ``batch_norm``: the name without its number, as an identifier."""
    stem = re.sub(r"^[0-9_-]+", "", name).replace("-", "_") or "solution"
    return stem if stem.isidentifier() and not keyword.iskeyword(stem) else f"a_{stem}"


MASTER = '''\
# %% [markdown]
# # {title}
#
# Conventions: arrays are batch-first (x is (N, D)), float64 throughout; a
# layer is a pair `*_forward(...) -> (out, cache)` and
# `*_backward(dout, cache) -> gradients` in the order of the forward's inputs.
#
# Run `dlgrade check {module}.py` (or `{module}.ipynb`) before you submit.

# %%
import numpy as np

# %% [markdown]
# ## 1. Scale and shift
#
# out = gamma * x + beta, with gamma and beta of shape (D,) broadcast over the
# batch. Return `(out, cache)`; the cache holds what the backward pass needs.


# %%
def scale_shift_forward(x, gamma, beta):
    """x: (N, D); gamma, beta: (D,). Returns (out (N, D), cache)."""
    # BEGIN SOLUTION
    # HINT: numpy broadcasts (D,) over the rows of an (N, D) array.
    out = gamma * x + beta
    cache = (x, gamma)
    return out, cache
    # END SOLUTION


# %% [markdown]
# ## 2. Its backward pass
#
# Given dout = dL/dout (N, D), return (dx, dgamma, dbeta): dL/dx (N, D),
# dL/dgamma (D,) and dL/dbeta (D,), summed over the batch.


# %%
def scale_shift_backward(dout, cache):
    """dout: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,))."""
    # BEGIN SOLUTION
    # HINT: gamma and beta are shared by every row: their gradients sum over the batch (axis 0).
    x, gamma = cache
    dx = dout * gamma
    dgamma = (dout * x).sum(axis=0)
    dbeta = dout.sum(axis=0)
    return dx, dgamma, dbeta
    # END SOLUTION


# %% [markdown]
# ## 3. A number
#
# The mean of the squares of 1, 2, 3 and 4, to 2 decimals.

# %%
MEAN_OF_SQUARES = 7.5  # SOLUTION

# %% [markdown]
# ## 4. A derivative, as an expression
#
# For the squared error L = (w*x - y)**2, give dL/dw as a string in w, x and y
# (e.g. "2*x").

# %%
DL_DW = "2*x*(w*x - y)"  # SOLUTION
'''

KEY = '''\
"""The answer key of this assignment: what reference/ does not cover.

questions.py imports it relatively (``from .key.scale_shift import ...``).
Like reference/, it never reaches students: not the template, not the kit,
not the Gradescope zip (which holds compiled data only), not the sandbox.
"""

import numpy as np


def scale_shift_forward(x, gamma, beta):
    """x: (N, D); gamma, beta: (D,). Returns (out (N, D), cache)."""
    return gamma * x + beta, (x, gamma)


def scale_shift_backward(dout, cache):
    """dout: (N, D). Returns (dx (N, D), dgamma (D,), dbeta (D,))."""
    x, gamma = cache
    return dout * gamma, np.sum(dout * x, axis=0), np.sum(dout, axis=0)
'''

QUESTIONS = '''\
"""{title}: one question of each kind (see docs/authoring.md).

Every expected value is computed, never typed: by the answer key in key/
(imported relatively, so it never reaches students), by numpy, by sympy.
Inputs come from each question's seeded generator ``q.rng``.
"""

import numpy as np
import sympy

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Form, Number

from .key.scale_shift import scale_shift_backward, scale_shift_forward

assignment = Assignment({name!r}, title={title!r}, module={module!r},
                        limits={{"wall_seconds": 60}})


# -- public: what `dlgrade check` runs on the student's machine (form, never the answer) --

@assignment.question(points=1, public=True)
def forward_shape(q):
    """scale_shift_forward returns (out, cache) with out of shape (N, D)"""
    x, gamma, beta = q.rng.normal(size=(3, 4)), q.rng.normal(size=4), q.rng.normal(size=4)
    q.call("scale_shift_forward", x, gamma, beta, pick=0, expected=None, check=Form(shape=(3, 4)),
           label="scale_shift_forward(3x4, 4, 4) out")


@assignment.question(points=1, public=True)
def number_is_filled_in(q):
    """MEAN_OF_SQUARES is a number"""
    q.answer("MEAN_OF_SQUARES", expected=None, check=Form())


# -- hidden: graded when the student submits -------------------------------------

@assignment.question(points=2)
def forward_values(q):
    """scale_shift_forward: the values, on a batch of 5 and on a batch of 1"""
    for n in (5, 1):
        x, gamma, beta = q.rng.normal(size=(n, 3)), q.rng.normal(size=3), q.rng.normal(size=3)
        q.call("scale_shift_forward", x, gamma, beta, pick=0,
               expected=scale_shift_forward(x, gamma, beta)[0], check=ArrayClose(rtol=1e-10, atol=1e-12))


@assignment.question(points=3)
def backward(q):
    """scale_shift_backward: dx, dgamma and dbeta, against the key and the student's own forward"""
    x, gamma, beta = q.rng.normal(size=(4, 3)), q.rng.normal(size=3), q.rng.normal(size=3)
    q.gradient("scale_shift_forward", "scale_shift_backward", x, gamma, beta,
               reference=(scale_shift_forward, scale_shift_backward), names=("dx", "dgamma", "dbeta"))


@assignment.question(points=1)
def mean_of_squares(q):
    """MEAN_OF_SQUARES, to 2 decimals"""
    q.answer("MEAN_OF_SQUARES", expected=float(np.mean(np.square([1.0, 2.0, 3.0, 4.0]))),
             check=Number(decimals=2))


@assignment.question(points=2)
def squared_error_derivative(q):
    """DL_DW: dL/dw of L = (w*x - y)**2"""
    w, x, y = sympy.symbols("w x y")
    q.expression("DL_DW", expected=sympy.diff((w * x - y) ** 2, w), symbols=("w", "x", "y"))
'''

INSTRUCTIONS = '''\
# {title}

Implement the functions and fill in the answers in `{module}.py` (or
`{module}.ipynb`: the same stubs as a notebook; hand in the one you work in).

1. `scale_shift_forward(x, gamma, beta)`: out = gamma * x + beta.
2. `scale_shift_backward(dout, cache)`: dx, dgamma and dbeta.
3. `MEAN_OF_SQUARES`: a number, to 2 decimals.
4. `DL_DW`: a derivative, as a string such as `"2*x"`.

Before you submit, run the public checks:

```
dlgrade check {module}.py
```

They test the form of your answers (shapes, that a number is a number);
hidden checks test the values when you submit.
'''

EXAMPLES = '''\
# Realistic submissions and the score each must get (out of 10). An example with
# `replace` is the master solution with those edits; `dlgrade generate` writes it to
# examples/NAME.py and `dlgrade validate` grades it and compares the score.

[[example]]
name = "reference"
about = "the master solution"
score = 10

[[example]]
name = "dbeta_not_summed"
about = "dbeta = dout, not summed over the batch: the wrong shape (N, D) for dbeta"
score = {dbeta_score}
[[example.replace]]
find = "dbeta = dout.sum(axis=0)"
with = "dbeta = dout"
'''

POLICY = '''\
# When the assignment accepts work and how lateness costs (see grader/course/policy.py).
# Every key is optional; uncomment and set the dates of your term.
# timezone = "Europe/Zurich"
# opens_at = 2026-01-12T09:00:00
# closes_at = 2026-01-26T23:59:00
late_grace_minutes = 5
late_penalty_per_day = 0.1   # 10 % per day or part of a day
late_max_days = 3            # later than this: scored 0
max_attempts = 5
counting = "best"
'''

# The score the example above gets: the backward question's one case gives 2 of its 3
# gradients, so it keeps 2 of 3 points (validate checks this against the grader).
DBETA_SCORE = "9"


def write_assignment(folder: Path, *, name: str, module: str, title: str) -> list[Path]:
    """Write a new assignment into ``folder`` (which must not exist); return the files written."""
    check_names(name, module)
    if folder.exists():
        raise FileExistsError(f"{folder} already exists: choose another name or remove it first")
    values = {"name": name, "module": module, "title": title, "dbeta_score": DBETA_SCORE}
    files = {
        "master.py": MASTER,
        "questions.py": QUESTIONS,
        "instructions.md": INSTRUCTIONS,
        "policy.toml": POLICY,
        "examples/examples.toml": EXAMPLES,
        "key/__init__.py": '"""This assignment\'s own answer key (never shipped to students)."""\n',
        "key/scale_shift.py": KEY,
    }
    written = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.format(**values) if "{" in text and relative != "key/scale_shift.py" else text)
        written.append(path)
    return written
