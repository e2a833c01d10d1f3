"""scikit-learn estimators: the full ``check_estimator`` suite, Pipeline, GridSearchCV,
sample/class weights, early stopping and partial_fit."""

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")

from sklearn.datasets import make_blobs, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from deltaprop.sklearn import MLPClassifier, MLPRegressor

# Tiny instances keep the ~50 checks per estimator fast; the checks clone them, so these
# settings are what every check trains with.
CHECK_INSTANCES = [
    MLPClassifier(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01),
    MLPRegressor(hidden_layer_sizes=(16,), max_iter=100, learning_rate_init=0.01),
]


@pytest.mark.slow                       # 121 checks, ~4 s: make test runs them all
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(CHECK_INSTANCES)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow
def test_import_deltaprop_does_not_import_sklearn():
    import subprocess
    import sys

    code = "import sys, deltaprop; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def _blobs(n=300, seed=0):
    X, y = make_blobs(n_samples=n, centers=3, n_features=4, cluster_std=2.0, random_state=seed)
    return X, y


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_inside_pipeline_learns():
    X, y = make_classification(n_samples=300, n_features=8, n_informative=4, class_sep=1.5,
                               random_state=0)
    X = X * 50 + 100                                   # badly scaled: the scaler matters
    pipe = make_pipeline(StandardScaler(), MLPClassifier((16,), max_iter=300, random_state=0,
                                                         learning_rate_init=0.01))
    pipe.fit(X[:200], y[:200])
    assert pipe.score(X[200:], y[200:]) > 0.85
    assert pipe.predict_proba(X[200:]).shape == (100, 2)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_over_hidden_sizes_and_alpha():
    X, y = _blobs()
    grid = GridSearchCV(MLPClassifier(max_iter=150, random_state=0, learning_rate_init=0.01),
                        {"hidden_layer_sizes": [(2,), (16,)], "alpha": [1e-4, 1.0]}, cv=3)
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["hidden_layer_sizes"] in [(2,), (16,)]
    assert grid.best_score_ > 0.85


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_class_weight_balanced_raises_minority_recall():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (380, 2)), rng.normal(1.2, 1, (20, 2))])
    y = np.array([0] * 380 + [1] * 20)
    recall = {}
    for weight in (None, "balanced"):
        clf = MLPClassifier((8,), max_iter=300, random_state=0, learning_rate_init=0.01,
                            class_weight=weight).fit(X, y)
        recall[weight] = np.mean(clf.predict(X[y == 1]) == 1)
    assert recall["balanced"] > recall[None] + 0.3


def test_class_weight_dict_is_sample_weight_per_class():
    X, y = _blobs(90)
    a = MLPClassifier((8,), max_iter=20, random_state=0, class_weight={0: 3.0, 1: 1.0, 2: 0.5})
    b = MLPClassifier((8,), max_iter=20, random_state=0)
    with pytest.warns(ConvergenceWarning):
        a.fit(X, y)
    with pytest.warns(ConvergenceWarning):
        b.fit(X, y, sample_weight=np.array([3.0, 1.0, 0.5])[y])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-12)


def test_sample_weight_two_equals_duplicated_row():
    X, y = _blobs(60)
    w = np.ones(60)
    w[:10] = 2.0
    X_dup, y_dup = np.vstack([X, X[:10]]), np.concatenate([y, y[:10]])
    kw = dict(hidden_layer_sizes=(8,), max_iter=30, random_state=1, shuffle=False)
    with pytest.warns(ConvergenceWarning):
        a = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    with pytest.warns(ConvergenceWarning):
        b = MLPClassifier(**kw).fit(X_dup, y_dup)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-10)
    assert a.loss_ == pytest.approx(b.loss_, rel=1e-10)


def test_early_stopping_keeps_validation_loss_curve():
    X, y = _blobs(400)
    clf = MLPClassifier((16,), max_iter=500, early_stopping=True, n_iter_no_change=5,
                        random_state=0, learning_rate_init=0.05).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_loss_curve_) == len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)
    assert clf.validation_loss_curve_[-1] >= clf.best_validation_loss_
    assert clf.score(X, y) > 0.85


def test_no_validation_curve_without_early_stopping():
    X, y = _blobs(100)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        clf = MLPClassifier((4,), max_iter=3).fit(X, y)
    assert not hasattr(clf, "validation_loss_curve_")
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 3


def test_partial_fit_over_batches_learns():
    X, y = _blobs(600)
    clf = MLPClassifier((16,), random_state=0, learning_rate_init=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:50], y[:50])
    first_loss = None
    for _ in range(15):
        for start in range(0, 600, 100):
            clf.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2])
        first_loss = first_loss if first_loss is not None else clf.loss_
    assert clf.n_iter_ == 90
    assert clf.loss_ < 0.5 * first_loss
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:3], [0, 1, 7])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_multi_output_and_partial_fit():
    X, y = make_regression(n_samples=300, n_features=5, n_targets=2, noise=1.0, random_state=0)
    y = y / y.std(axis=0)
    reg = MLPRegressor((32,), max_iter=400, learning_rate_init=0.01, random_state=0).fit(X, y)
    assert reg.predict(X).shape == (300, 2)
    assert reg.score(X, y) > 0.95
    single = MLPRegressor((8,), random_state=0, learning_rate_init=0.01)
    losses = [single.partial_fit(X, y[:, 0]).loss_ for _ in range(60)]
    assert single.predict(X).shape == (300,)
    assert losses[-1] < 0.2 * losses[0]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_multilabel_classifier():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0]).astype(int)
    clf = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == (300, 2)
    assert np.mean(clf.predict(X) == Y) > 0.95
    assert clf.predict_proba(X).shape == (300, 2)


def test_coefs_layout_reproduces_predictions():
    X, y = _blobs(50)
    with pytest.warns(ConvergenceWarning):
        clf = MLPClassifier((5, 4), activation="tanh", max_iter=5, random_state=0).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 5), (5, 4), (4, 3)]
    a = X
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        a = a @ W + b                                  # scikit-learn's layout: X W + b
        a = np.tanh(a) if i < 2 else a
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(a, axis=1)])
    assert len(clf.model_.dense_layers) == 3


@pytest.mark.parametrize("params, match", [
    ({"solver": "lbfgs"}, "solver"), ({"activation": "gelu"}, "activation"),
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"), ({"max_iter": 0}, "max_iter"),
    ({"batch_size": 0}, "batch_size"), ({"validation_fraction": 1.0}, "validation_fraction"),
])
def test_bad_parameters_name_themselves(params, match):
    X, y = _blobs(30)
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


def test_single_class_and_balanced_partial_fit_are_refused():
    X, y = _blobs(30)
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(X, np.zeros(30, dtype=int))
    with pytest.raises(ValueError, match="partial_fit"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


# -- parameters checked at fit; divergence raises and leaves the estimator unfitted -------------
@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (4, True)}, r"hidden_layer_sizes must be integers >= 1"),
    ({"hidden_layer_sizes": "16"}, r"hidden_layer_sizes must be integers >= 1, got '16'"),
    ({"activation": None}, r"activation must be 'identity', 'logistic', 'tanh' or 'relu'"),
    ({"solver": ["adam"]}, r"solver must be 'adam', 'adamw' or 'sgd', got \['adam'\]"),
    ({"n_iter_no_change": 0}, r"n_iter_no_change must be an integer >= 1, got 0"),
    ({"max_iter": 2.5}, r"max_iter must be an integer >= 1, got 2\.5"),
    ({"batch_size": "all"}, r"batch_size must be 'auto' or an integer >= 1, got 'all'"),
    ({"alpha": -1.0}, r"alpha must be a finite number in \[0, inf\), got -1\.0"),
    ({"alpha": float("nan")}, r"alpha must be a finite number"),
    ({"tol": "small"}, r"tol must be a finite number"),
    ({"learning_rate_init": 0.0}, r"learning_rate_init must be a finite number in \(0, inf\)"),
    ({"learning_rate_init": float("inf")}, r"learning_rate_init must be a finite number"),
    ({"epsilon": 0}, r"epsilon must be a finite number in \(0, inf\), got 0"),
    ({"validation_fraction": "0.1"}, r"validation_fraction must be a finite number in \(0, 1\)"),
    ({"momentum": 1.5}, r"momentum must be a finite number in \[0, 1\], got 1\.5"),
    ({"beta_1": 1.0}, r"beta_1 must be a finite number in \[0, 1\), got 1\.0"),
    ({"beta_2": -0.1}, r"beta_2 must be a finite number in \[0, 1\)"),
    ({"shuffle": "yes"}, r"shuffle must be True or False, got 'yes'"),
    ({"early_stopping": 1}, r"early_stopping must be True or False, got 1"),
    ({"nesterovs_momentum": None}, r"nesterovs_momentum must be True or False"),
    ({"dtype": "float16"}, r"dtype must be 'float32' or 'float64', got 'float16'"),
    ({"random_state": -1}, r"random_state must be None, an integer in \[0, 2\*\*32\)"),
    ({"random_state": "seed"}, r"random_state must be None"),
    ({"class_weight": "even"}, r"class_weight must be None, 'balanced' or a dict"),
    ({"class_weight": {0: -1.0}}, r"class_weight must be None, 'balanced' or a dict"),
])
def test_every_parameter_is_checked_at_fit(params, match):
    X, y = _blobs(30)
    estimator = MLPClassifier(**{"max_iter": 1, **params})  # the constructor checks nothing
    with pytest.raises(ValueError, match=rf"MLPClassifier: {match}"):
        estimator.fit(X, y)
    assert not hasattr(estimator, "model_")


def _diverging(kind):
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    settings = {"hidden_layer_sizes": (8,), "solver": "sgd", "momentum": 0.0,
                "learning_rate_init": 1e300, "max_iter": 5, "random_state": 0}
    if kind == "regressor":
        return MLPRegressor(**settings), X, y * 1e3
    return MLPClassifier(**settings), X * 1e3, (y > 0).astype(int)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_divergence_raises_and_leaves_the_estimator_unfitted(kind):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    estimator, X, y = _diverging(kind)
    with pytest.raises(ValueError, match=r"training diverged .* non-finite values; the "
                                         r"estimator is left unfitted\. Try a smaller "
                                         r"learning_rate_init than 1e\+300"):
        estimator.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)
    with pytest.raises(NotFittedError):
        estimator.predict(X)


def test_a_refit_that_diverges_does_not_keep_the_earlier_model():
    from sklearn.exceptions import NotFittedError

    estimator, X, y = _diverging("regressor")
    estimator.set_params(learning_rate_init=1e-3, max_iter=2)
    with pytest.warns(ConvergenceWarning):
        estimator.fit(X, y)
    estimator.set_params(learning_rate_init=1e300)
    with pytest.raises(ValueError, match="diverged"):
        estimator.fit(X, y)
    with pytest.raises(NotFittedError):
        estimator.predict(X)


def test_zero_weight_batches_are_skipped_by_the_estimators():
    X, y = _blobs(40)
    weights = np.ones(40)
    weights[:20] = 1e-60                                 # 0 in float32: those batches skip
    clf = MLPClassifier(hidden_layer_sizes=(8,), batch_size=20, shuffle=False, max_iter=3,
                        dtype="float32", random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y, sample_weight=weights)
    assert np.all(np.isfinite(clf.loss_curve_))


@pytest.mark.parametrize("weights, match", [
    (np.full(30, 1e-60), r"must not be all zero \(in the model.s float32\)"),
    (np.full(30, 1e39), "beyond the range of the model's float32"),
])
def test_sample_weights_the_network_cannot_use_are_refused(weights, match):
    X, y = _blobs(30)
    estimator = MLPClassifier(max_iter=1, dtype="float32")
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y, sample_weight=weights)
    assert not hasattr(estimator, "model_")
