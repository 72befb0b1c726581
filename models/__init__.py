"""The model zoo: cells, deep stacks and task networks, built through one registry."""
from .registry import create_model, list_models, register_model
from .schedule import set_schedule

__all__ = ["create_model", "list_models", "register_model", "set_schedule"]
