"""PreRNN paper networks (Yang et al. 2018): PreRNN / PreRNN-SIH / traditional RNNs on VGG16, C3D, ResNet50,
and the LRCN classifier (Donahue et al. 2015) on VGG16.

Every model maps a sequence to per-step logits (B, T, num_classes):
- VGG16 / ResNet50 / LRCN: frames (B, T, 3, H, W) (224x224 at the paper's size; smaller frames are
  adaptively pooled before fc6 as torchvision's VGG does).
- C3D: a sequence of clips (B, T, 3, L, H, W), L x H x W = 16 x 112 x 112 at the paper's size (any
  L >= 16 and H, W >= 32 run; pool5 is adaptively pooled to 1x4x4); one logit vector per clip.

Parts (``models.summary``): ``backbone`` = everything per frame before the first recurrent layer (conv
layers, and fc6 kept feedforward when only fc7 is made recurrent); ``rnn`` = the recurrent layers (for
PreRNN these hold the pretrained fc/conv layers they were made from); ``head`` = everything after them
(fc7 kept feedforward when only fc6 is recurrent, then the new output layer).

Names:
- ``prernn_{vgg16,c3d}_{vrnn,lstm,gru}_{fc6,fc7,fc67}``, ``prernn_sih_{vgg16,c3d}_{lstm,gru}_{fc6,fc7,fc67}``
  (``fc67`` = the paper's "fc6/7": both layers recurrent, stacked);
- ``prernn_resnet50_{vrnn,lstm,gru}``, ``prernn_sih_resnet50_{lstm,gru}`` (res5c_branch2c + BN + res5b
  shortcut + global average pooling, eqs. 6, 7, 10);
- ``tra_{vgg16,c3d}_{vrnn,lstm,gru}_{1,2}`` (1 or 2 new layers on top of fc7), ``tra_resnet50_{vrnn,lstm,gru}``
  (one layer on pool5);
- ``lrcn_vgg16_lstm``.
SIH VRNN is not registered: with one gate it is PreRNN VRNN (the paper's "-").

Traditional hidden sizes: the paper chose them "so that the total number of parameters in each case is
as close as possible" and gives them only in its supplementary material, which we do not have. Default:
the width of the layer below (4096 on fc7, 2048 on pool5), as Figure 1 draws it; ``hidden_size="matched"``
solves for the width whose new recurrent weights per layer equal PreRNN's on the top pretrained layer
(fc7 / res5c) of the same kind, the closest reading of "as close as possible" we can compute.

Size knob: every builder takes ``width`` (default 1.0 = the paper's exact networks), passed to the backbone
(``models.backbones``: every conv channel count and fc6/fc7 scaled by it, same layers and names), so the
pretrained layers made recurrent shrink with it (e.g. ``width=1/64``: VGG16 fc6 392 -> 64, fc7 64 -> 64;
C3D fc6 128 -> 64; ResNet50 res5c_branch2c 8 -> 32). Defaults that follow a layer follow the narrowed layer
(traditional hidden size = the width of the layer below; LRCN's 256 becomes ``round(256 * width)``).
``pretrained`` needs width 1 (``ValueError`` otherwise).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .. import backbones as bb
from ..prernn import GATES, PreRNNLayer, TraRNNLayer
from ..registry import register_model, register_variant

FC_LAYERS = {"fc6": ("fc6",), "fc7": ("fc7",), "fc67": ("fc6", "fc7")}


class SequenceNet(nn.Module):
    """backbone (per frame or clip) -> recurrent layers (over time) -> head (per step).

    The backbone may return (features, shortcut); the shortcut goes to the first recurrent layer (eq. 6).
    """

    def __init__(self, backbone: nn.Module, rnn: list[nn.Module], head: nn.Module, drop_rate: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.rnn = nn.ModuleList(rnn)
        self.drop = nn.Dropout(drop_rate)
        self.head = head

    def features(self, x):
        """(backbone features (B, T, ...), shortcut (B, T, ...) or None) of frames x (B, T, C, H, W)."""
        B, T = x.shape[:2]
        f = self.backbone(x.flatten(0, 1))
        f, sc = f if isinstance(f, tuple) else (f, None)
        return f.view(B, T, *f.shape[1:]), None if sc is None else sc.view(B, T, *sc.shape[1:])

    def forward(self, x, states=None, return_states: bool = False):
        h, sc = self.features(x)
        new_states = []
        for i, layer in enumerate(self.rnn):
            h, s = layer(h, shortcut=sc if i == 0 else None, state=None if states is None else states[i])
            h = self.drop(h)
            new_states.append(s)
        out = self.head(h)
        return (out, new_states) if return_states else out


class Tap(nn.Module):
    """Calls ``model(x, tap=tap)``."""

    def __init__(self, model: nn.Module, tap: str):
        super().__init__()
        self.model, self.tap = model, tap

    def forward(self, x):
        return self.model(x, tap=self.tap)


class _FCBlock(nn.Module):
    """A kept-feedforward fc layer: Linear -> ReLU -> Dropout (VGG/C3D fc6, fc7)."""

    def __init__(self, linear: nn.Linear, drop_rate: float):
        super().__init__()
        self.fc, self.act, self.drop = linear, nn.ReLU(), nn.Dropout(drop_rate)

    def forward(self, x):
        return self.drop(self.act(self.fc(x)))


def _fc_backbone(arch: str, pretrained, drop_rate: float, width: float = 1.0):
    if arch == "c3d":
        return bb.c3d(pretrained=pretrained, drop_rate=drop_rate, width=width)
    return bb.create_backbone(arch, pretrained=pretrained, drop_rate=drop_rate, width=width)


def _trunk_to_pool5(net: nn.Module) -> nn.Module:
    """A per-frame module returning the flattened pool5 of a VGG / C3D, without the fc layers."""

    class Pool5(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.forward_pool5(x)

    fc6, fc7 = net.fc6, net.fc7
    del net.fc6, net.fc7
    if getattr(net, "fc8", None) is not None:
        net.fc8 = None
    return Pool5(net), fc6, fc7


def prernn_fc_net(arch: str, kind: str, layers: str, sih: bool = False, num_classes: int = 101,
                  pretrained=False, drop_rate: float = 0.5, width: float = 1.0, **layer_kw) -> SequenceNet:
    """PreRNN / PreRNN-SIH on the fc layers of VGG16 or C3D (``layers``: fc6, fc7 or fc67)."""
    if layers not in FC_LAYERS:
        raise ValueError(f"layers must be one of {sorted(FC_LAYERS)}, got {layers!r}")
    trunk, fc6, fc7 = _trunk_to_pool5(_fc_backbone(arch, pretrained, drop_rate, width))
    rec = FC_LAYERS[layers]
    backbone = trunk if "fc6" in rec else nn.Sequential(trunk, _FCBlock(fc6, drop_rate))
    rnn = [PreRNNLayer(fc, kind=kind, sih=sih, **layer_kw) for name, fc in (("fc6", fc6), ("fc7", fc7)) if name in rec]
    out = nn.Linear(fc7.out_features, num_classes)
    head = nn.Sequential(_FCBlock(fc7, drop_rate), out) if "fc7" not in rec else out
    return SequenceNet(backbone, rnn, head, drop_rate=drop_rate)


def prernn_resnet_net(kind: str, sih: bool = False, num_classes: int = 101, pretrained: bool = False,
                      arch: str = "resnet50", drop_rate: float = 0.0, width: float = 1.0,
                      **layer_kw) -> SequenceNet:
    """PreRNN / PreRNN-SIH on ResNet's last conv (res5c_branch2c + BN + res5b shortcut + pooling)."""
    trunk, conv, bn = bb.create_backbone(arch, pretrained=pretrained, width=width).res5c_split()
    layer = PreRNNLayer((conv, bn), kind=kind, sih=sih, **layer_kw)
    return SequenceNet(trunk, [layer], nn.Linear(layer.hidden_size, num_classes), drop_rate=drop_rate)


def matched_hidden_size(kind: str, in_features: int, pretrained_in: int, pretrained_out: int) -> int:
    """Width h of a traditional layer on ``in_features`` with G(in h + h^2) = PreRNN's (G-1) D H + G H^2."""
    G = len(GATES[kind])
    target = (G - 1) * pretrained_in * pretrained_out + G * pretrained_out ** 2
    d = in_features
    return int(round((-d + math.sqrt(d * d + 4 * target / G)) / 2))


def tra_net(arch: str, kind: str, num_layers: int = 1, num_classes: int = 101, pretrained=False,
            hidden_size: int | str | None = None, drop_rate: float | None = None, tap: str | None = None,
            activation: str = "tanh", width: float = 1.0) -> SequenceNet:
    """Traditional RNN: ``num_layers`` new recurrent layers on fc7 (VGG16/C3D) or pool5 (ResNet).

    ``hidden_size``: None = the width of the tapped layer (of the backbone at ``width``), ``"matched"``, or int.
    """
    if arch.startswith("resnet"):
        net = bb.create_backbone(arch, pretrained=pretrained, width=width)
        tap, drop_rate = tap or "pool5", drop_rate or 0.0
        _, last_conv, _ = bb.split_block(net.layer4[-1])
        d, (pin, pout) = net.feature_dims[tap], (last_conv.in_channels, last_conv.out_channels)
    else:
        drop_rate = 0.5 if drop_rate is None else drop_rate
        net, tap = _fc_backbone(arch, pretrained, drop_rate, width), tap or "fc7"
        d, (pin, pout) = net.feature_dims[tap], (net.fc7.in_features, net.fc7.out_features)
        if getattr(net, "fc8", None) is not None:
            net.fc8 = None
        if tap in ("conv5", "pool5", "fc6"):  # drop the fc layers the tap does not use
            del net.fc7
            if tap != "fc6":
                del net.fc6
    if hidden_size is None:
        hidden_size = d
    elif hidden_size == "matched":
        hidden_size = matched_hidden_size(kind, d, pin, pout)
    rnn, c_in = [], d
    for _ in range(num_layers):
        rnn.append(TraRNNLayer(c_in, int(hidden_size), kind=kind, activation=activation))
        c_in = int(hidden_size)
    return SequenceNet(Tap(net, tap), rnn, nn.Linear(c_in, num_classes), drop_rate=drop_rate)


# ----------------------------------------------------------------------------------- registration
for _arch in ("vgg16", "c3d"):
    for _kind in ("vrnn", "lstm", "gru"):
        for _layers in FC_LAYERS:
            register_variant(f"prernn_{_arch}_{_kind}_{_layers}", prernn_fc_net,
                             f"PreRNN-{_kind.upper()} on {_arch} {_layers}.", arch=_arch, kind=_kind,
                             layers=_layers)
            if _kind != "vrnn":
                register_variant(f"prernn_sih_{_arch}_{_kind}_{_layers}", prernn_fc_net,
                                 f"PreRNN-SIH-{_kind.upper()} on {_arch} {_layers}.", arch=_arch, kind=_kind,
                                 layers=_layers, sih=True)
        for _n in (1, 2):
            register_variant(f"tra_{_arch}_{_kind}_{_n}", tra_net,
                             f"Traditional {_kind.upper()}: {_n} new layer(s) on {_arch} fc7.",
                             arch=_arch, kind=_kind, num_layers=_n)

for _kind in ("vrnn", "lstm", "gru"):
    register_variant(f"prernn_resnet50_{_kind}", prernn_resnet_net, f"PreRNN-{_kind.upper()} on ResNet50 res5c.",
                     kind=_kind)
    if _kind != "vrnn":
        register_variant(f"prernn_sih_resnet50_{_kind}", prernn_resnet_net,
                         f"PreRNN-SIH-{_kind.upper()} on ResNet50 res5c.", kind=_kind, sih=True)
    register_variant(f"tra_resnet50_{_kind}", tra_net, f"Traditional {_kind.upper()} on ResNet50 pool5.",
                     arch="resnet50", kind=_kind, num_layers=1)


@register_model
def lrcn_vgg16_lstm(num_classes: int = 101, pretrained: bool = False, feature: str = "fc6",
                    hidden_size: int | None = None, drop_rate: float = 0.5, width: float = 1.0) -> SequenceNet:
    """LRCN activity classifier (Donahue et al. 2015): one LSTM layer on per-frame VGG16 fc features.

    LRCN's best activity model put the LSTM on fc6 ("LRCN-fc6", ``feature="fc7"`` for the other), with
    256 hidden units; predictions are per frame (average them over time for a video label).
    ``width`` narrows VGG16 (``models.backbones``); ``hidden_size=None`` is 256 scaled by it (256 at width 1).
    """
    if hidden_size is None:
        hidden_size = bb.scaled(256, float(width))
    return tra_net("vgg16", "lstm", num_layers=1, num_classes=num_classes, pretrained=pretrained,
                   hidden_size=hidden_size, drop_rate=drop_rate, tap=feature, width=width)
