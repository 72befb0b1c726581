"""Action recognition / anticipation nets of the deeprnn and scs papers (deeprnn 4.1, Tables 1-3; scs
5.5, Tables 1-3).

- ``deep15_{cbm,convlstm,scs}_{vgg16,vgg19,googlenet}``: the backbone-supported deep nets (deeprnn Fig. 6,
  "stacking a 15-layer ConvLSTM or a 15-layer CBM on the VGG backbone"; Table 2 and scs Table 2 with
  InceptionV1): ``models.deep.backbone15`` on the backbone's last conv features (VGG conv5_3 after
  ReLU, 512 channels; GoogLeNet inception5b, 1024 channels; ``feature_tap="pool5"`` takes VGG's pool5
  map instead, as the released code does).
- ``standalone17_{cbm,scs}``: the 17-layer stand-alone nets (deeprnn Table 3, scs Tables 1-2),
  ``models.deep.standalone17`` on the frames.
- The shallow baseline "1-layer LSTM with VGG" (deeprnn Table 1, LRCN [8]) is ``lrcn_vgg16_lstm`` in
  ``prernn_nets`` (not duplicated here); ``BASELINES`` maps the papers' rows to registered names.

Every net maps frames (B, T, 3, H, W) to per-frame logits (B, T, K) (``forward``); ``video_logits``
averages them over time (the released classifier; ``train_average="second_half"`` averages only the
second half in training). Dropout 0.2 on the backbone features and 0.5 in the classifier (deeprnn 4.1).
``forward(..., return_streams=True)`` (SCS nets) also returns the T^1 logits (the same head on the
spatial stream, NOTES.md "T1 applies the same head") and the top temporal-stream maps (for T^2's flow
head, which lives with the task).

Size knob: ``width`` (512 for the backbone nets, 64 = ResNet-18's first stage for the stand-alone ones).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..deep import DeepRecurrentNet, FrameAverage, MLPHead, backbone15, standalone17, unroll_with_head
from ..registry import register_model, register_variant

BASELINES = {"1-layer LSTM with VGG": "lrcn_vgg16_lstm", "1-layer LSTM with InceptionV1": "lrcn_googlenet_lstm"}
FEATURE_CHANNELS = {"vgg16": 512, "vgg19": 512, "googlenet": 1024}


def run_frames(model, frames: torch.Tensor, states=None):
    """(per-frame logits (B, T, K), final states) of any action net (``model(frames, states,
    return_states=True)``) over ``frames`` (B, T, C, H, W) from ``states``; an SCS net's stream dict gives
    its logits."""
    logits, states = model(frames, states, return_states=True)
    if isinstance(logits, dict):  # SCS nets asked for streams elsewhere
        logits = logits["logits"]
    return logits, states


class ConvFeatures(nn.Module):
    """Per-frame conv features: VGG16/19 conv5_3 (after ReLU; timm ``features_only``, so fc6/fc7 are
    never built) or pool5; GoogLeNet (torchvision, the suite's InceptionV1 stand-in) inception5b.
    ``tap="stride8"`` (VGG conv4_3 after ReLU; GoogLeNet inception3b) keeps a 4x4 map of 32 px frames, as
    conv5 keeps 14x14 of the paper's 224 px frames (small-frame runs)."""

    def __init__(self, name: str = "vgg16", pretrained: bool = False, tap: str = "conv5", width: float = 1.0):
        """``width`` narrows every conv of the backbone (``models.backbones``; 1.0 = the true size, the only
        one with ImageNet weights); the feature channels shrink with it. ``pretrained``: False, True
        (ImageNet, width 1) or the path of a state dict of the ``models.backbones`` class at this width."""
        super().__init__()
        if name not in FEATURE_CHANNELS:
            raise ValueError(f"backbone must be one of {sorted(FEATURE_CHANNELS)}, got {name!r}")
        if tap not in ("conv5", "pool5", "stride8"):
            raise ValueError(f"feature tap must be 'conv5', 'pool5' or 'stride8', got {tap!r}")
        self.name, self.tap, self.out_channels = name, tap, FEATURE_CHANNELS[name]
        self.width = float(width)
        from .. import backbones as bb

        if name.startswith("vgg") and (self.width != 1.0 or bb.weights_path(pretrained) is not None):
            feats = bb.VGG(name, pretrained=pretrained, width=width).features
            pools = [i for i, m in enumerate(feats) if isinstance(m, nn.MaxPool2d)]
            self.net = feats[:pools[3]] if tap == "stride8" else feats[:-1]  # conv4_3 / conv5_3 + ReLU
            self.out_channels = bb.scaled(512, width)
            self.pool = nn.MaxPool2d(2, 2) if tap == "pool5" else nn.Identity()
        elif name.startswith("vgg"):
            import timm

            self.net = timm.create_model(name, pretrained=pretrained, features_only=True,
                                         out_indices=(3,) if tap == "stride8" else (4,))
            self.pool = nn.MaxPool2d(2, 2) if tap == "pool5" else nn.Identity()
        else:
            inc = bb.InceptionV1(pretrained=pretrained, width=width)
            g, self.out_channels = inc.net, inc.feature_dims["pool5"]
            parts = [g.conv1, g.maxpool1, g.conv2, g.conv3, g.maxpool2, g.inception3a, g.inception3b]
            if tap == "stride8":  # inception3b: 128 + 192 + 96 + 64 channels at width 1
                self.out_channels = sum([m for m in b.modules() if isinstance(m, nn.Conv2d)][-1].out_channels
                                        for b in (g.inception3b.branch1, g.inception3b.branch2,
                                                  g.inception3b.branch3, g.inception3b.branch4))
            else:
                parts += [g.maxpool3, g.inception4a, g.inception4b, g.inception4c, g.inception4d, g.inception4e,
                          g.maxpool4, g.inception5a, g.inception5b]
            self.net = nn.Sequential(*parts)
            self.pool = nn.Identity()
            # torchvision's ImageNet GoogLeNet expects its own input transform (transform_input=True)
            self.transform_input = bool(getattr(g, "transform_input", False))

    def forward(self, x):
        if self.name.startswith("vgg"):
            f = self.net(x)
            return self.pool(f[0] if isinstance(f, (list, tuple)) else f)
        if self.transform_input:  # torchvision GoogLeNet._transform_input: ImageNet stats -> [-1, 1] scaling
            mean, std = x.new_tensor([0.485, 0.456, 0.406]), x.new_tensor([0.229, 0.224, 0.225])
            x = x * (std / 0.5).view(1, 3, 1, 1) + ((mean - 0.5) / 0.5).view(1, 3, 1, 1)
        return self.net(x)


class DeepActionNet(nn.Module):
    def __init__(self, rnn: DeepRecurrentNet, num_classes: int, backbone: nn.Module | None = None,
                 drop_rate: float = 0.5, feat_drop_rate: float = 0.2, train_average: str = "all"):
        super().__init__()
        self.backbone = backbone
        self.feat_drop = nn.Dropout2d(feat_drop_rate) if backbone is not None else nn.Identity()
        self.rnn = rnn
        self.head = MLPHead(rnn.widths[-1], num_classes, drop_rate=drop_rate)
        self.average = FrameAverage(train_average)

    def features(self, frames: torch.Tensor) -> torch.Tensor:
        if self.backbone is None:
            return frames
        b, t = frames.shape[:2]
        f = self.feat_drop(self.backbone(frames.flatten(0, 1)))
        return f.view(b, t, *f.shape[1:])

    def forward(self, frames: torch.Tensor, states=None, return_states: bool = False,
                return_streams: bool = False):
        logits, spatial, temporal, states = unroll_with_head(self.rnn, self.head, self.features(frames), states,
                                                             return_streams)
        out = torch.stack(logits, dim=1)
        if return_streams:
            out = {"logits": out, "spatial_logits": torch.stack(spatial, 1), "temporal": torch.stack(temporal, 1)}
        return (out, states) if return_states else out

    def video_logits(self, frame_logits: torch.Tensor) -> torch.Tensor:
        return self.average(frame_logits)


def deep15_action_net(cell: str, backbone: str = "vgg16", num_classes: int = 101, width: int = 512,
                      pretrained: bool = False, feature_tap: str = "conv5", drop_rate: float = 0.5,
                      feat_drop_rate: float = 0.2, train_average: str = "all", backbone_width: float = 1.0,
                      **cell_kw) -> DeepActionNet:
    """``backbone_width`` narrows the CNN (cpu-scale runs); ``cell_kw`` go to ``backbone15`` (``depth``,
    ``block``) and the cells (``merge``, ``r_act``, ...)."""
    feats = ConvFeatures(backbone, pretrained=pretrained, tap=feature_tap, width=backbone_width)
    rnn = backbone15(cell, feats.out_channels, width, **cell_kw)
    return DeepActionNet(rnn, num_classes, backbone=feats, drop_rate=drop_rate, feat_drop_rate=feat_drop_rate,
                         train_average=train_average)


def standalone17_action_net(cell: str, num_classes: int = 400, width: int = 64, in_channels: int = 3,
                            drop_rate: float = 0.5, train_average: str = "all", **cell_kw) -> DeepActionNet:
    rnn = standalone17(cell, width, in_channels=in_channels, **cell_kw)
    return DeepActionNet(rnn, num_classes, drop_rate=drop_rate, train_average=train_average)


for _cell in ("cbm", "convlstm", "scs"):
    for _bb in FEATURE_CHANNELS:
        register_variant(f"deep15_{_cell}_{_bb}", deep15_action_net,
                         f"15-layer {_cell} on {_bb} conv features (backbone-supported, deeprnn Fig. 6).",
                         cell=_cell, backbone=_bb)
for _cell in ("cbm", "scs"):
    register_variant(f"standalone17_{_cell}", standalone17_action_net,
                     f"17-layer stand-alone {_cell} net (ResNet-18 shape, scs Table 1).", cell=_cell)


@register_model
def lrcn_googlenet_lstm(num_classes: int = 101, pretrained: bool = False, hidden_size: int | None = None,
                        drop_rate: float = 0.5, width: float = 1.0):
    """The shallow baseline of deeprnn Table 2 with InceptionV1 ([4], Carreira & Zisserman's "ConvNet+LSTM"):
    one LSTM layer of 512 units on the per-frame InceptionV1 (GoogLeNet stand-in) pool5 features (1024),
    per-frame logits. ``width`` narrows the CNN; ``hidden_size=None`` is 512 scaled by it."""
    from .. import backbones as bb
    from ..prernn import TraRNNLayer
    from .prernn_nets import SequenceNet, Tap

    net = bb.create_backbone("inception_v1", pretrained=pretrained, width=width)
    hidden = bb.scaled(512, float(width)) if hidden_size is None else int(hidden_size)
    layer = TraRNNLayer(net.feature_dims["pool5"], hidden, kind="lstm")
    return SequenceNet(Tap(net, "pool5"), [layer], nn.Linear(hidden, num_classes), drop_rate=drop_rate)
