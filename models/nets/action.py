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

from ..deep import DeepRecurrentNet, FrameAverage, MLPHead, backbone15, standalone17
from ..registry import register_model
from ..cells.scs import scs_streams

BASELINES = {"1-layer LSTM with VGG": "lrcn_vgg16_lstm"}
FEATURE_CHANNELS = {"vgg16": 512, "vgg19": 512, "googlenet": 1024}


class ConvFeatures(nn.Module):
    """Per-frame conv features: VGG16/19 conv5_3 (after ReLU; timm ``features_only``, so fc6/fc7 are
    never built) or pool5; GoogLeNet (torchvision, the suite's InceptionV1 stand-in) inception5b."""

    def __init__(self, name: str = "vgg16", pretrained: bool = False, tap: str = "conv5"):
        super().__init__()
        if name not in FEATURE_CHANNELS:
            raise ValueError(f"backbone must be one of {sorted(FEATURE_CHANNELS)}, got {name!r}")
        if tap not in ("conv5", "pool5"):
            raise ValueError(f"feature tap must be 'conv5' or 'pool5', got {tap!r}")
        self.name, self.tap, self.out_channels = name, tap, FEATURE_CHANNELS[name]
        if name.startswith("vgg"):
            import timm

            self.net = timm.create_model(name, pretrained=pretrained, features_only=True, out_indices=(4,))
            self.pool = nn.MaxPool2d(2, 2) if tap == "pool5" else nn.Identity()
        else:
            from .. import backbones as bb

            g = bb.InceptionV1(pretrained=pretrained).net
            self.net = nn.Sequential(g.conv1, g.maxpool1, g.conv2, g.conv3, g.maxpool2, g.inception3a,
                                     g.inception3b, g.maxpool3, g.inception4a, g.inception4b, g.inception4c,
                                     g.inception4d, g.inception4e, g.maxpool4, g.inception5a, g.inception5b)
            self.pool = nn.Identity()
            # torchvision's ImageNet GoogLeNet expects its own input transform (transform_input=True)
            self.transform_input = bool(getattr(g, "transform_input", False))

    def forward(self, x):
        if self.name.startswith("vgg"):
            return self.pool(self.net(x)[0])
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
        feats = self.features(frames)
        logits, spatial, temporal = [], [], []
        for t in range(feats.shape[1]):
            h, states = self.rnn.step(feats[:, t], states)
            logits.append(self.head(h))
            if return_streams:
                s = scs_streams(h)
                if s is None:
                    raise ValueError("return_streams needs an SCS net with sub-goals")
                spatial.append(self.head(s[0]))
                temporal.append(s[1])
        out = torch.stack(logits, dim=1)
        if return_streams:
            out = {"logits": out, "spatial_logits": torch.stack(spatial, 1), "temporal": torch.stack(temporal, 1)}
        return (out, states) if return_states else out

    def video_logits(self, frame_logits: torch.Tensor) -> torch.Tensor:
        return self.average(frame_logits)


def deep15_action_net(cell: str, backbone: str = "vgg16", num_classes: int = 101, width: int = 512,
                      pretrained: bool = False, feature_tap: str = "conv5", drop_rate: float = 0.5,
                      feat_drop_rate: float = 0.2, train_average: str = "all", **cell_kw) -> DeepActionNet:
    feats = ConvFeatures(backbone, pretrained=pretrained, tap=feature_tap)
    rnn = backbone15(cell, feats.out_channels, width, **cell_kw)
    return DeepActionNet(rnn, num_classes, backbone=feats, drop_rate=drop_rate, feat_drop_rate=feat_drop_rate,
                         train_average=train_average)


def standalone17_action_net(cell: str, num_classes: int = 400, width: int = 64, in_channels: int = 3,
                            drop_rate: float = 0.5, train_average: str = "all", **cell_kw) -> DeepActionNet:
    rnn = standalone17(cell, width, in_channels=in_channels, **cell_kw)
    return DeepActionNet(rnn, num_classes, drop_rate=drop_rate, train_average=train_average)


def _register(name: str, builder, doc: str, **fixed):
    def factory(**kw):
        return builder(**{**fixed, **kw})

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = doc
    register_model(factory, name=name)


for _cell in ("cbm", "convlstm", "scs"):
    for _bb in FEATURE_CHANNELS:
        _register(f"deep15_{_cell}_{_bb}", deep15_action_net,
                  f"15-layer {_cell} on {_bb} conv features (backbone-supported, deeprnn Fig. 6).",
                  cell=_cell, backbone=_bb)
for _cell in ("cbm", "scs"):
    _register(f"standalone17_{_cell}", standalone17_action_net,
              f"17-layer stand-alone {_cell} net (ResNet-18 shape, scs Table 1).", cell=_cell)
