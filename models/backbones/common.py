"""What every backbone family shares: width scaling, the pretrained-file option, fc-as-conv -> Linear, timm
(``timm_trunk``), the fc6/fc7 taps of VGG and C3D (``forward_fc_taps``).

Every builder takes ``pretrained`` as a real option (default ``False``: this suite never downloads in
tests): False, True (the library's ImageNet weights, width 1 only) or the path of a state-dict file of the
backbone itself (``weights_path``, ``load_weights_file``).
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn


def timm_module():
    """timm, imported on first use (only the width-1 VGG / ResNet builders and the narrow layouts need it)."""
    import timm

    return timm


def scaled(channels: int, width: float) -> int:
    """A channel count / layer size at ``width`` (``max(1, round(channels * width))``; exact at 1.0)."""
    return max(1, int(round(channels * width)))


def weights_path(pretrained) -> str | None:
    """``pretrained`` given as a state-dict file of the backbone itself (str / PathLike; any ``width``, e.g.
    stand-in weights trained offline at a narrow width): its path; else None."""
    return os.fspath(pretrained) if isinstance(pretrained, (str, os.PathLike)) else None


def load_weights_file(module: nn.Module, path: str, name: str) -> nn.Module:
    """Load a state-dict file saved from the same backbone class at the same width (strict)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{name}: pretrained state dict {path!r} not found")
    sd = torch.load(path, map_location="cpu", weights_only=True)
    missing, unexpected = module.load_state_dict(sd.get("state_dict", sd), strict=False)
    if missing or unexpected:
        raise RuntimeError(f"{name}: state dict {path!r} does not fit (same class and width needed): "
                           f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    return module


def check_width(width: float, pretrained, name: str) -> float:
    """``width`` as a float; ValueError unless it is positive and finite, and unless pretrained weights
    asked of the library (not a file) come with width 1."""
    width = float(width)
    if not (width > 0 and width == width and width != float("inf")):
        raise ValueError(f"{name}: width must be a positive finite number, got {width!r}")
    if width != 1.0 and pretrained and weights_path(pretrained) is None:
        raise ValueError(f"{name}: pretrained weights exist only at width=1 (the paper's size); got "
                         f"width={width!r} with pretrained={pretrained!r}. Use pretrained=False to train a narrow "
                         f"{name} from scratch.")
    return width


def timm_trunk(name: str, pretrained, width: float, narrow) -> tuple[nn.Module, float, str | None]:
    """(timm model, checked ``width``, state-dict file or None) for the timm families (VGG, ResNet).

    Width 1: timm's own model (its ImageNet weights when ``pretrained`` is True); any other width:
    ``narrow(name, width)``, the family's narrowed layout. A state-dict file given as ``pretrained`` is
    not loaded here: the caller loads it (``load_weights_file``) once its own modules are in place."""
    width = check_width(width, pretrained, name)
    path = weights_path(pretrained)
    if width == 1.0:
        tm = timm_module().create_model(name, pretrained=bool(pretrained) and path is None, num_classes=0)
    else:
        tm = narrow(name, width)
    return tm, width, path


def forward_fc_taps(model: nn.Module, x, tap: str, family: str):
    """The conv5 / pool5 / fc6 / fc7 taps of a net with fc6 and fc7 as ``nn.Linear`` (VGG, C3D).

    ``model`` has ``taps``, ``forward_conv5``, ``forward_pool5``, ``fc6``, ``fc7``, ``act`` and ``drop``;
    fc6 and fc7 are each followed by ``act`` and ``drop``. A tap in ``model.taps`` past fc7 (C3D's
    logits) gets fc7's output, for the caller to finish."""
    if tap not in model.taps:
        raise ValueError(f"unknown {family} tap {tap!r}; known: {model.taps}")
    if tap == "conv5":
        return model.forward_conv5(x)
    x = model.forward_pool5(x)
    if tap == "pool5":
        return x
    x = model.drop(model.act(model.fc6(x)))
    if tap == "fc6":
        return x
    return model.drop(model.act(model.fc7(x)))


def linear_from_conv(conv: nn.Conv2d) -> nn.Linear:
    """The ``nn.Linear`` equivalent of a conv whose kernel covers its whole input (fc-as-conv).

    The weight is a reshaped view of the conv's (no copy); the input must be flattened in (C, H, W) order.
    """
    w = conv.weight.detach()
    out_f, in_f = w.shape[0], w[0].numel()
    lin = nn.Linear(in_f, out_f, bias=conv.bias is not None, device="meta")
    lin.weight = nn.Parameter(w.reshape(out_f, in_f), requires_grad=conv.weight.requires_grad)
    if conv.bias is not None:
        lin.bias = nn.Parameter(conv.bias.detach(), requires_grad=conv.bias.requires_grad)
    return lin
