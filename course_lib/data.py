r"""Data sets used by the course.

- :func:`load_digits`: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10
  classes). Offline: the data ship with scikit-learn, nothing is downloaded.
- :func:`load_fashion_mnist`: Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from its four
  official IDX files, checked against their published MD5 checksums; downloaded only when
  asked (``download=True``, e.g. on Colab).
- :func:`train_val_test_split`: stratified, seeded split; :func:`read_idx`: IDX reader.

Standardization uses training statistics only, so that nothing about the validation and
test examples leaks into the inputs of the model:

.. math:: x'_{ij} = \frac{x_{ij} - m_j}{s_j}, \qquad
          m_j = \text{mean}_{i \in \text{train}}\, x_{ij}, \quad
          s_j = \text{std}_{i \in \text{train}}\, x_{ij} \;(\text{or } 1 \text{ if it is } 0).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = [
    "Split",
    "load_digits",
    "train_val_test_split",
    "standardize",
    "read_idx",
    "FASHION_MNIST",
    "FASHION_MNIST_MIRRORS",
    "load_fashion_mnist",
]


class Split(NamedTuple):
    """Train / validation / test arrays; labels are int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating-point dtype (float32 or float64), got {dtype}")
    return dtype


def _check_fraction(name, value):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and 0.0 <= value < 1.0):
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def _allocate(counts, total):
    """Split ``total`` among classes in proportion to ``counts`` (largest remainder), so
    that the totals are exact and each class gets floor or ceil of its proportional share."""
    quotas = total * counts / counts.sum()
    alloc = np.floor(quotas).astype(np.int64)
    short = int(total - alloc.sum())
    # stable sort: ties go to the smaller class label, which keeps the split deterministic
    alloc[np.argsort(-(quotas - alloc), kind="stable")[:short]] += 1
    return alloc


def _stratified_indices(y, n_val, n_test, rng):
    classes, y_idx = np.unique(y, return_inverse=True)
    counts = np.bincount(y_idx, minlength=len(classes))
    test_per_class = _allocate(counts, n_test)
    remaining = counts - test_per_class
    val_per_class = _allocate(remaining, n_val) if n_val else np.zeros_like(counts)
    train, val, test = [], [], []
    for c in range(len(classes)):
        idx = rng.permutation(np.flatnonzero(y_idx == c))
        nt, nv = test_per_class[c], val_per_class[c]
        test.append(idx[:nt])
        val.append(idx[nt : nt + nv])
        train.append(idx[nt + nv :])
    # shuffle each part so that classes are interleaved rather than sorted
    return tuple(rng.permutation(np.concatenate(part)) for part in (train, val, test))


def train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.2, seed=0):
    r"""Stratified random split of ``(X, y)`` into train, validation and test parts.

    The test part gets :math:`\mathrm{round}(\text{test\_fraction}\cdot N)` examples and
    the validation part :math:`\mathrm{round}(\text{val\_fraction}\cdot N)`; each class
    contributes in proportion to its frequency (largest-remainder rounding, so every class
    is within one example of its exact share). The parts are disjoint and cover all N
    examples; the same ``seed`` gives the same split. Inputs are not modified (the parts
    are copies); labels are returned as int64.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim < 1 or y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape (n,) matching X's first dimension, got X {X.shape} and y {y.shape}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    val_fraction = _check_fraction("val_fraction", val_fraction)
    test_fraction = _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1 to leave training data, got {val_fraction} + {test_fraction}"
        )
    n = X.shape[0]
    n_val, n_test = int(round(val_fraction * n)), int(round(test_fraction * n))
    tr, va, te = _stratified_indices(y, n_val, n_test, np.random.default_rng(seed))
    y = y.astype(np.int64)
    return Split(X[tr], y[tr], X[va], y[va], X[te], y[te])


def standardize(split):
    """Standardize every part of ``split`` with the per-feature mean and standard deviation
    of its *training* part (features constant on the training set get s = 1, so they map
    to 0 instead of dividing by zero). Returns a new Split; dtypes are kept."""
    X = split.X_train
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std = np.where(std > 0, std, 1).astype(X.dtype)

    def scale(A):
        return ((A - mean) / std).astype(A.dtype, copy=False)

    return split._replace(X_train=scale(split.X_train), X_val=scale(split.X_val), X_test=scale(split.X_test))


def load_digits(seed=0, val_fraction=0.2, test_fraction=0.2, standardize=True, dtype=np.float64):
    """scikit-learn's 8x8 digits as a stratified :class:`Split` (offline).

    ``X_*`` have shape (n, 64) with pixel intensities 0..16 (or standardized with the
    training statistics when ``standardize=True``), dtype ``dtype``; ``y_*`` are int64
    labels 0..9. With the defaults: 1079 training, 359 validation, 359 test examples.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    dtype = _float_dtype(dtype)
    bunch = _sk_load_digits()
    split = train_val_test_split(bunch.data.astype(dtype), bunch.target, val_fraction, test_fraction, seed)
    return _standardize(split) if standardize else split


_standardize = standardize  # load_digits's argument shadows the function name


# --------------------------------------------------------------------------- IDX files
# IDX type codes (third byte of the magic number) -> big-endian NumPy dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Read an IDX file (the MNIST / Fashion-MNIST format), gzip-compressed or raw.

    Layout: a 4-byte magic number ``0x00 0x00 T K`` (T: type code, 0x08 uint8, 0x09 int8,
    0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64; K: number of dimensions), then K
    big-endian uint32 sizes, then the data in C order, big-endian. Compression is detected
    from the gzip signature, not from the file name.

    Returns an array of shape given by the header in native byte order. Raises
    ``ValueError`` naming the file when the magic number is wrong, the gzip stream is
    broken, or the payload length does not match the sizes in the header.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc}); delete the file and get it again") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file (bad magic number {raw[:4].hex()!r}; expected 0000 followed by a type "
            f"code in {{{', '.join(f'{k:02x}' for k in _IDX_DTYPES)}}} and the number of dimensions)"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, need {header} for {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX payload has {len(raw) - header} bytes but the header's shape {shape} "
            f"of {dtype.newbyteorder('=')} needs {expected} (truncated or corrupt file)"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, writable copy


# --------------------------------------------------------------------------- Fashion-MNIST
# Official file names and MD5 checksums, as published by Zalando Research
# (github.com/zalandoresearch/fashion-mnist) and listed in torchvision's
# FashionMNIST.resources (pytorch/vision, torchvision/datasets/mnist.py).
FASHION_MNIST = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}

# Base URLs tried in order: Zalando's S3 bucket (torchvision's mirror) and the copy in the
# project's GitHub repository.
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)


def _md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(filename, root, mirrors, md5, timeout):
    """Fetch ``filename`` from the first mirror that serves it with the right checksum.

    The file is written to a temporary name in ``root`` and moved into place only after
    its checksum matched, so an interrupted or corrupt download never leaves a file that a
    later call would pick up (a mismatching download is deleted)."""
    errors = []
    mismatch = None
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += filename
        fd, tmp = tempfile.mkstemp(prefix=filename + ".", suffix=".part", dir=root)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, out)
            got = _md5(tmp)
            if got == md5:
                os.replace(tmp, Path(root) / filename)
                return
            mismatch = (url, got)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            # HTTPException: a connection cut mid-file (IncompleteRead); try the next mirror
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    if mismatch is not None:
        url, got = mismatch
        raise ValueError(
            f"{filename}: checksum mismatch for the file downloaded from {url}: MD5 {got}, expected {md5}; "
            "the download was deleted"
        )
    raise OSError(f"could not download {filename} from any mirror: " + "; ".join(errors))


def load_fashion_mnist(
    root,
    download=False,
    val_size=10000,
    seed=0,
    flatten=True,
    normalize=True,
    dtype=np.float32,
    checksums=None,
    mirror=None,
    timeout=60.0,
):
    """Fashion-MNIST from the four official IDX files in the folder ``root``.

    Split: the 60000 official training images give ``val_size`` validation examples
    (stratified, seeded by ``seed``) and the rest for training; the 10000 official test
    images are the test set. ``flatten=True`` gives ``X`` of shape (n, 784), else
    (n, 28, 28); ``normalize=True`` scales the pixels to [0, 1] (x / 255), else keeps
    0..255; ``X`` has dtype ``dtype``, labels are int64.

    Every file is checked against its MD5 in ``checksums`` (default :data:`FASHION_MNIST`)
    before it is read.

    - A missing file with ``download=False`` raises ``FileNotFoundError`` naming the file
      (nothing is fetched unless ``download=True``).
    - With ``download=True``, missing files are fetched with urllib from the base URL(s)
      ``mirror`` (default :data:`FASHION_MNIST_MIRRORS`; a string or a sequence, tried in
      order). A download whose MD5 does not match is deleted and raises ``ValueError``
      naming the file and both checksums.
    - A file already in ``root`` whose MD5 does not match raises ``ValueError`` naming the
      file and both checksums; it is *kept* (it is the user's file), and the message says to
      delete it and download again.
    - A file whose IDX content is corrupt raises ``ValueError`` (see :func:`read_idx`).
    """
    dtype = _float_dtype(dtype)
    checksums = FASHION_MNIST if checksums is None else dict(checksums)
    missing_keys = [name for name in FASHION_MNIST if name not in checksums]
    if missing_keys:
        raise KeyError(f"checksums must give an MD5 for each of {list(FASHION_MNIST)}; missing {missing_keys}")
    mirrors = FASHION_MNIST_MIRRORS if mirror is None else ((mirror,) if isinstance(mirror, str) else tuple(mirror))
    if not mirrors:
        raise ValueError("mirror must be a base URL or a non-empty sequence of base URLs")
    if isinstance(val_size, bool) or not isinstance(val_size, (int, np.integer)) or not 0 <= val_size < 60000:
        raise ValueError(f"val_size must be an integer in [0, 60000), got {val_size!r}")
    root = Path(root)

    arrays = {}
    for filename in FASHION_MNIST:
        path = root / filename
        if not path.exists():
            if not download:
                raise FileNotFoundError(
                    f"{path} not found: put the official Fashion-MNIST file {filename} there, "
                    "or pass download=True to fetch it"
                )
            root.mkdir(parents=True, exist_ok=True)
            _download(filename, root, mirrors, checksums[filename], timeout)
        got = _md5(path)
        if got != checksums[filename]:
            raise ValueError(
                f"{path}: checksum mismatch: MD5 {got}, expected {checksums[filename]}; "
                "the file is corrupt or not the official one: delete it and pass download=True"
            )
        arrays[filename] = read_idx(path)

    def pair(images_name, labels_name):
        images, labels = arrays[images_name], arrays[labels_name]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{root / images_name}: expected uint8 images of shape (n, rows, cols), got {images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"{root / labels_name}: expected {images.shape[0]} labels to match {images_name}, got shape {labels.shape}"
            )
        X = images.reshape(images.shape[0], -1) if flatten else images
        X = X.astype(dtype)
        if normalize:
            X /= 255
        return X, labels.astype(np.int64)

    X_full, y_full = pair("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    X_test, y_test = pair("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    if val_size >= X_full.shape[0]:
        raise ValueError(f"val_size must be smaller than the {X_full.shape[0]} training images, got {val_size}")
    tr, va, _ = _stratified_indices(y_full, val_size, 0, np.random.default_rng(seed))
    return Split(X_full[tr], y_full[tr], X_full[va], y_full[va], X_test, y_test)
