"""Figures for the book: trajectories on contour plots, learning curves, schedules.

Call :func:`style` once at the top of a chapter; every function draws into ``ax`` (a new
figure when ``ax is None``) and returns the Axes, so figures can be combined with
``plt.subplots``. Nothing here selects a backend: notebooks use their inline backend,
tests and scripts may call ``matplotlib.use("Agg")`` first.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.lines import Line2D

from . import _validate

__all__ = ["style", "contour", "curves", "schedule_plot", "COLORS"]

# Okabe-Ito palette: distinguishable with the common colour-vision deficiencies and in
# greyscale print (black first is left out: it is used for the markers).
COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
          "#000000"]

_RC = {
    "figure.figsize": (6.4, 4.4),
    "figure.dpi": 110,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "figure.constrained_layout.use": True,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.framealpha": 0.9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linestyle": "-",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "image.cmap": "viridis",
}

# Blues from medium (low f) to nearly white (high f): dark enough to show the basins, light
# enough that coloured trajectories and black markers stay readable on top.
_CMAP = ListedColormap(plt.get_cmap("Blues")(np.linspace(0.75, 0.03, 256)), name="course_blues")

_METRIC_LABELS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
    "lr": "learning rate",
    "epoch_time": "time per epoch (s)",
}


def style():
    """Apply the book's matplotlib settings (fonts >= 11 pt, light grid, Okabe-Ito colours,
    constrained layout, 110 dpi on screen and 200 dpi when saved). Returns the settings."""
    mpl.rcParams.update(_RC)
    return dict(_RC)


def _new_ax(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def contour(surface, trajectories=None, ax=None, levels=30, log=True, title=None,
            resolution=300, bounds=None):
    r"""Contour plot of a 2-D surface, with optimizer trajectories on top.

    Parameters
    ----------
    surface : Surface
        A 2-D :mod:`course_lib.surfaces` surface (``f`` batched, ``bounds``, ``minimizers``).
    trajectories : dict label -> array of shape (n, 2), optional
        The iterates :math:`w_0, w_1, \dots` of each run. Each is drawn as a line with
        small dots, a circle at :math:`w_0` and a square at the last iterate. Points
        outside the plotted region are clipped by the axes.
    levels : int or sequence
        Number of contour levels, or the levels themselves (values of ``f``).
    log : bool
        Space the levels geometrically in :math:`f - f_{\min} + \delta` (shows both the
        steep walls and the flat bottom), :math:`\delta` = 0.1% of the median over the plot;
        ``False``, explicit ``levels``, or a surface unbounded below (``f_min = -inf``):
        evenly spaced in ``f``.
    bounds : ((x0, x1), (y0, y1)), optional
        Plot region; defaults to ``surface.bounds``.

    Minimizers are marked with a black star, saddle points with a black plus.
    Axes are labelled :math:`w_1` and :math:`w_2`; the title defaults to the surface name.
    """
    if getattr(surface, "dim", None) != 2:
        raise ValueError(f"surface must be 2-D, got dim={getattr(surface, 'dim', None)!r}")
    bounds = surface.bounds if bounds is None else bounds
    if bounds is None:
        raise ValueError("bounds must be given: this surface has no default plot bounds")
    (x0, x1), (y0, y1) = bounds
    trajectories = {} if trajectories is None else trajectories
    if not isinstance(trajectories, Mapping):
        raise TypeError("trajectories must be a dict label -> (n, 2) array")
    paths = {}
    for label, path in trajectories.items():
        path = np.asarray(path, dtype=np.float64)
        if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 1:
            raise ValueError(
                f"trajectories[{label!r}] must have shape (n, 2) with n >= 1, got {path.shape}"
            )
        paths[label] = path

    ax = _new_ax(ax)
    xs = np.linspace(x0, x1, resolution)
    ys = np.linspace(y0, y1, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    z = np.asarray(surface.f(grid), dtype=np.float64)

    f_min = surface.f_min
    # A log scale needs a floor; surfaces unbounded below (saddle) get linear levels.
    use_log = log and isinstance(levels, numbers.Integral) and f_min != -np.inf
    if use_log:
        low = z.min() if f_min is None else min(f_min, z.min())
        shifted = z - low
        # delta sets how far into the basin the finest level reaches; tied to the median
        # so that a few huge corner values (Beale: 1e5) do not wash out the basin
        delta = max(1e-3 * float(np.median(shifted)), 1e-12)
        shifted += delta
        lev = np.geomspace(shifted.min(), shifted.max(), levels + 1)
        ax.contourf(xs, ys, shifted, levels=lev, norm=LogNorm(), cmap=_CMAP, alpha=0.6,
                    extend="both")
        ax.contour(xs, ys, shifted, levels=lev[1:-1], norm=LogNorm(), colors="0.35",
                   linewidths=0.6, alpha=0.8)
    else:
        ax.contourf(xs, ys, z, levels=levels, cmap=_CMAP, alpha=0.6, extend="both")
        ax.contour(xs, ys, z, levels=levels, colors="0.35", linewidths=0.6, alpha=0.8)

    for i, (label, path) in enumerate(paths.items()):
        color = COLORS[i % len(COLORS)]
        ax.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.8, marker=".", ms=4,
                label=label, zorder=3)
        ax.plot(*path[0], "o", color=color, ms=8, mec="black", mew=1.0, zorder=4)
        ax.plot(*path[-1], "s", color=color, ms=8, mec="black", mew=1.0, zorder=4)

    handles, labels = ax.get_legend_handles_labels()
    extra = []
    if paths:
        extra += [Line2D([], [], ls="", marker="o", color="white", mec="black", ms=8,
                         label="start"),
                  Line2D([], [], ls="", marker="s", color="white", mec="black", ms=8,
                         label="end")]
    mins = surface.minimizers
    if mins:
        m = np.array(mins)
        ax.plot(m[:, 0], m[:, 1], "*", color="black", ms=15, mec="white", mew=0.8,
                zorder=5, linestyle="")
        extra.append(Line2D([], [], ls="", marker="*", color="black", ms=13,
                            label="minimizer" if len(mins) == 1 else "minimizers"))
    saddles = getattr(surface, "saddle_points", [])
    if saddles:
        sp = np.array(saddles)
        ax.plot(sp[:, 0], sp[:, 1], "P", color="black", ms=11, mec="white", zorder=5,
                linestyle="")
        extra.append(Line2D([], [], ls="", marker="P", color="black", ms=10,
                            label="saddle point"))
    if handles or extra:
        ax.legend(handles + extra, labels + [h.get_label() for h in extra], loc="best")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_title(surface.name if title is None else title)
    ax.grid(False)  # the contour lines are the grid here
    return ax


def _series(history, metric, label):
    if isinstance(history, Mapping):
        if metric not in history:
            raise KeyError(f"histories[{label!r}] has no key {metric!r}; "
                           f"keys are {sorted(history)}")
        values = history[metric]
    elif hasattr(history, metric):
        values = getattr(history, metric)
    elif isinstance(history, (list, tuple, np.ndarray)):
        values = history  # a bare sequence of values
    else:
        raise KeyError(f"histories[{label!r}] has no attribute or key {metric!r}")
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"histories[{label!r}].{metric} must be 1-D, got shape {values.shape}")
    return values


def curves(histories, metric="val_acc", ax=None, xlabel="epoch", ylabel=None, title=None,
           logy=False):
    """Plot one metric of several training runs against the epoch number 1, 2, ..., n.

    ``histories`` maps a label to a History-like object: anything with attribute or key
    ``metric`` holding a 1-D sequence (e.g. :class:`course_lib.train.History`, its
    ``as_dict()``, or a plain dict of lists), or the sequence itself. The y label defaults
    to a readable name of ``metric``; ``logy=True`` uses a log scale (useful for losses).
    """
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty dict label -> History-like")
    ax = _new_ax(ax)
    for label, history in histories.items():
        values = _series(history, metric, label)
        epochs = np.arange(1, values.size + 1)
        ax.plot(epochs, values, marker="o" if values.size <= 30 else None, ms=4, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_METRIC_LABELS.get(metric, metric) if ylabel is None else ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best")
    return ax


def schedule_plot(schedules, num_steps, ax=None, logy=False, title=None):
    r"""Plot learning-rate schedules :math:`\eta(k)` for :math:`k = 0, \dots,` ``num_steps - 1``.

    ``schedules`` maps a label to a callable ``lr(k)`` (e.g. a
    :class:`course_lib.schedules.Schedule`; its ``values(n)`` is used when present).
    """
    if not isinstance(schedules, Mapping) or not schedules:
        raise TypeError("schedules must be a non-empty dict name -> callable lr(k)")
    _validate.integer("num_steps", num_steps, low=1)
    ax = _new_ax(ax)
    ks = np.arange(num_steps)
    for label, sched in schedules.items():
        if not callable(sched):
            raise TypeError(f"schedules[{label!r}] must be callable lr(k)")
        if hasattr(sched, "values"):
            lrs = np.asarray(sched.values(num_steps), dtype=np.float64)
        else:
            lrs = np.array([sched(int(k)) for k in ks], dtype=np.float64)
        ax.plot(ks, lrs, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"learning rate $\eta(k)$")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best")
    return ax
