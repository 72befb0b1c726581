"""Steering-angle regression nets (scs section 5.7, Table 5; comma.ai and LiVi-Set, 192 x 64 frames).

- ``steer_cnn``: a ResNet-18 on the current frame only ("for CNN model, we adopt the ResNet structure,
  and it only takes the current driving image as input").
- ``steer_cnn_lstm``: ResNet-18 per-frame features (global average pool, 512) + 1 LSTM layer of 512
  over the observed frames (scs Table 8: backbone ResNet-18, "18 + 1" layers, feature dimension 512;
  the prose says "a CNN backbone (VGG) like LRCNs" -- Table 8 is followed, ``backbone="vgg16"`` gives
  the prose's reading: VGG16 pool5-pooled conv5 features, 512).
- ``steer_scs``: "The SCS structure is the same as the stand-alone model used in action recognition"
  (the 17-layer stand-alone SCS, ``models.deep.standalone17``; Table 8 prints 15 layers for it), with
  a regression head.

All take frames (B, T, 3, H, W) and return one angle per step (B, T) (the CNN predicts every frame
on its own); the current angle is ``[:, -1]``. The output is linear (the paper normalises the
*labels* with a sigmoid, eq. 24's accuracy is computed on those); ``out_act="sigmoid"`` squashes the
prediction into the same range. ``steer_scs(...)(frames, return_streams=True)`` returns
``{"angles", "spatial_angles", "temporal"}``: the main output, T^1's (the same head on the top spatial
stream, as ``models.nets.action``) and the top temporal-stream maps (B, T, C, h, w) for T^2's head,
which lives with the task. Size knob: ``width`` (ResNet-18 / stand-alone first-stage channels,
64 at full size); ``pretrained`` (ImageNet ResNet-18, timm) only at width 64.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..cells import LSTMCell
from ..deep import MLPHead, standalone17, unroll_with_head
from ..registry import register_model


def resnet18_trunk(width: int = 64, pretrained: bool = False) -> nn.Module:
    """A timm ResNet-18 (stages width x [1, 2, 4, 8]) returning pooled features (8 * width)."""
    import timm
    from timm.models.resnet import BasicBlock, ResNet

    if pretrained:
        if width != 64:
            raise ValueError("pretrained ResNet-18 weights exist only at width 64")
        return timm.create_model("resnet18", pretrained=True, num_classes=0)
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes=0, stem_width=width,
                  channels=tuple(width * m for m in (1, 2, 4, 8)))


class _VGGPooled(nn.Module):
    def __init__(self, pretrained: bool = False):
        super().__init__()
        from .action import ConvFeatures

        self.net = ConvFeatures("vgg16", pretrained=pretrained)
        self.num_features = 512

    def forward(self, x):
        return self.net(x).mean(dim=(-2, -1))


def _out(y: torch.Tensor, out_act: str) -> torch.Tensor:
    if out_act not in ("linear", "sigmoid"):
        raise ValueError(f"out_act must be 'linear' or 'sigmoid', got {out_act!r}")
    return torch.sigmoid(y) if out_act == "sigmoid" else y


class SteerCNN(nn.Module):
    def __init__(self, width: int = 64, pretrained: bool = False, out_act: str = "linear"):
        super().__init__()
        self.backbone = resnet18_trunk(width, pretrained)
        self.head = nn.Linear(self.backbone.num_features, 1)
        self.out_act = out_act

    @property
    def rnn(self) -> nn.Module:  # no recurrence: the registry sweep checks the trunk's gradients
        return self.backbone

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        single = frames.dim() == 4
        x = frames[:, None] if single else frames
        b, t = x.shape[:2]
        y = _out(self.head(self.backbone(x.flatten(0, 1))).view(b, t), self.out_act)
        return y[:, 0] if single else y


class SteerCNNLSTM(nn.Module):
    def __init__(self, width: int = 64, pretrained: bool = False, backbone: str = "resnet18",
                 hidden_size: int | None = None, drop_rate: float = 0.0, out_act: str = "linear"):
        super().__init__()
        if backbone == "resnet18":
            self.backbone = resnet18_trunk(width, pretrained)
        elif backbone == "vgg16":
            self.backbone = _VGGPooled(pretrained)
        else:
            raise ValueError(f"backbone must be 'resnet18' or 'vgg16', got {backbone!r}")
        feat = self.backbone.num_features
        self.rnn = LSTMCell(feat, feat if hidden_size is None else hidden_size)
        self.drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(self.rnn.hidden_channels, 1)
        self.out_act = out_act

    def forward(self, frames: torch.Tensor, state=None, return_state: bool = False):
        b, t = frames.shape[:2]
        f = self.backbone(frames.flatten(0, 1)).view(b, t, -1)
        outs = []
        for i in range(t):
            state = self.rnn.init_state(f[:, i]) if state is None else state
            h, state = self.rnn(f[:, i], state)
            outs.append(self.head(self.drop(h)))
        y = _out(torch.cat(outs, dim=1), self.out_act)
        return (y, state) if return_state else y


class SteerSCS(nn.Module):
    def __init__(self, width: int = 64, in_channels: int = 3, drop_rate: float = 0.0, out_act: str = "linear",
                 **cell_kw):
        super().__init__()
        self.rnn = standalone17("scs", width, in_channels=in_channels, **cell_kw)
        self.head = MLPHead(self.rnn.widths[-1], 1, drop_rate=drop_rate)
        self.out_act = out_act

    def forward(self, frames: torch.Tensor, states=None, return_states: bool = False,
                return_streams: bool = False):
        outs, spatial, temporal, states = unroll_with_head(self.rnn, self.head, frames, states, return_streams)
        y = _out(torch.cat(outs, dim=1), self.out_act)
        if return_streams:
            y = {"angles": y, "spatial_angles": _out(torch.cat(spatial, dim=1), self.out_act),
                 "temporal": torch.stack(temporal, dim=1)}
        return (y, states) if return_states else y


@register_model
def steer_cnn(width: int = 64, pretrained: bool = False, out_act: str = "linear") -> SteerCNN:
    """ResNet-18 on the current frame (scs Table 5, CNN)."""
    return SteerCNN(width, pretrained, out_act)


@register_model
def steer_cnn_lstm(width: int = 64, pretrained: bool = False, backbone: str = "resnet18", hidden_size=None,
                   out_act: str = "linear") -> SteerCNNLSTM:
    """ResNet-18 + 1-layer LSTM over the observed frames (scs Table 5, CNN+LSTM)."""
    return SteerCNNLSTM(width, pretrained, backbone=backbone, hidden_size=hidden_size, out_act=out_act)


@register_model
def steer_scs(width: int = 64, out_act: str = "linear", **cell_kw) -> SteerSCS:
    """The 17-layer stand-alone SCS with a steering-angle head (scs Table 5, SCS)."""
    return SteerSCS(width, out_act=out_act, **cell_kw)
