"""Backbone CNNs and their feature taps (timm / torchvision / C3D by hand).

Every builder takes ``pretrained`` as a real option (default ``False``: this suite never downloads in
tests). Builders work under ``with torch.device("meta"):`` so a true-size model can be counted without
allocating its weights.

One module per family (timm style): ``common`` (width scaling, pretrained files, fc-as-conv), ``vgg``,
``resnet``, ``inception``, ``c3d``; ``create_backbone(name, ...)`` builds any of them by name.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn

from .c3d import C3D, C3D_NO_WEIGHTS, c3d
from .common import linear_from_conv, load_weights_file, scaled, weights_path
from .inception import InceptionV1, inception_v1
from .resnet import ResNet, ResNetRes5cTrunk, resnet18, resnet50, split_block
from .vgg import VGG, vgg16, vgg19

BACKBONES = {
    "vgg16": vgg16, "vgg19": vgg19, "resnet18": resnet18, "resnet50": resnet50,
    "inception_v1": inception_v1, "c3d": c3d,
}


def create_backbone(name: str, pretrained=False, **kw) -> nn.Module:
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; known: {sorted(BACKBONES)}")
    return BACKBONES[name](pretrained=pretrained, **kw)


__all__: Sequence[str] = (
    "VGG", "ResNet", "ResNetRes5cTrunk", "InceptionV1", "C3D", "linear_from_conv", "create_backbone", "scaled",
    "vgg16", "vgg19", "resnet18", "resnet50", "inception_v1", "c3d", "C3D_NO_WEIGHTS", "weights_path",
    "load_weights_file", "split_block",
)
