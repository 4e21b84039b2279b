"""The reports' figures, drawn with matplotlib's Agg canvas (no pyplot, no display, no global state).

Every function takes plain data and returns PNG bytes, small (a few to a few
tens of kilobytes): figures are a few inches wide at 100 dpi, with few colours.
"""

from __future__ import annotations

import functools
import io
import math
from typing import Sequence

import numpy as np

DPI = 100
GREY, RED, GREEN, AMBER, BLUE = "#e6e9ed", "#cf222e", "#1f883d", "#d4a72c", "#0969da"
MAX_PANELS = 8


def never_raises(default):
    """A figure is an extra: if drawing fails (odd data, a matplotlib problem) the report goes on without it."""
    def wrap(fn):
        @functools.wraps(fn)
        def safe(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception:  # the report must be written whatever the data holds
                return default
        return safe
    return wrap


def _new(width: float, height: float, *, constrained: bool = True):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    fig.patch.set_facecolor("white")
    return fig


def _png(fig, *, tight: bool = True) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    extra = {"bbox_inches": "tight", "pad_inches": 0.06} if tight else {}
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white", metadata={"Software": None}, **extra)
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


@never_raises((None, ""))
def array_figure(wrong: np.ndarray, magnitude: np.ndarray | None = None) -> tuple[bytes | None, str]:
    """Where an array is wrong: a mask (wrong elements red), or |yours − expected| when ``magnitude`` is given.

    Returns (PNG, a text saying which slices are drawn). At most
    ``MAX_PANELS`` slices are drawn, those holding wrong elements first. The
    slices are laid out as one mosaic image on one axes (fast to draw).
    """
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Rectangle

    wrong = np.asarray(wrong, dtype=bool)
    chosen = panels(wrong.shape)
    with_wrong = [p for p in chosen if np.any(wrong[p[1]])]
    without = [p for p in chosen if not np.any(wrong[p[1]])]
    shown = sorted((with_wrong + without)[:MAX_PANELS], key=chosen.index)
    note = ""
    if len(chosen) > 1:
        note = (f"{len(shown)} of {len(chosen)} slices shown; {len(with_wrong)} hold wrong elements"
                if len(shown) < len(chosen) else f"{len(chosen)} slices, {len(with_wrong)} with wrong elements")
    masks = [as_2d(wrong[idx].astype(np.float64)) for _, idx in shown]
    if magnitude is not None:
        mag = np.asarray(magnitude, dtype=np.float64)
        finite = mag[np.isfinite(mag)]
        vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        values = [as_2d(np.where(np.isfinite(mag[idx]), mag[idx], vmax)) for _, idx in shown]
    else:
        vmax, values = 1.0, masks
    h, w = masks[0].shape
    cols = min(len(shown), 4)
    rows = math.ceil(len(shown) / cols)
    titled = len(chosen) > 1
    ticks = h <= 12 and w <= 16
    bar = 0.85 if magnitude is not None else 0.0
    cell = min(0.3, 2.4 / w, 2.0 / h, (6.4 - bar) / (cols * (w + 1)))       # inches per element
    gap_x = max(1, math.ceil((0.3 if ticks else 0.1) / cell))                  # in elements
    gap_y = max(1, math.ceil(((0.17 if titled else 0.06) + (0.14 if ticks else 0.0)) / cell))
    width = cols * w + (cols - 1) * gap_x
    height = rows * (h + gap_y)
    mosaic = np.full((height, width), np.nan)
    origins = []
    for k, panel in enumerate(values):
        r, c = divmod(k, cols)
        y0, x0 = r * (h + gap_y) + gap_y, c * (w + gap_x)
        mosaic[y0:y0 + h, x0:x0 + w] = panel
        origins.append((y0, x0))
    left, bottom, top, right = (0.22 if ticks else 0.04), (0.04), 0.02, 0.04 + bar
    pad = 0.25  # elements of white around the mosaic, so that the borders are drawn whole
    fig_w, fig_h = (width + 2 * pad) * cell + left + right, (height + 2 * pad) * cell + bottom + top
    fig = _new(fig_w, fig_h, constrained=False)
    ax = fig.add_axes((left / fig_w, bottom / fig_h, (width + 2 * pad) * cell / fig_w,
                       (height + 2 * pad) * cell / fig_h))
    if magnitude is not None:
        cmap = _cmap("Reds")
        image = ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest",
                          aspect="auto")
    else:
        cmap = ListedColormap([GREY, RED]).with_extremes(bad="white")
        image = ax.imshow(np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0, vmax=1, interpolation="nearest",
                          aspect="auto")
    ax.set_xlim(-0.5 - pad, width - 0.5 + pad)
    ax.set_ylim(height - 0.5 + pad, -0.5 - pad)
    ax.axis("off")
    lines, marks = [], []
    for k, (y0, x0) in enumerate(origins):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), w, h, fill=False, edgecolor="#9aa4ae", linewidth=0.8))
        if h <= 16 and w <= 16:
            lines += [[(x0 - 0.5, y0 + i - 0.5), (x0 + w - 0.5, y0 + i - 0.5)] for i in range(1, h)]
            lines += [[(x0 + j - 0.5, y0 - 0.5), (x0 + j - 0.5, y0 + h - 0.5)] for j in range(1, w)]
        if titled:
            ax.text(x0 + (w - 1) / 2, y0 - 0.6 - (0.14 / cell if ticks else 0), shown[k][0], ha="center",
                    va="bottom", fontsize=7)
        if ticks:
            if k % cols == 0:
                for i in range(h):
                    ax.text(x0 - 0.7, y0 + i, str(i), ha="right", va="center", fontsize=6, color="#59636e")
            for j in range(w):
                ax.text(x0 + j, y0 - 0.6, str(j), ha="center", va="bottom", fontsize=6, color="#59636e")
        if magnitude is not None and h * w <= 400:
            ys, xs = np.nonzero(np.nan_to_num(masks[k]) > 0)
            marks += [(x0 + x, y0 + y) for y, x in zip(ys, xs)]
    if lines:
        ax.add_collection(LineCollection(lines, colors="white", linewidths=0.8))
    if marks:
        xs, ys = zip(*marks)
        ax.scatter(xs, ys, marker="x", s=14, linewidths=0.9, color="black")
    if magnitude is not None:
        bar_h = min(height * cell, max(0.6, min(h * cell, 1.6)))
        cax = fig.add_axes(((fig_w - bar + 0.12) / fig_w, (bottom + pad * cell) / fig_h, 0.1 / fig_w, bar_h / fig_h))
        colorbar = fig.colorbar(image, cax=cax)
        colorbar.ax.tick_params(labelsize=6)
        colorbar.set_label("|yours − expected|", fontsize=7)
    return _png(fig, tight=False), note


def _cmap(name: str):
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad="white")


# --------------------------------------------------------------------------
# Training (assignment 04)
# --------------------------------------------------------------------------


@never_raises(None)
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


@never_raises(None)
def confusion_figure(confusion: np.ndarray) -> bytes | None:
    """Counts per (true, predicted) class, the diagonal in blue, mistakes in red."""
    cm = np.asarray(confusion, dtype=np.int64)
    k = cm.shape[0]
    size = min(4.6, 1.2 + 0.3 * k)
    fig = _new(size + 0.2, size)
    ax = fig.subplots()
    off = cm.copy()
    np.fill_diagonal(off, 0)
    shade = np.where(np.eye(k, dtype=bool), 0.0, off / max(1, off.max()))
    from matplotlib.colors import to_rgb

    white, pink, red, blue = (np.array(to_rgb(c)) for c in ("#ffffff", "#f8c4c7", RED, "#ddf4ff"))
    t = shade[..., None]
    rgb = np.where(t < 0.5, white + (pink - white) * (t / 0.5), pink + (red - pink) * ((t - 0.5) / 0.5) * 0.8)
    rgb = np.where(t > 0, rgb, white)
    rgb[np.eye(k, dtype=bool)] = blue
    ax.imshow(rgb, interpolation="nearest")
    for i in range(k):
        for j in range(k):
            if cm[i, j] == 0 and i != j:
                continue
            color = BLUE if i == j else ("white" if shade[i, j] > 0.55 else "#1f2328")
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6.5 if k > 8 else 8,
                    color=color, fontweight="bold" if i == j else "normal")
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


@never_raises(None)
def histogram_figure(scores: Sequence[float], max_score: float, *, unit: str = "points") -> bytes | None:
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


@never_raises(None)
def pass_rate_figure(names: Sequence[str], passed: Sequence[float], partial: Sequence[float],
                     failed: Sequence[float]) -> bytes | None:
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
