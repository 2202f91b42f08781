"""Every PNG that ``amkit demo`` and ``amkit explain`` write is legible: checked on the drawn
figure (text extents), not by eye. Each figure is caught as it is saved; no text may reach
outside the figure (a clipped title) and no two tick labels of an axis may overlap."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from amkit.explain.heatmap import save_heatmap  # noqa: E402
from amkit.explain.text import TokenView, save_text_heatmap  # noqa: E402
from amkit.train.metrics import save_confusion_matrix  # noqa: E402


def legibility_problems(fig: Figure) -> list[str]:
    """What is unreadable in ``fig``: text outside the figure, overlapping tick labels, type
    smaller than 6 points."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = fig.bbox
    problems = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        box = text.get_window_extent(renderer)
        if (
            box.x0 < frame.x0 - 1
            or box.x1 > frame.x1 + 1
            or box.y0 < frame.y0 - 1
            or box.y1 > frame.y1 + 1
        ):
            problems.append(f"outside the figure: {text.get_text()!r}")
        if text.get_fontsize() < 6:
            problems.append(f"smaller than 6 pt: {text.get_text()!r}")
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for i in range(1, len(labels)):
                if boxes[i - 1].overlaps(boxes[i]):
                    names = labels[i - 1].get_text(), labels[i].get_text()
                    problems.append(f"tick labels overlap: {names[0]!r} {names[1]!r}")
    return problems


@pytest.fixture
def checked(monkeypatch):
    """Every figure saved while the test runs, checked as it is saved: ``{name: problems}``."""
    found: dict[str, list[str]] = {}
    save = Figure.savefig

    def checking(fig, path, *args, **kwargs):
        found[str(path)] = legibility_problems(fig)
        return save(fig, path, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", checking)
    return found


STORY = [
    "1: Mary moved to the bathroom", "*2: John went to the hallway",
    "3: Daniel journeyed back to the office", "*4: Sandra travelled to the kitchen",
    "5: Mary went back to the garden",
]  # fmt: skip


def test_the_demos_hop_plot_has_its_title_and_hop_labels_clear(tmp_path, checked):
    """The demo's hops_task2_test0.png: long sentences, three hops, a long question title."""
    weights = np.random.default_rng(0).dirichlet(np.ones(5), 3).T  # (M, K)
    title = "where is the football that sandra picked up in the kitchen? -> garden (answer garden)"
    save_heatmap(weights, tmp_path / "hops.png", ["hop1", "hop2", "hop3"], STORY, title)
    assert len(checked) == 1 and all(not p for p in checked.values()), checked


@pytest.mark.parametrize(
    ("rows", "cols", "x_len", "y_len"),
    [(1, 24, 1, 7), (8, 8, 12, 12), (3, 40, 6, 60), (20, 3, 5, 80), (1, 2, 30, 3)],
)
def test_heat_maps_of_any_shape_and_label_length_are_legible(tmp_path, checked, rows, cols,
                                                              x_len, y_len):  # fmt: skip
    weights = np.random.default_rng(1).random((rows, cols))
    x = [f"{'x' * (x_len - 1)}{j % 10}" for j in range(cols)]
    y = [f"{'y' * (y_len - 1)}{i % 10}" for i in range(rows)]
    save_heatmap(weights, tmp_path / "map.png", x, y, "a title " * 20)
    assert checked and all(not p for p in checked.values()), checked


def test_the_text_heat_map_and_the_confusion_matrix_are_legible(tmp_path, checked):
    views = [TokenView(f"token{i}", 1 / 30) for i in range(30)]
    save_text_heatmap(views, tmp_path / "explain.png", "predicted: pos")
    names = [f"answer{i}" for i in range(12)]
    rng = np.random.default_rng(2)
    save_confusion_matrix(rng.integers(0, 12, 200), rng.integers(0, 12, 200), names,
                          tmp_path / "confusion.png")  # fmt: skip
    assert len(checked) == 2 and all(not p for p in checked.values()), checked


def test_the_checker_finds_a_clipped_title_and_overlapping_labels():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.set_xticks(range(3), labels=["a long label"] * 3)
    ax.set_title("a title far too long for a figure two inches wide")
    problems = legibility_problems(fig)
    plt.close(fig)
    assert any("outside" in p for p in problems) and any("overlap" in p for p in problems)


@pytest.mark.slow  # the whole quick demo (about a minute)
def test_every_png_the_quick_demo_writes_is_legible(tmp_path, checked, capsys):
    from amkit import demo

    demo.main(out=tmp_path / "demo", quick=True)
    assert any("hops_task2_test0" in name for name in checked)
    assert len(checked) >= 5 and all(not p for p in checked.values()), checked
