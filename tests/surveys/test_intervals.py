"""Properties of the survey intervals (surveys/formulas.py), for every count of answers.

Every interval stays inside its scale and holds the point estimate; under five answers there is
none; Wilson and Rocks' adjusted Wald match values computed by hand in test_formulas.py.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from surveys import formulas
from surveys.formulas import MIN_ANSWERS

counts = st.integers(min_value=0, max_value=400)
PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=300)


def inside(result, scale):
    bottom, top = scale
    assert bottom <= result.low <= result.value <= result.high <= top
    assert result.margin >= 0


@PROPERTY
@given(counts, counts, counts)
def test_nps_intervals_stay_on_the_scale_and_hold_the_nps(promoters, passives, detractors):
    result = formulas.nps_from_counts(promoters=promoters, passives=passives, detractors=detractors)
    n = promoters + passives + detractors
    if n < MIN_ANSWERS:
        assert result.margin is None and result.low is None and result.too_few == (n > 0)
    else:
        inside(result, formulas.NPS_RANGE)
        assert result.margin > 0  # never "± 0", even for identical answers


@PROPERTY
@given(st.integers(min_value=0, max_value=2000), st.data())
def test_wilson_intervals_stay_on_the_scale_and_hold_the_share(n, data):
    hits = data.draw(st.integers(min_value=0, max_value=n))
    result = formulas.share_from_counts(hits=hits, n=n)
    if n < MIN_ANSWERS:
        assert result.margin is None and result.too_few == (n > 0)
    else:
        inside(result, formulas.PERCENT_RANGE)
        assert result.margin > 0


@PROPERTY
@given(st.sampled_from([formulas.CSAT_MEAN_RANGE, formulas.CES_MEAN_RANGE]), st.data())
def test_mean_intervals_stay_on_the_scale_and_hold_the_mean(scale, data):
    low, high = int(scale[0]), int(scale[1])
    scores = data.draw(st.lists(st.integers(min_value=low, max_value=high), max_size=200))
    result = formulas.mean(scores, scale=scale)
    if len(scores) < MIN_ANSWERS:
        assert result.margin is None
    else:
        inside(result, scale)
        assert result.margin > 0


def test_the_response_rate_is_a_wilson_interval():
    assert formulas.response_rate(answered=3, sent=5) == formulas.share_from_counts(hits=3, n=5)
