"""Object slots: the world's balls as a few numbers per ball per frame, painted over the background.

The world's balls are 2.4–4.6 px in radius at 128², smaller than one cell of the video latent (8 px),
so an autoencoder blurs them away (its reconstructions cap the physics bench at 59% adherence). The
Draft therefore keeps balls out of the latent: the video autoencoder encodes each frame *without* its
balls (the dataset's background layer) and every ball becomes a slot of SLOT_FIELDS, in the order the
prompt mentions them. The video decoder draws the background from the latent and composites each
present slot as an anti-aliased disc of its colour. Every op here exports to ONNX.
"""
from __future__ import annotations

import re

import numpy as np
import torch

SLOT_FIELDS = ("present", "x", "y", "radius", "red", "green", "blue")
SLOT_NUMBERS = len(SLOT_FIELDS)

# Words that name a ball's material in prompts (see model-shards/world/prompts.ts).
_MATERIAL_WORDS = {
    "tennis ball": ("tennis",),
    "basketball": ("basketball", "basketballs"),
    "bowling ball": ("bowling",),
    "rubber ball": ("rubber", "bouncy"),
}


def is_ball(track: dict) -> bool:
    return track["material"] in _MATERIAL_WORDS


def ball_order(meta: dict) -> list[int]:
    """Indices (into each frame's track list) of the clip's balls, in the order its prompt mentions
    them: a colour word near a word of the ball's material, else the first material word (a default
    colour is often left unsaid: "a basketball"), ties by scene order. Slot k is then the k-th ball
    the prompt names, which a text-conditioned generator can learn to find."""
    words = re.findall(r"[a-z]+", meta["prompt"].lower())
    keyed = []
    for k, ball in enumerate(meta["tracks"][0]):
        if not is_ball(ball):
            continue
        keys = _MATERIAL_WORDS[ball["material"]]
        pos = next((i for i, w in enumerate(words) if w == ball["colour"] and any(x in keys for x in words[max(0, i - 2) : i + 4])), None)
        if pos is None:
            pos = next((i for i, w in enumerate(words) if w in keys), len(words))
        keyed.append((pos, k))
    return [k for _, k in sorted(keyed)]


def clip_slots(meta: dict, frames: np.ndarray, background: np.ndarray, slots: int) -> np.ndarray:
    """A clip's slots float32 [T, slots, SLOT_NUMBERS] from its tracks: position and radius as a share
    of the frame's side, colour in [0, 1] as the median over frames of the mean of the ball's own
    pixels (where the frame differs from its background, inside the ball), so lighting is in it."""
    T, S = frames.shape[0], frames.shape[1]
    order = ball_order(meta)
    if len(order) > slots:
        raise ValueError(f"clip {meta.get('index')} has {len(order)} balls, the config has {slots} slots")
    out = np.zeros((T, slots, SLOT_NUMBERS), dtype=np.float32)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32) + 0.5
    differs = np.abs(frames.astype(np.int16) - background.astype(np.int16)).sum(-1) > 24
    for s, k in enumerate(order):
        colours = []
        for f in range(T):
            b = meta["tracks"][f][k]
            # A ball far out of frame (flown off, fallen past the floor) is held just outside it:
            # where it is then changes no pixel, and unbounded numbers would swamp the token statistics.
            out[f, s, 1:4] = (np.clip(b["px"] / S, -0.25, 1.25), np.clip(b["py"] / S, -0.25, 1.25), b["radiusPx"] / S)
            out[f, s, 0] = 1.0 if b["visible"] else 0.0
            if b["visible"]:
                inside = ((xx - b["px"]) ** 2 + (yy - b["py"]) ** 2 <= max(b["radiusPx"] - 0.5, 1.0) ** 2) & differs[f]
                if inside.sum() >= 3:
                    colours.append(frames[f][inside].mean(0) / 255.0)
        if colours:
            out[:, s, 4:7] = np.median(np.stack(colours), axis=0)
    return out


def composite(background: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """Paints slots over backgrounds: background [N, S, S, 3] in [0, 1], slots [N, K, SLOT_NUMBERS]
    (raw, not normalised) → frames [N, S, S, 3]. Coverage is the disc's area over each pixel (linear
    ramp across the edge); a slot counts as present above 0.5, ramped over ±0.2 so near-threshold
    values fade rather than flicker."""
    S = background.shape[1]
    grid = (torch.arange(S, dtype=background.dtype, device=background.device) + 0.5) / S
    present = ((slots[..., 0] - 0.3) / 0.4).clamp(0, 1)  # [N, K]
    x, y, r = slots[..., 1], slots[..., 2], slots[..., 3].clamp(min=0)
    dx = grid[None, None, None, :] - x[..., None, None]  # [N, K, 1, S]
    dy = grid[None, None, :, None] - y[..., None, None]  # [N, K, S, 1]
    dist = torch.sqrt(dx * dx + dy * dy)  # [N, K, S, S]
    cover = ((r[..., None, None] - dist) * S + 0.5).clamp(0, 1) * present[..., None, None]
    colour = slots[..., 4:7].clamp(0, 1)  # [N, K, 3]
    out = background
    for k in range(slots.shape[1]):  # later slots over earlier ones, like the world's painter
        c = cover[:, k, :, :, None]
        out = out * (1 - c) + colour[:, k, None, None, :] * c
    return out


def smooth_tracks(slots: torch.Tensor, bend: float = 2 / 128) -> torch.Tensor:
    """Slots [T, K, SLOT_NUMBERS] (raw) with each present ball's x and y filtered [1, 2, 1] / 4 over
    time where its path bends by less than `bend` (a share of the frame's side: how far the frame's
    position is from the midpoint of its neighbours), fading to no filter at twice that. A generator's small frame-to-frame errors in
    position (~0.5 px) read as jerks and phantom impacts; the filter removes them and keeps a
    parabola's curvature exactly (gravity is unchanged), while a bounce, a knock or a cut bends a path
    far more than `bend` and is left as it is. Presence is the median of three frames, so a ball does
    not blink out (or in) for a single frame. The first and last frames are kept."""
    # Neighbours by shifting with the end frames repeated: no branch on the clip's length, so the
    # exported graph takes any number of frames (a lone preview frame comes out as it went in).
    before = lambda v: torch.cat([v[:1], v[:-1]], dim=0)  # noqa: E731
    after = lambda v: torch.cat([v[1:], v[-1:]], dim=0)  # noqa: E731
    p = slots[..., 0]
    lo, hi = torch.minimum(before(p), p), torch.maximum(before(p), p)
    present = torch.maximum(lo, torch.minimum(hi, after(p)))  # median of three
    pos = slots[..., 1:3]
    prev, nxt = before(pos), after(pos)
    frame = torch.cumsum(torch.ones_like(p), dim=0) - 1  # each frame's index, from tensors alone
    inner = ((frame > 0) & (frame < frame.amax(dim=0, keepdim=True))).to(slots.dtype)
    # Continuous ramps rather than thresholds, so a hair's difference between runtimes (or steps)
    # changes the picture by a hair: shown as composite() ramps presence, straight fading out from
    # `bend` to twice it.
    shown = ((present - 0.3) / 0.4).clamp(0, 1)
    straight = (2 - (pos - (prev + nxt) / 2).abs().amax(dim=-1) / bend).clamp(0, 1)
    use = (inner * shown * before(shown) * after(shown) * straight)[..., None]
    pos = pos + use * ((prev + 2 * pos + nxt) / 4 - pos)
    return torch.cat([present[..., None], pos, slots[..., 3:]], dim=-1)
