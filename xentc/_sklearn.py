"""scikit-learn integration: scorers built on :func:`xentc.log_loss`, and :func:`patch_sklearn`.

scikit-learn is imported only when a scorer is asked for or :func:`patch_sklearn` is called,
never by ``import xentc``.
"""

import importlib

from ._metrics import d2_log_loss_score, log_loss

__all__ = ["patch_sklearn", "unpatch_sklearn", "sklearn_is_patched"]

# scorer name in scikit-learn's registry -> (xentc attribute, score function, make_scorer
# arguments): scikit-learn 1.9's own definitions in sklearn/metrics/_scorer.py
SCORERS = {
    "neg_log_loss": (
        "neg_log_loss_scorer",
        log_loss,
        {"greater_is_better": False, "response_method": "predict_proba"},
    ),
    "d2_log_loss_score": (
        "d2_log_loss_scorer",
        d2_log_loss_score,
        {"response_method": "predict_proba"},
    ),
}
SCORER_ATTRIBUTES = {attribute: name for name, (attribute, _, _) in SCORERS.items()}

# (namespace, key, original) for every replacement in force; empty when not patched
_saved = []


def _import_sklearn(module):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            "xentc's scorers and patch_sklearn() need scikit-learn, which could not be "
            "imported (pip install scikit-learn)"
        ) from exc


def new_scorer(name):
    """A new scikit-learn scorer built on xentc's function, for a scorer name of scikit-learn.

    ``name`` is ``"neg_log_loss"`` or ``"d2_log_loss_score"``.  The scorer is what
    ``sklearn.metrics.get_scorer(name)`` returns, with xentc's function as its score
    function, except that it reads the probabilities by the estimator's ``classes_`` (see
    ``_classes_scorer``).  Each call returns a new object (``get_scorer`` returns a copy
    too), so ``set_score_request`` on one scorer does not change another.
    """
    _, score_func, kwargs = SCORERS[name]
    scorer = _import_sklearn("sklearn.metrics").make_scorer(score_func, **kwargs)
    return _classes_scorer()(scorer._score_func, scorer._sign, scorer._kwargs,
                             scorer._response_method)


_CLASSES_SCORER = []


def _classes_scorer():
    """scikit-learn's scorer class, made to read the probabilities by ``estimator.classes_``.

    scikit-learn's probability scorers pass ``predict_proba``'s columns to the metric, which
    takes them to be the classes in sorted order, and let the metric infer the classes from
    the test fold's ``y_true``.  So a fold that lacks a class fails (scikit-learn#9144: the
    fold scores nan), and an estimator whose ``classes_`` are not sorted is scored on the
    wrong columns.  This subclass gives the metric ``labels`` = the sorted ``classes_`` (unless
    ``labels`` is given) and the columns in that order (for two classes: the probability of
    the second sorted class).  Where scikit-learn's scorer succeeds with sorted ``classes_``
    (every built-in classifier) the scores are the same.
    """
    if _CLASSES_SCORER:
        return _CLASSES_SCORER[0]
    import numpy as np

    scorer_module = _import_sklearn("sklearn.metrics._scorer")

    class ClassesScorer(scorer_module._Scorer):
        def _score(self, method_caller, estimator, X, y_true, **kwargs):
            classes = getattr(estimator, "classes_", None)
            if classes is None or "labels" in self._kwargs or "labels" in kwargs:
                return super()._score(method_caller, estimator, X, y_true, **kwargs)
            self._warn_overlap(
                message=(
                    "There is an overlap between set kwargs of this scorer instance and"
                    " passed metadata. Please pass them either as kwargs to `make_scorer`"
                    " or metadata, but not both."
                ),
                kwargs=kwargs,
            )
            classes = np.asarray(classes)
            order = np.argsort(classes, kind="stable")
            ordered = classes[order]
            method = scorer_module._get_response_method_name(
                scorer_module._check_response_method(estimator, self._response_method))
            binary = ordered.shape[0] == 2
            y_proba = method_caller(estimator, method, X,
                                    pos_label=ordered[1] if binary else None)
            if not binary and np.any(order != np.arange(order.shape[0])):
                y_proba = y_proba[:, order]
            scoring_kwargs = {**self._kwargs, **kwargs, "labels": ordered}
            return self._sign * self._score_func(y_true, y_proba, **scoring_kwargs)

    ClassesScorer.__module__ = __name__
    ClassesScorer.__qualname__ = ClassesScorer.__name__ = "_ClassesScorer"
    _CLASSES_SCORER.append(ClassesScorer)
    return ClassesScorer


def __getattr__(name):
    # pickle finds the scorer class as xentc._sklearn._ClassesScorer
    if name == "_ClassesScorer":
        return _classes_scorer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _replacements():
    """``(namespace, key, new value)`` for everything :func:`patch_sklearn` replaces."""
    metrics = _import_sklearn("sklearn.metrics")
    classification = importlib.import_module("sklearn.metrics._classification")
    scorer_module = importlib.import_module("sklearn.metrics._scorer")

    functions = {"log_loss": log_loss, "d2_log_loss_score": d2_log_loss_score}
    modules = [metrics, classification, scorer_module]
    replacements = [
        (vars(module), key, function)
        for module in modules
        for key, function in functions.items()
    ]
    for name, (attribute, _, _) in SCORERS.items():
        # one object for the module attribute and the registry entry, as in scikit-learn
        scorer = new_scorer(name)
        replacements.append((vars(scorer_module), attribute, scorer))
        replacements.append((scorer_module._SCORERS, name, scorer))
    return replacements


def patch_sklearn():
    """Make scikit-learn compute ``log_loss``, ``d2_log_loss_score`` and their scorers with xentc.

    After the call, ``sklearn.metrics.log_loss`` is :func:`xentc.log_loss`, and the scoring
    strings ``"neg_log_loss"`` and ``"d2_log_loss_score"`` (in ``cross_val_score``,
    ``cross_validate``, ``GridSearchCV``, ``LogisticRegressionCV``, ``get_scorer``, ...)
    give scorers on xentc's functions.  Calling it again changes nothing;
    :func:`unpatch_sklearn` puts the original objects back.

    Replaced (an attribute that the installed scikit-learn lacks is skipped):

    - ``log_loss`` and ``d2_log_loss_score`` in ``sklearn.metrics``,
      ``sklearn.metrics._classification`` and ``sklearn.metrics._scorer``;
    - ``sklearn.metrics._scorer.neg_log_loss_scorer`` and ``d2_log_loss_scorer``;
    - the values of ``"neg_log_loss"`` and ``"d2_log_loss_score"`` in the scorer registry
      ``sklearn.metrics._scorer._SCORERS`` (the same dict, with the same keys, so
      ``get_scorer_names()`` and the parameter validation built on it are unchanged).

    The scorers put in are ``xentc.neg_log_loss_scorer`` and ``xentc.d2_log_loss_scorer``:
    they score with ``labels`` = the estimator's ``classes_``, so a test fold that lacks a
    class gets a score instead of nan (scikit-learn#9144); the scores are otherwise
    scikit-learn's.

    No other scikit-learn module imports ``sklearn.metrics.log_loss``: the functions named
    ``log_loss`` in ``sklearn.calibration`` (temperature scaling) and
    ``sklearn.neural_network._base`` (the MLP's training loss) are other functions and are
    left alone, and estimators that score with ``"neg_log_loss"`` look it up in the registry.

    Not affected: names bound before the call (``from sklearn.metrics import log_loss``
    run earlier keeps scikit-learn's function), scorers made before it, and other
    processes (a scorer made here and sent to joblib workers keeps xentc's function, but a
    scoring string resolved inside a worker gets scikit-learn's scorer).  The patched
    functions compute on NumPy arrays (no array-API dispatch).

    Examples
    --------
    >>> import sklearn.metrics, xentc
    >>> xentc.patch_sklearn()
    >>> sklearn.metrics.log_loss is xentc.log_loss
    True
    >>> sklearn.metrics.get_scorer("neg_log_loss")._score_func is xentc.log_loss
    True
    >>> xentc.unpatch_sklearn()
    >>> sklearn.metrics.log_loss is xentc.log_loss
    False
    """
    if _saved:
        return
    for namespace, key, new in _replacements():
        if key in namespace:
            _saved.append((namespace, key, namespace[key]))
            namespace[key] = new


def unpatch_sklearn():
    """Put back the objects that :func:`patch_sklearn` replaced (the same objects).

    Without a patch in force it does nothing.

    Examples
    --------
    >>> import xentc
    >>> xentc.patch_sklearn(); xentc.patch_sklearn(); xentc.unpatch_sklearn()
    >>> xentc.sklearn_is_patched()
    False
    """
    while _saved:
        namespace, key, original = _saved.pop()
        namespace[key] = original


def sklearn_is_patched():
    """Whether :func:`patch_sklearn` is in force.

    Examples
    --------
    >>> import xentc
    >>> xentc.sklearn_is_patched()
    False
    """
    return bool(_saved)
