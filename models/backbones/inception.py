"""InceptionV1: stand-in for GoogLeNet / InceptionV1, tap pool5 (1024).

timm has no GoogLeNet, so this wraps torchvision's ``googlenet`` (the InceptionV1 topology of Szegedy et al.
2015, with the BatchNorm that torchvision adds after every conv), built offline with ``weights=None``;
``pretrained=True`` asks torchvision for its ImageNet weights.
"""
from __future__ import annotations

import torch.nn as nn

from .common import check_width, load_weights_file, scaled, weights_path


class InceptionV1(nn.Module):
    """InceptionV1 stand-in: torchvision ``googlenet`` (timm has no GoogLeNet). Tap pool5 -> 1024."""

    taps = ("pool5",)
    feature_dims = {"pool5": 1024}

    def __init__(self, pretrained: bool = False, width: float = 1.0):
        super().__init__()
        from torchvision.models import GoogLeNet_Weights, googlenet

        self.width = width = check_width(width, pretrained, "inception_v1")
        path = weights_path(pretrained)
        if pretrained and path is None:
            net = googlenet(weights=GoogLeNet_Weights.IMAGENET1K_V1, aux_logits=False)
        else:
            net = googlenet(weights=None, aux_logits=False, init_weights=True, transform_input=False)
            if width != 1.0:
                self._narrow(net, width)
        net.fc = nn.Identity()
        net.dropout = nn.Identity()
        self.net = net
        self.feature_dims = {"pool5": getattr(net.inception5b, "out_channels", 1024)}
        if path is not None:
            load_weights_file(self, path, "inception_v1")

    # torchvision GoogLeNet's layout: (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj) per block
    _INCEPTION = {"inception3a": (192, 64, 96, 128, 16, 32, 32), "inception3b": (256, 128, 128, 192, 32, 96, 64),
                  "inception4a": (480, 192, 96, 208, 16, 48, 64), "inception4b": (512, 160, 112, 224, 24, 64, 64),
                  "inception4c": (512, 128, 128, 256, 24, 64, 64), "inception4d": (512, 112, 144, 288, 32, 64, 64),
                  "inception4e": (528, 256, 160, 320, 32, 128, 128), "inception5a": (832, 256, 160, 320, 32, 128, 128),
                  "inception5b": (832, 384, 192, 384, 48, 128, 128)}

    @classmethod
    def _narrow(cls, net: nn.Module, width: float) -> None:
        """Every conv of the torchvision GoogLeNet narrowed to ``width`` (same modules, names and init)."""
        from torchvision.models.googlenet import BasicConv2d, Inception

        s = lambda c: scaled(c, width)  # noqa: E731
        net.conv1 = BasicConv2d(3, s(64), kernel_size=7, stride=2, padding=3)
        net.conv2 = BasicConv2d(s(64), s(64), kernel_size=1)
        net.conv3 = BasicConv2d(s(64), s(192), kernel_size=3, padding=1)
        prev = s(192)
        for name, (_, c1, r3, c3, r5, c5, pp) in cls._INCEPTION.items():
            block = Inception(prev, s(c1), s(r3), s(c3), s(r5), s(c5), s(pp))
            block.out_channels = prev = s(c1) + s(c3) + s(c5) + s(pp)
            setattr(net, name, block)
        for m in net.modules():  # torchvision's init_weights: truncated normal convs, BN weight 1 bias 0
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x, tap: str = "pool5"):
        if tap != "pool5":
            raise ValueError(f"unknown InceptionV1 tap {tap!r}; known: {self.taps}")
        return self.net(x)


def inception_v1(pretrained: bool = False, width: float = 1.0) -> InceptionV1:
    """InceptionV1 (torchvision GoogLeNet); ``width`` scales every conv (1.0 = the true size, pool5 1024)."""
    return InceptionV1(pretrained=pretrained, width=width)
