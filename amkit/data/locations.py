"""Where datasets live: one root folder, ``AMKIT_DATA``, with one folder per dataset.

The root is the environment variable ``AMKIT_DATA`` when it is set, else the user's cache
folder (``$XDG_CACHE_HOME/amkit``, by default ``~/.cache/amkit``), as PyKEEN's
``PYKEEN_HOME``. Each known dataset has its folder there (``babi/``, ``imdb/``,
``multi30k/``, ``ml-1m/``, ``sasrec/``); a dataset config whose ``path`` is left out
(``null``) reads that folder, and an explicit ``path`` always wins::

    data: {name: imdb}                          # $AMKIT_DATA/imdb
    data: {name: imdb, path: /data/my-imdb}     # that folder

``amkit data where`` prints every known dataset, the path where it is expected and whether it
is there; ``amkit data download NAME`` fetches the ones whose licence allows it
(:mod:`amkit.data.download`); the others say how to get them by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from amkit.registry import UnknownNameError, did_you_mean

ENV_VAR = "AMKIT_DATA"

__all__ = [
    "ENV_VAR",
    "KNOWN_DATASETS",
    "KnownDataset",
    "Location",
    "RemoteFile",
    "data_home",
    "dataset_path",
    "known_dataset",
    "where",
    "where_table",
]


def data_home() -> Path:
    """The root folder of every dataset: ``$AMKIT_DATA``, else ``$XDG_CACHE_HOME/amkit``
    (``~/.cache/amkit``). Read at every call, so changing the variable takes effect."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "amkit"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset at its original URL, with the sha256 it must have."""

    url: str
    sha256: str
    filename: str  # its name in the dataset's folder


@dataclass(frozen=True)
class KnownDataset:
    """A dataset amkit reads, where it is expected, and how to get it.

    Attributes:
        name: the name of its folder under :func:`data_home` (and of ``amkit data`` commands).
        title: what it is, with its paper.
        licence: its terms, as its publisher states them.
        needs: what must be in the folder for the dataset to count as there: every entry is
            a tuple of alternatives, one of which must exist (e.g. ``train.en.gz`` or
            ``train.en``).
        file: for a dataset that readers take as one file rather than a folder, the
            candidate names of that file (the first that exists is used).
        files: the files ``amkit data download NAME`` fetches; empty: get it by hand.
        manual: how to get it by hand, when it cannot be downloaded.
    """

    name: str
    title: str
    licence: str
    needs: tuple[tuple[str, ...], ...]
    file: tuple[str, ...] = ()
    files: tuple[RemoteFile, ...] = ()
    manual: str = ""
    system: str = ""  # a system-wide folder (a Debian package's) read when data_home has none

    @property
    def downloadable(self) -> bool:
        return bool(self.files)

    def folder(self) -> Path:
        """Its folder under :func:`data_home`, or the system folder when only that one holds
        the dataset."""
        own = data_home() / self.name
        if self.system and not self._complete(own) and self._complete(Path(self.system)):
            return Path(self.system)
        return own

    def _complete(self, folder: Path) -> bool:
        return all(any(_exists(folder, alt) for alt in group) for group in self.needs)

    def default_path(self) -> Path:
        """The folder (or, for a one-file dataset, the file) a config without ``path`` reads."""
        folder = self.folder()
        if not self.file:
            return folder
        return next((folder / f for f in self.file if (folder / f).exists()), folder / self.file[0])

    def is_present(self, folder: Path | None = None) -> bool:
        return self._complete(self.folder() if folder is None else folder)

    def how_to_get(self) -> str:
        if self.downloadable:
            return f"get it with `amkit data download {self.name}`"
        manual = self.manual.format(folder=self.folder())
        return f"it cannot be downloaded automatically ({self.licence}): {manual}"


def _exists(folder: Path, name: str) -> bool:
    return any(folder.glob(name)) if "*" in name else (folder / name).exists()


_MULTI30K_COMMIT = "a3d2e0d26b56f3846f66a952536ffed4e401d05a"
_MULTI30K = f"https://raw.githubusercontent.com/multi30k/dataset/{_MULTI30K_COMMIT}/data/task1/raw"
_SASREC = (
    "https://raw.githubusercontent.com/kang205/SASRec/e3738967fddab206d6eeb4fda433e7a7034dd8b1/data"
)


def _multi30k_files() -> tuple[RemoteFile, ...]:
    # sha256 of each file at that commit (computed from byte-identical copies)
    sums = {
        "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
        "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
        "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
        "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
        "test_2016_flickr.en.gz": (
            "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"
        ),
        "test_2016_flickr.de.gz": (
            "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"
        ),
    }
    return tuple(RemoteFile(f"{_MULTI30K}/{name}", digest, name) for name, digest in sums.items())


def _alternatives(*names: str) -> tuple[tuple[str, ...], ...]:
    """Each name, with or without ``.gz`` (readers take both)."""
    return tuple((n, n.removesuffix(".gz")) if n.endswith(".gz") else (n, f"{n}.gz") for n in names)


KNOWN_DATASETS: dict[str, KnownDataset] = {
    d.name: d
    for d in (
        KnownDataset(
            name="babi",
            title="bAbI QA tasks v1.2 (Weston et al. 2015, arXiv:1502.05698), 1k and 10k",
            licence="CC BY 3.0, Facebook",
            needs=(("tasks_1-20_v1-2", "en", "en-10k", "*.tar.gz"),),
            manual=(
                "download the release archive tasks_1-20_v1-2.tar.gz from the bAbI project "
                "page of Facebook AI Research (https://research.facebook.com/downloads/babi/) "
                "and put it, or its unpacked tasks_1-20_v1-2/ folder, in {folder} (the archive "
                "is read as it is)"
            ),
        ),
        KnownDataset(
            name="countries",
            title=(
                "Countries S1-S3 (Bouchard et al. 2015) as released with Neural Theorem "
                "Provers (Rocktäschel & Riedel 2017)"
            ),
            licence="Apache-2.0 (the uclnlp/ntp repository)",
            needs=(("countries_S1.nl",), ("countries.nl",), ("test.txt",), ("regions.txt",)),
            manual=(
                "copy data/countries/ of the GitHub repository uclnlp/ntp into {folder}, and "
                "add dev_held_out.txt: the 24 countries the S files hold out besides test.txt"
            ),
        ),
        KnownDataset(
            name="fashion_mnist",
            title=(
                "Fashion-MNIST (Xiao et al. 2017): 60,000 / 10,000 28x28 grayscale images of "
                "clothing, 10 classes"
            ),
            licence="MIT",
            needs=(
                ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"),
                ("t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte"),
            ),
            system="/usr/share/datasets/fashion-mnist",
            manual=(
                "`make setup-fashion-mnist` (Debian's dataset-fashion-mnist package, installed "
                "in /usr/share/datasets/fashion-mnist, which amkit reads), or put the four IDX "
                "files of the GitHub repository zalandoresearch/fashion-mnist in {folder}"
            ),
        ),
        KnownDataset(
            name="fsdd",
            title="Free Spoken Digit Dataset: 3,000 recordings of spoken digits, 6 speakers, 8 kHz",
            licence="CC BY-SA 4.0",
            needs=(("recordings.tar.gz", "recordings"),),
            file=("recordings.tar.gz", "recordings"),
            manual=(
                "clone or download the GitHub repository Jakobovski/free-spoken-digit-dataset "
                "and put its recordings/ folder (or recordings.tar.gz, a tar of it) in {folder}"
            ),
        ),
        KnownDataset(
            name="imdb",
            title="IMDB Large Movie Review Dataset v1.0 (Maas et al. 2011), 25k / 25k",
            licence="no licence stated; research use, cite Maas et al. 2011",
            needs=(("train.jsonl.gz", "train.jsonl", "aclImdb/train", "train"),),
            manual=(
                "download aclImdb_v1.tar.gz from https://ai.stanford.edu/~amaas/data/sentiment/ "
                "and unpack it in {folder} (giving {folder}/aclImdb/train/pos/...)"
            ),
        ),
        KnownDataset(
            name="multi30k",
            title="Multi30k task 1, English-German (Elliott et al. 2016): train, val, test 2016",
            licence=(
                "non-commercial research and education (the dataset's README); fetched from "
                "the official repository"
            ),
            needs=_alternatives(
                "train.en.gz",
                "train.de.gz",
                "val.en.gz",
                "val.de.gz",
                "test_2016_flickr.en.gz",
                "test_2016_flickr.de.gz",
            ),  # fmt: skip
            files=_multi30k_files(),
        ),
        KnownDataset(
            name="ml-1m",
            title=(
                "MovieLens 1M (Harper & Konstan 2015) as chronological sequences, with "
                "movies.dat and MKR's item knowledge graph (Wang et al. 2019)"
            ),
            licence="MovieLens terms: no redistribution without permission, research use",
            needs=(("afcfm_ml-1m_train.csv.gz",), ("afcfm_ml-1m_test.csv.gz",)),
            manual=(
                "put in {folder}: afcfm_ml-1m_train.csv.gz and afcfm_ml-1m_test.csv.gz (all "
                "1,000,209 interactions in time order: Data/ml-1m.zip of the GitHub repository "
                "TianyitheDeveloper/AFCFM, its train.csv and test.csv gzipped); for item "
                "knowledge also movies.dat.gz (from ml-1m.zip, "
                "https://grouplens.org/datasets/movielens/1m/) and MKR's movie knowledge graph "
                "(Wang et al. 2019) as mkr_movie_kg.txt.gz and "
                "mkr_movie_item_index2entity_id.txt.gz (its kg.txt and "
                "item_index2entity_id.txt, e.g. data/MKR/movie/ of the GitHub repository "
                "recohut/coldstart-recsys, gzipped)"
            ),
        ),
        KnownDataset(
            name="ett",
            title="ETTh1, Electricity Transformer Temperature, hourly (Zhou et al. 2021)",
            licence="CC BY-ND 4.0 (zhouhaoyi/ETDataset): use it unmodified",
            needs=(("ETTh1.csv.gz", "ETTh1.csv"),),
            file=("ETTh1.csv.gz", "ETTh1.csv"),
            manual=(
                "download ETT-small/ETTh1.csv from the GitHub repository zhouhaoyi/ETDataset "
                "and put it (or it gzipped, ETTh1.csv.gz) in {folder}"
            ),
        ),
        KnownDataset(
            name="sasrec",
            title="Amazon Video Games as preprocessed by SASRec (Kang & McAuley 2018)",
            licence=("the SASRec repository is Apache-2.0; the Amazon review data is for research"),
            needs=(("Video.txt", "Video.txt.gz"),),
            file=("Video.txt", "Video.txt.gz"),
            files=(
                RemoteFile(
                    f"{_SASREC}/Video.txt",
                    # of the uncompressed file; its git blob f576455c matches the repository's
                    "b7376fe24430743f411dc7f567285657b2adb3f74361cc7ba0aee94f3024b651",
                    "Video.txt",
                ),
            ),
        ),
    )
}


def known_dataset(name: str) -> KnownDataset:
    if name not in KNOWN_DATASETS:
        known = ", ".join(KNOWN_DATASETS)
        raise UnknownNameError(
            f"unknown dataset {name!r}{did_you_mean(name, KNOWN_DATASETS)}; known: {known}"
        )
    return KNOWN_DATASETS[name]


@dataclass(frozen=True)
class Location:
    """Where one dataset is expected, for ``amkit data where``."""

    dataset: KnownDataset
    path: Path
    present: bool


def where() -> list[Location]:
    """Every known dataset, the path a config without ``path`` reads, and whether it is there."""
    return [Location(d, d.default_path(), d.is_present()) for d in KNOWN_DATASETS.values()]


def where_table() -> str:
    """``amkit data where``: the root, then one line per dataset (name, there or missing,
    path, how to get it)."""
    root = data_home()
    source = f"from {ENV_VAR}" if os.environ.get(ENV_VAR) else f"default; set {ENV_VAR} to change"
    lines = [f"{ENV_VAR} root: {root} ({source})"]
    width = max(len(name) for name in KNOWN_DATASETS)
    for location in where():
        dataset = location.dataset
        state = "there  " if location.present else "missing"
        how = ""
        if not location.present:
            how = (
                f"  (amkit data download {dataset.name})"
                if dataset.downloadable
                else f"  (by hand: amkit data download {dataset.name} says how)"
            )
        lines.append(f"{dataset.name:<{width}}  {state}  {location.path}{how}")
    return "\n".join(lines)


def _root_hint() -> str:
    if os.environ.get(ENV_VAR):
        return f"{ENV_VAR}={os.environ[ENV_VAR]} sets the root"
    return f"{ENV_VAR} is not set, so the root is {data_home()}; set {ENV_VAR} to another folder"


def dataset_path(name: str, path: str | Path | None = None, key: str = "data.path") -> Path:
    """The path a reader of dataset ``name`` should read.

    Args:
        name: a key of :data:`KNOWN_DATASETS` (``babi``, ``imdb``, ...).
        path: an explicit path (a config's ``path``); it wins when given.
        key: the config key that sets ``path``, for the error message.

    Raises:
        FileNotFoundError: the explicit path does not exist, or the dataset's folder under
            :func:`data_home` does not hold it; the message says where it looked, that
            ``AMKIT_DATA`` sets the root, and how to get the dataset.
    """
    dataset = known_dataset(name)
    if path is not None and str(path) != "":
        explicit = Path(path).expanduser()
        if not explicit.exists():
            raise FileNotFoundError(
                f"{name}: {key} {explicit} does not exist; fix {key}, or leave it out to read "
                f"{dataset.default_path()} ({_root_hint()}); {dataset.how_to_get()}"
            )
        return explicit
    if not dataset.is_present():
        raise FileNotFoundError(missing_message(dataset))
    return dataset.default_path()


def missing_message(dataset: KnownDataset) -> str:
    needed = ", ".join(" or ".join(group) for group in dataset.needs)
    return (
        f"{dataset.name} not found: looked in {dataset.folder()} for {needed} "
        f"({_root_hint()}; or set data.path to your copy); {dataset.how_to_get()}"
    )
