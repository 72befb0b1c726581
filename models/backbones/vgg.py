"""VGG16 / VGG19 (timm) with fc6/fc7 as ``nn.Linear`` and taps conv5 / pool5 / fc6 / fc7.

timm's VGG keeps fc6/fc7 as convolutions (``pre_logits`` is a ConvMlp: a 7x7 conv 512 -> 4096 and a 1x1 conv
4096 -> 4096). They are turned back into the original ``nn.Linear`` layers by reshaping the kernels
(``linear_from_conv``): the 7x7 kernel flattened in (C, H, W) order is exactly the fc6 matrix over the
flattened 512x7x7 pool5 map (timm's VGG weights are torchvision's fc weights reshaped the other way). conv5 is
conv5_3 after ReLU.
"""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F

from .common import forward_fc_taps, linear_from_conv, load_weights_file, scaled, timm_trunk


class VGG(nn.Module):
    """VGG16/19 with fc6/fc7 as ``nn.Linear`` and taps conv5 / pool5 / fc6 / fc7."""

    taps = ("conv5", "pool5", "fc6", "fc7")
    feature_dims = {"pool5": 512 * 7 * 7, "fc6": 4096, "fc7": 4096}  # at width 1; instances hold their own

    def __init__(self, name: str = "vgg16", pretrained: bool = False, drop_rate: float = 0.5, width: float = 1.0):
        super().__init__()
        tm, self.width, path = timm_trunk(name, pretrained, width, self._narrow_timm_vgg)
        self.features = tm.features  # conv1_1 ... conv5_3, ReLU, pool5 (last module)
        self.fc6 = linear_from_conv(tm.pre_logits.fc1)
        self.fc7 = linear_from_conv(tm.pre_logits.fc2)
        self.act = nn.ReLU(inplace=False)
        self.drop = nn.Dropout(drop_rate)
        self.feature_dims = {"pool5": self.fc6.in_features, "fc6": self.fc6.out_features,
                             "fc7": self.fc7.out_features}
        if path is not None:
            load_weights_file(self, path, name)

    @staticmethod
    def _narrow_timm_vgg(name: str, width: float) -> nn.Module:
        """timm's VGG layout from its cfg, every conv and fc6/fc7 narrowed, built here.

        timm's ``VGG`` takes a cfg but fixes its fc6/fc7 ConvMlp at 4096 (a 4096x4096 fc7 costs more than
        the whole narrow net), so the same modules are laid out here: ``features`` = timm's Sequential of
        Conv2d 3x3 / ReLU(inplace) / MaxPool2d 2x2 (same indices), ``pre_logits`` = timm's ConvMlp
        (fc1 7x7, fc2 1x1), both initialised as timm's ``VGG._initialize_weights``.
        """
        from timm.models import vgg as tv

        if name not in tv.cfgs:
            raise KeyError(f"unknown VGG {name!r}; known: {sorted(tv.cfgs)}")
        layers, prev = [], 3
        for v in tv.cfgs[name]:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                v = scaled(v, width)
                layers += [nn.Conv2d(prev, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
                prev = v
        tm = nn.Module()
        tm.features = nn.Sequential(*layers)
        tm.pre_logits = tv.ConvMlp(prev, scaled(4096, width), 7, drop_rate=0.0)
        tv.VGG._initialize_weights(tm)  # kaiming fan_out convs, zero biases
        return tm

    def forward_conv5(self, x):
        return self.features[:-1](x)

    def forward_pool5(self, x):
        """pool5 flattened to 25088, adaptively pooled to 7x7 first (as torchvision's VGG does)."""
        x = self.features(x)
        if x.shape[-2:] != (7, 7):
            x = F.adaptive_avg_pool2d(x, 7)
        return x.flatten(1)

    def forward(self, x, tap: str = "fc7"):
        return forward_fc_taps(self, x, tap, "VGG")


def vgg16(pretrained: bool = False, **kw) -> VGG:
    """VGG16; ``width`` scales every conv and fc6/fc7 (1.0 = the true size)."""
    return VGG("vgg16", pretrained=pretrained, **kw)


def vgg19(pretrained: bool = False, **kw) -> VGG:
    return VGG("vgg19", pretrained=pretrained, **kw)
