"""The reports' figures, drawn with matplotlib's Agg canvas (no pyplot, no display, no global state).

Every function takes plain data and returns PNG bytes, small (a few to a few
tens of kilobytes): figures are a few inches wide at 100 dpi, with few colours.
"""

from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np

DPI = 100
GREY, RED, GREEN, AMBER, BLUE = "#e6e9ed", "#cf222e", "#1f883d", "#d4a72c", "#0969da"
MAX_PANELS = 8


def _new(width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None},
                bbox_inches="tight", pad_inches=0.06)
    return buffer.getvalue()


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


# --------------------------------------------------------------------------
# Arrays: where the output differs
# --------------------------------------------------------------------------


def panels(shape: Sequence[int]) -> list[tuple[str, tuple]]:
    """2-D slices to draw an array of ``shape``: (title, index) pairs, index a tuple of ints and slices.

    1-D and 2-D arrays are one panel; 3-D arrays one panel per index of the
    first axis; 4-D arrays are taken as images (N, H, W, C), one panel per
    image and channel; more axes are indexed until four are left.
    """
    shape = tuple(int(s) for s in shape)
    full = slice(None)
    if len(shape) <= 2:
        return [("", ())]
    if len(shape) == 3:
        return [(f"[{i}, :, :]", (i,)) for i in range(shape[0])]
    lead = shape[:-4] if len(shape) > 4 else ()
    out = []
    for head in np.ndindex(*lead) if lead else [()]:
        for n in range(shape[-4]):
            for c in range(shape[-1]):
                idx = tuple(head) + (n, full, full, c)
                title = "[" + ", ".join([*(str(h) for h in head), str(n), ":", ":", str(c)]) + "]"
                out.append((title, idx))
    return out


def as_2d(a: np.ndarray) -> np.ndarray:
    """A 0-, 1- or 2-D array as 2-D; a long 1-D array wrapped into rows of 16 (padding is NaN)."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return a.reshape(1, 1)
    if a.ndim == 1:
        width = min(a.size, 16) or 1
        rows = math.ceil(a.size / width)
        padded = np.full(rows * width, np.nan)
        padded[: a.size] = a
        return padded.reshape(rows, width)
    return a


def array_figure(wrong: np.ndarray, magnitude: np.ndarray | None = None, *, title: str = "") -> tuple[bytes, str]:
    """Where an array is wrong: a mask (wrong elements red), or |yours − expected| when ``magnitude`` is given.

    Returns (PNG, a text saying which slices are drawn). At most
    ``MAX_PANELS`` slices are drawn, those holding wrong elements first.
    """
    from matplotlib.colors import ListedColormap

    wrong = np.asarray(wrong, dtype=bool)
    chosen = panels(wrong.shape)
    with_wrong = [p for p in chosen if np.any(wrong[p[1]])]
    without = [p for p in chosen if not np.any(wrong[p[1]])]
    shown = (with_wrong + without)[:MAX_PANELS]
    shown.sort(key=lambda p: chosen.index(p))
    note = ""
    if len(chosen) > 1:
        note = (f"{len(shown)} of {len(chosen)} slices shown; {len(with_wrong)} hold wrong elements"
                if len(shown) < len(chosen) else f"{len(chosen)} slices, {len(with_wrong)} with wrong elements")
    cols = min(len(shown), 4)
    rows = math.ceil(len(shown) / cols)
    first = as_2d(wrong[shown[0][1]])
    h, w = first.shape
    extra = 0.9 if magnitude is not None else 0.0
    cell = min(0.3, 2.4 / max(w, 1), 2.0 / max(h, 1), (6.6 - extra) / cols / max(w, 1) - 0.3 / max(w, 1))
    pw = max(1.0, w * cell + 0.3)
    ph = max(0.7, h * cell + 0.35)
    fig = _new(cols * pw + extra + 0.1, min(6.0, rows * ph + 0.1))
    cmap_mask = ListedColormap([GREY, RED])
    image = None
    vmax = None
    if magnitude is not None:
        mag = np.asarray(magnitude, dtype=np.float64)
        finite = mag[np.isfinite(mag)]
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(shown):
            ax.set_visible(False)
            continue
        label, idx = shown[k]
        m2 = as_2d(wrong[idx])
        if magnitude is not None:
            part = mag[idx]
            data = np.ma.masked_invalid(as_2d(np.where(np.isfinite(part), part, vmax)))  # NaN: padding only
            image = ax.imshow(data, cmap="Reds", vmin=0, vmax=vmax, interpolation="nearest", aspect="equal")
            if m2.size <= 400:
                ys, xs = np.nonzero(np.nan_to_num(m2) > 0)
                ax.scatter(xs, ys, marker="x", s=14, linewidths=0.9, color="black")
        else:
            ax.imshow(np.ma.masked_invalid(m2), cmap=cmap_mask, vmin=0, vmax=1, interpolation="nearest",
                      aspect="equal")
        _cell_axes(ax, m2.shape)
        if label:
            ax.set_title(label, fontsize=7.5, pad=2)
    if image is not None:
        bar = fig.colorbar(image, ax=axes.ravel().tolist(), fraction=0.05, pad=0.03)
        bar.ax.tick_params(labelsize=7)
        bar.set_label("|yours − expected|", fontsize=7.5)
    if title:
        fig.suptitle(title, fontsize=9)
    return _png(fig), note


def _cell_axes(ax, shape: tuple[int, int]) -> None:
    """Thin white lines between cells; row and column indices on small panels."""
    h, w = shape
    for spine in ax.spines.values():
        spine.set_color("#9aa4ae")
    if h <= 16 and w <= 16:
        ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=0.8)
        ax.tick_params(which="minor", length=0)
    if h <= 12 and w <= 16 and (h > 1 or w > 1):
        step_w = 1 if w <= 10 else 2
        ax.set_xticks(range(0, w, step_w))
        ax.set_yticks(range(0, h))
        ax.tick_params(which="major", labelsize=6, length=0, pad=1.5)
    else:
        ax.set_xticks([])
        ax.set_yticks([])


# --------------------------------------------------------------------------
# Training (assignment 04)
# --------------------------------------------------------------------------


def training_figure(history: dict[str, list[float]]) -> bytes | None:
    """Loss and the other metrics per epoch, side by side."""
    series = {k: [float(v) for v in vs] for k, vs in history.items()
              if isinstance(vs, (list, tuple)) and len(vs) > 0}
    if not series:
        return None
    losses = {k: v for k, v in series.items() if "loss" in k}
    metrics = {k: v for k, v in series.items() if "loss" not in k}
    groups = [(g, name) for g, name in ((losses, "loss"), (metrics, "accuracy" if any("acc" in k for k in metrics)
                                                                  else "metric")) if g]
    fig = _new(3.3 * len(groups), 2.5)
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    for ax, (group, name) in zip(axes, groups):
        for i, (key, values) in enumerate(sorted(group.items())):
            epochs = np.arange(1, len(values) + 1)
            dashed = key.startswith("val_")
            ax.plot(epochs, values, marker="o", markersize=3, linewidth=1.6,
                    linestyle="--" if dashed else "-", color=[BLUE, AMBER, GREEN, RED][i % 4], label=key)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(True, color="#eaeef2", linewidth=0.8)
        _style(ax)
        longest = max(len(v) for v in group.values())
        if longest <= 20:
            ax.set_xticks(range(1, longest + 1, max(1, longest // 8)))
        ax.legend(fontsize=7, frameon=False)
    return _png(fig)


def confusion_figure(confusion: np.ndarray) -> bytes:
    """Counts per (true, predicted) class, the diagonal in blue, mistakes in red."""
    cm = np.asarray(confusion, dtype=np.int64)
    k = cm.shape[0]
    size = min(4.6, 1.2 + 0.3 * k)
    fig = _new(size + 0.2, size)
    ax = fig.subplots()
    off = cm.copy()
    np.fill_diagonal(off, 0)
    shade = np.where(np.eye(k, dtype=bool), 0.0, off / max(1, off.max()))
    from matplotlib.colors import LinearSegmentedColormap

    ax.imshow(shade, cmap=LinearSegmentedColormap.from_list("mistakes", ["#ffffff", "#f4a3a8", RED]), vmin=0,
              vmax=1.3, interpolation="nearest")
    for i in range(k):
        for j in range(k):
            if cm[i, j] == 0 and i != j:
                continue
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6.5 if k > 8 else 8,
                    color=BLUE if i == j else "#1f2328", fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.tick_params(labelsize=7, length=0)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return _png(fig)


# --------------------------------------------------------------------------
# A class (instructor)
# --------------------------------------------------------------------------


def histogram_figure(scores: Sequence[float], max_score: float, *, unit: str = "points") -> bytes:
    scores = np.asarray(scores, dtype=np.float64)
    fig = _new(6.4, 2.5)
    ax = fig.subplots()
    top = max(max_score, float(scores.max()) if scores.size else 0.0, 1e-9)
    bins = np.linspace(0, top, min(21, max(6, int(math.ceil(top)) + 1)))
    counts, edges, patches = ax.hist(scores, bins=bins, color=BLUE, edgecolor="white", linewidth=0.8)
    ax.set_xlabel(unit, fontsize=8)
    ax.set_ylabel("submissions", fontsize=8)
    ax.set_xlim(0, top)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if scores.size:
        mean = float(scores.mean())
        ax.axvline(mean, color=RED, linewidth=1.2, linestyle="--")
        ax.text(mean, ax.get_ylim()[1] * 0.95, f" mean {mean:.3g}", color=RED, fontsize=7.5, va="top")
    _style(ax)
    return _png(fig)


def pass_rate_figure(names: Sequence[str], passed: Sequence[float], partial: Sequence[float],
                     failed: Sequence[float]) -> bytes:
    """Horizontal stacked bars: share of submissions passed / partial / not passed per question."""
    n = len(names)
    fig = _new(6.6, 0.6 + 0.26 * n)
    ax = fig.subplots()
    y = np.arange(n)
    p, q, f = (np.asarray(v, dtype=np.float64) * 100 for v in (passed, partial, failed))
    ax.barh(y, p, color=GREEN, label="passed", height=0.7)
    ax.barh(y, q, left=p, color=AMBER, label="partial", height=0.7)
    ax.barh(y, f, left=p + q, color=RED, label="no credit", height=0.7)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=7.5)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions", fontsize=8)
    ax.legend(fontsize=7, frameon=False, ncol=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    _style(ax)
    return _png(fig)
