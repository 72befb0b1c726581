"""The model zoo: cells, deep stacks and task networks, built through one registry."""
from .registry import create_model, list_models, register_model

__all__ = ["create_model", "list_models", "register_model"]


def set_td_rate(model, rate: float) -> None:
    """Set the Temporal Dropout rate of every cell in ``model`` that has one."""
    for m in model.modules():
        if hasattr(m, "td_rate"):
            m.td_rate = float(rate)


__all__.append("set_td_rate")
