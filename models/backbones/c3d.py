"""C3D (Tran et al. 2015), by hand, for 3x16x112x112 clips: taps conv5 / pool5 (8192) / fc6 / fc7 (4096).

8 conv3d (64, 128, 256, 256, 512, 512, 512, 512), 3x3x3 kernels, pool1 1x2x2, pools 2-5 2x2x2 (pool5
padded 0x1x1 as in the Caffe model's ceil rounding), fc6 8192 -> 4096, fc7 4096 -> 4096, input 3x16x112x112.
Attribute names follow the common PyTorch port (conv1, conv2, conv3a, ..., fc6, fc7, fc8) so its state dict
loads as is. No weights ship.
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import check_width, forward_fc_taps, scaled


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
        self.width = width = check_width(width, False, "c3d")
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
        x = forward_fc_taps(self, x, tap, "C3D")
        if tap != "logits":
            return x
        if self.fc8 is None:
            raise ValueError("this C3D has no fc8 (num_classes=0)")
        return self.fc8(x)


def c3d(pretrained: bool | str | os.PathLike = False, num_classes: int = 0, width: float = 1.0, **kw) -> C3D:
    """C3D; ``pretrained`` is False, or a path to a state dict (``True`` raises: no weights ship).

    ``width`` scales every conv and fc6/fc7 (1.0 = the true size); a state dict fits only width 1.
    """
    check_width(width, pretrained, "c3d")
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
