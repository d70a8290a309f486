"""course_lib.data: digits splits, IDX reading, Fashion-MNIST checks on files the tests write."""

import contextlib
import gzip
import hashlib
import http.server
import struct
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits as sk_load_digits

from course_lib import data

FILES = list(data.FASHION_MNIST)


# --------------------------------------------------------------------------- digits
def test_load_digits_split_sizes_dtype_and_disjointness():
    s = data.load_digits(standardize=False)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (1079, 359, 359)
    assert s.X_train.dtype == np.float64 and s.X_train.shape[1] == 64
    assert all(a.dtype == np.int64 for a in (s.y_train, s.y_val, s.y_test))
    # every original image appears in exactly one part: match rows back to sklearn's data
    full = sk_load_digits()
    parts = np.concatenate([s.X_train, s.X_val, s.X_test])
    labels = np.concatenate([s.y_train, s.y_val, s.y_test])
    key = lambda A, y: sorted(map(bytes, np.column_stack([A, y]).astype(np.uint8)))  # noqa: E731
    assert key(parts, labels) == key(full.data, full.target)


def test_train_val_test_split_is_disjoint_stratified_and_deterministic():
    y = np.repeat(np.arange(4), [50, 30, 15, 5])
    X = np.arange(len(y))  # X holds each example's index, so we can follow it
    a = data.train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.3, seed=1)
    b = data.train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.3, seed=1)
    c = data.train_val_test_split(X, y, val_fraction=0.2, test_fraction=0.3, seed=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.X_train, c.X_train)
    idx = np.concatenate([a.X_train, a.X_val, a.X_test])
    assert sorted(idx) == list(range(len(y)))  # disjoint and complete
    assert (len(a.X_val), len(a.X_test)) == (20, 30)
    for Xp, yp, frac in ((a.X_val, a.y_val, 0.2), (a.X_test, a.y_test, 0.3)):
        np.testing.assert_array_equal(y[Xp], yp)  # labels travel with their examples
        counts = np.bincount(yp, minlength=4)
        assert np.all(np.abs(counts - frac * np.array([50, 30, 15, 5])) < 1)  # within one example
    assert not np.all(np.diff(a.y_train) >= 0)  # classes interleaved, not sorted


def test_load_digits_is_stratified_deterministic_and_standardized_with_train_stats():
    s = data.load_digits(seed=3)
    t = data.load_digits(seed=3)
    for u, v in zip(s, t):
        np.testing.assert_array_equal(u, v)
    raw = data.load_digits(seed=3, standardize=False)
    for u, v in zip((s.y_train, s.y_val, s.y_test), (raw.y_train, raw.y_val, raw.y_test)):
        np.testing.assert_array_equal(u, v)
    full_counts = np.bincount(sk_load_digits().target)
    for y in (s.y_val, s.y_test):
        assert np.all(np.abs(np.bincount(y, minlength=10) - 0.2 * full_counts) < 1)
    mean, std = raw.X_train.mean(axis=0), raw.X_train.std(axis=0)
    constant = std == 0
    assert constant.any()  # the corner pixels of the digits are always 0
    safe = np.where(constant, 1.0, std)
    np.testing.assert_allclose(s.X_train, (raw.X_train - mean) / safe, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.X_val, (raw.X_val - mean) / safe, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.X_test, (raw.X_test - mean) / safe, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s.X_train[:, ~constant].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.X_train[:, ~constant].std(axis=0), 1, rtol=1e-12)
    assert np.all(np.isfinite(s.X_val)) and np.all(np.isfinite(s.X_test))
    # validation data are NOT standardized with their own statistics
    assert np.abs(s.X_val[:, ~constant].mean(axis=0)).max() > 1e-3


def test_load_digits_float32_and_bad_arguments():
    s = data.load_digits(dtype=np.float32)
    assert all(a.dtype == np.float32 for a in (s.X_train, s.X_val, s.X_test))
    with pytest.raises(TypeError, match="dtype"):
        data.load_digits(dtype=np.int32)
    with pytest.raises(ValueError, match="val_fraction"):
        data.load_digits(val_fraction=-0.1)
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction"):
        data.load_digits(val_fraction=0.5, test_fraction=0.5)


# --------------------------------------------------------------------------- IDX
def idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    r = np.random.default_rng(0)
    images = r.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    labels = r.integers(0, 10, size=7, dtype=np.uint8)
    floats = r.standard_normal((3, 2)).astype(np.float32)
    ints = r.integers(-1000, 1000, size=(6,)).astype(np.int32)
    for name, arr, code in (("img", images, 0x08), ("lab", labels, 0x08), ("f", floats, 0x0D), ("i", ints, 0x0C)):
        raw = idx_bytes(arr, code)
        path = tmp_path / (name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(raw) if compress else raw)
        back = data.read_idx(path)
        assert back.dtype == arr.dtype and back.dtype.isnative
        np.testing.assert_array_equal(back, arr)
        back[...] = 0  # the result is a writable array of its own


def test_read_idx_rejects_corrupt_files_naming_them(tmp_path):
    good = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    cases = {
        "truncated.idx": good[:-1],
        "too_long.idx": good + b"\x00",
        "bad_magic.idx": b"\x01\x02" + good[2:],
        "bad_type.idx": good[:2] + b"\x07" + good[3:],
        "short_header.idx": good[:8],
        "truncated.gz": gzip.compress(good)[:-6],
    }
    messages = {
        "truncated.idx": "payload",
        "too_long.idx": "payload",
        "bad_magic.idx": "magic",
        "bad_type.idx": "magic",
        "short_header.idx": "header",
        "truncated.gz": "gzip",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(ValueError, match=messages[name]) as info:
            data.read_idx(path)
        assert name in str(info.value)


# --------------------------------------------------------------------------- Fashion-MNIST
def test_official_checksums_and_mirrors():
    assert FILES == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert all(len(v) == 32 and int(v, 16) >= 0 for v in data.FASHION_MNIST.values())
    assert data.FASHION_MNIST["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert all(m.endswith("/") for m in data.FASHION_MNIST_MIRRORS)


def write_fake_fashion(folder, n_train=40, n_test=12, seed=0):
    """Small stand-ins for the four official files; returns (checksums, arrays)."""
    r = np.random.default_rng(seed)
    arrays = {
        FILES[0]: r.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        FILES[1]: np.arange(n_train, dtype=np.uint8) % 10,
        FILES[2]: r.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        FILES[3]: np.arange(n_test, dtype=np.uint8) % 10,
    }
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, arr in arrays.items():
        blob = gzip.compress(idx_bytes(arr), mtime=0)
        (folder / name).write_bytes(blob)
        sums[name] = hashlib.md5(blob).hexdigest()
    return sums, arrays


def test_load_fashion_mnist_from_local_files(tmp_path):
    sums, arrays = write_fake_fashion(tmp_path)
    s = data.load_fashion_mnist(tmp_path, val_size=10, checksums=sums)
    assert s.X_train.shape == (30, 784) and s.X_val.shape == (10, 784) and s.X_test.shape == (12, 784)
    assert s.X_train.dtype == np.float32 and s.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(s.y_val, minlength=10), np.ones(10))  # stratified
    np.testing.assert_allclose(s.X_test, arrays[FILES[2]].reshape(12, -1) / 255.0, rtol=1e-7)
    np.testing.assert_array_equal(s.y_test, arrays[FILES[3]])
    # train + val are the official training images, each exactly once, labels attached
    lookup = {bytes(img.reshape(-1)): lab for img, lab in zip(arrays[FILES[0]], arrays[FILES[1]])}
    seen = [(bytes(np.rint(x * 255).astype(np.uint8)), lab) for X, y in ((s.X_train, s.y_train), (s.X_val, s.y_val)) for x, lab in zip(X, y)]
    assert len({k for k, _ in seen}) == 40 and all(lookup[k] == lab for k, lab in seen)
    raw = data.load_fashion_mnist(tmp_path, val_size=0, checksums=sums, flatten=False, normalize=False, dtype=np.float64)
    assert raw.X_train.shape == (40, 28, 28) and raw.X_train.dtype == np.float64 and raw.X_train.max() > 1
    again = data.load_fashion_mnist(tmp_path, val_size=10, checksums=sums)
    np.testing.assert_array_equal(again.X_val, s.X_val)


def test_missing_file_names_it_and_says_how_to_download(tmp_path):
    sums, _ = write_fake_fashion(tmp_path)
    (tmp_path / FILES[3]).unlink()
    with pytest.raises(FileNotFoundError, match=f"{FILES[3]}.*download=True"):
        data.load_fashion_mnist(tmp_path, checksums=sums)


def test_wrong_checksum_names_file_and_both_sums_and_keeps_user_file(tmp_path):
    sums, _ = write_fake_fashion(tmp_path)
    bad = dict(sums)
    bad[FILES[1]] = "0" * 32
    with pytest.raises(ValueError) as info:
        data.load_fashion_mnist(tmp_path, checksums=bad)
    msg = str(info.value)
    assert FILES[1] in msg and sums[FILES[1]] in msg and "0" * 32 in msg
    assert (tmp_path / FILES[1]).exists()
    # the official checksums reject the stand-in files too
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load_fashion_mnist(tmp_path)


def test_corrupt_idx_with_matching_checksum_is_reported(tmp_path):
    sums, _ = write_fake_fashion(tmp_path)
    truncated = gzip.compress(idx_bytes(np.zeros((40, 28, 28), np.uint8))[:-100])
    (tmp_path / FILES[0]).write_bytes(truncated)
    sums[FILES[0]] = hashlib.md5(truncated).hexdigest()
    with pytest.raises(ValueError, match=f"{FILES[0]}.*payload"):
        data.load_fashion_mnist(tmp_path, checksums=sums)


def test_download_from_file_url(tmp_path):
    server_dir = tmp_path / "mirror"
    sums, arrays = write_fake_fashion(server_dir)
    root = tmp_path / "data"
    missing_mirror = (tmp_path / "nowhere").as_uri() + "/"
    s = data.load_fashion_mnist(
        root, download=True, val_size=5, checksums=sums, mirror=[missing_mirror, server_dir.as_uri() + "/"]
    )
    assert sorted(p.name for p in root.iterdir()) == sorted(FILES)  # no temporary files left
    np.testing.assert_array_equal(s.y_test, arrays[FILES[3]])


def test_download_with_wrong_checksum_is_deleted(tmp_path):
    server_dir = tmp_path / "mirror"
    sums, _ = write_fake_fashion(server_dir)
    bad = dict(sums)
    bad[FILES[2]] = "f" * 32
    root = tmp_path / "data"
    with pytest.raises(ValueError) as info:
        data.load_fashion_mnist(root, download=True, checksums=bad, mirror=server_dir.as_uri())
    msg = str(info.value)
    assert FILES[2] in msg and sums[FILES[2]] in msg and "f" * 32 in msg
    assert not (root / FILES[2]).exists()
    assert sorted(p.name for p in root.iterdir()) == sorted(FILES[:2])  # earlier good files kept


def test_download_failure_lists_the_urls(tmp_path):
    sums, _ = write_fake_fashion(tmp_path / "unused")
    nowhere = (tmp_path / "nowhere").as_uri()
    with pytest.raises(OSError, match=f"{FILES[0]}.*nowhere"):
        data.load_fashion_mnist(tmp_path / "data", download=True, checksums=sums, mirror=nowhere)


@contextlib.contextmanager
def local_http_server(directory, handler=None):
    """HTTP server on 127.0.0.1 (free port) serving ``directory`` (or answering with the
    request handler class ``handler``); always shut down."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler or Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_download_over_local_http(tmp_path):
    server_dir = tmp_path / "mirror"
    sums, arrays = write_fake_fashion(server_dir, seed=1)
    root = tmp_path / "data"
    with local_http_server(server_dir) as url:
        s = data.load_fashion_mnist(root, download=True, val_size=10, checksums=sums, mirror=url, timeout=10)
        with pytest.raises(OSError, match="404"):  # a mirror without the files
            data.load_fashion_mnist(tmp_path / "other", download=True, checksums=sums, mirror=url + "missing/", timeout=10)
    assert s.X_train.shape == (30, 784)
    np.testing.assert_array_equal(s.y_test, arrays[FILES[3]])
    for name in FILES:
        assert hashlib.md5((root / name).read_bytes()).hexdigest() == sums[name]


def test_broken_server_falls_back_to_the_next_mirror(tmp_path):
    # http.client raises HTTPException (BadStatusLine here, IncompleteRead for a cut
    # connection), which is not an OSError.
    server_dir = tmp_path / "mirror"
    sums, arrays = write_fake_fashion(server_dir, seed=2)

    class Broken(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")

        def log_message(self, *args):
            pass

    with local_http_server(None, Broken) as broken:
        root = tmp_path / "data"
        s = data.load_fashion_mnist(root, download=True, val_size=10, checksums=sums,
                                    mirror=[broken, server_dir.as_uri() + "/"], timeout=10)
        np.testing.assert_array_equal(s.y_test, arrays[FILES[3]])
        assert sorted(p.name for p in root.iterdir()) == sorted(FILES)  # no partial files
        with pytest.raises(OSError, match="BadStatusLine"):
            data.load_fashion_mnist(tmp_path / "other", download=True, checksums=sums,
                                    mirror=broken, timeout=10)


def test_load_fashion_mnist_bad_arguments(tmp_path):
    sums, _ = write_fake_fashion(tmp_path)
    with pytest.raises(KeyError, match=FILES[0]):
        data.load_fashion_mnist(tmp_path, checksums={k: v for k, v in sums.items() if k != FILES[0]})
    with pytest.raises(ValueError, match="val_size"):
        data.load_fashion_mnist(tmp_path, checksums=sums, val_size=-1)
    with pytest.raises(ValueError, match="val_size"):
        data.load_fashion_mnist(tmp_path, checksums=sums, val_size=40)
    with pytest.raises(TypeError, match="dtype"):
        data.load_fashion_mnist(tmp_path, checksums=sums, dtype=np.uint8)
