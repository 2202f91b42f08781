"""IDX files, image files and the image datasets (tiny files written in tmp_path)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from amkit.data.base import DATASETS, DataInfo
from amkit.data.images import (
    FASHION_MNIST_PATH,
    FashionMnistConfig,
    RandomCropFlip,
    build_fashion_mnist,
    read_idx,
    read_idx_split,
    read_image_file,
)
from amkit.errors import UserError


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    code = {np.dtype("u1"): 0x08, np.dtype(">i4"): 0x0C}[array.dtype]
    raw = struct.pack(">BBBB", 0, 0, code, array.ndim)
    raw += struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def write_mnist_folder(folder: Path, n_train: int = 40, n_test: int = 12, side: int = 8) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, side, side), dtype=np.uint8)
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images, compress=True)
        write_idx(folder / f"{split}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))
    return folder


@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, compress):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "a", array, compress)), array)
    ints = np.array([1, -2, 70000], dtype=">i4")
    assert read_idx(write_idx(tmp_path / "b", ints)).tolist() == [1, -2, 70000]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "bad magic number"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x02ab", "bad magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x02ab", "unknown IDX element type"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
        (b"\x00\x00\x08\x02\x00\x00\x00\x02\x00\x00\x00\x02abc", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x02abc", "longer than its dimensions"),
        # dimensions whose product is 2**78: 0 in 64-bit arithmetic, which once matched 0 bytes
        (b"\x00\x00\x08\x03\x80\x00\x00\x00\x80\x00\x00\x00\x00\x01\x00\x00", "truncated"),
    ],
)
def test_bad_idx_files_name_the_file(tmp_path, raw, message):
    path = tmp_path / "bad-idx"
    path.write_bytes(raw)
    with pytest.raises(UserError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_is_a_user_error(tmp_path):
    path = write_idx(tmp_path / "x.gz", np.zeros((50, 8, 8), np.uint8), compress=True)
    path.write_bytes(path.read_bytes()[:30])
    with pytest.raises(UserError, match="corrupt or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_split_reader_checks_counts_and_finds_files(tmp_path):
    folder = write_mnist_folder(tmp_path / "mnist")
    images, labels = read_idx_split(folder, "train")
    assert images.shape == (40, 8, 8) and labels.dtype == np.int64
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8))
    with pytest.raises(UserError, match="12 images.*5 labels"):
        read_idx_split(folder, "t10k")
    with pytest.raises(FileNotFoundError, match="setup-fashion-mnist"):
        read_idx_split(tmp_path, "train")


def test_fashion_mnist_from_any_folder(tmp_path):
    folder = write_mnist_folder(tmp_path / "fm", n_train=40, n_test=12)
    config = FashionMnistConfig(path=str(folder), val_size=10, augment=True)
    data = build_fashion_mnist(config, seed=3)
    assert [len(data.split(s)) for s in ("train", "val", "test")] == [30, 10, 12]
    assert data.split("train").tensors["images"].shape == (30, 1, 8, 8)
    train = data.split("train").tensors["images"]
    assert abs(float(train.mean())) < 1e-4 and abs(float(train.std()) - 1) < 1e-2
    assert data.info.image_shape == [1, 8, 8] and data.info.n_classes == 10
    # the validation split depends on split_seed only, not on the run's seed
    again = build_fashion_mnist(config, seed=7)
    assert torch.equal(again.split("val").tensors["images"], data.split("val").tensors["images"])
    assert data.split("train").augment is not None and data.split("val").augment is None
    saved = DataInfo.from_json(data.info.to_json())
    assert saved.image_mean == data.info.image_mean and saved.image_shape == [1, 8, 8]
    with pytest.raises(UserError, match="val_size"):
        build_fashion_mnist(FashionMnistConfig(path=str(folder), val_size=40), 0)


def test_crop_and_flip_keep_shape_and_content():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    batch = {"images": x, "targets": torch.tensor([0, 1])}
    same = RandomCropFlip(0, False)(batch, torch.Generator().manual_seed(0))
    assert torch.equal(same["images"], x)
    flipped = RandomCropFlip(0, True)(batch, torch.Generator().manual_seed(0))["images"]
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    cropped = RandomCropFlip(2, False, fill=-1.0)(batch, torch.Generator().manual_seed(1))
    out = cropped["images"]
    assert out.shape == x.shape
    for i in range(2):  # every kept pixel is the image's own or the fill, shifted as a block
        kept = out[i][out[i] != -1]
        assert set(kept.tolist()) <= set(x[i].flatten().tolist())


def test_digits_dataset_is_split_and_normalised():
    entry = DATASETS["digits"]
    data = entry.build(entry.config_cls(), 0)
    sizes = [len(data.split(s)) for s in ("train", "val", "test")]
    assert sum(sizes) == 1797 and data.info.image_shape == [1, 8, 8]


def test_image_files_are_converted_and_resized(tmp_path):
    from PIL import Image

    rgb = tmp_path / "shirt.png"
    Image.new("RGB", (56, 40), (255, 255, 255)).save(rgb)
    pixels = read_image_file(rgb, (28, 28))
    assert pixels.shape == (28, 28) and np.allclose(pixels, 1.0)
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (255, 255, 255, 0)).save(clear)
    assert np.allclose(read_image_file(clear, (8, 8)), 0.0)  # transparency over black
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(UserError, match="not an image") as info:
        read_image_file(text, (28, 28))
    assert str(text) in str(info.value)


def test_a_decompression_bomb_is_refused(tmp_path):
    import zlib

    from PIL import Image

    small = tmp_path / "small.png"
    Image.new("L", (2, 2)).save(small)
    data = small.read_bytes()
    ihdr = b"IHDR" + struct.pack(">II", 50_000, 50_000) + data[24:29]  # claims 2.5e9 pixels
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(data[:12] + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + data[33:])
    with pytest.raises(UserError, match="bomb.png: too large a picture"):
        read_image_file(bomb, (28, 28))


@pytest.mark.skipif(
    not Path(FASHION_MNIST_PATH, "t10k-images-idx3-ubyte.gz").is_file(),
    reason="Fashion-MNIST not installed (make setup-fashion-mnist)",
)
def test_installed_fashion_mnist_files():
    images, labels = read_idx_split(FASHION_MNIST_PATH, "t10k")
    assert images.shape == (10000, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
