"""One registry for the whole zoo, in timm's style.

    @register_model
    def polygon_cbm_15(**kw): ...

    create_model("polygon_cbm_15", encoder="small")
    list_models("polygon_*")
"""
from __future__ import annotations

import fnmatch
from typing import Callable

import torch.nn as nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module] | None = None, *, name: str | None = None):
    """Decorator registering a model factory under its function name (or ``name``)."""

    def wrap(f):
        key = name or f.__name__
        if key in _MODELS and _MODELS[key] is not f:
            raise ValueError(f"model {key!r} is registered twice")
        _MODELS[key] = f
        return f

    return wrap(fn) if fn is not None else wrap


def register_variant(name: str, builder: Callable[..., nn.Module], doc: str, **fixed) -> None:
    """Register ``name`` as ``builder`` with the keyword arguments ``fixed`` set (a caller's own keywords
    win): one registered name per variant of a general builder, with ``doc`` as its docstring."""

    def factory(**kw):
        return builder(**{**fixed, **kw})

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    register_model(factory, name=name)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted names of the registered models matching a shell-style pattern."""
    _import_all()
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model; unknown names get the close matches in the error."""
    _import_all()
    if name not in _MODELS:
        import difflib

        close = difflib.get_close_matches(name, _MODELS, n=5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown model {name!r}.{hint} `list_models()` shows all {len(_MODELS)}.")
    return _MODELS[name](**kwargs)


def _import_all() -> None:
    # Importing the net modules runs their @register_model decorators.
    from . import nets  # noqa: F401
