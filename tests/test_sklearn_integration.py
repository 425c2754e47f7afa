"""xentc's scorers and patch_sklearn() in scikit-learn's model selection.

Every score is compared with what scikit-learn's own "neg_log_loss" and "d2_log_loss_score"
scorers give on the same folds.
"""

import doctest
import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import sklearn.metrics  # noqa: E402
import sklearn.metrics._classification  # noqa: E402
import sklearn.metrics._scorer  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    cross_val_score,
    cross_validate,
)
from sklearn.utils.metadata_routing import get_routing_for_object  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402  (a dependency of scikit-learn)

import xentc  # noqa: E402
import xentc._sklearn  # noqa: E402

# xentc attribute -> scikit-learn's scorer name
SCORERS = {"neg_log_loss_scorer": "neg_log_loss", "d2_log_loss_scorer": "d2_log_loss_score"}
FUNCTIONS = ["log_loss", "d2_log_loss_score"]
MODULES = [sklearn.metrics, sklearn.metrics._classification, sklearn.metrics._scorer]
CV = 3  # folds (stratified, as scikit-learn's default for classifiers)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    # the fits are tiny: OpenBLAS threads only slow them down (40x on a busy 2-core machine)
    with threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture(autouse=True)
def unpatched():
    """Every test starts and ends with scikit-learn unpatched."""
    xentc.unpatch_sklearn()
    yield
    xentc.unpatch_sklearn()


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def data(n_classes, strings=False):
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=0)
    if strings:  # 0, 1, 2 -> 'cat', 'ant', 'bee': the sorted classes_ are in another order
        y = np.array(["cat", "ant", "bee"])[y]
    return X, y


DATASETS = {
    "binary": (2, False),
    "binary-str": (2, True),
    "multiclass": (3, False),
    "multiclass-str": (3, True),
}


def weights(n):
    return np.random.default_rng(0).uniform(0.2, 3.0, n)


def scorer_pairs():
    return [(getattr(xentc, attribute), name) for attribute, name in SCORERS.items()]


def test_import_xentc_does_not_import_sklearn(tmp_path):
    code = ("import sys, xentc; from xentc import *; assert 'sklearn' not in sys.modules; "
            "xentc.neg_log_loss_scorer; assert 'sklearn' in sys.modules")
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)


def test_missing_sklearn_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.metrics", None)
    for get in (lambda: xentc.neg_log_loss_scorer, xentc.patch_sklearn):
        with pytest.raises(ImportError, match="need scikit-learn"):
            get()
    assert not xentc.sklearn_is_patched()
    with pytest.raises(AttributeError, match="no attribute 'no_such_scorer'"):
        xentc.no_such_scorer


@pytest.mark.parametrize("attribute, name", SCORERS.items())
def test_scorer_is_sklearns_definition_on_xentc(attribute, name):
    ours, theirs = getattr(xentc, attribute), get_scorer(name)
    assert ours._score_func is getattr(xentc, theirs._score_func.__name__)
    assert (ours._sign, ours._response_method, ours._kwargs) == (
        theirs._sign, theirs._response_method, theirs._kwargs)
    assert repr(ours) == repr(theirs)
    assert pickle.loads(pickle.dumps(ours))._score_func is ours._score_func


def test_each_access_is_a_new_scorer(routing):
    # as sklearn.metrics.get_scorer: a request set on one scorer is not seen by others
    weighted = xentc.neg_log_loss_scorer.set_score_request(sample_weight=True)
    other = xentc.neg_log_loss_scorer
    assert other is not weighted
    assert get_routing_for_object(weighted).score.requests["sample_weight"] is True
    assert get_routing_for_object(other).score.requests["sample_weight"] is None


@pytest.mark.parametrize("dataset", DATASETS)
def test_cross_val_score(dataset):
    X, y = data(*DATASETS[dataset])
    for ours, name in scorer_pairs():
        expected = cross_val_score(LogisticRegression(), X, y, cv=CV, scoring=name)
        got = cross_val_score(LogisticRegression(), X, y, cv=CV, scoring=ours)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("dataset", ["binary-str", "multiclass"])
def test_cross_validate_multimetric(dataset):
    X, y = data(*DATASETS[dataset])
    scoring = {"ll": xentc.neg_log_loss_scorer, "ll_sk": "neg_log_loss",
               "d2": xentc.d2_log_loss_scorer, "d2_sk": "d2_log_loss_score",
               "accuracy": "accuracy"}
    result = cross_validate(LogisticRegression(), X, y, cv=CV, scoring=scoring,
                            return_train_score=True)
    for split in ("test", "train"):
        for key in ("ll", "d2"):
            np.testing.assert_allclose(result[f"{split}_{key}"], result[f"{split}_{key}_sk"],
                                       rtol=1e-12)


@pytest.mark.parametrize("dataset", ["binary", "multiclass-str"])
def test_grid_search(dataset):
    X, y = data(*DATASETS[dataset])
    grid = {"C": [0.1, 1.0]}
    ours = GridSearchCV(LogisticRegression(), grid, cv=CV, refit="ll",
                        scoring={"ll": xentc.neg_log_loss_scorer,
                                 "d2": xentc.d2_log_loss_scorer}).fit(X, y)
    theirs = GridSearchCV(LogisticRegression(), grid, cv=CV, refit="ll",
                          scoring={"ll": "neg_log_loss", "d2": "d2_log_loss_score"}).fit(X, y)
    for key in ("mean_test_ll", "mean_test_d2", "split0_test_ll"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-12)
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.best_score_, theirs.best_score_, rtol=1e-12)
    single = GridSearchCV(LogisticRegression(), grid, cv=CV, scoring=xentc.neg_log_loss_scorer)
    np.testing.assert_allclose(single.fit(X, y).cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_ll"], rtol=1e-12)


def test_fold_missing_a_class_scores_with_the_estimators_classes():
    # the model knows 3 classes, the test fold has 2: scikit-learn's scorer raises (the fold
    # scores nan, scikit-learn#9144); ours scores with labels = the estimator's classes_
    X, y = data(3, strings=True)
    test = np.flatnonzero(y != "bee")[:30]
    cv = [(np.setdiff1d(np.arange(len(y)), test), test)]
    model = LogisticRegression().fit(X[cv[0][0]], y[cv[0][0]])
    with pytest.raises(ValueError, match="different number of classes"):
        get_scorer("neg_log_loss")(model, X[test], y[test])
    expected = -sklearn.metrics.log_loss(y[test], model.predict_proba(X[test]),
                                         labels=model.classes_)
    assert xentc.neg_log_loss_scorer(model, X[test], y[test]) == pytest.approx(
        expected, rel=1e-12)
    scores = cross_val_score(LogisticRegression(), X, y, cv=cv,
                             scoring=xentc.neg_log_loss_scorer)
    np.testing.assert_allclose(scores, [expected], rtol=1e-12)
    # the same through the patched scoring string
    with pytest.warns(UserWarning, match="Scoring failed"):
        assert np.isnan(cross_val_score(LogisticRegression(), X, y, cv=cv,
                                        scoring="neg_log_loss")).all()
    xentc.patch_sklearn()
    try:
        scores = cross_val_score(LogisticRegression(), X, y, cv=cv, scoring="neg_log_loss")
    finally:
        xentc.unpatch_sklearn()
    np.testing.assert_allclose(scores, [expected], rtol=1e-12)
    # a binary test fold with one class
    Xb, yb = data(2, strings=True)
    model = LogisticRegression().fit(Xb, yb)
    one = yb == "cat"
    with pytest.raises(ValueError, match="only one label"):
        get_scorer("neg_log_loss")(model, Xb[one], yb[one])
    expected = -sklearn.metrics.log_loss(yb[one], model.predict_proba(Xb[one]),
                                         labels=model.classes_)
    assert xentc.neg_log_loss_scorer(model, Xb[one], yb[one]) == pytest.approx(
        expected, rel=1e-12)


class _ReversedClasses(LogisticRegression):
    """A classifier whose classes_ are not sorted (its predict_proba columns follow them)."""

    def fit(self, X, y):
        super().fit(X, y)
        self.classes_ = self.classes_[::-1].copy()
        self.coef_ = self.coef_[::-1].copy() if self.coef_.shape[0] > 1 else -self.coef_
        self.intercept_ = (self.intercept_[::-1].copy() if self.intercept_.shape[0] > 1
                           else -self.intercept_)
        return self


@pytest.mark.parametrize("n_classes", [2, 3])
def test_unsorted_classes_are_read_by_classes(n_classes):
    # scikit-learn's scorer reads predict_proba's columns as the sorted classes; ours reads
    # them by classes_ (the estimator's own order)
    X, y = data(n_classes, strings=True)
    model = _ReversedClasses().fit(X, y)
    proba = model.predict_proba(X)
    sorted_proba = proba[:, np.argsort(model.classes_)]
    expected = -sklearn.metrics.log_loss(y, sorted_proba)
    assert xentc.neg_log_loss_scorer(model, X, y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        -sklearn.metrics.log_loss(y, LogisticRegression().fit(X, y).predict_proba(X)),
        expected, rtol=1e-6)  # the same model: the reversal only renames the columns


def test_fold_missing_a_class_with_labels():
    # the workaround for scikit-learn#9144: fix the labels in the scorer
    X, y = data(3, strings=True)
    test = np.flatnonzero(y != "bee")[:30]
    cv = [(np.setdiff1d(np.arange(len(y)), test), test)]
    labels = ["ant", "bee", "cat"]
    kwargs = {"greater_is_better": False, "response_method": "predict_proba",
              "labels": labels}
    got = cross_val_score(LogisticRegression(), X, y, cv=cv,
                          scoring=make_scorer(xentc.log_loss, **kwargs))
    expected = cross_val_score(LogisticRegression(), X, y, cv=cv,
                               scoring=make_scorer(sklearn.metrics.log_loss, **kwargs))
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.parametrize("dataset", ["binary", "multiclass-str"])
def test_sample_weight_routing(dataset, routing):
    X, y = data(*DATASETS[dataset])
    w = weights(len(y))
    model = LogisticRegression().set_fit_request(sample_weight=True)
    for ours, name in scorer_pairs():
        ours = ours.set_score_request(sample_weight=True)
        theirs = get_scorer(name).set_score_request(sample_weight=True)
        unweighted = get_scorer(name).set_score_request(sample_weight=False)
        params = {"sample_weight": w}
        got = cross_validate(model, X, y, cv=CV, scoring=ours, params=params)["test_score"]
        expected = cross_validate(model, X, y, cv=CV, scoring=theirs, params=params)["test_score"]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        plain = cross_validate(model, X, y, cv=CV, scoring=unweighted, params=params)["test_score"]
        assert not np.allclose(got, plain)  # the weights did reach the scorer
        grid = {"C": [0.1, 1.0]}
        got = GridSearchCV(model, grid, cv=CV, scoring=ours).fit(X, y, **params)
        expected = GridSearchCV(model, grid, cv=CV, scoring=theirs).fit(X, y, **params)
        np.testing.assert_allclose(got.cv_results_["mean_test_score"],
                                   expected.cv_results_["mean_test_score"], rtol=1e-12)


def test_sample_weight_routing_requires_a_request(routing):
    X, y = data(2)
    model = LogisticRegression().set_fit_request(sample_weight=True)
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
        cross_validate(model, X, y, cv=CV, scoring=xentc.neg_log_loss_scorer,
                       params={"sample_weight": weights(len(y))})


def test_sample_weight_without_routing():
    # scikit-learn's legacy path: cross_validate(params=...) weights the fit only,
    # GridSearchCV.fit(sample_weight=...) also the scorers that accept sample_weight
    X, y = data(3)
    w = weights(len(y))
    for ours, name in scorer_pairs():
        got = cross_validate(LogisticRegression(), X, y, cv=CV, scoring=ours,
                             params={"sample_weight": w})["test_score"]
        expected = cross_validate(LogisticRegression(), X, y, cv=CV, scoring=name,
                                  params={"sample_weight": w})["test_score"]
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        grid = {"C": [0.1, 1.0]}
        got = GridSearchCV(LogisticRegression(), grid, cv=CV, scoring=ours)
        expected = GridSearchCV(LogisticRegression(), grid, cv=CV, scoring=name)
        got, expected = got.fit(X, y, sample_weight=w), expected.fit(X, y, sample_weight=w)
        np.testing.assert_allclose(got.cv_results_["mean_test_score"],
                                   expected.cv_results_["mean_test_score"], rtol=1e-12)


def patched_objects():
    """Everything patch_sklearn() replaces, as (namespace, key)."""
    scorer_vars = vars(sklearn.metrics._scorer)
    registry = sklearn.metrics._scorer._SCORERS
    return ([(vars(module), name) for module in MODULES for name in FUNCTIONS]
            + [(scorer_vars, attribute) for attribute in SCORERS]
            + [(registry, name) for name in SCORERS.values()])


def test_patch_and_unpatch():
    from sklearn.metrics import log_loss as bound_before  # not affected by the patch

    originals = [namespace[key] for namespace, key in patched_objects()]
    registry = sklearn.metrics._scorer._SCORERS
    registry_copy = dict(registry)
    names = get_scorer_names()
    assert not xentc.sklearn_is_patched()

    xentc.patch_sklearn()
    assert xentc.sklearn_is_patched()
    for module in MODULES:
        assert module.log_loss is xentc.log_loss
        assert module.d2_log_loss_score is xentc.d2_log_loss_score
    from sklearn.metrics import d2_log_loss_score, log_loss

    assert log_loss is xentc.log_loss and d2_log_loss_score is xentc.d2_log_loss_score
    assert bound_before is not xentc.log_loss
    for attribute, name in SCORERS.items():
        scorer = getattr(sklearn.metrics._scorer, attribute)
        assert registry[name] is scorer
        assert scorer._score_func is getattr(xentc, registry_copy[name]._score_func.__name__)
        copy = get_scorer(name)
        assert copy is not scorer and copy._score_func is scorer._score_func
        assert repr(copy) == repr(registry_copy[name])
    assert sklearn.metrics._scorer._SCORERS is registry
    assert get_scorer_names() == names
    assert all(registry[key] is value for key, value in registry_copy.items()
               if key not in SCORERS.values())
    with pytest.raises(ValueError, match="not a valid scoring value"):
        get_scorer("neg_log_los")  # validate_params and the registry still work

    xentc.unpatch_sklearn()
    assert not xentc.sklearn_is_patched()
    for (namespace, key), original in zip(patched_objects(), originals):
        assert namespace[key] is original
    assert registry == registry_copy and get_scorer_names() == names


def test_patch_is_idempotent():
    originals = [namespace[key] for namespace, key in patched_objects()]
    xentc.unpatch_sklearn()  # nothing to undo
    xentc.patch_sklearn()
    first = [namespace[key] for namespace, key in patched_objects()]
    xentc.patch_sklearn()
    assert all(namespace[key] is value
               for (namespace, key), value in zip(patched_objects(), first))
    xentc.unpatch_sklearn()  # one unpatch undoes any number of patches
    assert all(namespace[key] is value
               for (namespace, key), value in zip(patched_objects(), originals))
    xentc.unpatch_sklearn()
    assert not xentc.sklearn_is_patched()


def test_patched_scoring_strings():
    X, y = data(3, strings=True)
    expected = {name: cross_val_score(LogisticRegression(), X, y, cv=CV, scoring=name)
                for name in SCORERS.values()}
    xentc.patch_sklearn()
    for name in SCORERS.values():
        got = cross_val_score(LogisticRegression(), X, y, cv=CV, scoring=name)
        np.testing.assert_allclose(got, expected[name], rtol=1e-12)
    search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=CV, refit="neg_log_loss",
                          scoring=["neg_log_loss", "d2_log_loss_score", "accuracy"]).fit(X, y)
    assert search.scorer_["neg_log_loss"]._score_func is xentc.log_loss
    assert search.scorer_["d2_log_loss_score"]._score_func is xentc.d2_log_loss_score
    np.testing.assert_allclose(search.cv_results_["mean_test_neg_log_loss"][1],
                               expected["neg_log_loss"].mean(), rtol=1e-12)
    proba = search.predict_proba(X)
    xentc.unpatch_sklearn()
    assert sklearn.metrics.log_loss(y, proba) == pytest.approx(xentc.log_loss(y, proba),
                                                               rel=1e-12)


def test_docstring_examples():
    result = doctest.testmod(xentc._sklearn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
