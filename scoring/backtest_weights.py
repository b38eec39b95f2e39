"""Suggested weights for a health model's components, learnt from the back-test's weekly cases.

Which weights would have ranked the accounts that went on to churn lowest? A non-negative logistic
regression answers on the earlier cases; the later cases, which the fit never saw, check the answer
against the current weights.

- Split: the split date is the evaluation day at SPLIT_AT of the days. The fit part is the cases whose
  outcome was known by then (day + horizon <= split date); the test part is the cases on or after it.
  Cases in between belong to neither: their churn was still open at the split.
- Fit: P(churn) = sigmoid(b - sum of w_j z_j) with w >= 0 (b free), z = normalised / 100, and a missing
  value imputed by its column's mean over the fit cases (the engine leaves a missing component out of
  its mean instead; imputing is the regression's stand-in for that). L-BFGS-B on standardised columns,
  with the analytic gradient and a small L2 penalty (PENALTY); w is then put back on the normalised
  scale and apportioned to whole weights summing to TOTAL_WEIGHT. A weight of 0 means: leave the
  component out (the model editor needs a weight of at least 0.01).
- Test: scores as the engine computes them (weighted_scores) with the suggested and with the current
  weights, on the same test cases (those both weightings score; the model's minimum coverage is not
  applied); AUC and its account-bootstrap interval from scoring/backtest.py.
- Trust: only without a warning: enough days and churn in both parts, a test AUC whose interval is
  above chance, and a suggestion that beats the current weights (else: keep them).
"""

import datetime
from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from core.numbers import fixed
from scoring import backtest, engine

SPLIT_AT = 2 / 3  # the split date is the evaluation day at this share of the days
MIN_PART_DAYS = 4  # evaluation days with cases that the fit part and the test part each need
MIN_FIT_POSITIVES = 30  # churn cases the fit part needs (the test part needs backtest.MIN_POSITIVES)
PENALTY = 1e-4  # L2 penalty on the standardised coefficients, against a mean loss per case
TOTAL_WEIGHT = 100
CHANCE = 0.5  # the AUC of a score that ranks churn at random
GRADIENT_TOLERANCE = 1e-10  # tighter than SciPy's 1e-5, which rare churn reaches early: the loss's change decides


def weighted_scores(normalised: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Scores as the engine computes them: per case, the weighted mean of the components with data
    (normalised is cases × components, 0-100, NaN where the component had no data); NaN where no
    weighted component has data."""
    weights = np.asarray(weights, dtype=float)
    present = ~np.isnan(normalised) & (weights > 0)
    present_weight = present @ weights
    weighted = np.where(present, normalised, 0.0) @ weights
    return np.divide(weighted, present_weight, out=np.full(len(weighted), np.nan), where=present_weight > 0)


def split_date(days: Sequence[datetime.date]) -> datetime.date | None:
    """The evaluation day at SPLIT_AT of the (sorted) days; None without days."""
    return days[int(len(days) * SPLIT_AT)] if days else None


def time_split(*, day: np.ndarray, days: Sequence[datetime.date], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, test) masks over the cases: fit where day + horizon <= the split date (and day before it, for a
    horizon of 0), test where day >= it."""
    split = split_date(days)
    if split is None:
        nothing = np.zeros(len(day), dtype=bool)
        return nothing, nothing.copy()
    later = np.array([date >= split for date in days])
    known = np.array([date + datetime.timedelta(days=horizon) <= split for date in days]) & ~later  # horizon 0
    return known[day], later[day]


def _fit(z: np.ndarray, churned: np.ndarray):
    """(w on the z scale, the optimiser's result) for complete columns z (cases × components, 0-1)."""
    mean, spread = z.mean(axis=0), z.std(axis=0)
    spread[spread == 0] = 1.0  # a constant column: its coefficient only costs penalty, so it stays 0
    x = (z - mean) / spread
    y = churned.astype(float)
    cases, components = x.shape

    def loss_and_gradient(params: np.ndarray) -> tuple[float, np.ndarray]:
        intercept, beta = params[0], params[1:]
        eta = intercept - x @ beta
        loss = (np.logaddexp(0.0, eta).sum() - y @ eta) / cases + PENALTY / 2 * beta @ beta
        residual = (expit(eta) - y) / cases  # d loss / d eta
        return loss, np.concatenate([[residual.sum()], PENALTY * beta - x.T @ residual])

    result = minimize(
        loss_and_gradient,
        np.zeros(components + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None)] + [(0.0, None)] * components,
        options={"gtol": GRADIENT_TOLERANCE},
    )
    return result.x[1:] / spread, result


def _part(mask: np.ndarray, *, account: np.ndarray, day: np.ndarray, positive: np.ndarray, days) -> dict:
    """The dates, cases, churn cases and accounts of one part."""
    present = np.unique(day[mask])
    return {
        "from": days[present[0]].isoformat() if len(present) else None,
        "to": days[present[-1]].isoformat() if len(present) else None,
        "cases": int(mask.sum()),
        "positives": int(positive[mask].sum()),
        "accounts": int(len(np.unique(account[mask]))),
    }


def suggest_weights(
    *,
    normalised: np.ndarray,
    positive: np.ndarray,
    account: np.ndarray,
    day: np.ndarray,
    days: Sequence[datetime.date],
    horizon: int,
    current_weights: Sequence[float],
) -> dict:
    """Suggested whole weights (summing to TOTAL_WEIGHT) with their fit and test figures, as JSON.

    `normalised` is cases × components (0-100, NaN without data); `positive` whether the case churned
    within `horizon` days; `account` the case's account index; `day` its index into `days` (sorted).

    Returns {"weights", "split", "fit", "test", "trusted", "warnings"}: "fit" and "test" each have "from",
    "to", "cases", "positives", "accounts" and "auc" (the suggested weights'), "test" also "auc_low",
    "auc_high" and "current_auc" (the current weights' on the same cases). `weights` is None, with the
    reasons in `warnings`, when there is too little data to fit or every weight came out 0; `trusted`
    is True only without any warning.
    """
    normalised = np.asarray(normalised, dtype=float)
    positive, account, day = np.asarray(positive, dtype=bool), np.asarray(account, dtype=int), np.asarray(day, int)
    parts = {"account": account, "day": day, "positive": positive, "days": days}
    fit, test = time_split(day=day, days=days, horizon=horizon)
    current = weighted_scores(normalised, current_weights)
    split = split_date(days)
    result = {
        "weights": None,
        "split": split.isoformat() if split else None,
        "fit": {**_part(fit, **parts), "auc": None},
        "test": {**_part(test & ~np.isnan(current), **parts), "auc": None, "auc_low": None, "auc_high": None,
                 "current_auc": None},
        "trusted": False,
        "warnings": [],
    }  # fmt: skip
    warnings = result["warnings"]
    if min(len(np.unique(day[fit])), len(np.unique(day[test]))) < MIN_PART_DAYS:
        warnings.append(
            f"{len(days)} evaluation days are too few to split: the fit needs {MIN_PART_DAYS} days at least {horizon} "
            f"days before the split date (their churn known by then) and the test {MIN_PART_DAYS} days from it."
        )
    if result["fit"]["positives"] < MIN_FIT_POSITIVES:
        warnings.append(
            f"Only {result['fit']['positives']} churn cases to fit on; at least {MIN_FIT_POSITIVES} are needed."
        )
    if warnings:
        return result

    z = normalised[fit] / 100
    seen = ~np.isnan(z)
    column_mean = np.divide(np.where(seen, z, 0.0).sum(axis=0), seen.sum(axis=0), out=np.zeros(z.shape[1]),
                            where=seen.any(axis=0))  # fmt: skip
    w, fitted = _fit(np.where(seen, z, column_mean), positive[fit])
    if not fitted.success:
        warnings.append(f"The fit did not converge ({fitted.message}).")
    if not w.sum() > 0:
        warnings.append("Every weight came out 0: no component's data ranked the churn cases lower in the fit part.")
        return result
    weights = engine.apportion((TOTAL_WEIGHT * w / w.sum()).tolist(), TOTAL_WEIGHT)
    result["weights"] = weights

    suggested = weighted_scores(normalised, weights)
    fit_scored = fit & ~np.isnan(suggested)
    result["fit"]["auc"] = backtest.auc(suggested[fit_scored], positive[fit_scored])
    scored = test & ~np.isnan(suggested) & ~np.isnan(current)
    cases = backtest.Cases(
        account=np.unique(account[scored], return_inverse=True)[1],
        day=day[scored],
        score=suggested[scored],
        band=np.full(int(scored.sum()), -1),
        positive=positive[scored],
    )
    figures = backtest.discrimination(cases)
    current_auc = backtest.auc(current[scored], positive[scored]) if figures["enough_churn"] else None
    result["test"] = {
        **_part(scored, **parts),
        **{key: figures[key] for key in ("auc", "auc_low", "auc_high")},
        "current_auc": current_auc,
    }
    if not figures["enough_churn"]:
        warnings.append(
            f"The test part has {result['test']['positives']} churn cases among {result['test']['cases']}: an AUC "
            f"needs at least {backtest.MIN_POSITIVES} and some cases without churn, so the suggestion is unchecked."
        )
    else:
        if figures["auc_low"] <= CHANCE:
            low, high = fixed(figures["auc_low"], 2), fixed(figures["auc_high"], 2)
            warnings.append(
                f"The suggested weights may rank churn no better than chance on the test part (AUC "
                f"{fixed(figures['auc'], 2)}, 95% interval {low}-{high})."
            )
        if figures["auc"] <= current_auc:
            warnings.append(
                f"The suggested weights rank churn no better than the current ones on the test part (AUC "
                f"{fixed(figures['auc'], 2)} against {fixed(current_auc, 2)}): keep the current weights."
            )
    result["trusted"] = not warnings
    return result
