"""Where an image classifier looked: its self-attention over image positions, drawn on the image.

    amkit explain RUN_DIR --example 7 [--split test] [--query-pixel 14,10]
    amkit explain RUN_DIR --image shirt.png --query-pixel 5,20

For an ``image_cnn`` run with a SAGAN or non-local block the weights are the block's
``(N, N)`` attention over the positions of its feature map; for a ``vit`` run, the last
layer's attention over patches, averaged over heads. Two maps are drawn over the image:

- the *query* map: the attention of the position under ``--query-pixel R,C`` (row, column
  in the image's pixels; default: the centre), i.e. where that position read from;
- the *pooled* map: every position's attention averaged over all queries (how much each
  position was read from, overall).

Each map (h x w positions) is stretched to the image's size, nearest-neighbour. An image file
is read as ``amkit classify`` reads it (grayscale, resized); ``--example`` needs the run's
data on disk, ``--image`` does not.

Legend: N = h * w positions of the attended map, H/W image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from amkit.errors import UserError
from amkit.experiments.classify import image_inputs
from amkit.experiments.loading import load
from amkit.explain.heatmap import plt
from amkit.explain.registry import ExplainRequest, register_explainer
from amkit.io import atomic_save_figure
from amkit.train.device import model_device


@dataclass
class ImageExplanation:
    """What :func:`explain_image` found.

    Attributes:
        label: the predicted class.
        probabilities: class -> probability, most probable first.
        query_pixel: ``(row, column)`` of the query in image pixels.
        query_map: ``(h, w)`` the query position's attention over the key grid (sums to 1;
            a non-local block with subsampling has a key grid half as fine).
        pooled_map: ``(h, w)`` attention averaged over all query positions (sums to 1).
        png: the figure written (``None`` from :func:`image_attention`).
    """

    label: str
    probabilities: dict[str, float]
    query_pixel: tuple[int, int]
    query_map: np.ndarray
    pooled_map: np.ndarray
    png: Path | None = None


def parse_pixel(text: str | None, height: int, width: int) -> tuple[int, int]:
    """``"R,C"`` -> ``(R, C)`` inside a ``height x width`` image; ``None``: the centre."""
    if text is None:
        return height // 2, width // 2
    try:
        row, col = (int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--query-pixel {text!r}: expected ROW,COLUMN, e.g. 14,10") from None
    if not (0 <= row < height and 0 <= col < width):
        raise UserError(
            f"--query-pixel {text}: outside the {height}x{width} image (rows 0-{height - 1}, "
            f"columns 0-{width - 1})"
        )
    return row, col


def attention_grid(positions: torch.Tensor) -> torch.Tensor:
    """``(N, N)`` one image's weights from a model output's ``positions``: ``(B, N, N)`` (CNN
    block) or ``(B, L, H, N, N)`` (vision Transformer: last layer, mean over heads)."""
    if positions.dim() == 5:
        return positions[0, -1].mean(0)
    return positions[0]


def _stretch(grid: np.ndarray, height: int, width: int) -> np.ndarray:
    rows = np.arange(height) * grid.shape[0] // height
    cols = np.arange(width) * grid.shape[1] // width
    return grid[rows][:, cols]


@torch.no_grad()
def image_attention(
    model, info, pixels: torch.Tensor, query_pixel: str | None = None, what: str = "this run"
) -> ImageExplanation:
    """Classify ``pixels`` ``(1, 1, H, W)`` (normalized as the run's data) on the model's
    device and read its attention maps; draws nothing (``png`` is ``None``)."""
    out = model(images=pixels.to(model_device(model)), need_weights=True)
    if out.positions is None:
        raise UserError(
            f"{what} has no attention over image positions (model.attention: none); "
            "train one with model.attention: sagan or nonlocal, or a vit run"
        )
    _, height, width = info.image_shape
    h, w = model.position_grid(height, width)
    grid = attention_grid(out.positions).float().cpu()  # (N, N)
    row, col = parse_pixel(query_pixel, height, width)
    query = row * h // height * w + col * w // width  # the feature cell under the pixel
    keys = (h, w) if grid.shape[1] == h * w else ((h + 1) // 2, (w + 1) // 2)  # pooled keys
    probabilities = torch.softmax(out.logits.float(), -1)[0].cpu()
    names = info.label_names or [str(i) for i in range(len(probabilities))]
    order = probabilities.argsort(descending=True).tolist()
    return ImageExplanation(
        names[order[0]],
        {names[i]: float(probabilities[i]) for i in order},
        (row, col),
        grid[query].reshape(keys).numpy(),
        grid.mean(0).reshape(keys).numpy(),
    )


@torch.no_grad()
def explain_image(
    run_dir: str | Path,
    out_dir: str | Path,
    image: str | Path | None = None,
    example: int = 0,
    split: str = "test",
    query_pixel: str | None = None,
    overrides: tuple[str, ...] = (),
    device: str = "cpu",
) -> ImageExplanation:
    """Classify one image (a file, or example ``example`` of ``split`` of the run's data) and
    draw the attention maps into ``out_dir/explain_image.png``."""
    run_dir = Path(run_dir)
    if image is not None:
        run = load(run_dir, device=device)
        model, info = run.model, run.info
        pixels = image_inputs(Path(image), run)["images"]  # (1, 1, H, W)
        source = str(image)
    else:
        from amkit.experiments.run import load_run

        _, model, data = load_run(run_dir, overrides, device)
        info, dataset = data.info, data.split(split)
        if not 0 <= example < len(dataset):
            raise UserError(f"--example {example}: {split} has examples 0-{len(dataset) - 1}")
        pixels = dataset.tensors["images"][example : example + 1]
        source = f"{split} example {example}"
    found = image_attention(model, info, pixels, query_pixel, str(run_dir))
    names, probabilities = list(found.probabilities), list(found.probabilities.values())
    row, col = found.query_pixel
    query_map, pooled_map = found.query_map, found.pooled_map
    _, height, width = info.image_shape
    shown = pixels[0, 0].numpy() * (info.image_std or [1.0])[0] + (info.image_mean or [0.0])[0]
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.6))
    axes[0].imshow(shown, cmap="gray")
    axes[0].set_title(f"{names[0]} ({probabilities[0]:.2f})")
    for ax, grid_map, title in (
        (axes[1], query_map, f"query pixel ({row}, {col})"),
        (axes[2], pooled_map, "pooled over queries"),
    ):
        ax.imshow(shown, cmap="gray")
        ax.imshow(_stretch(grid_map, height, width), cmap="inferno", alpha=0.55)
        ax.set_title(title)
    axes[1].plot([col], [row], marker="+", color="cyan", markersize=14, mew=2)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(source, fontsize=9)
    fig.tight_layout()
    png = atomic_save_figure(fig, Path(out_dir) / "explain_image.png")
    found.png = png
    return found


def explain_image_run(request: ExplainRequest) -> str:
    """``amkit explain RUN_DIR [--image FILE | --example N] [--query-pixel R,C]``."""
    result = explain_image(
        request.run_dir,
        request.out,
        request.image,
        request.example,
        request.split,
        request.query_pixel,
        tuple(request.overrides),
        request.device,
    )
    top = list(result.probabilities.items())[:3]
    h, w = result.query_map.shape  # the key grid
    peak = np.unravel_index(result.query_map.argmax(), result.query_map.shape)
    return (
        f"predicted: {result.label} (" + ", ".join(f"{k} {p:.3f}" for k, p in top) + ")\n"
        f"attention of pixel {result.query_pixel} over a {h}x{w} grid: peak at cell "
        f"{tuple(int(v) for v in peak)} ({result.query_map.max():.3f})\n"
        f"figure: {result.png}"
    )


for _model in ("image_cnn", "vit"):
    register_explainer(_model, takes="example")(explain_image_run)
