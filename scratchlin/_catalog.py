"""The dataset table (file names, sizes, checksums, mirrors) and where the files are looked for.

Adding an IDX dataset laid out like MNIST (Fashion-MNIST, KMNIST) is one :class:`IDXDataset`
entry: its four files with their published sizes and sha256, its mirrors, its environment
variable and its per-user cache folder name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MNIST",
    "DataFile",
    "IDXDataset",
    "Location",
    "find_file",
    "locate",
    "user_cache_root",
]


@dataclass(frozen=True)
class DataFile:
    """One published file: its names, expected shape and checksums.

    ``gz_*`` describe the published ``.gz`` file, ``raw_*`` its decompressed IDX content.
    """

    name: str
    raw_names: tuple
    split: str
    kind: str  # "images" or "labels"
    shape: tuple
    gz_size: int
    gz_md5: str
    gz_sha256: str
    raw_size: int
    raw_md5: str
    raw_sha256: str

    @property
    def stem(self) -> str:
        """The file name without ``.gz``, e.g. ``train-images-idx3-ubyte``."""
        return self.name[: -len(".gz")]

    @property
    def names(self) -> tuple:
        """Every name the file may have on disk, the published ``.gz`` first."""
        return (self.name,) + self.raw_names


@dataclass(frozen=True)
class IDXDataset:
    """An image-classification dataset published as IDX files (images and labels per split).

    Attributes
    ----------
    name : str
        Short name; also the per-user cache folder (``~/.cache/scratchlin/<name>``).
    env_var : str
        Environment variable naming a folder that holds the files.
    mirrors : tuple of str
        Base URLs tried in order (``base + file name``).
    files : tuple of DataFile
    n_classes : int
        Labels must lie in ``0 .. n_classes - 1``.
    """

    name: str
    env_var: str
    mirrors: tuple
    files: tuple
    n_classes: int

    @property
    def by_name(self) -> dict:
        """``.gz`` name -> :class:`DataFile`."""
        return {f.name: f for f in self.files}

    @property
    def by_any_name(self) -> dict:
        """Every on-disk name (``.gz`` or decompressed) -> :class:`DataFile`."""
        return {n: f for f in self.files for n in f.names}

    @property
    def splits(self) -> dict:
        """``split -> (images file name, labels file name)``."""
        out: dict = {}
        for f in self.files:
            out.setdefault(f.split, {})[f.kind] = f.name
        return {split: (kinds["images"], kinds["labels"]) for split, kinds in out.items()}


MNIST = IDXDataset(
    name="mnist",
    env_var="SCRATCHLIN_DATA",
    # The original site is often unavailable; every download is verified by sha256, so a
    # plain-http mirror is safe to use.
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    n_classes=10,
    files=(
        DataFile(
            "train-images-idx3-ubyte.gz", ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
            "train", "images", (60000, 28, 28),
            9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            47040016, "6bbc9ace898e44ae57da46a324031adb",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        DataFile(
            "train-labels-idx1-ubyte.gz", ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
            "train", "labels", (60000,),
            28881, "d53e105ee54ea40749a09fcbcd1e9432",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            60008, "a25bea736e30d166cdddb491f175f624",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        DataFile(
            "t10k-images-idx3-ubyte.gz", ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
            "test", "images", (10000, 28, 28),
            1648877, "9fb629c4189551a2d022fa330f9573f3",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            7840016, "2646ac647ad5339dbf082846283269ea",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        DataFile(
            "t10k-labels-idx1-ubyte.gz", ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
            "test", "labels", (10000,),
            4542, "ec29112dd5afa0611ce80d1b7f02629c",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            10008, "27ae3e4e09519cfbb04c329615203637",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ),
)


# --------------------------------------------------------------------------------------------
# Where the files are
# --------------------------------------------------------------------------------------------

def user_cache_root() -> Path:
    """``$XDG_CACHE_HOME/scratchlin`` (``~/.cache/scratchlin`` when ``XDG_CACHE_HOME`` is unset
    or relative): the per-user folder for downloads and decoded arrays."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base.absolute() / "scratchlin"


@dataclass(frozen=True)
class Location:
    """The folder a dataset is read from, and how it was chosen."""

    folder: Path
    origin: str   # "root argument", "$<env_var>" or "per-user cache"
    how: str      # the phrase used in messages
    label: str    # the dataset's name in messages, e.g. "MNIST"
    env_var: str  # the dataset's environment variable, e.g. "SCRATCHLIN_DATA"


def locate(dataset: IDXDataset, root=None) -> Location:
    """``root`` if given, else ``$<dataset.env_var>`` if set and non-empty, else the per-user
    cache folder ``user_cache_root() / dataset.name``. Absolute; not created."""
    label = dataset.name.upper()
    if root is not None:
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"root must be a str, a path or None, got {type(root).__name__}")
        return Location(Path(root).expanduser().absolute(), "root argument",
                        f"root={os.fspath(root)!r}", label, dataset.env_var)
    env = os.environ.get(dataset.env_var, "")
    if env:
        variable = f"${dataset.env_var}"
        return Location(Path(env).expanduser().absolute(), variable, variable, label,
                        dataset.env_var)
    return Location(user_cache_root() / dataset.name, "per-user cache",
                    f"the per-user cache (root=None, ${dataset.env_var} unset)", label,
                    dataset.env_var)


def find_file(folder: Path, info: DataFile):
    """The first existing file for ``info`` in ``folder`` (the ``.gz``, then the decompressed
    names), or None."""
    for name in info.names:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None
