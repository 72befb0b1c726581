"""``models.set_schedule``: one entry point for the training-time schedules (Temporal Dropout, STSGD)."""

import pytest

from models import set_schedule
from models.cells import CBMCell, CBMLSTMCell, ConvLSTMCell, SCSCell
from models.stacks import RecurrentStack


def _model():
    return RecurrentStack([CBMCell(3, 4), SCSCell(4, 4, stsgd_q=0.2), CBMLSTMCell(4, 4), ConvLSTMCell(4, 4),
                           SCSCell(4, 3)])


def _settings(model):
    keys = ("td_rate", "stsgd_q", "stsgd_p_s")
    return [(n, k, getattr(m, k)) for n, m in model.named_modules() for k in keys if hasattr(m, k)]


# (name, value, options) -> {setting: value} on every module that has the setting (SCS cells: stsgd_q, stsgd_p_s;
# CBM and CBM-LSTM cells: td_rate); the other settings keep their start
@pytest.mark.parametrize("name, value, options, expected", [
    ("td_rate", 0.25, {}, {"td_rate": 0.25}),
    ("td_rate", 1, {}, {"td_rate": 1.0}),
    ("stsgd_q", 0.3, {}, {"stsgd_q": 0.3, "stsgd_p_s": None}),
    ("stsgd_q", 0.4, {"p_s": 0.6}, {"stsgd_q": 0.4, "stsgd_p_s": 0.6}),
    ("stsgd_q", None, {}, {"stsgd_q": None, "stsgd_p_s": None}),
])
def test_set_schedule_sets_its_setting_on_every_module_that_has_it(name, value, options, expected):
    a = _model()
    set_schedule(a, "stsgd_q", 0.9, p_s=0.1)  # a non-default start, so that every setting is seen to change
    set_schedule(a, "td_rate", 0.7)
    before = _settings(a)
    set_schedule(a, name, value, **options)
    after = _settings(a)
    assert [k for _, k, _ in after].count("td_rate") == 2 and [k for _, k, _ in after].count("stsgd_q") == 2
    for (n, k, v0), (_, _, v1) in zip(before, after):
        assert v1 == expected.get(k, v0), (n, k)
        if k == "td_rate":
            assert type(v1) is float


def test_set_schedule_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="dropout") as err:
        set_schedule(_model(), "dropout", 0.5)
    assert "td_rate" in str(err.value) and "stsgd_q" in str(err.value)  # the valid names
    with pytest.raises(TypeError):
        set_schedule(_model(), "td_rate", 0.5, p_s=0.5)
