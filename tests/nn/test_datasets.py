"""Issue 13, item 1: bngeom.load_dataset reads .npz, .npy pairs and .csv into a Dataset."""

import numpy as np
import pytest

import bngeom
from bngeom.nn.data import Dataset
from bngeom.nn.datasets import load_dataset, read_arrays


def _data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * [1.0, 10.0, 0.1] + [5.0, -3.0, 100.0]
    return X, X @ [1.0, -0.5, 2.0]


def _csv(path, X, y, header=None, sep=","):
    lines = [] if header is None else [sep.join(header)]
    lines += [sep.join(repr(float(v)) for v in (*row, t)) for row, t in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _same(ds, X, y):
    assert isinstance(ds, Dataset)
    assert np.allclose(ds.X, X - X.mean(axis=0), rtol=1e-13, atol=1e-12)
    assert np.allclose(ds.mean, X.mean(axis=0), rtol=1e-14)
    assert np.array_equal(ds.y, y)
    assert np.allclose(ds.cov, np.cov(X.T, bias=True), rtol=1e-12)


def test_npz_npy_pair_directory(tmp_path):
    X, y = _data()
    np.savez(tmp_path / "d.npz", X=X, y=y, labels=np.sign(y))
    _same(load_dataset(tmp_path / "d.npz"), X, y)
    _same(load_dataset(str(tmp_path / "d.npz"), target="labels"), X, np.sign(y))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y[:, None])          # a column vector is flattened
    _same(load_dataset([tmp_path / "X.npy", tmp_path / "y.npy"]), X, y)
    _same(load_dataset(tmp_path), X, y)
    assert bngeom.load_dataset is load_dataset


def test_csv_header_target_by_name_index_or_last(tmp_path):
    X, y = _data()
    path = _csv(tmp_path / "h.csv", X, y, header=["age", "income", "height", "price"])
    ds = load_dataset(path)
    _same(ds, X, y)
    assert ds.feature_names == ("age", "income", "height")
    by_name = load_dataset(path, target="income")
    _same(by_name, np.column_stack([X[:, [0, 2]], y]), X[:, 1])
    assert by_name.feature_names == ("age", "height", "price")
    _same(load_dataset(path, target=1), np.column_stack([X[:, [0, 2]], y]), X[:, 1])
    _same(load_dataset(path, target="-1"), X, y)
    plain = load_dataset(_csv(tmp_path / "p.csv", X, y))
    _same(plain, X, y)
    assert plain.feature_names is None
    _same(load_dataset(_csv(tmp_path / "t.tsv", X, y, ["a", "b", "c", "d"], "\t")), X, y)


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ("a,b,c\n", "header but no data rows"),
    ("1,2,3\n4,5\n", "ragged rows: line 2 has 2 fields"),
    ("a,b\n1,2\n3,4,5\n", "line 3 has 3 fields"),
    ("a,b,c\n1,2,3\n\n4,x,6\n", r"line 4, column 1 \('b'\): 'x' is not a number"),
    ("1,2,3\n4,nan,6\n7,8,9\n", r"X has 1 NaN or inf entries \(first at index \[1, 1\]\)"),
    ("1,2,3\n4,5,inf\n7,8,9\n", "y has 1 NaN or inf"),
    ("1\n2\n", "at least two columns"),
    ("1,2,3\n4,,6\n7,8,9\n", "'' is not a number"),
])
def test_bad_csv_names_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        load_dataset(path)
    assert str(path) in str(info.value)


def test_bad_targets_and_sources(tmp_path):
    X, y = _data()
    path = _csv(tmp_path / "h.csv", X, y, header=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="no target column 'price'.*'a', 'b'"):
        load_dataset(path, target="price")
    with pytest.raises(ValueError, match="index 7 is out of range for 4 columns"):
        load_dataset(path, target=7)
    with pytest.raises(ValueError, match="no such file"):
        load_dataset(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="must hold X.npy and y.npy"):
        load_dataset(tmp_path)
    (tmp_path / "d.txt").write_text("1,2\n")
    with pytest.raises(ValueError, match="unknown data file type '.txt'"):
        load_dataset(tmp_path / "d.txt")
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match="single .npy file holds one array"):
        load_dataset(tmp_path / "X.npy")
    with pytest.raises(TypeError, match="path must be"):
        load_dataset(3)
    with pytest.raises(ValueError, match="singular must be one of"):
        load_dataset(path, singular="drop")


def test_bad_arrays(tmp_path):
    X, y = _data()
    cases = {
        "noy.npz": ({"X": X}, r"needs arrays 'X' and 'y', it has \['X'\]"),
        "flat.npz": ({"X": X[:, 0], "y": y}, r"X must be a 2-d array"),
        "y2.npz": ({"X": X, "y": np.ones((20, 2))}, r"y must be a 1-d array"),
        "short.npz": ({"X": X, "y": y[:-1]}, "X has 20 samples but y has 19"),
        "empty.npz": ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, "X is empty"),
        "text.npz": ({"X": np.array([["a", "b"]]), "y": np.ones(1)}, "X must be numeric"),
        "inf.npz": ({"X": np.where(X > 99.9, np.inf, X), "y": y}, "NaN or inf"),
    }
    for name, (arrays, message) in cases.items():
        np.savez(tmp_path / name, **arrays)
        with pytest.raises(ValueError, match=message) as info:
            load_dataset(tmp_path / name)
        assert name in str(info.value)
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_dataset(tmp_path / "junk.npz")


def test_singular_csv_names_features_and_projects(tmp_path):
    X, y = _data()
    X = np.column_stack([X, np.full(len(X), 4.0), X[:, 0] - X[:, 2]])
    path = _csv(tmp_path / "s.csv", X, y, header=["a", "b", "c", "flat", "diff", "target"])
    with pytest.raises(ValueError, match=r"s.csv: .*constant features: 'flat' \(column 3\); "
                                         r"collinear features: .*'diff'"):
        load_dataset(path)
    ds = load_dataset(path, singular="project")
    assert (ds.dim, ds.original_dim) == (3, 5)


def test_read_arrays_keeps_the_raw_values(tmp_path):
    X, y = _data()
    X2, y2, names, where = read_arrays(_csv(tmp_path / "r.csv", X, y))
    assert np.array_equal(X2, X) and np.array_equal(y2, y) and names is None
    assert where.endswith("r.csv")
