"""Generated stand-ins for the gesture, steering and radar data sets (NVGesture, comma.ai / LiVi-Set,
radar echo maps), deterministic by seed, fingerprinted, train / test from disjoint RNG streams.

* :class:`GestureSequences`: a hand-like blob (palm + fingers when gesturing, a small fist at rest)
  performs 1..``max_gestures`` gestures of ``num_classes`` (5..8) classes -- swipe left / right / up / down,
  circle clockwise / anticlockwise, push (the hand grows), wave -- each with a start and end frame inside a
  longer sequence of ``T`` frames.  Item: ``{"frames": float32 (T, 1, S, S) in [0, 1], "frame_labels":
  int64 (T,) (0 = no gesture, c + 1 inside gesture c), "targets": int64 (max_gestures,) the label sequence
  as c + 1 padded with 0 (CTC with blank = 0), "target_length": int64, "segments": int64 (max_gestures, 2)
  start / end (exclusive) frames, padded with -1}``.
* :class:`SteeringSequences`: a road seen from a car that follows its centre line, rendered in
  perspective (sky, grass, asphalt, edge lines, dashed centre line) from a curvature profile c(s)
  (1/m, positive = bending right).  Road types ``ROAD_TYPES`` = crossroads (a straight road and a
  perpendicular crossing ahead), t-junction (the road ends at a perpendicular road), curve (smooth random
  curvature of both signs), straight.  Steering angle per frame = ``degrees(atan(WHEELBASE * c(s_t)))``
  (bicycle model, positive = steer right, so its sign is the curvature's).  Item: ``{"frames": float32
  (T, 3, H, W) in [0, 1], "steering": float32 (T,) degrees, "curvature": float32 (T,), "speed": float32
  (T,) m/frame, "road_type": int64}``.
* :class:`RadarEchoes`: 2..6 rain cells (each a cluster of Gaussian sub-cells) advected by a common wind
  (+ a small per-cell drift), growing or decaying exponentially, on a ``size`` x ``size`` grid; intensities
  clipped to [0, 1] like normalised echo maps.  Item: ``{"inputs": float32 (n_in, 1, S, S), "targets":
  float32 (n_out, 1, S, S), "velocity": float32 (2,) px/frame (x, y)}``.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw

from .builtin_video import BuiltinArrays, item_rng

__all__ = ["GestureSequences", "SteeringSequences", "RadarEchoes", "GESTURES", "ROAD_TYPES", "WHEELBASE",
           "steering_angle"]

GESTURES = ("swipe-left", "swipe-right", "swipe-up", "swipe-down", "circle-cw", "circle-ccw", "push", "wave")
ROAD_TYPES = ("crossroads", "t-junction", "curve", "straight")
WHEELBASE = 2.7  # m
_SALT = {"gesture": 51, "steering": 52, "radar": 53}


# --------------------------------------------------------------------------- gestures
def _gesture_path(kind: str, u: np.ndarray):
    """Offsets (x, y) in units of the gesture amplitude and the hand scale, for phases u in [0, 1]."""
    e = 0.5 - 0.5 * np.cos(np.pi * u)  # ease in / out
    z = np.zeros_like(u)
    if kind == "swipe-left":
        return 1 - 2 * e, z, 1 + z
    if kind == "swipe-right":
        return 2 * e - 1, z, 1 + z
    if kind == "swipe-up":
        return z, 1 - 2 * e, 1 + z
    if kind == "swipe-down":
        return z, 2 * e - 1, 1 + z
    if kind in ("circle-cw", "circle-ccw"):
        th = -np.pi / 2 + (1 if kind == "circle-cw" else -1) * 2 * np.pi * e  # image y points down
        return 0.8 * np.cos(th), 0.8 * np.sin(th), 1 + z
    if kind == "push":
        return z, z, 0.7 + 0.8 * e
    if kind == "wave":
        return 0.6 * np.sin(4 * np.pi * u), z, 1 + z
    raise ValueError(kind)


def _draw_hand(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, open_hand: bool, tilt: float, fill: int):
    d.ellipse([cx - r, cy - 0.9 * r, cx + r, cy + 1.1 * r], fill=fill)
    if not open_hand:
        return
    for k, a in enumerate(np.deg2rad([-30, -10, 10, 30]) + tilt):  # fingers
        ln = r * (1.3 if k in (1, 2) else 1.1)
        x0, y0 = cx + 0.6 * r * np.sin(a), cy - 0.6 * r * np.cos(a)
        d.line([x0, y0, x0 + ln * np.sin(a), y0 - ln * np.cos(a)], fill=fill, width=max(1, int(0.35 * r)))
    a = np.deg2rad(-80) + tilt  # thumb
    d.line([cx - 0.7 * r, cy, cx - 0.7 * r + r * np.sin(a), cy - r * np.cos(a) * 0.4 + 0.3 * r], fill=fill,
           width=max(1, int(0.35 * r)))


class GestureSequences(BuiltinArrays):
    _hashed = ("frames", "frame_labels", "targets", "segments")

    def __init__(self, split: str = "train", n: int = 32, T: int = 48, size: int = 32, num_classes: int = 6,
                 max_gestures: int = 3, seed: int = 0, noise: float = 0.05):
        if not 5 <= num_classes <= len(GESTURES):
            raise ValueError(f"num_classes must be in 5..{len(GESTURES)}, got {num_classes}")
        dmin, dmax = max(4, T // 8), max(6, T // 5)
        if T < max_gestures * (dmax + 2) + 2:
            raise ValueError(f"T={T} too short for {max_gestures} gestures of up to {dmax} frames")
        self.source, self.split = "builtin:generated-gestures", split
        self.classes, self.num_classes = GESTURES[:num_classes], num_classes
        frames = np.zeros((n, T, 1, size, size), np.float32)
        frame_labels = np.zeros((n, T), np.int64)
        targets = np.zeros((n, max_gestures), np.int64)
        segments = np.full((n, max_gestures, 2), -1, np.int64)
        S = 2 * size
        for i in range(n):
            rng = item_rng(seed, split, _SALT["gesture"], i)
            k = int(rng.integers(1, max_gestures + 1))
            cls = rng.integers(num_classes, size=k)
            dur = rng.integers(dmin, dmax + 1, size=k)
            gaps = 2 + rng.multinomial(T - int(dur.sum()) - 2 * (k + 1), np.ones(k + 1) / (k + 1))
            # per frame: hand centre, radius, open flag
            rest = np.array([0.5, 0.85]) * S + rng.normal(0, 0.02 * S, 2)
            amp, r0 = rng.uniform(0.22, 0.3) * S, rng.uniform(0.11, 0.14) * S
            centre = np.tile(rest, (T, 1)).astype(np.float64)
            radius = np.full(T, 0.7 * r0)
            opened = np.zeros(T, bool)
            t = int(gaps[0])
            for j in range(k):
                u = np.linspace(0, 1, int(dur[j]))
                ox, oy, sc = _gesture_path(GESTURES[cls[j]], u)
                mid = np.array([0.5, 0.45]) * S + rng.normal(0, 0.03 * S, 2)
                centre[t:t + dur[j]] = mid + amp * np.stack([ox, oy], 1)
                radius[t:t + dur[j]] = r0 * sc
                opened[t:t + dur[j]] = True
                frame_labels[i, t:t + dur[j]] = cls[j] + 1
                segments[i, j] = (t, t + dur[j])
                t += int(dur[j]) + int(gaps[j + 1])
            targets[i, :k] = cls + 1
            centre += rng.normal(0, 0.005 * S, centre.shape)  # tremor
            bg = rng.uniform(0.1, 0.3) + 0.1 * rng.random((S // 8, S // 8))
            bg = np.asarray(Image.fromarray((bg * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC),
                            np.float32) / 255.0
            shade = rng.uniform(0.7, 0.95)
            for t in range(T):
                im = Image.new("L", (S, S), 0)
                _draw_hand(ImageDraw.Draw(im), centre[t, 0], centre[t, 1], radius[t], bool(opened[t]),
                           0.2 * np.sin(t), 255)
                m = np.asarray(im.resize((size, size), Image.BILINEAR), np.float32) / 255.0
                frames[i, t, 0] = bg * (1 - m) + shade * m
            frames[i] += noise * rng.standard_normal(frames[i].shape).astype(np.float32)
        np.clip(frames, 0, 1, out=frames)
        self.frames, self.frame_labels, self.targets, self.segments = frames, frame_labels, targets, segments

    def __getitem__(self, i):
        return {"frames": torch.from_numpy(self.frames[i]), "frame_labels": torch.from_numpy(self.frame_labels[i]),
                "targets": torch.from_numpy(self.targets[i]),
                "target_length": torch.tensor(int((self.targets[i] > 0).sum())),
                "segments": torch.from_numpy(self.segments[i])}


# --------------------------------------------------------------------------- steering
def steering_angle(curvature) -> np.ndarray:
    """Front-wheel angle in degrees of a car following a path of ``curvature`` (1/m, + = right)."""
    return np.degrees(np.arctan(WHEELBASE * np.asarray(curvature, np.float64)))


def _curvature_profile(rng, kind: str, length: int) -> np.ndarray:
    """c(s) at s = 0, 1, ..., length-1 metres."""
    c = np.zeros(length)
    if kind == "curve":
        s = np.arange(length)
        n_b = int(rng.integers(2, 5))
        sign = rng.choice([-1.0, 1.0])
        for b in range(n_b):
            mu, sd = rng.uniform(0, length), rng.uniform(10, 30)
            c += sign * (-1) ** b * rng.uniform(0.01, 0.04) * np.exp(-0.5 * ((s - mu) / sd) ** 2)
        c[np.abs(c) < 1e-4] = 0.0
    return c


class SteeringSequences(BuiltinArrays):
    _hashed = ("frames", "steering", "curvature", "road_types")

    def __init__(self, split: str = "train", n: int = 16, T: int = 16, size=(48, 64), seed: int = 0,
                 road_types=ROAD_TYPES):
        H, W = (size, size) if np.isscalar(size) else tuple(int(v) for v in size)
        bad = [r for r in road_types if r not in ROAD_TYPES]
        if bad or not road_types:
            raise ValueError(f"road_types must be a non-empty subset of {ROAD_TYPES}, got {road_types!r}")
        self.source, self.split = "builtin:generated-roads", split
        frames = np.zeros((n, T, 3, H, W), np.float32)
        steer = np.zeros((n, T), np.float32)
        curv = np.zeros((n, T), np.float32)
        speed = np.zeros((n, T), np.float32)
        rtypes = np.zeros(n, np.int64)
        f, cam_h, horizon, half_w, zmax = 0.6 * W, 2.0, 0.38 * H, 2.4, 80
        rows = np.arange(H) + 0.5
        below = rows > horizon + 0.5
        z_rows = np.where(below, f * cam_h / np.maximum(rows - horizon, 1e-3), np.inf)
        cols = np.arange(W) + 0.5 - W / 2.0
        for i in range(n):
            rng = item_rng(seed, split, _SALT["steering"], i)
            kind = road_types[int(rng.integers(len(road_types)))]
            rtypes[i] = ROAD_TYPES.index(kind)
            v = rng.uniform(0.8, 1.6)  # m per frame
            length = int(np.ceil(v * T)) + zmax + 2
            c = _curvature_profile(rng, kind, length)
            s_junction = v * T + rng.uniform(3, 12) if kind in ("crossroads", "t-junction") else np.inf
            tex_phase = rng.uniform(0, 10)
            grass = np.array([0.25, 0.5, 0.2]) * rng.uniform(0.8, 1.2)
            sky = np.array([0.55, 0.7, 0.95]) * rng.uniform(0.85, 1.05)
            asphalt = rng.uniform(0.3, 0.45)
            for t in range(T):
                s_t = v * t
                cs = np.interp(s_t + np.arange(zmax + 1), np.arange(length), c)
                heading = np.concatenate([[0.0], np.cumsum(0.5 * (cs[1:] + cs[:-1]))])  # d = 1 m
                offset = np.concatenate([[0.0], np.cumsum(0.5 * (heading[1:] + heading[:-1]))])
                z = np.where(below, np.minimum(z_rows, zmax), np.nan)
                xc = np.interp(np.nan_to_num(z), np.arange(zmax + 1), offset)
                X = cols[None, :] * (z[:, None] / f)  # lateral world position of every pixel
                dx = X - xc[:, None]
                zz = z[:, None] + s_t  # distance along the road of every row
                on_road = np.abs(dx) < half_w
                lines = (np.abs(np.abs(dx) - half_w + 0.2) < 0.15) | \
                        ((np.abs(dx) < 0.12) & (np.floor(zz / 3.0) % 2 == 0))
                dz = z[:, None] + s_t - s_junction
                crossing = np.abs(dz) < half_w
                if kind == "t-junction":
                    on_road &= dz < -half_w
                    lines &= dz < -half_w
                if kind in ("crossroads", "t-junction"):
                    lines &= ~crossing
                    on_road |= crossing & np.isfinite(z)[:, None]
                    lines |= (np.abs(np.abs(dz) - half_w + 0.2) < 0.15) & (np.abs(dx) > half_w)
                on_road &= np.isfinite(z)[:, None]
                lines &= on_road
                tex = 0.06 * np.sin(2 * np.pi * (zz / 2.5 + tex_phase)) * np.sin(X / 1.7)
                img = np.empty((3, H, W), np.float32)
                for ch in range(3):
                    g = grass[ch] + np.nan_to_num(tex)
                    a = asphalt + 0.5 * np.nan_to_num(tex)
                    layer = np.where(on_road, a, g)
                    layer = np.where(lines, 0.92, layer)
                    sky_row = sky[ch] * (0.8 + 0.2 * rows / max(horizon, 1))
                    layer = np.where(np.isfinite(z)[:, None], layer, sky_row[:, None])
                    img[ch] = layer
                frames[i, t] = np.clip(img, 0, 1)
                c_t = float(np.interp(s_t, np.arange(length), c))
                curv[i, t], steer[i, t], speed[i, t] = c_t, steering_angle(c_t), v
        self.frames, self.steering, self.curvature, self.speed, self.road_types = frames, steer, curv, speed, rtypes

    def __getitem__(self, i):
        return {"frames": torch.from_numpy(self.frames[i]), "steering": torch.from_numpy(self.steering[i]),
                "curvature": torch.from_numpy(self.curvature[i]), "speed": torch.from_numpy(self.speed[i]),
                "road_type": torch.tensor(self.road_types[i])}


# --------------------------------------------------------------------------- radar
class RadarEchoes(BuiltinArrays):
    _hashed = ("maps", "velocity")

    def __init__(self, split: str = "train", n: int = 32, n_in: int = 5, n_out: int = 5, size: int = 64,
                 seed: int = 0, n_cells=(2, 6), speed=(1.0, 3.0), growth: float = 0.15):
        self.source, self.split, self.n_in, self.n_out = "builtin:generated-radar", split, n_in, n_out
        T = n_in + n_out
        maps = np.zeros((n, T, 1, size, size), np.float32)
        vel = np.zeros((n, 2), np.float32)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
        k = size / 64.0
        for i in range(n):
            rng = item_rng(seed, split, _SALT["radar"], i)
            ang = rng.uniform(0, 2 * np.pi)
            v = rng.uniform(*speed) * k * np.array([np.cos(ang), np.sin(ang)])
            vel[i] = v
            for _ in range(int(rng.integers(n_cells[0], n_cells[1] + 1))):
                c0 = size / 2 - v * T / 2 + rng.uniform(-0.35, 0.35, 2) * size
                vc = v + rng.normal(0, 0.15 * k, 2)
                a0, g = rng.uniform(0.35, 1.0), rng.uniform(-growth, growth)
                subs = [(rng.normal(0, 4 * k, 2), rng.uniform(3, 8) * k, rng.uniform(0.4, 1.0), rng.uniform(0.5, 1.5),
                         rng.uniform(0, np.pi)) for _ in range(int(rng.integers(1, 4)))]
                for t in range(T):
                    amp = a0 * np.exp(g * t)
                    grow = np.exp(0.5 * g * t)
                    for off, sd, w, ecc, th in subs:
                        cx, cy = c0 + vc * t + off
                        dx, dy = xx - cx, yy - cy
                        u = dx * np.cos(th) + dy * np.sin(th)
                        w2 = -dx * np.sin(th) + dy * np.cos(th)
                        s1, s2 = sd * grow * ecc, sd * grow / ecc
                        maps[i, t, 0] += amp * w * np.exp(-0.5 * ((u / s1) ** 2 + (w2 / s2) ** 2))
        np.clip(maps, 0, 1, out=maps)
        self.maps, self.velocity = maps, vel

    def __getitem__(self, i):
        m = torch.from_numpy(self.maps[i])
        return {"inputs": m[:self.n_in], "targets": m[self.n_in:], "velocity": torch.from_numpy(self.velocity[i])}
