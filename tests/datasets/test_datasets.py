"""Datasets: generators, registry, files, optional packages, split and scaling."""

import random
import re
import sys
import types

import numpy as np
import pytest

from deltaprop import datasets
from deltaprop.training.preprocessing import Standardizer, train_test_split

TOY = ["quadrants", "xor", "moons", "circles", "spirals", "blobs"]


@pytest.mark.parametrize("name", TOY)
def test_toy_sets_have_size_labels_and_are_reproducible(name):
    data = datasets.load(name, n_samples=101, noise=0.1, seed=3)
    assert data.X.shape == (101, 2) and data.X.dtype == np.float64
    assert data.y.shape == (101,) and data.y.dtype == np.int64
    assert data.task == "classification"
    assert set(np.unique(data.y)) == set(range(len(data.classes)))
    again = datasets.load(name, n_samples=101, noise=0.1, seed=3)
    np.testing.assert_array_equal(data.X, again.X)
    other = datasets.load(name, n_samples=101, noise=0.1, seed=4)
    assert not np.array_equal(data.X, other.X)


def test_quadrants_labels_follow_the_sign_rule_without_noise():
    X, y = datasets.quadrants(200, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))


def test_noise_moves_points_but_not_labels():
    clean = datasets.circles(100, noise=0.0, seed=1)
    radius = np.hypot(clean.X[:, 0], clean.X[:, 1])
    np.testing.assert_allclose(radius, np.where(clean.y == 0, 1.0, 0.5))
    noisy = datasets.circles(100, noise=0.2, seed=1)
    assert np.abs(np.hypot(noisy.X[:, 0], noisy.X[:, 1]) - radius).max() > 0.05


def test_generators_do_not_touch_the_global_random_state():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    datasets.moons(50, seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_spirals_and_blobs_take_class_counts():
    assert len(datasets.spirals(90, n_classes=3, seed=0).classes) == 3
    assert np.bincount(datasets.blobs(100, centers=4, seed=0).y).tolist() == [25] * 4


def test_curve_is_regression_with_noise():
    data = datasets.load("curve", n_samples=300, noise=0.0, seed=0)
    assert data.task == "regression" and data.X.shape == (300, 1)
    np.testing.assert_allclose(data.y, np.sin(data.X[:, 0]) + 0.3 * data.X[:, 0])
    noisy = datasets.curve(300, noise=0.5, seed=0)
    residual = noisy.y - (np.sin(noisy.X[:, 0]) + 0.3 * noisy.X[:, 0])
    assert 0.4 < residual.std() < 0.6


@pytest.mark.parametrize("bad", [{"n_samples": 0}, {"noise": -1.0}, {"n_samples": 2.5}])
def test_generator_arguments_are_checked(bad):
    with pytest.raises(ValueError, match=r"n_samples|noise"):
        datasets.moons(**{"n_samples": 10, **bad})


def test_registry_lists_everything_and_rejects_unknown_names():
    names = [name for name, _ in datasets.available()]
    assert names == sorted(names)
    for expected in [*TOY, "curve", "digits", "iris", "wine", "breast_cancer", "diabetes",
                     "mnist1d"]:
        assert expected in names
    assert all(description for _, description in datasets.available())
    with pytest.raises(ValueError, match=r"unknown dataset 'mooons'.*moons"):
        datasets.load("mooons")
    with pytest.raises(ValueError, match="does not take the options"):
        datasets.load("moons", colour="red")


@pytest.mark.parametrize("name,task,shape", [("iris", "classification", (150, 4)),
                                             ("diabetes", "regression", (442, 10)),
                                             ("digits", "classification", (1797, 64))])
def test_sklearn_sets(name, task, shape):
    pytest.importorskip("sklearn")
    data = datasets.load(name)
    assert (data.task, data.X.shape) == (task, shape)
    assert len(data.feature_names) == shape[1]


def test_sklearn_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)     # import fails
    with pytest.raises(ImportError, match=r"pip install 'deltaprop\[datasets\]'"):
        datasets.load("wine")


def test_mnist1d_missing_gives_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mnist1d", None)
    monkeypatch.setitem(sys.modules, "mnist1d.data", None)
    with pytest.raises(ImportError, match="pip install mnist1d"):
        datasets.load("mnist1d")


def test_mnist1d_global_random_state_is_restored(monkeypatch):
    calls = {}

    def make_dataset(args):              # behaves like the real package: reseeds globally
        np.random.seed(args.seed)  # noqa: NPY002
        random.seed(args.seed)
        calls["n"] = args.num_samples
        n_train = int(args.num_samples * 0.8)
        x = np.random.randn(args.num_samples, 40)  # noqa: NPY002
        y = np.random.randint(0, 10, args.num_samples)  # noqa: NPY002
        return {"x": x[:n_train], "y": y[:n_train], "x_test": x[n_train:], "y_test": y[n_train:]}

    fake = types.ModuleType("mnist1d.data")
    fake.get_dataset_args = lambda as_dict=False: {"num_samples": 5000, "seed": 42,
                                                   "final_seq_length": 40}
    fake.make_dataset = make_dataset
    package = types.ModuleType("mnist1d")
    package.data = fake
    monkeypatch.setitem(sys.modules, "mnist1d", package)
    monkeypatch.setitem(sys.modules, "mnist1d.data", fake)

    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    data = datasets.load("mnist1d", n_samples=50, seed=7, split="train")
    assert calls["n"] == 50 and data.X.shape == (40, 40) and data.task == "classification"
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert random.getstate() == py_state
    with pytest.raises(ValueError, match="unknown mnist1d arguments"):
        datasets.mnist1d(colour=1)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_by_target_name(tmp_path):
    path = _write(tmp_path / "d.csv", "a,label,b\n1,cat,2\n3,dog,4\n5,cat,6\n")
    data = datasets.load(path, target="label")
    assert data.feature_names == ["a", "b"] and data.classes == ["cat", "dog"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(data.y, [0, 1, 0])


def test_csv_regression_target_is_inferred(tmp_path):
    path = _write(tmp_path / "r.csv", "x,y\n1,0.5\n2,1.5\n3,2.25\n")
    data = datasets.load(str(path))                     # last column by default
    assert data.task == "regression" and data.target_names == ["y"]
    np.testing.assert_allclose(data.y, [0.5, 1.5, 2.25])
    assert datasets.load(path, task="classification").classes == [0.5, 1.5, 2.25]


def test_csv_unknown_column_lists_the_valid_ones(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="no column 'z'; columns: a, b, c"):
        datasets.load(path, target="z")


def test_csv_non_numeric_value_gives_line_and_column(tmp_path):
    path = _write(tmp_path / "d.csv", "a,b,y\n1,2,0\n3,oops,1\n")
    with pytest.raises(ValueError, match=r"line 3, column 'b': expected a number, got 'oops'"):
        datasets.load(path, target="y")
    path = _write(tmp_path / "e.csv", "a,b,y\n1,,0\n3,4,1\n")
    with pytest.raises(ValueError, match="line 2, column 'b': missing value"):
        datasets.load(path, target="y")


def test_csv_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV file not found"):
        datasets.load(tmp_path / "none.csv")


def test_npz_files(tmp_path):
    path = tmp_path / "d.npz"
    X = np.arange(12.0).reshape(6, 2)
    np.savez(path, X=X, y=np.array([0, 1, 2, 0, 1, 2]))
    data = datasets.load(path)
    assert data.task == "classification" and data.classes == [0, 1, 2]
    np.testing.assert_array_equal(data.X, X)
    np.savez(tmp_path / "bad.npz", features=X)
    with pytest.raises(ValueError, match="must hold arrays 'X' and 'y'"):
        datasets.load(tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"not a readable \.npz"):
        datasets.load(tmp_path / "junk.npz")


@pytest.mark.parametrize("cell, rule", [("", "missing value"), ("  ", "missing value"),
                                        ("nan", "must be finite"), ("NaN", "must be finite"),
                                        ("inf", "must be finite"), ("-Infinity", "must be finite")])
def test_csv_missing_or_non_finite_target_names_the_line(tmp_path, cell, rule):
    # blank lines are counted: the line is the one a text editor shows
    path = _write(tmp_path / "d.csv", f"a,b,y\n\n1,2,0.5\n\n3,4,{cell}\n5,6,1\n")
    with pytest.raises(ValueError, match=rf"line 5, column 'y' \(the target\): (value )?{rule}"):
        datasets.load(path)


def test_csv_line_numbers_count_blank_and_continued_lines(tmp_path):
    path = _write(tmp_path / "d.csv", 'a,y\n1,"a cat\non two lines"\n\n2,\n')
    with pytest.raises(ValueError, match=r"line 5, column 'y' \(the target\): missing value"):
        datasets.load(path, target="y")
    path = _write(tmp_path / "e.csv", '\n\na,b,y\n1,2,cat\n3,oops,dog\n')
    with pytest.raises(ValueError, match=r"line 5, column 'b': expected a number"):
        datasets.load(path)


def test_csv_text_labels_stay_labels(tmp_path):
    path = _write(tmp_path / "d.csv", "a,y\n1,cat\n2,dog\n3, cat \n")
    data = datasets.load(path)
    assert data.classes == ["cat", "dog"]
    np.testing.assert_array_equal(data.y, [0, 1, 0])


def test_csv_header_of_numbers_is_read_as_a_header_with_a_warning(tmp_path):
    path = _write(tmp_path / "d.csv", "1.5,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    with pytest.warns(datasets.DataFileWarning, match=r"d\.csv line 1: the first row 1\.5, "
                                                      r"2, 0 is all numbers"):
        data = datasets.load(path)
    assert data.n_samples == 3 and data.feature_names == ["1.5", "2"]   # as without a warning
    assert issubclass(datasets.DataFileWarning, UserWarning)


def test_csv_header_with_a_name_gives_no_warning(tmp_path):
    import warnings

    path = _write(tmp_path / "d.csv", "1,2,label\n3,4,1\n5,6,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert datasets.load(path).n_samples == 2


def test_csv_target_named_twice_is_an_error(tmp_path):
    path = _write(tmp_path / "d.csv", "y,a,y\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="2 columns named 'y'"):
        datasets.load(path, target="y")


@pytest.mark.parametrize("loader, name", [(datasets.load_csv, "d.csv"),
                                          (datasets.load_npz, "d.npz")])
def test_a_directory_is_refused_by_name(tmp_path, loader, name):
    (tmp_path / name).mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        loader(tmp_path / name)


@pytest.mark.parametrize("y, where", [
    (np.array([0.5, 1.0, np.nan, 2.0]), "index 2"),
    (np.array([0.5, np.inf, 1.0, 2.0]), "index 1"),
    (np.array([[0.5, 1.0], [1.0, 2.0], [3.0, -np.inf], [0.0, 0.0]]), r"index \(2, 1\)"),
])
def test_npz_non_finite_target_names_the_index(tmp_path, y, where):
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)), y=y)
    with pytest.raises(ValueError, match=rf"array 'y': targets must be finite, got .* at {where}"):
        datasets.load(tmp_path / "d.npz")


def test_npz_missing_text_label_and_bad_dtypes(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((3, 2)), y=np.array(["cat", " ", "dog"]))
    with pytest.raises(ValueError, match=r"missing target at index 1 \(empty string\)"):
        datasets.load(tmp_path / "d.npz")
    np.savez(tmp_path / "c.npz", X=np.ones((3, 2)), y=np.array([1j, 2, 3]))
    with pytest.raises(ValueError, match="y must hold numbers or text labels"):
        datasets.load(tmp_path / "c.npz")


def test_npz_non_finite_feature_names_the_index(tmp_path):
    X = np.ones((4, 3))
    X[3, 2] = np.nan
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"array 'X': features must be finite, got nan at "
                                         r"index \(3, 2\)"):
        datasets.load(tmp_path / "d.npz")


def test_train_test_split_sizes_and_reproducibility():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_train.shape == (15, 2) and X_test.shape == (5, 2)
    assert sorted(np.concatenate([y_train, y_test]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_test[:, 0] / 2, y_test)
    again = train_test_split(X, y, test_size=0.25, seed=0)
    np.testing.assert_array_equal(again[3], y_test)
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(X, y, test_size=1.0)


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.zeros((100, 1))
    _, _, y_train, y_test = train_test_split(X, y, test_size=0.3, seed=1, stratify=True)
    assert np.bincount(y_test).tolist() == [24, 6]
    assert np.bincount(y_train).tolist() == [56, 14]


def test_standardizer_fits_on_training_part_and_round_trips():
    rng = np.random.default_rng(0)
    train, test = rng.normal(5, 3, (50, 3)), rng.normal(5, 3, (10, 3))
    train[:, 2] = 7.0                                    # a constant feature
    scaler = Standardizer().fit(train)
    scaled = scaler.transform(train)
    np.testing.assert_allclose(scaled[:, :2].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled[:, :2].std(axis=0), 1)
    np.testing.assert_array_equal(scaled[:, 2], 0)
    restored = Standardizer.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(restored.transform(test), scaler.transform(test))
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test)
    with pytest.raises(ValueError, match="not fitted"):
        Standardizer().transform(test)
    with pytest.raises(ValueError, match="fitted on 3 features"):
        scaler.transform(test[:, :2])


@pytest.mark.slow
def test_mnist1d_with_the_real_package_is_reproducible_and_isolated():
    """The real ``mnist1d`` generator (installed by the test extra): same seed, same data, and
    NumPy's global random state is the same before and after."""
    pytest.importorskip("mnist1d")
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state under test
    first = datasets.load("mnist1d", n_samples=300, seed=3)
    after = np.random.get_state()[1]  # noqa: NPY002
    second = datasets.load("mnist1d", n_samples=300, seed=3)
    assert np.array_equal(before, after)
    assert first.X.shape == (300, 40) and first.task == "classification"
    assert set(np.unique(first.y)) <= set(range(10)) and len(np.unique(first.y)) > 5
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.y, second.y)


# -- hostile files: each is refused with a ValueError naming the file and the rule ---------
def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("name, arrays, words", [
    ("objects.npz", {"X": np.array([[1, "a"]], dtype=object), "y": np.array([0])},
     ["'X'", "Python objects", "refused"]),
    ("object_y.npz", {"X": np.ones((2, 2)), "y": np.array([0, None], dtype=object)},
     ["'y'", "Python objects"]),
    ("object_names.npz", {"X": np.ones((2, 2)), "y": np.array([0, 1]),
                          "feature_names": np.array(["a", 1], dtype=object)},
     ["'feature_names'", "Python objects"]),
    ("no_columns.npz", {"X": np.ones((4, 0)), "y": np.arange(4) % 2},
     ["one feature column", "(4, 0)"]),
    ("no_rows.npz", {"X": np.ones((0, 2)), "y": np.ones(0)}, ["one row", "(0, 2)"]),
    ("lengths.npz", {"X": np.ones((4, 2)), "y": np.arange(5) % 2}, ["N = 4", "(5,)"]),
    ("y_3d.npz", {"X": np.ones((4, 2)), "y": np.ones((4, 2, 1))}, ["(4, 2, 1)"]),
    ("y_scalar.npz", {"X": np.ones((4, 2)), "y": np.array(1.0)}, ["got ()"]),
    ("int_y_2d.npz", {"X": np.ones((4, 2)), "y": np.ones((4, 2), dtype=int)},
     ["class labels", "(4, 2)"]),
    ("names_short.npz", {"X": np.ones((4, 2)), "y": np.arange(4) % 2,
                         "feature_names": np.array(["a"])}, ["feature_names", "(1,)"]),
    ("names_2d.npz", {"X": np.ones((4, 2)), "y": np.arange(4) % 2,
                      "feature_names": np.array([["a", "b"]])}, ["feature_names", "(1, 2)"]),
])
def test_npz_bad_contents_are_value_errors_naming_the_file(tmp_path, name, arrays, words):
    path = _npz(tmp_path / name, **arrays)
    with pytest.raises(ValueError) as error:
        datasets.load_npz(path)
    message = str(error.value)
    assert name in message and "\n" not in message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("cut", [10, 100, -30])
def test_a_truncated_npz_is_a_value_error_not_a_zip_error(tmp_path, cut):
    good = _npz(tmp_path / "good.npz", X=np.ones((20, 3)), y=np.arange(20) % 2)
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(ValueError, match=r"damaged\.npz"):
        datasets.load_npz(damaged)


def test_a_damaged_member_of_a_compressed_npz_is_a_value_error(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, X=np.arange(4000.0).reshape(1000, 4), y=np.arange(1000) % 2)
    data = bytearray(path.read_bytes())
    start = data.index(b"X.npy") + 200                  # inside the deflated array bytes
    data[start:start + 64] = bytes(64)
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"c\.npz"):
        datasets.load_npz(path)


def test_npz_bytes_labels_are_text_labels(tmp_path):
    path = _npz(tmp_path / "b.npz", X=np.ones((4, 2)), y=np.array([b"cat", b"dog"] * 2))
    assert datasets.load_npz(path).classes == ["cat", "dog"]


@pytest.mark.parametrize("cell", ["1_000", "１２", "0x10", "1j", "1e5e5", "--1", "1,5"])
def test_csv_numbers_are_plain_decimal_numbers(tmp_path, cell):
    """Python's float() also reads ``1_000`` and non-ASCII digits; a CSV number is not."""
    path = tmp_path / "d.csv"
    path.write_text(f'a,b,y\n"{cell}",1,0\n2,3,1\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2, column 'a': expected a number"):
        datasets.load_csv(path)


@pytest.mark.parametrize("cell", ["1", "-1.5", "+.5", "1.", "2E-3", " 7 ", "1e+2"])
def test_csv_numbers_in_every_usual_spelling_are_read(tmp_path, cell):
    path = tmp_path / "d.csv"
    path.write_text(f"a,b,y\n{cell},1,0\n2,3,1\n", encoding="utf-8")
    assert datasets.load_csv(path).X[0, 0] == float(cell)


def test_csv_targets_with_underscores_are_labels_not_numbers(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,y\n1,1_0\n2,2_0\n3,1_0\n", encoding="utf-8")
    assert datasets.load_csv(path).classes == ["1_0", "2_0"]


def test_a_huge_cell_is_cut_short_in_the_message(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n" + "z" * 100_000 + ",1,0\n2,3,1\n", encoding="utf-8")
    with pytest.raises(ValueError) as error:
        datasets.load_csv(path)
    assert len(str(error.value)) < 300 and "100000 characters" in str(error.value)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_another_separator_is_named(tmp_path, separator):
    path = tmp_path / "d.csv"
    path.write_text(f"a{separator}b{separator}y\n1{separator}2{separator}0\n")
    with pytest.raises(ValueError, match=re.escape(f"the header holds {separator!r}")):
        datasets.load_csv(path)


@pytest.mark.parametrize("content, words", [
    (b"\x1f\x8b\x08\x00" + bytes(40), ["UTF-8", "0x8b"]),                  # gzip
    (b"\x89PNG\r\n\x1a\n" + bytes(40), ["UTF-8", "0x89"]),                 # an image
    ("a,b\u00e9,y\n1,2,0\n".encode("latin-1"), ["UTF-8", "0xe9"]),
])
def test_a_file_that_is_not_utf8_text_says_so(tmp_path, content, words):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError) as error:
        datasets.load_csv(path)
    for word in words:
        assert word in str(error.value), (word, str(error.value))


@pytest.mark.parametrize("content", ["\ufeffa,b,y\n1,2,0\n3,4,1\n",
                                     "a,b,y\r\n1,2,0\r\n3,4,1\r\n",
                                     'a,b,y\n"1"," 2 ",0\n3,4,1\n'])
def test_a_bom_crlf_and_quoted_numbers_are_read(tmp_path, content):
    path = tmp_path / "d.csv"
    path.write_bytes(content.encode("utf-8"))
    data = datasets.load_csv(path)
    assert data.feature_names == ["a", "b"] and data.X.tolist() == [[1, 2], [3, 4]]


def test_a_number_beyond_float64_says_so(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1" + "0" * 400 + ",1,0\n2,3,1\n")
    with pytest.raises(ValueError, match=r"must be finite.*beyond the range of a 64-bit"):
        datasets.load_csv(path)


def test_csv_features_only_and_columns(tmp_path):
    from deltaprop.datasets.files import csv_columns, read_csv_features

    path = tmp_path / "new.csv"
    path.write_text("\n a , b \n1,2\n\n3,x\n")
    assert csv_columns(path) == ["a", "b"]
    with pytest.raises(ValueError, match=r"line 5, column 'b': expected a number, got 'x'"):
        read_csv_features(path)
    path.write_text("a,b\n1,2\n3,4\n")
    X, names = read_csv_features(path)
    assert names == ["a", "b"] and X.tolist() == [[1, 2], [3, 4]]


def test_integer_labels_beyond_float64_stay_distinct(tmp_path):
    """2**62 and 2**62 + 1 are one float64: read as floats, two classes became one."""
    big = 2**62
    y = np.array([big, big + 1, 5] * 4, dtype=np.int64)
    path = _npz(tmp_path / "ids.npz", X=np.ones((12, 2)), y=y)
    data = datasets.load_npz(path)
    assert data.classes == [5, big, big + 1]
    assert data.y.tolist() == [1, 2, 0] * 4
    csv_path = tmp_path / "ids.csv"
    csv_path.write_text("a,y\n" + "\n".join(f"1,{v}" for v in y.tolist()) + "\n")
    assert datasets.load_csv(csv_path).classes == [5, big, big + 1]


@pytest.mark.parametrize("marker", ["NA", "n/a", "#N/A", "null", "<NA>", "?"])
@pytest.mark.parametrize("column", ["a", "y"])
def test_missing_value_markers_are_missing_values(tmp_path, marker, column):
    """A target of "NA" was read as one more class label."""
    row = {"a": f"{marker},cat", "y": f"1,{marker}"}[column]
    path = tmp_path / "d.csv"
    path.write_text(f"a,y\n1,cat\n{row}\n2,dog\n")
    with pytest.raises(ValueError, match=f"line 3, column '{column}'.*missing value"):
        datasets.load_csv(path)


@pytest.mark.parametrize("y", [np.array(["cat", "NA", "dog"]), np.array([b"cat", b"?", b"dog"]),
                               np.array(["cat", " ", "dog"])])
def test_npz_missing_text_targets_name_the_index(tmp_path, y):
    path = _npz(tmp_path / "d.npz", X=np.ones((3, 2)), y=y)
    with pytest.raises(ValueError, match="missing target at index 1"):
        datasets.load_npz(path)


def test_npz_bytes_feature_names_are_text(tmp_path):
    path = _npz(tmp_path / "n.npz", X=np.ones((4, 2)), y=np.arange(4) % 2,
                feature_names=np.array([b"width", b"h\xc3\xb6he"]))
    assert datasets.load_npz(path).feature_names == ["width", "höhe"]
