"""Sound that follows the picture: the generated sound latent, refined to sound the impacts the balls
are painted making.

The generator draws a clip's picture and its sound in one token a frame, but sampled in a few steps
the two drift apart: on the 300 held-out prompts the Draft 0.5.0 student's sound had no knock within
a frame of 44% of the impacts its own picture shows, and in a quarter of its clips the knocks it did
make came early or late by 100–200 ms. Only 49% of its clips were in sync.

The sound refiner hears the picture. It reads each ball's track as the video decoder paints it (the
track refiner's, then smoothed: track_refiner.painted_slots) — where the ball is, how it moves, its
change of velocity, its size and colour — through small 1-D convolutions shared by the ball slots
and summed over the balls shown, and, beside the generated sound latent, returns that latent with a
correction. It is trained on the run's own clips: the world's tracks, blurred and jittered a
little (TRACK_BLUR_FRAMES) and then refined and smoothed as painted, and the world's sound
latent damaged in the ways the generator damages it (CORRUPTIONS): knocks smeared away, knocks
moved by up to three frames, another clip's knocks laid on. It learns to give back the world's
sound, so a knock comes where a ball meets something, at the loudness its material makes, over the
room tone the generator drew. It runs in the audio decoder graph, before the waveform decoder.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .configs import Config
from .slots import SLOT_NUMBERS
from .slots import shown as shown_of
from .track_refiner import JITTER_PX, LOSS_SIDE, UNDAMAGED, TrackRefiner, blur, load_track_refiner, painted_slots

# What a ball slot tells the sound refiner, per frame: x and y, its step into the frame, the change of
# that step into the next (an impact), whether it is shown, its radius and its colour.
BALL_FEATURES = 11

# How the world's sound latent is damaged for training, each for one clip in len(CORRUPTIONS): the
# ways a few-step generator's sound misses the picture.
CORRUPTIONS = (
    "none",  # as the world made it: the refiner must leave a right sound alone
    "smeared",  # blurred along time by 1–3 frames: the knocks are gone, the room tone stays
    "half smeared",  # every other frame or so smeared: some knocks missing
    "faint",  # smeared and at 0.3 of its level
    "moved",  # the whole sound 1–3 frames early or late
    "others",  # smeared, with another clip's knocks on half of its frames
)
# Noise on top, up to this much (of a token's standard deviation).
SOUND_NOISE = 0.1
# A frame's knock is how far its sound is from the sound blurred over KNOCK_BLUR frames.
KNOCK_BLUR = 1.5
# The held-out clips the stage measures itself on.
HELD_OUT_CLIPS = 256
# The tracks it hears are the world's blurred along time by up to this many frames (none for
# track_refiner.UNDAMAGED of them) and jittered, then refined as painted. Heard through the track
# refiner's own harsher damage (time warps, wider blurs, drift), it learnt to trust the tracks less:
# sync on the 300 held-out prompts was 59%, against 69% with this blur (reports/experiments.md).
TRACK_BLUR_FRAMES = 2.0


class SoundRefiner(nn.Module):
    """Sound latents (normalised) [N, T, C] and the balls as painted (raw slots [N, T, K, SLOT_NUMBERS],
    the first `balls` of them balls) → the sound latents corrected to sound the balls' impacts. A
    ball slot that is not shown adds nothing, and the balls' order does not matter."""

    def __init__(self, sound_numbers: int, width: int = 96, ball_width: int = 64, dilations: tuple[int, ...] = (1, 2, 4, 1)):
        super().__init__()
        self.ball_in = nn.Conv1d(BALL_FEATURES, ball_width, 3, padding=1)
        self.ball_block = nn.Conv1d(ball_width, ball_width, 3, padding=2, dilation=2)
        self.inp = nn.Conv1d(ball_width + sound_numbers, width, 3, padding=1)
        self.blocks = nn.ModuleList([nn.Conv1d(width, width, 3, padding=d, dilation=d) for d in dilations])
        self.out = nn.Conv1d(width, sound_numbers, 3, padding=1)
        # It starts as the identity: an untrained refiner changes no sound.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, sound: torch.Tensor, slots: torch.Tensor, balls: int) -> torch.Tensor:
        b = slots[:, :, :balls].transpose(1, 2)  # [N, balls, T, SLOT_NUMBERS]
        b = b.reshape(-1, b.shape[2], SLOT_NUMBERS)  # [N·balls, T, SLOT_NUMBERS]
        shown = shown_of(b[..., 0])
        xy = b[..., 1:3]
        still = torch.zeros_like(xy[:, :1])
        into = torch.cat([still, xy[:, 1:] - xy[:, :-1]], dim=1)  # each frame's step into it
        turn = torch.cat([into[:, 1:] - into[:, :-1], still], dim=1)  # how that step changes into the next
        # Scaled so each is of order one; a ball not shown reads as all zeros.
        f = torch.cat([xy * 4 - 2, into * 16, turn * 32, shown[..., None], b[..., 3:4] * 16, b[..., 4:7] * 2 - 1], dim=-1) * shown[..., None]
        h = F.gelu(self.ball_in(f.transpose(1, 2)))
        h = h + F.gelu(self.ball_block(h))
        h = h * shown[:, None]
        h = h.reshape(sound.shape[0], balls, h.shape[1], h.shape[2]).sum(1)  # [N, ball_width, T]
        h = F.gelu(self.inp(torch.cat([h, sound.transpose(1, 2)], dim=1)))
        for block in self.blocks:
            h = h + F.gelu(block(h))
        return sound + self.out(h).transpose(1, 2)


def sound_refiner_for(cfg: Config) -> SoundRefiner:
    t = cfg.sound_refiner_train
    return SoundRefiner(cfg.audio_ae.latent_channels, t.width, t.ball_width, t.dilations)


def load_sound_refiner(cfg: Config, run: Path) -> SoundRefiner:
    from .train import load_ema

    return load_ema(cfg, run, "sound-refiner", sound_refiner_for(cfg))


def shift(sound: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    """Sound latents [N, T, C], each moved `frames` [N] later (earlier where negative), its end frames held."""
    T = sound.shape[1]
    at = (torch.arange(T)[None] - frames[:, None]).clamp(0, T - 1)
    return torch.gather(sound, 1, at[..., None].expand(-1, -1, sound.shape[2]))


def corrupt_sound(sound: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """The world's sound latents (normalised) [N, T, C] as a few-step generator might draw them: each
    clip damaged in one of the CORRUPTIONS ways, drawn uniformly, plus a little noise."""
    n, T, _ = sound.shape
    kind = torch.randint(0, len(CORRUPTIONS), (n,), generator=gen)
    sigma = 1 + 2 * torch.rand(n, generator=gen)
    smeared = blur(sound, sigma)
    some = (torch.rand(n, T, 1, generator=gen) < 0.5).to(sound.dtype)
    moved = shift(sound, torch.randint(1, 4, (n,), generator=gen) * (torch.randint(0, 2, (n,), generator=gen) * 2 - 1))
    others = sound[torch.randperm(n, generator=gen)]
    knocks = (others - blur(others, sigma)) * (torch.rand(n, T, 1, generator=gen) < 0.5).to(sound.dtype)
    ways = {"none": sound, "smeared": smeared, "half smeared": smeared * some + sound * (1 - some), "faint": smeared * 0.3, "moved": moved, "others": smeared + knocks}
    out = torch.stack([ways[name] for name in CORRUPTIONS])[kind, torch.arange(n)]
    return out + SOUND_NOISE * torch.rand(n, 1, 1, generator=gen) * torch.randn(sound.shape, generator=gen)


def sound_loss(refined: torch.Tensor, world: torch.Tensor, knock_weight: float) -> torch.Tensor:
    """Mean squared error of sound latents [N, T, C], each frame weighted by 1 + `knock_weight` × how
    much of a knock it holds (its squared distance from the world's sound blurred over KNOCK_BLUR
    frames, over the batch's mean). A knock is a frame or two of 24: unweighted, the refiner learnt
    to leave knocks soft (sync 60% on the 300 held-out prompts, against 64% weighted)."""
    knock = (world - blur(world, torch.full((len(world),), KNOCK_BLUR))).pow(2).sum(-1, keepdim=True)
    weight = 1 + knock_weight * knock / knock.mean().clamp(min=1e-8)
    return ((refined - world).pow(2) * weight).mean() / weight.mean()


def painted_training_slots(cfg: Config, slots: torch.Tensor, refiner: TrackRefiner | None, gen: torch.Generator | None) -> torch.Tensor:
    """The world's slots (raw) [N, T, K, SLOT_NUMBERS] as the video decoder would paint them had a
    generator drawn them: the balls' x and y blurred along time by up to TRACK_BLUR_FRAMES and
    jittered (not when `gen` is None), then refined and smoothed (painted_slots)."""
    n, T, K, _ = slots.shape
    if gen is not None:
        xy = slots[:, :, : cfg.slots, 1:3].transpose(1, 2).reshape(-1, T, 2)
        sigma = torch.rand(len(xy), generator=gen) * TRACK_BLUR_FRAMES * (torch.rand(len(xy), generator=gen) >= UNDAMAGED)
        jitter = torch.randn(xy.shape, generator=gen) * (JITTER_PX / LOSS_SIDE) * torch.rand(len(xy), 1, 1, generator=gen)
        xy = (blur(xy, sigma) + jitter).reshape(n, cfg.slots, T, 2).transpose(1, 2)
        slots = torch.cat([slots[:, :, : cfg.slots, :1], xy, slots[:, :, : cfg.slots, 3:]], dim=-1)
    # Every clip's balls side by side as one clip's: the refiner and the smoothing treat each ball alone.
    side_by_side = slots[:, :, : cfg.slots].transpose(0, 1).reshape(T, n * cfg.slots, SLOT_NUMBERS)
    with torch.no_grad():
        painted = painted_slots(cfg, side_by_side, refiner, balls=n * cfg.slots)
    return painted.reshape(T, n, cfg.slots, SLOT_NUMBERS).transpose(0, 1)


def clip_columns(cfg: Config, tokens: np.ndarray, stats, clips: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The given clips' ball slots, raw [N, T, balls, SLOT_NUMBERS], and sound latents, normalised
    [N, T, C], read from the run's tokens (those columns alone)."""
    nl, nv = cfg.video_ae.latent_numbers, cfg.video_numbers
    at = slice(nl, nl + cfg.slots * SLOT_NUMBERS)
    slots = np.asarray(tokens[:, :, at][clips], dtype=np.float32) * stats["std"][at] + stats["mean"][at]
    sound = np.asarray(tokens[:, :, nv:][clips], dtype=np.float32)
    return torch.from_numpy(slots.reshape(len(clips), cfg.frames, cfg.slots, SLOT_NUMBERS)), torch.from_numpy(sound)


def train_sound_refiner(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    """Trains the refiner on the run's clips (the world's, as encoded); the held-out clips, damaged
    the same way with a fixed seed, measure it against the damaged sound itself."""
    from .train import Loop, RunClips, ema_update

    if not cfg.sound_refiner:
        raise ValueError(f"config {cfg.name} decodes the generated sound as it comes: it has no sound refiner to train")
    if not cfg.slots:
        raise ValueError(f"config {cfg.name} has no ball slots: there are no balls for the sound to follow")
    if not (run / "tokens.npy").exists():
        raise ValueError(f"{run} has no tokens.npy: run --stage encode first")
    track_refiner = load_track_refiner(cfg, run) if cfg.track_refiner else None
    torch.manual_seed(seed)
    clips = RunClips(run)
    tokens = np.load(run / "tokens.npy", mmap_mode="r")
    stats = np.load(run / "token-stats.npz")
    train_clips, val_clips = clips.split()
    if not train_clips or not val_clips:
        raise ValueError(f"{run} has no {'training' if not train_clips else 'held-out'} clips to learn the sound of impacts from")
    slots, sound = clip_columns(cfg, tokens, stats, train_clips)
    val_slots, val_sound = clip_columns(cfg, tokens, stats, val_clips[:HELD_OUT_CLIPS])
    t = cfg.sound_refiner_train
    refiner = sound_refiner_for(cfg)
    ema = copy.deepcopy(refiner).requires_grad_(False)
    loop = Loop("sound-refiner", cfg, refiner, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema})
    log(event="clips", stage="sound-refiner", train=len(slots), held_out=len(val_slots))
    gen = torch.Generator().manual_seed(seed + loop.step)
    held = torch.Generator().manual_seed(777)
    val_painted = painted_training_slots(cfg, val_slots, track_refiner, held)
    val_given = corrupt_sound(val_sound, held)
    input_mse = F.mse_loss(val_given, val_sound).item()

    def train_step() -> torch.Tensor:
        pick = torch.from_numpy(loop.rng.choice(len(slots), size=t.batch))
        painted = painted_training_slots(cfg, slots[pick], track_refiner, gen)
        return sound_loss(refiner(corrupt_sound(sound[pick], gen), painted, cfg.slots), sound[pick], t.knock_weight)

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, refiner, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            mse = F.mse_loss(ema(val_given, val_painted, cfg.slots), val_sound).item()
            # What it does to a sound that was right: a refiner should leave it nearly alone.
            kept = F.mse_loss(ema(val_sound, val_painted, cfg.slots), val_sound).item()
        return {"val_mse": round(mse, 4), "input_mse": round(input_mse, 4), "clean_mse": round(kept, 4)}

    started = time.time()
    result = loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result
