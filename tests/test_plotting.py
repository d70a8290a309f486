"""course_lib.plotting: what is drawn (lines, markers, labels) and that figures save."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_lib import plotting, schedules, surfaces  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _isolated_rc():
    with matplotlib.rc_context():
        yield
    plt.close("all")


def _gd(surface, lr, n):
    w = surface.start.copy()
    out = [w.copy()]
    for _ in range(n):
        w = w - lr * surface.grad(w)
        out.append(w.copy())
    return np.array(out)


def _legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _assert_png(path):
    with open(path, "rb") as fh:
        assert fh.read(8) == PNG_MAGIC
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    assert img[..., :3].std() > 0.05  # not a blank canvas


def test_style_settings():
    rc = plotting.style()
    for key in ("font.size", "axes.labelsize", "axes.titlesize", "xtick.labelsize",
                "ytick.labelsize", "legend.fontsize"):
        assert float(matplotlib.rcParams[key]) >= 11, key
        assert matplotlib.rcParams[key] == rc[key]
    assert matplotlib.rcParams["axes.grid"] is True
    assert matplotlib.rcParams["savefig.dpi"] >= 150
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lower() for c in cycle] == [c.lower() for c in plotting.COLORS]


def test_contour_with_trajectories(tmp_path):
    plotting.style()
    s = surfaces.rosenbrock()
    runs = {"GD": _gd(s, 1e-3, 300), "GD small": _gd(s, 2e-4, 300)}
    ax = plotting.contour(s, runs, title="Rosenbrock")
    # per run: the path, a start marker and an end marker; plus the minimizer marker
    assert len(ax.get_lines()) == 3 * len(runs) + 1
    for (label, path), (line, start, end) in zip(runs.items(),
                                                 np.reshape(ax.get_lines()[:6], (2, 3))):
        assert line.get_label() == label
        np.testing.assert_array_equal(line.get_xydata(), path)
        np.testing.assert_array_equal(start.get_xydata()[0], path[0])
        np.testing.assert_array_equal(end.get_xydata()[0], path[-1])
        assert start.get_marker() == "o" and end.get_marker() == "s"
    star = ax.get_lines()[-1]
    assert star.get_marker() == "*"
    np.testing.assert_array_equal(star.get_xydata(), [[1.0, 1.0]])
    assert _legend_labels(ax) == ["GD", "GD small", "start", "end", "minimizer"]
    assert ax.get_xlabel() == "$w_1$" and ax.get_ylabel() == "$w_2$"
    assert ax.get_title() == "Rosenbrock"
    assert ax.get_xlim() == s.bounds[0] and ax.get_ylim() == s.bounds[1]
    out = tmp_path / "contour.png"
    ax.figure.savefig(out)
    _assert_png(out)


def test_contour_without_trajectories_and_special_surfaces():
    fig, axes = plt.subplots(2, 2)
    ax = plotting.contour(surfaces.two_valleys(), ax=axes[0, 0])
    assert ax is axes[0, 0]
    assert _legend_labels(ax) == ["minimizers", "saddle point"]
    assert ax.get_title() == "two_valleys"
    # saddle: unbounded below, so linear levels; no minimizer to mark
    ax = plotting.contour(surfaces.saddle(), {"GD": _gd(surfaces.saddle(), 0.1, 30)},
                          ax=axes[0, 1])
    assert _legend_labels(ax) == ["GD", "start", "end", "saddle point"]
    ax = plotting.contour(surfaces.quadratic(condition_number=10, angle=0.4), ax=axes[1, 0],
                          log=False, levels=15)
    assert len(ax.get_lines()) == 1
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 1))
    lr = surfaces.logistic_regression(X, (X[:, 0] > 0.3).astype(int), l2=0.1)
    ax = plotting.contour(lr, ax=axes[1, 1])  # dim 2: one feature + bias
    assert ax.get_title() == "logistic_regression"


def test_contour_bad_input():
    with pytest.raises(ValueError, match="trajectories"):
        plotting.contour(surfaces.beale(), {"bad": np.zeros((5, 3))})
    with pytest.raises(ValueError, match="surface must be 2-D"):
        plotting.contour(surfaces.quadratic(dim=3))
    with pytest.raises(TypeError, match="trajectories"):
        plotting.contour(surfaces.beale(), [np.zeros((5, 2))])


class _History:
    """Stand-in with the attributes of course_lib.train.History."""

    def __init__(self, acc):
        self.val_acc = list(acc)
        self.train_loss = [1.0 / (i + 1) for i in range(len(acc))]


def test_curves(tmp_path):
    plotting.style()
    histories = {
        "SGD": _History([0.5, 0.6, 0.7, 0.75]),
        "Adam": {"val_acc": [0.6, 0.8, 0.85, 0.86], "train_loss": [1.0, 0.5, 0.3, 0.2]},
        "raw list": [0.55, 0.65, 0.7, 0.72],
    }
    ax = plotting.curves(histories, "val_acc")
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.6, 0.8, 0.85, 0.86])
    assert _legend_labels(ax) == ["SGD", "Adam", "raw list"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "validation accuracy"
    out = tmp_path / "curves.png"
    ax.figure.savefig(out)
    _assert_png(out)

    ax = plotting.curves({k: histories[k] for k in ("SGD", "Adam")}, "train_loss",
                         logy=True, xlabel="pass", title="loss")
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "pass"
    assert ax.get_ylabel() == "training loss" and ax.get_title() == "loss"


def test_curves_bad_input():
    with pytest.raises(KeyError, match="val_loss"):
        plotting.curves({"a": {"val_acc": [1.0]}}, "val_loss")
    with pytest.raises(KeyError, match="val_loss"):
        plotting.curves({"a": _History([0.5])}, "val_loss")
    with pytest.raises(TypeError, match="histories"):
        plotting.curves([_History([0.5])], "val_acc")


def test_schedule_plot(tmp_path):
    plotting.style()
    scheds = {
        "cosine": schedules.cosine(0.1, 100),
        "step": schedules.step_decay(0.1, 30, gamma=0.5),
        "plain callable": lambda k: 0.05 / (1 + k),
    }
    ax = plotting.schedule_plot(scheds, 120)
    lines = ax.get_lines()
    assert len(lines) == 3
    np.testing.assert_array_equal(lines[0].get_xdata(), np.arange(120))
    np.testing.assert_array_equal(lines[0].get_ydata(), scheds["cosine"].values(120))
    np.testing.assert_allclose(lines[2].get_ydata(), 0.05 / (1 + np.arange(120)))
    assert _legend_labels(ax) == list(scheds)
    assert ax.get_xlabel() == "step $k$" and "eta" in ax.get_ylabel()
    out = tmp_path / "schedules.png"
    ax.figure.savefig(out)
    _assert_png(out)
    with pytest.raises(ValueError, match="num_steps"):
        plotting.schedule_plot(scheds, 0)
    with pytest.raises(TypeError, match="callable"):
        plotting.schedule_plot({"x": 0.1}, 10)
