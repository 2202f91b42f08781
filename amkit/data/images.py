"""Images: IDX files (MNIST / Fashion-MNIST), single image files, and the image datasets.

Readers:

- :func:`read_idx`: one IDX file (plain or ``.gz``), checked: the magic number, the element
  type, the dimensions against the file's size. A truncated, corrupt or foreign file is a
  :class:`~amkit.errors.UserError` naming the file.
- :func:`read_idx_split`: the images and labels of a split (``train`` or ``t10k``) from any
  folder laid out like MNIST's (``train-images-idx3-ubyte[.gz]``, ...).
- :func:`read_image_file`: a PNG / JPEG / ... file through Pillow, converted to grayscale and
  resized to a run's training size (the documented behaviour for ``amkit classify``).

Datasets (``data.name``), both ``classification`` with images ``(N, 1, H, W)`` normalised
with the training part's mean and standard deviation (saved in ``DataInfo.image_mean`` /
``image_std`` so a run classifies new files without its data):

- ``fashion_mnist`` (Xiao, Rasul & Vollgraf 2017): 60,000 training and 10,000 test 28x28
  images of 10 clothing classes; ``val_size`` (5,000) training images are held out for
  validation with a split seeded by ``split_seed``. Optional augmentation of the training
  batches: random crop after zero padding (``crop_padding``) and horizontal flips.
- ``digits``: scikit-learn's 1,797 8x8 handwritten digits (shipped with it): fast tests.

Legend: N images, C channels (1), H height, W width.
"""

from __future__ import annotations

import gzip
import math
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from amkit.config import option
from amkit.data.base import DataBundle, DataInfo, TensorDictDataset, register_dataset
from amkit.data.locations import dataset_path
from amkit.errors import UserError

FASHION_MNIST_PATH = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_LABELS = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip

# IDX element type byte -> numpy dtype (big-endian, as the format stores them)
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise UserError(f"{path}: a corrupt or truncated gzip file ({error})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (LeCun's MNIST format), gzipped or not.

    The header is two zero bytes, the element type (``0x08`` unsigned byte, ``0x09`` signed
    byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of
    dimensions, then one big-endian uint32 per dimension; the data follow.

    Raises:
        FileNotFoundError: no such file.
        UserError: a bad magic number, an unknown type, or a size that does not match the
            dimensions (a truncated or padded file); the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such IDX file")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise UserError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    if raw[2] not in _IDX_TYPES:
        raise UserError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise UserError(f"{path}: truncated IDX header ({ndim} dimensions, {len(raw)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
    expected = math.prod(dims) * dtype.itemsize  # Python ints: no 64-bit overflow
    if len(raw) - header != expected:
        state = "truncated" if len(raw) - header < expected else "longer than its dimensions"
        raise UserError(
            f"{path}: {state}: dimensions {dims} need {expected} data bytes, the file has "
            f"{len(raw) - header}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    names = (stem, stem.replace("-idx", ".idx"))
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"{folder}: no {stem} or {stem}.gz (an MNIST-style IDX folder); for Fashion-MNIST "
        "run `make setup-fashion-mnist` (apt-get install dataset-fashion-mnist)"
    )


def read_idx_split(folder: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W) uint8, labels (N,) int64)`` of ``split`` (``train`` or ``t10k``)
    from an MNIST-style folder; the two files must agree on N."""
    if split not in ("train", "t10k"):
        raise UserError(f"IDX split must be 'train' or 't10k', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of IDX files")
    image_file = _find(folder, f"{split}-images-idx3-ubyte")
    label_file = _find(folder, f"{split}-labels-idx1-ubyte")
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise UserError(f"{image_file}: expected (N, H, W) unsigned bytes, got {images.shape}")
    if labels.ndim != 1:
        raise UserError(f"{label_file}: expected (N,) labels, got shape {labels.shape}")
    if len(images) != len(labels):
        raise UserError(f"{image_file} has {len(images)} images, {label_file} {len(labels)} labels")
    return images, labels.astype(np.int64)


def read_image_file(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """A picture file as ``(H, W)`` float32 in [0, 1]: any mode Pillow reads is converted to
    grayscale (``L``; transparency over black) and resized to ``size`` ``(H, W)``
    (bilinear) -- the expected behaviour, so a photo or an RGB PNG can be classified by a
    model trained on 28x28 grayscale images. Not an image: a :class:`UserError` naming it."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with warnings.catch_warnings():  # a header claiming a huge picture: refused, not loaded
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            image.load()
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                image = image.convert("RGBA")
                background = Image.new("RGBA", image.size, (0, 0, 0, 255))
                image = Image.alpha_composite(background, image)
            gray = image.convert("L")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise UserError(f"{path}: too large a picture to read ({error})") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UserError(f"{path}: not an image Pillow can read ({error})") from None
    if gray.size != (size[1], size[0]):
        gray = gray.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.float32) / 255.0


class RandomCropFlip:
    """Training-batch augmentation (``TensorDictDataset.augment``): each image is padded by
    ``padding`` pixels of ``fill`` on every side and a random ``H x W`` window is cut out
    (``padding`` 0: no crop); with ``flip`` each image is mirrored left-right with
    probability 1/2. Draws from the batch generator, so a seed repeats it."""

    def __init__(self, padding: int, flip: bool, fill: float = 0.0):
        self.padding, self.flip, self.fill = padding, flip, fill

    def __call__(self, batch: dict[str, Tensor], generator: torch.Generator | None) -> dict:
        x = batch["images"]  # (B, C, H, W)
        b, _, h, w = x.shape
        p = self.padding
        if p:
            padded = torch.nn.functional.pad(x, (p, p, p, p), value=self.fill)
            dy = torch.randint(0, 2 * p + 1, (b,), generator=generator)
            dx = torch.randint(0, 2 * p + 1, (b,), generator=generator)
            rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
            cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
            x = padded[torch.arange(b)[:, None, None], :, rows, cols]  # (B, H, W, C)
            x = x.permute(0, 3, 1, 2)  # (B, C, H, W)
        if self.flip:
            mirror = torch.rand(b, generator=generator) < 0.5
            x = torch.where(mirror[:, None, None, None], x.flip(-1), x)
        return {**batch, "images": x.contiguous()}


def image_bundle(
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    label_names: list[str],
    scale: float,
    normalize: bool = True,
    augment: RandomCropFlip | None = None,
    notes: list[str] | None = None,
) -> DataBundle:
    """A :class:`DataBundle` of ``{split: (images (N, H, W), labels (N,))}``: pixels divided
    by ``scale`` (their maximum), then standardised with the ``train`` split's mean and
    standard deviation when ``normalize``; ``augment`` rewrites training batches."""
    train_images = splits["train"][0].astype(np.float32) / scale
    mean = float(train_images.mean()) if normalize else 0.0
    std = float(train_images.std()) if normalize else 1.0
    datasets = {}
    for name, (images, labels) in splits.items():
        x = (torch.from_numpy(images.astype(np.float32)) / scale - mean) / std
        tensors = {"images": x[:, None], "targets": torch.from_numpy(labels).long()}
        datasets[name] = TensorDictDataset(tensors, augment=augment if name == "train" else None)
    if augment is not None:
        augment.fill = (0.0 - mean) / std  # pad with black, as the images' background
    h, w = train_images.shape[1:]
    info = DataInfo(
        task="classification",
        n_classes=len(label_names),
        label_names=label_names,
        image_shape=[1, int(h), int(w)],
        image_mean=[mean],
        image_std=[std],
        statistics={name: len(d) for name, d in datasets.items()},
        notes=notes or [],
    )
    return DataBundle(datasets, info)


def _held_out(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[size:]), np.sort(order[:size])


@dataclass
class FashionMnistConfig:
    """``data: {name: fashion_mnist}``: the official 60k / 10k split, ``val_size`` training
    images held out (a seeded random split, the same for every run seed)."""

    # any folder of MNIST-style IDX files (.gz or not); null: $AMKIT_DATA/fashion_mnist, else
    # Debian's /usr/share/datasets/fashion-mnist (amkit data where)
    path: str | None = None
    val_size: int = option(5000, ge=1)
    split_seed: int = option(0, ge=0)  # the validation split's seed (not the run's)
    # keep only the first N fit / test images (quick checks and timing; null: all)
    train_subset: int | None = option(None, ge=1)
    test_subset: int | None = option(None, ge=1)
    normalize: bool = True  # standardise with the training part's mean and std
    augment: bool = False  # random crop + flip of training batches
    crop_padding: int = option(2, ge=0, le=8)  # pixels of zero padding before the crop
    flip: bool = True  # with augment: mirror left-right half the time


@register_dataset("fashion_mnist", config=FashionMnistConfig, task="classification")
def build_fashion_mnist(config: FashionMnistConfig, seed: int) -> DataBundle:
    folder = dataset_path("fashion_mnist", config.path)
    images, labels = read_idx_split(folder, "train")
    test_images, test_labels = read_idx_split(folder, "t10k")
    if config.val_size >= len(images):
        raise UserError(
            f"data.val_size ({config.val_size}) must be below the {len(images)} training images"
        )
    fit, val = _held_out(len(images), config.val_size, config.split_seed)
    fit = fit[: config.train_subset]
    n_test = config.test_subset or len(test_images)
    augment = RandomCropFlip(config.crop_padding, config.flip) if config.augment else None
    return image_bundle(
        {
            "train": (images[fit], labels[fit]),
            "val": (images[val], labels[val]),
            "test": (test_images[:n_test], test_labels[:n_test]),
        },
        FASHION_MNIST_LABELS,
        255.0,
        config.normalize,
        augment,
    )


@dataclass
class DigitsConfig:
    """``data: {name: digits}``: scikit-learn's 8x8 digits, split into fit / val / test by a
    seeded stratified split (fast tests; no files needed)."""

    val_fraction: float = option(0.15, gt=0, lt=0.5)
    test_fraction: float = option(0.2, gt=0, lt=0.5)
    normalize: bool = True
    augment: bool = False
    crop_padding: int = option(1, ge=0, le=4)
    flip: bool = False  # digits are not mirror-symmetric


@register_dataset("digits", config=DigitsConfig, task="classification")
def build_digits(config: DigitsConfig, seed: int) -> DataBundle:
    from sklearn.datasets import load_digits

    from amkit.data.splits import stratified_split

    digits = load_digits()
    images, labels = digits.images.astype(np.float32), digits.target.astype(np.int64)
    fit_fraction = 1 - config.val_fraction - config.test_fraction
    fit, val, test = stratified_split(
        labels, (fit_fraction, config.val_fraction, config.test_fraction), seed
    )
    augment = RandomCropFlip(config.crop_padding, config.flip) if config.augment else None
    return image_bundle(
        {
            "train": (images[fit], labels[fit]),
            "val": (images[val], labels[val]),
            "test": (images[test], labels[test]),
        },  # fmt: skip
        [str(d) for d in range(10)],
        16.0,
        config.normalize,
        augment,
    )
