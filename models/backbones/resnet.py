"""ResNet18 / ResNet50 (timm): taps res5b (output of layer4's second block), res5c, pool5.

``res5c_split`` cuts the last block into (trunk up to res5c branch2b, its last conv, its BN), the
layer PreRNN makes recurrent on ResNet50 (res5c_branch2c: 1x1 conv 512 -> 2048 + BN).
"""
from __future__ import annotations

import torch.nn as nn

from .common import load_weights_file, scaled, timm_trunk


def split_block(block: nn.Module):
    """(modules before the last conv, last conv, its BN) of a timm Bottleneck or BasicBlock."""
    if hasattr(block, "conv3"):  # Bottleneck: branch2a, branch2b | branch2c
        pre = [block.conv1, block.bn1, block.act1, block.conv2, block.bn2, block.drop_block, block.act2, block.aa]
        return pre, block.conv3, block.bn3
    pre = [block.conv1, block.bn1, block.drop_block, block.act1, block.aa]  # BasicBlock
    return pre, block.conv2, block.bn2


class ResNetRes5cTrunk(nn.Module):
    """Everything of a ResNet before the last block's last conv: returns (branch input, shortcut).

    For ResNet50 the branch input is res5c_branch2b's output (512 channels) and the shortcut is res5b's
    output (identity shortcut of res5c, 2048 channels); at ``width`` w, 512 w and 2048 w.
    """

    def __init__(self, resnet: "ResNet"):
        super().__init__()
        self.stem, self.layer1, self.layer2, self.layer3 = resnet.stem, resnet.layer1, resnet.layer2, resnet.layer3
        self.layer4 = resnet.layer4[:-1]
        last = resnet.layer4[-1]
        pre, _, _ = split_block(last)
        self.branch = nn.Sequential(*pre)
        self.downsample = last.downsample if last.downsample is not None else nn.Identity()

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.branch(x), self.downsample(x)


_RESNET_LAYOUT = {"resnet18": ("BasicBlock", (2, 2, 2, 2)), "resnet50": ("Bottleneck", (3, 4, 6, 3))}


class ResNet(nn.Module):
    taps = ("res5b", "res5c", "pool5")

    def __init__(self, name: str = "resnet50", pretrained: bool = False, width: float = 1.0):
        super().__init__()
        tm, self.width, path = timm_trunk(name, pretrained, width, self._narrow_timm_resnet)
        self.stem = nn.Sequential(tm.conv1, tm.bn1, tm.act1, tm.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = tm.layer1, tm.layer2, tm.layer3, tm.layer4
        self.num_features = tm.num_features
        self.feature_dims = {"pool5": tm.num_features}
        if path is not None:
            load_weights_file(self, path, name)

    @staticmethod
    def _narrow_timm_resnet(name: str, width: float) -> nn.Module:
        """timm's ResNet with every stage and the stem narrowed: same blocks, names and init as timm's.

        timm's ``channels`` narrows the stages but its plain stem is fixed at 64, so the stem and the
        stages (built for that stem) are rebuilt with timm's ``make_blocks`` on the narrowed stem.
        """
        from timm.models import resnet as tr

        if name not in _RESNET_LAYOUT:
            raise KeyError(f"no narrow layout for {name!r}; known: {sorted(_RESNET_LAYOUT)}")
        block, layers = _RESNET_LAYOUT[name]
        block = getattr(tr, block)
        channels, stem = tuple(scaled(c, width) for c in (64, 128, 256, 512)), scaled(64, width)
        tm = tr.ResNet(block, layers, num_classes=0, channels=channels)
        tm.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        tm.bn1 = nn.BatchNorm2d(stem)
        stages, _ = tr.make_blocks((block,) * len(channels), channels, layers, stem)
        for stage_name, stage in stages:
            setattr(tm, stage_name, stage)
        tm.init_weights(zero_init_last=True)  # timm's init: kaiming fan_out convs, last BN of each block zero
        return tm

    def forward_res5b(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.layer4[:-1](x)

    def forward(self, x, tap: str = "pool5"):
        if tap not in self.taps:
            raise ValueError(f"unknown ResNet tap {tap!r}; known: {self.taps}")
        x = self.forward_res5b(x)
        if tap == "res5b":
            return x
        x = self.layer4[-1](x)
        return x if tap == "res5c" else x.mean((-2, -1))

    def res5c_split(self):
        """(trunk -> (branch input, shortcut), last conv of res5c, its BN): res5c_branch2c for ResNet50."""
        _, conv, bn = split_block(self.layer4[-1])
        return ResNetRes5cTrunk(self), conv, bn


def resnet18(pretrained: bool = False, width: float = 1.0) -> ResNet:
    return ResNet("resnet18", pretrained=pretrained, width=width)


def resnet50(pretrained: bool = False, width: float = 1.0) -> ResNet:
    """ResNet50; ``width`` scales every stage (1.0 = the true size, res5c_branch2c 512 -> 2048)."""
    return ResNet("resnet50", pretrained=pretrained, width=width)
