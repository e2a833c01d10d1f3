"""CSV files read by column name (a saved model's features): order, extras, missing, twice."""

import numpy as np
import pytest

from deltaprop.datasets import load_csv
from deltaprop.datasets.files import read_csv_features


def _write(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


def test_features_are_read_by_name_in_the_order_asked_and_other_columns_are_not_read(tmp_path):
    path = _write(tmp_path, "id,b,y,a\nrow-1,2,cat,1\nrow-2,4,dog,3\n")
    X, names = read_csv_features(path, columns=["a", "b"])
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])          # "id" is text: not read
    assert names == ["a", "b"]
    data = load_csv(path, "y", features=["a", "b"])
    np.testing.assert_array_equal(data.X, [[1, 2], [3, 4]])
    assert data.feature_names == ["a", "b"] and data.classes == ["cat", "dog"]


@pytest.mark.parametrize("header, message", [
    ("a,c,y", "has no column 'b', a feature the model was trained on; the file's columns: "
              "a, c, y"),
    ("x,c,y", "has no column 'a' (nor 1 more of the features)"),
    ("a,b,b", "has 2 columns named 'b': a feature column must be named once"),
])
def test_a_missing_or_repeated_feature_is_named(tmp_path, header, message):
    path = _write(tmp_path, f"{header}\n1,2,3\n")
    with pytest.raises(ValueError, match=r"d\.csv") as info:
        read_csv_features(path, columns=["a", "b"])
    assert message in str(info.value)


def test_the_target_may_not_be_a_feature(tmp_path):
    path = _write(tmp_path, "a,b\n1,2\n3,4\n")
    with pytest.raises(ValueError, match="the target column 'b' is also a feature column"):
        load_csv(path, "b", features=["a", "b"])


def test_a_huge_missing_name_is_cut_in_the_message(tmp_path):
    path = _write(tmp_path, "a,y\n1,2\n")
    with pytest.raises(ValueError) as info:
        read_csv_features(path, columns=["a", "z" * 10_000])
    assert len(str(info.value)) < 400
