"""Backbone CNNs and their feature taps (timm / torchvision / C3D by hand).

Every builder takes ``pretrained`` as a real option (default ``False``: this suite never downloads in
tests). Builders work under ``with torch.device("meta"):`` so a true-size model can be counted without
allocating its weights.

- ``VGG`` (``vgg16``, ``vgg19``): timm's VGG keeps fc6/fc7 as convolutions (``pre_logits`` is a ConvMlp:
  a 7x7 conv 512 -> 4096 and a 1x1 conv 4096 -> 4096). They are turned back into the original
  ``nn.Linear`` layers by reshaping the kernels (``linear_from_conv``): the 7x7 kernel flattened in
  (C, H, W) order is exactly the fc6 matrix over the flattened 512x7x7 pool5 map (timm's VGG weights are
  torchvision's fc weights reshaped the other way). Taps: conv5 (conv5_3 after ReLU), pool5, fc6, fc7.
- ``ResNet`` (``resnet18``, ``resnet50``): taps res5b (output of layer4's second block), res5c, pool5;
  ``res5c_split`` cuts the last block into (trunk up to res5c branch2b, its last conv, its BN), the
  layer PreRNN makes recurrent on ResNet50 (res5c_branch2c: 1x1 conv 512 -> 2048 + BN).
- ``InceptionV1``: stand-in for GoogLeNet / InceptionV1. timm has no GoogLeNet, so this wraps
  torchvision's ``googlenet`` (the InceptionV1 topology of Szegedy et al. 2015, with the BatchNorm that
  torchvision adds after every conv), built offline with ``weights=None``; ``pretrained=True`` asks
  torchvision for its ImageNet weights. Tap: pool5 (1024).
- ``C3D`` (Tran et al. 2015), by hand: 8 conv3d (64, 128, 256, 256, 512, 512, 512, 512), 3x3x3 kernels,
  pool1 1x2x2, pools 2-5 2x2x2 (pool5 padded 0x1x1 as in the Caffe model's ceil rounding), fc6
  8192 -> 4096, fc7 4096 -> 4096, input 3x16x112x112. Attribute names follow the common PyTorch port
  (conv1, conv2, conv3a, ..., fc6, fc7, fc8) so its state dict loads as is. No weights ship.
"""
from __future__ import annotations

import os
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def _timm():
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


def _check_width(width: float, pretrained, name: str) -> float:
    width = float(width)
    if not (width > 0 and width == width and width != float("inf")):
        raise ValueError(f"{name}: width must be a positive finite number, got {width!r}")
    if width != 1.0 and pretrained and weights_path(pretrained) is None:
        raise ValueError(f"{name}: pretrained weights exist only at width=1 (the paper's size); got "
                         f"width={width!r} with pretrained={pretrained!r}. Use pretrained=False to train a narrow "
                         f"{name} from scratch.")
    return width


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


# --------------------------------------------------------------------------------------------- VGG
class VGG(nn.Module):
    """VGG16/19 with fc6/fc7 as ``nn.Linear`` and taps conv5 / pool5 / fc6 / fc7."""

    taps = ("conv5", "pool5", "fc6", "fc7")
    feature_dims = {"pool5": 512 * 7 * 7, "fc6": 4096, "fc7": 4096}  # at width 1; instances hold their own

    def __init__(self, name: str = "vgg16", pretrained: bool = False, drop_rate: float = 0.5, width: float = 1.0):
        super().__init__()
        self.width = width = _check_width(width, pretrained, name)
        path = weights_path(pretrained)
        if width == 1.0:
            tm = _timm().create_model(name, pretrained=bool(pretrained) and path is None, num_classes=0)
        else:
            tm = self._narrow_timm_vgg(name, width)
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
        if tap not in self.taps:
            raise ValueError(f"unknown VGG tap {tap!r}; known: {self.taps}")
        if tap == "conv5":
            return self.forward_conv5(x)
        x = self.forward_pool5(x)
        if tap == "pool5":
            return x
        x = self.drop(self.act(self.fc6(x)))
        if tap == "fc6":
            return x
        return self.drop(self.act(self.fc7(x)))


def vgg16(pretrained: bool = False, **kw) -> VGG:
    """VGG16; ``width`` scales every conv and fc6/fc7 (1.0 = the true size)."""
    return VGG("vgg16", pretrained=pretrained, **kw)


def vgg19(pretrained: bool = False, **kw) -> VGG:
    return VGG("vgg19", pretrained=pretrained, **kw)


# ------------------------------------------------------------------------------------------ ResNet
def _split_block(block: nn.Module):
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
        pre, _, _ = _split_block(last)
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
        self.width = width = _check_width(width, pretrained, name)
        path = weights_path(pretrained)
        if width == 1.0:
            tm = _timm().create_model(name, pretrained=bool(pretrained) and path is None, num_classes=0)
        else:
            tm = self._narrow_timm_resnet(name, width)
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
        _, conv, bn = _split_block(self.layer4[-1])
        return ResNetRes5cTrunk(self), conv, bn


def resnet18(pretrained: bool = False, width: float = 1.0) -> ResNet:
    return ResNet("resnet18", pretrained=pretrained, width=width)


def resnet50(pretrained: bool = False, width: float = 1.0) -> ResNet:
    """ResNet50; ``width`` scales every stage (1.0 = the true size, res5c_branch2c 512 -> 2048)."""
    return ResNet("resnet50", pretrained=pretrained, width=width)


# ------------------------------------------------------------------------------------- InceptionV1
class InceptionV1(nn.Module):
    """InceptionV1 stand-in: torchvision ``googlenet`` (timm has no GoogLeNet). Tap pool5 -> 1024."""

    taps = ("pool5",)
    feature_dims = {"pool5": 1024}

    def __init__(self, pretrained: bool = False, width: float = 1.0):
        super().__init__()
        from torchvision.models import GoogLeNet_Weights, googlenet

        self.width = width = _check_width(width, pretrained, "inception_v1")
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


# --------------------------------------------------------------------------------------------- C3D
C3D_NO_WEIGHTS = (
    "No C3D weights ship with this suite and neither timm nor torchvision has them. Convert the "
    "Sports1M C3D model (Tran et al. 2015; e.g. the common PyTorch port's c3d.pickle, keys conv1, conv2, "
    "conv3a ... conv5b, fc6, fc7, fc8) to a state dict file and pass its path: "
    "c3d(pretrained='path/to/c3d.pth') or create_model(..., pretrained='path/to/c3d.pth')."
)


class C3D(nn.Module):
    """C3D (Tran et al. 2015) for 3x16x112x112 clips. Taps conv5 / pool5 (8192) / fc6 / fc7 (4096)."""

    taps = ("conv5", "pool5", "fc6", "fc7", "logits")
    feature_dims = {"pool5": 8192, "fc6": 4096, "fc7": 4096}  # at width 1; instances hold their own
    widths = (64, 128, 256, 256, 512, 512, 512, 512)  # at width 1; instances hold their own

    def __init__(self, num_classes: int = 0, drop_rate: float = 0.5, in_channels: int = 3, width: float = 1.0):
        super().__init__()
        self.width = width = _check_width(width, False, "c3d")
        w1, w2, w3, _, w4, _, _, w5 = self.widths = tuple(scaled(c, width) for c in C3D.widths)
        fc = scaled(4096, width)
        conv = lambda i, o: nn.Conv3d(i, o, kernel_size=3, padding=1)  # noqa: E731
        self.conv1 = conv(in_channels, w1)
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.conv2 = conv(w1, w2)
        self.pool2 = nn.MaxPool3d(2, 2)
        self.conv3a, self.conv3b = conv(w2, w3), conv(w3, w3)
        self.pool3 = nn.MaxPool3d(2, 2)
        self.conv4a, self.conv4b = conv(w3, w4), conv(w4, w4)
        self.pool4 = nn.MaxPool3d(2, 2)
        self.conv5a, self.conv5b = conv(w4, w5), conv(w5, w5)
        self.pool5 = nn.MaxPool3d(2, 2, padding=(0, 1, 1))
        self.fc6 = nn.Linear(w5 * 16, fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc8 = nn.Linear(fc, num_classes) if num_classes else None
        self.feature_dims = {"pool5": w5 * 16, "fc6": fc, "fc7": fc}
        self.act = nn.ReLU()
        self.drop = nn.Dropout(drop_rate)

    def forward_conv5(self, x):
        a = self.act
        x = self.pool1(a(self.conv1(x)))
        x = self.pool2(a(self.conv2(x)))
        x = self.pool3(a(self.conv3b(a(self.conv3a(x)))))
        x = self.pool4(a(self.conv4b(a(self.conv4a(x)))))
        return a(self.conv5b(a(self.conv5a(x))))

    def forward_pool5(self, x):
        """pool5 flattened to 8192 (512x1x4x4 at width 1); other clip sizes are adaptively pooled to 1x4x4."""
        x = self.pool5(self.forward_conv5(x))
        if x.shape[-3:] != (1, 4, 4):
            x = F.adaptive_avg_pool3d(x, (1, 4, 4))
        return x.flatten(1)

    def forward(self, x, tap: str = "fc7"):
        if tap not in self.taps:
            raise ValueError(f"unknown C3D tap {tap!r}; known: {self.taps}")
        if tap == "conv5":
            return self.forward_conv5(x)
        x = self.forward_pool5(x)
        if tap == "pool5":
            return x
        x = self.drop(self.act(self.fc6(x)))
        if tap == "fc6":
            return x
        x = self.drop(self.act(self.fc7(x)))
        if tap == "fc7":
            return x
        if self.fc8 is None:
            raise ValueError("this C3D has no fc8 (num_classes=0)")
        return self.fc8(x)


def c3d(pretrained: bool | str | os.PathLike = False, num_classes: int = 0, width: float = 1.0, **kw) -> C3D:
    """C3D; ``pretrained`` is False, or a path to a state dict (``True`` raises: no weights ship).

    ``width`` scales every conv and fc6/fc7 (1.0 = the true size); a state dict fits only width 1.
    """
    _check_width(width, pretrained, "c3d")
    model = C3D(num_classes=num_classes, width=width, **kw)
    if pretrained is True:
        raise RuntimeError(C3D_NO_WEIGHTS)
    if pretrained:
        path = os.fspath(pretrained)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"C3D state dict {path!r} not found. {C3D_NO_WEIGHTS}")
        sd = torch.load(path, map_location="cpu", weights_only=True)  # a user file: never unpickle code
        sd = sd.get("state_dict", sd)
        sd = {k.removeprefix("module."): v for k, v in sd.items()}
        if model.fc8 is None or ("fc8.weight" in sd and sd["fc8.weight"].shape != model.fc8.weight.shape):
            sd = {k: v for k, v in sd.items() if not k.startswith("fc8.")}
        missing, unexpected = model.load_state_dict(sd, strict=False)
        missing = [k for k in missing if not k.startswith("fc8.")]
        if missing or unexpected:
            raise RuntimeError(f"C3D state dict {path!r} does not fit: missing {missing}, unexpected {unexpected}")
    return model


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
    "vgg16", "vgg19", "resnet18", "resnet50", "inception_v1", "c3d", "C3D_NO_WEIGHTS",
)
