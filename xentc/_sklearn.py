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
    function.  Each call returns a new object (``get_scorer`` returns a copy too), so
    ``set_score_request`` on one scorer does not change another.
    """
    _, score_func, kwargs = SCORERS[name]
    return _import_sklearn("sklearn.metrics").make_scorer(score_func, **kwargs)


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
