"""A learnt prior on how balls move: the generated ball tracks, sharpened into the world's motion.

A flow generator sampled in a few steps draws each ball's path as a blend of the paths it thinks
likely. A fall it is unsure of the start of comes out eased in and eased out, and a bounce comes
out rounded: the ball slows over 3–5 frames before the floor, and the physics bench reads that as
uneven gravity (147 of the 300 held-out prompts of Draft 0.4.2's student failed on it). The
world's own paths are parabolas joined at impacts.

The refiner is a small 1-D convolutional net over a ball slot's track (x, y and whether the ball
is shown, per frame), shared by every slot, that returns the track moved by what it adds. It is
trained on the run's own tokens: every ball track of the training clips, blurred along time by a
Gaussian of a random width (none in a sixth of them) and jittered, and taught to give back the
world's track, in pixels and in its second difference (the acceleration). So a rounded landing
becomes a fall that meets the floor, and an unblurred track, as the world draws it, is left as it
was. It changes where a ball is and nothing else: presence, radius and colour go through as they
came, and a frame where the ball is not shown is not moved. It runs in the video decoder graph,
before the tracks are smoothed (slots.smooth_tracks).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .configs import Config, TrackRefinerTrain
from .slots import SLOT_NUMBERS, TRACK_CONTEXT, smooth_tracks
from .slots import shown as shown_of  # the presence ramp; "shown" names the per-frame tensors here

# The blur the training tracks get: a Gaussian along time of a width (standard deviation, frames)
# drawn uniformly up to this, or none for NO_BLUR of them.
MAX_BLUR_FRAMES = 2.0
NO_BLUR = 0.15
# The jitter on top: up to this many pixels (of a 128² frame) of Gaussian noise per frame.
JITTER_PX = 0.3
# What a pixel is, in the share-of-the-side units slots use: the loss reads pixels of a 128² frame
# (Pro's 256² frames use the same shares, so the same refiner serves them).
LOSS_SIDE = 128
# A track the refiner learns from shows its ball in at least this many frames.
MIN_SHOWN_FRAMES = 4


def receptive_field(dilations: tuple[int, ...]) -> int:
    """Frames either way a refined frame depends on: 1 for each outer convolution, the dilations, and
    1 more ahead for each frame's step to the next."""
    return 3 + sum(dilations)


class TrackRefiner(nn.Module):
    """Ball tracks (x, y as shares of the side) [N, T, 2] and how much each frame shows the ball
    [N, T] in [0, 1] → the tracks moved by the refiner's correction, which is zero where the ball is
    not shown. Dilated convolutions see `receptive_field` frames either way; a clip of any length
    goes through (the edges are zero-padded, as the training clips' were)."""

    def __init__(self, width: int = 64, dilations: tuple[int, ...] = (1, 2, 4, 8, 1)):
        super().__init__()
        self.inp = nn.Conv1d(5, width, 3, padding=1)
        self.blocks = nn.ModuleList([nn.Conv1d(width, width, 3, padding=d, dilation=d) for d in dilations])
        self.out = nn.Conv1d(width, 2, 3, padding=1)
        # It starts as the identity: an untrained refiner moves nothing.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.receptive_field = receptive_field(dilations)

    def forward(self, xy: torch.Tensor, shown: torch.Tensor) -> torch.Tensor:
        # Each frame's step to the next (0 at the last), scaled so both inputs are of order one.
        step = torch.cat([xy[:, 1:] - xy[:, :-1], torch.zeros_like(xy[:, :1])], dim=1)
        h = torch.cat([xy * 4 - 2, step * 16, shown[..., None]], dim=-1).transpose(1, 2)
        h = F.gelu(self.inp(h))
        for block in self.blocks:
            h = h + F.gelu(block(h))
        return xy + self.out(h).transpose(1, 2) / 16 * shown[..., None]


# Frames either way a decoded frame depends on with the Draft's refiner (its receptive field) and
# the smoothing after it (slots.TRACK_CONTEXT): the engine decodes a preview frame with this many
# neighbours each side (PREVIEW_CONTEXT in workers/src/engine/generate.ts).
DECODER_CONTEXT = receptive_field(TrackRefinerTrain().dilations) + TRACK_CONTEXT


def refine_tracks(refiner: TrackRefiner, slots: torch.Tensor, balls: int) -> torch.Tensor:
    """Slots [T, K, SLOT_NUMBERS] (raw) with the first `balls` slots' x and y refined; the rest (the
    head's slot) and every other field as they were."""
    b = slots[:, :balls].transpose(0, 1)  # [balls, T, SLOT_NUMBERS]
    xy = refiner(b[..., 1:3], shown_of(b[..., 0])).transpose(0, 1)
    return torch.cat([torch.cat([slots[:, :balls, :1], xy, slots[:, :balls, 3:]], dim=-1), slots[:, balls:]], dim=1)


def painted_slots(cfg: Config, slots: torch.Tensor, refiner: TrackRefiner | None, balls: int | None = None) -> torch.Tensor:
    """Slots [T, K, SLOT_NUMBERS] (raw) as the video decoder paints them (and the sound refiner hears
    them): the first `balls` (the config's) refined where the config has a track refiner, then every
    slot smoothed (slots.smooth_tracks)."""
    if cfg.track_refiner:
        if refiner is None:
            raise ValueError(f"config {cfg.name} refines the generated ball tracks: load the run's track refiner")
        slots = refine_tracks(refiner, slots, cfg.slots if balls is None else balls)
    return smooth_tracks(slots)


def refiner_for(cfg: Config) -> TrackRefiner:
    t = cfg.track_refiner_train
    return TrackRefiner(t.width, t.dilations)


def load_track_refiner(cfg: Config, run: Path) -> TrackRefiner:
    from .train import load_ema

    return load_ema(cfg, run, "track-refiner", refiner_for(cfg))


def blur(xy: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Tracks [N, T, 2] blurred along time by a Gaussian of `sigma` [N] frames (the end frames held
    past the ends); a sigma near 0 leaves a track as it is."""
    T = xy.shape[1]
    k = torch.arange(-6, 7, dtype=xy.dtype)
    w = torch.exp(-0.5 * (k[None] / sigma.clamp(min=1e-3)[:, None]) ** 2)
    w = w / w.sum(1, keepdim=True)
    at = (torch.arange(T)[:, None] + k.long()[None]).clamp(0, T - 1)  # [T, 13]
    return (xy[:, at] * w[:, None, :, None]).sum(2)


def corrupt(tracks: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World tracks [N, T, SLOT_NUMBERS] (raw) → (what the refiner is given: blurred and jittered
    x, y [N, T, 2], how much each frame shows the ball [N, T], the world's x, y [N, T, 2])."""
    n = len(tracks)
    world = tracks[..., 1:3]
    sigma = torch.rand(n, generator=gen) * MAX_BLUR_FRAMES * (torch.rand(n, generator=gen) >= NO_BLUR)
    jitter = torch.randn(world.shape, generator=gen) * (JITTER_PX / LOSS_SIDE) * torch.rand(n, 1, 1, generator=gen)
    return blur(world, sigma) + jitter, shown_of(tracks[..., 0]), world


def refine_loss(refined: torch.Tensor, world: torch.Tensor, shown: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, mean distance in pixels, mean acceleration error in pixels per frame²), each over the
    frames that show the ball (the acceleration where three frames in a row do)."""
    m = shown[..., None]
    dist = ((refined - world).abs() * m).sum() / m.sum().clamp(min=1) / 2 * LOSS_SIDE
    acc = lambda z: z[:, 2:] - 2 * z[:, 1:-1] + z[:, :-2]  # noqa: E731
    m2 = (shown[:, 2:] * shown[:, 1:-1] * shown[:, :-2])[..., None]
    acc_err = ((acc(refined) - acc(world)).abs() * m2).sum() / m2.sum().clamp(min=1) / 2 * LOSS_SIDE
    return dist + acc_err, dist, acc_err


def ball_tracks(cfg: Config, tokens: np.ndarray, stats, clips: list[int]) -> torch.Tensor:
    """The ball slots of the given clips' frame tokens, raw, as tracks [N, T, SLOT_NUMBERS]: one per
    slot that shows its ball in at least MIN_SHOWN_FRAMES frames."""
    at = slice(cfg.video_ae.latent_numbers, cfg.video_ae.latent_numbers + cfg.slots * SLOT_NUMBERS)
    raw = np.asarray(tokens[:, :, at][clips], dtype=np.float32) * stats["std"][at] + stats["mean"][at]  # the slots' columns alone
    tracks = raw.reshape(len(clips), cfg.frames, cfg.slots, SLOT_NUMBERS).transpose(0, 2, 1, 3).reshape(-1, cfg.frames, SLOT_NUMBERS)
    return torch.from_numpy(np.ascontiguousarray(tracks[(tracks[..., 0] > 0.5).sum(1) >= MIN_SHOWN_FRAMES]))


def train_track_refiner(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    """Trains the refiner on the run's ball tracks (the world's, as encoded); the held-out clips'
    tracks, blurred the same way with a fixed seed, measure it against the blurred input itself."""
    from .train import Loop, RunClips, ema_update

    if not cfg.slots:
        raise ValueError(f"config {cfg.name} has no ball slots: there are no tracks to refine")
    if not cfg.track_refiner:
        raise ValueError(f"config {cfg.name} paints the generated ball tracks as they come: it has no track refiner to train")
    if not (run / "tokens.npy").exists():
        raise ValueError(f"{run} has no tokens.npy: run --stage encode first")
    torch.manual_seed(seed)
    clips = RunClips(run)
    tokens = np.load(run / "tokens.npy", mmap_mode="r")
    stats = np.load(run / "token-stats.npz")
    train_clips, val_clips = clips.split()
    train = ball_tracks(cfg, tokens, stats, train_clips)
    val = ball_tracks(cfg, tokens, stats, val_clips)
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"{run} shows no ball in {MIN_SHOWN_FRAMES} frames of any {'training' if len(train) == 0 else 'held-out'} clip: encode a dataset whose clips have balls")
    t = cfg.track_refiner_train
    refiner = refiner_for(cfg)
    ema = copy.deepcopy(refiner).requires_grad_(False)
    loop = Loop("track-refiner", cfg, refiner, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema})
    log(event="tracks", stage="track-refiner", train=len(train), held_out=len(val), receptive_field=refiner.receptive_field)
    gen = torch.Generator().manual_seed(seed + loop.step)
    val_in, val_shown, val_world = corrupt(val, torch.Generator().manual_seed(777))
    _, input_px, input_acc = refine_loss(val_in, val_world, val_shown)

    def train_step() -> torch.Tensor:
        pick = torch.from_numpy(loop.rng.choice(len(train), size=t.batch))
        given, shown, world = corrupt(train[pick], gen)
        return refine_loss(refiner(given, shown), world, shown)[0]

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, refiner, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            _, px, acc = refine_loss(ema(val_in, val_shown), val_world, val_shown)
        return {"val_px": round(px.item(), 4), "val_acc_px": round(acc.item(), 4), "input_px": round(input_px.item(), 4), "input_acc_px": round(input_acc.item(), 4)}

    started = time.time()
    result = loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result

