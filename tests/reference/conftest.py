"""Shared fixtures of the reference tests."""

import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fixed-seed generator, fresh for every test (tests do not depend on their order)."""
    return np.random.default_rng(20240917)


@pytest.fixture(scope="session")
def tf():
    """TensorFlow, imported once per test session (the import takes seconds)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    return tensorflow
