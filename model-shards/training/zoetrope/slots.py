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


def ball_pixels(px: float, py: float, radius: float, side: int) -> tuple[np.ndarray, tuple[slice, slice]]:
    """The pixels whose centres lie within a ball's disc, shrunk by half a pixel (at least 1 px
    across): a mask over the window of the frame that can hold them, and that window. Only the
    window is looked at (masks of the whole frame made clip_slots 3× slower), and
    its pixels come in the frame's own order, so what is computed from them is the same."""
    r = max(radius - 0.5, 1.0)
    y0, y1 = max(0, int(np.floor(py - r - 1))), min(side, int(np.ceil(py + r + 1)))
    x0, x1 = max(0, int(np.floor(px - r - 1))), min(side, int(np.ceil(px + r + 1)))
    if y1 <= y0 or x1 <= x0:
        return np.zeros((0, 0), dtype=bool), (slice(0, 0), slice(0, 0))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
    return (xx - px) ** 2 + (yy - py) ** 2 <= r**2, (slice(y0, y1), slice(x0, x1))


def clip_slots(meta: dict, frames: np.ndarray, background: np.ndarray, slots: int, head: bool = False, boxes: int = 0) -> np.ndarray:
    """A clip's slots float32 [T, slots, SLOT_NUMBERS] from its tracks: position and radius as a share
    of the frame's side, colour in [0, 1] as the median over frames of the mean of the ball's own
    pixels (where the frame differs from its background, inside the ball), so lighting is in it.
    With `head`, the figure's head follows as slot `slots` (head_slot); with `boxes`, that many box
    slots after it (box_slots)."""
    T, S = frames.shape[0], frames.shape[1]

    def own_pixels(f: int, b: dict) -> np.ndarray | None:
        # The ball's own pixels: where the frame differs from its background.
        inside, window = ball_pixels(b["px"], b["py"], b["radiusPx"], S)
        seen = frames[f][window]
        inside &= np.abs(seen.astype(np.int16) - background[f][window].astype(np.int16)).sum(-1) > 24
        return seen[inside] if inside.sum() >= 3 else None

    out = tracked_slots(meta, ball_order(meta), slots, "balls", "slots", T, S, own_pixels)
    if head:
        out = np.concatenate([out, head_slot(meta, T, S)[:, None]], axis=1)
    if boxes:
        out = np.concatenate([out, box_slots(meta, frames, boxes)], axis=1)
    return out


def box_order(meta: dict) -> list[int]:
    """Indices (into each frame's track list) of the clip's boxes: the stack's from the bottom up
    (box-1, box-2, …, as the world builds it), then the loose boxes in scene order."""
    tracks = meta["tracks"][0]
    stack = sorted((int(t["id"].split("-")[1]), k) for k, t in enumerate(tracks) if t["material"] == "wooden box" and t["id"].startswith("box-"))
    loose = [k for k, t in enumerate(tracks) if t["material"] == "wooden box" and not t["id"].startswith("box-")]
    return [k for _, k in stack] + loose


def box_slots(meta: dict, frames: np.ndarray, boxes: int) -> np.ndarray:
    """A clip's boxes as slots float32 [T, boxes, SLOT_NUMBERS] (box_order; zeros past the clip's
    own): shown where the world shows the box, its centre and half its side as a share of the frame's
    side (held just outside the frame like a ball's), its colour in [0, 1] as the median over frames
    of the mean of the pixels well inside it, lighting included. The world's boxes tumble when hit;
    a slot keeps no angle, and the decoder paints it upright (composite_boxes)."""
    T, S = frames.shape[0], frames.shape[1]

    def own_pixels(f: int, b: dict) -> np.ndarray | None:
        # Inside by a pixel and a quarter of the half side: clear of the darker edge and seams.
        r = b["radiusPx"] * 0.75 - 1.0
        y0, y1 = max(0, int(np.ceil(b["py"] - r))), min(S, int(np.floor(b["py"] + r)))
        x0, x1 = max(0, int(np.ceil(b["px"] - r))), min(S, int(np.floor(b["px"] + r)))
        return frames[f, y0:y1, x0:x1].reshape(-1, 3) if y1 > y0 and x1 > x0 else None

    return tracked_slots(meta, box_order(meta), boxes, "boxes", "box slots", T, S, own_pixels)


def tracked_slots(meta: dict, order: list[int], count: int, things: str, slots: str, T: int, S: int, own_pixels) -> np.ndarray:
    """Slots float32 [T, count, SLOT_NUMBERS] of the tracked things `order` (indices into each frame's
    track list): shown where the world shows it, position and radius as a share of the side, colour
    the median over frames of the mean of its own pixels (`own_pixels(frame, track)`, None where too
    few are seen)."""
    if len(order) > count:
        raise ValueError(f"clip {meta.get('index')} has {len(order)} {things}, the config has {count} {slots}")
    out = np.zeros((T, count, SLOT_NUMBERS), dtype=np.float32)
    for s, k in enumerate(order):
        colours = []
        for f in range(T):
            b = meta["tracks"][f][k]
            # A thing far out of frame (flown off, fallen past the floor) is held just outside it:
            # where it is then changes no pixel, and unbounded numbers would swamp the token statistics.
            out[f, s, 1:4] = (np.clip(b["px"] / S, -0.25, 1.25), np.clip(b["py"] / S, -0.25, 1.25), b["radiusPx"] / S)
            out[f, s, 0] = 1.0 if b["visible"] else 0.0
            seen = own_pixels(f, b) if b["visible"] else None
            if seen is not None:
                colours.append(seen.mean(0) / 255.0)
        if colours:
            out[:, s, 4:7] = np.median(np.stack(colours), axis=0)
    return out


def head_slot(meta: dict, frames: int, side: int) -> np.ndarray:
    """The figure's head as one more slot, float32 [T, SLOT_NUMBERS]: present where some of it is in
    frame, position and radius as a share of the side (held just outside the frame like a ball's), and
    no colour. A cameo's face is painted there from the reference image (paint_face), so the
    generator learns where the head is, never what the face looks like. Zeros without a figure."""
    out = np.zeros((frames, SLOT_NUMBERS), dtype=np.float32)
    track = meta.get("head")
    if track is None:
        if meta.get("scene", {}).get("character") is not None:
            raise ValueError(f"clip {meta.get('index')} has a figure but no head track: export the dataset again (the world writes `head` since cameo faces became a slot)")
        return out
    if len(track) != frames:
        raise ValueError(f"clip {meta.get('index')} has a head track of {len(track)} frames, not {frames}")
    for f, h in enumerate(track):
        out[f, 0] = 1.0 if h["visible"] else 0.0
        out[f, 1:4] = (np.clip(h["px"] / side, -0.25, 1.25), np.clip(h["py"] / side, -0.25, 1.25), h["radiusPx"] / side)
    return out


def shown(presence: torch.Tensor) -> torch.Tensor:
    """How much a slot is shown, from its presence field: 0 below 0.3, 1 above 0.7, a ramp between,
    so near-threshold values fade rather than flicker (every painter and filter here reads it)."""
    return ((presence - 0.3) / 0.4).clamp(0, 1)


def composite(background: torch.Tensor, slots: torch.Tensor) -> torch.Tensor:
    """Paints slots over backgrounds: background [N, S, S, 3] in [0, 1], slots [N, K, SLOT_NUMBERS]
    (raw, not normalised) → frames [N, S, S, 3]. Coverage is the disc's area over each pixel (linear
    ramp across the edge); a slot counts as present above 0.5, ramped over ±0.2 so near-threshold
    values fade rather than flicker."""
    S = background.shape[1]
    grid = (torch.arange(S, dtype=background.dtype, device=background.device) + 0.5) / S
    present = shown(slots[..., 0])  # [N, K]
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


def composite_boxes(background: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Paints box slots over backgrounds, as composite paints balls: background [N, S, S, 3] in [0, 1],
    boxes [N, K, SLOT_NUMBERS] (raw) → frames [N, S, S, 3]. Each box is an upright square of side twice
    its radius field, anti-aliased by its distance to the edge (the larger of the two axis distances),
    faded by the presence ramp (shown). Later boxes over earlier ones: a stack's upper boxes over the
    lower, as the world draws them. The decoder paints the balls after, over the boxes."""
    S = background.shape[1]
    grid = (torch.arange(S, dtype=background.dtype, device=background.device) + 0.5) / S
    present = shown(boxes[..., 0])  # [N, K]
    x, y, r = boxes[..., 1], boxes[..., 2], boxes[..., 3].clamp(min=0)
    dx = (grid[None, None, None, :] - x[..., None, None]).abs()  # [N, K, 1, S]
    dy = (grid[None, None, :, None] - y[..., None, None]).abs()  # [N, K, S, 1]
    cover = ((r[..., None, None] - torch.maximum(dx, dy)) * S + 0.5).clamp(0, 1) * present[..., None, None]
    colour = boxes[..., 4:7].clamp(0, 1)
    out = background
    for k in range(boxes.shape[1]):
        c = cover[:, k, :, :, None]
        out = out * (1 - c) + colour[:, k, None, None, :] * c
    return out


# The world mutes a face to this share of its saturation (render.ts, decodeAppearance).
FACE_SATURATION = 0.35
# The side of the reference image a cameo's face is painted from (APPEARANCE_SIDE in world/cameo.ts;
# the engine resamples a user's image to it).
APPEARANCE_SIDE = 16


def paint_face(frames: torch.Tensor, head: torch.Tensor, appearance: torch.Tensor, cameo: torch.Tensor, lit: bool = False) -> torch.Tensor:
    """A cameo's face on the figure's head: frames [T, S, S, 3] in [0, 1], the head slot [T, SLOT_NUMBERS]
    (raw), the reference image [side, side, 3] in [0, 1] and cameo, a [1] weight (1: paint, 0: leave
    the frames exactly as they are). The image is stretched over the head's disc with bilinear
    sampling, muted as the world mutes faces, and edged like a ball (composite). With `lit`, the
    head's colour fields are the scene's light (a head locator reads it) and the face is multiplied by
    it, as the world lights everything it draws. The sampling is two matrix products with tent weights
    (no GridSample), so it exports to any ONNX runtime."""
    T, S = frames.shape[0], frames.shape[1]
    side = appearance.shape[0]
    grid = (torch.arange(S, dtype=frames.dtype, device=frames.device) + 0.5) / S
    present = shown(head[:, 0]) * cameo  # [T]
    x, y, r = head[:, 1:2], head[:, 2:3], head[:, 3:4].clamp(min=1e-3)  # [T, 1]
    cells = torch.arange(side, dtype=frames.dtype, device=frames.device)

    def tent(centre: torch.Tensor) -> torch.Tensor:
        # Each pixel's position in the image's cells (0 … side − 1 at cell centres), then bilinear weights [T, S, side].
        u = ((grid[None, :] - (centre - r)) / (2 * r) * side - 0.5).clamp(0, side - 1)
        return (1 - (u[..., None] - cells).abs()).clamp(min=0)

    wy, wx = tent(y), tent(x)
    luma = (appearance * torch.tensor([0.299, 0.587, 0.114], dtype=appearance.dtype, device=appearance.device)).sum(-1, keepdim=True)
    muted = luma + (appearance - luma) * FACE_SATURATION  # [side, side, 3]
    rows = torch.matmul(wy, muted.reshape(side, side * 3)).reshape(T, S, side, 3)  # [T, S(y), side(x), 3]
    face = torch.matmul(rows.permute(0, 1, 3, 2), wx.transpose(1, 2)[:, None]).permute(0, 1, 3, 2)  # [T, S(y), S(x), 3]
    if lit:
        face = (face * head[:, None, None, 4:7]).clamp(0, 1)
    dist = torch.sqrt((grid[None, None, :] - x[:, :, None]) ** 2 + (grid[None, :, None] - y[:, :, None]) ** 2)  # [T, S, S]
    cover = (((r[:, :, None] - dist) * S + 0.5).clamp(0, 1) * present[:, None, None])[..., None]
    return frames * (1 - cover) + face * cover


# A quadratic Savitzky–Golay filter over 5 frames: it returns any parabola exactly (a fall keeps its
# gravity, with no shift of the path), where [1, 2, 1] / 4 moves a parabola by a quarter of its
# second difference and, applied again and again, bends the frames next to a bounce.
SAVITZKY_GOLAY_5 = (-3.0, 12.0, 17.0, 12.0, -3.0)
# Passes of the filter: each looks 2 frames either way (see TRACK_CONTEXT).
SMOOTHING_PASSES = 3
# How many frames either side a decoded frame depends on: 2 per pass and 1 for the presence median.
# The engine decodes a preview frame with this many neighbours (PREVIEW_CONTEXT in generate.ts).
TRACK_CONTEXT = 2 * SMOOTHING_PASSES + 1


def _shift(v: torch.Tensor, k: int) -> torch.Tensor:
    """v at frame t + k along dim 0, the end frames repeated past the ends (no branch on the clip's
    length, so the exported graph takes any number of frames)."""
    if k > 0:
        return torch.cat([v[k:]] + [v[-1:]] * k, dim=0)
    if k < 0:
        return torch.cat([v[:1]] * -k + [v[:k]], dim=0)
    return v


# Jacobi passes of separate_balls: each pass moves every overlapping pair apart by what overlaps
# now, so three or more balls in a heap settle within a few.
SEPARATION_PASSES = 4


def separate_balls(balls: torch.Tensor, passes: int = SEPARATION_PASSES) -> torch.Tensor:
    """Ball slots [..., B, SLOT_NUMBERS] (raw; the leading dims are frames, or clips and frames) with
    the discs of every two shown balls of a frame moved apart until they only touch. The world's balls
    are solid (its physics collides them): not one of the 300 held-out clips shows two balls half
    into each other. A generator sampled in a few steps draws two passing through each other now and
    then (24 of those 300 prompts, Draft 0.8.1's student), and the bench sees one disc swallow the
    other: a ball that changes size, vanishes or appears.
    Each ball of an overlapping pair moves along the line between their centres by its share of the
    overlap, the other's mass (radius³) over both, so a bowling ball barely moves for a tennis ball;
    a ball shown only in part (slots.shown) pushes and is pushed in part. Balls on the same centre
    stay put (no direction to move in). Every op exports to ONNX."""
    n = balls.shape[-2]
    pos, radius, weight = balls[..., 1:3], balls[..., 3], shown(balls[..., 0])
    mass = radius**3
    others = 1 - torch.eye(n, dtype=balls.dtype, device=balls.device)
    # i's share of the move apart from j: j's mass over both.
    share = mass[..., None, :] / (mass[..., :, None] + mass[..., None, :]).clamp(min=1e-12)
    both = weight[..., :, None] * weight[..., None, :] * others
    for _ in range(passes):
        apart = pos[..., :, None, :] - pos[..., None, :, :]  # [..., i, j, 2]: from j to i
        dist = torch.sqrt((apart**2).sum(-1) + 1e-12)
        overlap = (radius[..., :, None] + radius[..., None, :] - dist).clamp(min=0) * both
        pos = pos + ((overlap * share / dist)[..., None] * apart).sum(-2)
    return torch.cat([balls[..., :1], pos, balls[..., 3:]], dim=-1)


def smooth_tracks(slots: torch.Tensor, bend: float = 2 / 128, passes: int = SMOOTHING_PASSES) -> torch.Tensor:
    """Slots [T, K, SLOT_NUMBERS] (raw) with each present ball's x and y filtered over time where its
    path runs smooth. A generator's small frame-to-frame errors in position (~0.5 px) read as jerks,
    phantom impacts and uneven gravity; the filter removes them and keeps a parabola exactly, while a
    bounce, a knock or a cut bends the path far more than `bend` (a share of the frame's side: how far
    a frame's position is from the midpoint of its neighbours) and is left as it is.

    Presence is first the median of three frames, so a ball does not blink out (or in) for a single
    frame. Then, `passes` times, each frame whose 5-frame window is inside the clip, shown throughout,
    and straight at its three middle frames (bend below `bend`, fading to no filter at twice it) takes
    the window's quadratic fit (SAVITZKY_GOLAY_5). The first and last two frames are kept."""
    p = slots[..., 0]
    lo, hi = torch.minimum(_shift(p, -1), p), torch.maximum(_shift(p, -1), p)
    present = torch.maximum(lo, torch.minimum(hi, _shift(p, 1)))  # median of three
    # Continuous ramps rather than thresholds, so a hair's difference between runtimes (or steps)
    # changes the picture by a hair: shown as composite() ramps presence.
    ramp = shown(present)
    window_shown = ramp
    for k in (-2, -1, 1, 2):
        window_shown = window_shown * _shift(ramp, k)
    frame = torch.cumsum(torch.ones_like(p), dim=0) - 1  # each frame's index, from tensors alone
    inner = ((frame >= 2) & (frame <= frame.amax(dim=0, keepdim=True) - 2)).to(slots.dtype)
    total = sum(SAVITZKY_GOLAY_5)
    pos = slots[..., 1:3]
    for _ in range(passes):
        bends = (pos - (_shift(pos, -1) + _shift(pos, 1)) / 2).abs().amax(dim=-1)
        worst = torch.maximum(bends, torch.maximum(_shift(bends, -1), _shift(bends, 1)))
        straight = (2 - worst / bend).clamp(0, 1)
        use = (inner * window_shown * straight)[..., None]
        fit = sum(w * _shift(pos, k - 2) for k, w in enumerate(SAVITZKY_GOLAY_5)) / total
        pos = pos + use * (fit - pos)
    return torch.cat([present[..., None], pos, slots[..., 3:]], dim=-1)
