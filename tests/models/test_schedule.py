"""``models.set_schedule``: one entry point for the training-time schedules (Temporal Dropout, STSGD)."""
import copy

import pytest

from models import set_schedule, set_td_rate
from models.cells import CBMCell, CBMLSTMCell, ConvLSTMCell, SCSCell
from models.cells.scs import set_stsgd_q
from models.stacks import RecurrentStack


def _model():
    return RecurrentStack([CBMCell(3, 4), SCSCell(4, 4, stsgd_q=0.2), CBMLSTMCell(4, 4), ConvLSTMCell(4, 4),
                           SCSCell(4, 3)])


def _settings(model):
    keys = ("td_rate", "stsgd_q", "stsgd_p_s")
    return [(n, k, getattr(m, k)) for n, m in model.named_modules() for k in keys if hasattr(m, k)]


@pytest.mark.parametrize("name, value, options, wrapper", [
    ("td_rate", 0.25, {}, lambda m: set_td_rate(m, 0.25)),
    ("td_rate", 1, {}, lambda m: set_td_rate(m, 1)),
    ("stsgd_q", 0.3, {}, lambda m: set_stsgd_q(m, 0.3)),
    ("stsgd_q", 0.4, {"p_s": 0.6}, lambda m: set_stsgd_q(m, 0.4, p_s=0.6)),
    ("stsgd_q", None, {}, lambda m: set_stsgd_q(m, None)),
])
def test_set_schedule_sets_what_the_named_setters_set(name, value, options, wrapper):
    a = _model()
    set_stsgd_q(a, 0.9, p_s=0.1)  # a non-default start, so that every setting is seen to change
    set_td_rate(a, 0.7)
    b = copy.deepcopy(a)
    before = _settings(a)
    set_schedule(a, name, value, **options)
    wrapper(b)
    assert _settings(a) == _settings(b)
    assert _settings(a) != before
    changed = {k for (_, k, v0), (_, _, v1) in zip(before, _settings(a)) if v0 != v1}
    assert changed <= ({"td_rate"} if name == "td_rate" else {"stsgd_q", "stsgd_p_s"})
    if name == "td_rate":  # every cell with a rate, CBMLSTMCell included, as a float
        assert [v for _, k, v in _settings(a) if k == "td_rate"] == [float(value)] * 2
        assert all(type(v) is float for _, k, v in _settings(a) if k == "td_rate")


def test_set_schedule_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="dropout") as err:
        set_schedule(_model(), "dropout", 0.5)
    assert "td_rate" in str(err.value) and "stsgd_q" in str(err.value)  # the valid names
    with pytest.raises(TypeError):
        set_schedule(_model(), "td_rate", 0.5, p_s=0.5)
