"""A learnt prior on how balls move: the generated ball tracks, sharpened into the world's motion.

A flow generator sampled in a few steps draws each ball's path as a blend of the paths it thinks
likely. A fall it is unsure of the start of comes out eased in and eased out, and a bounce comes
out rounded: the ball slows over 3–5 frames before the floor, and the physics bench reads that as
uneven gravity (147 of the 300 held-out prompts of Draft 0.4.2's student failed on it). The
world's own paths are parabolas joined at impacts.

The refiner is a small 1-D convolutional net over a ball slot's track (x, y and whether the ball
is shown, per frame), shared by every slot, that returns the track moved by what it adds. It is
trained on the run's own tokens: every ball track of the training clips, damaged as a sampler
damages it, and taught to give back the world's track, in pixels and in its second difference (the
acceleration). Half of each batch is damaged by the sampler itself: training clips' tokens noised
halfway and sampled back by the run's student (draw_track_pairs), whose ball tracks come back with
the student's own errors beside the world's. The other half is damaged by hand (none, bar a
jitter, in a sixth of them): the track's clock runs unevenly (a smooth time warp, so a fall speeds
up and slows down), it is blurred along time by a Gaussian of a random width, it drifts slowly off
its path, and it is jittered. So a rounded landing becomes a fall that meets the floor, an uneven
fall an even one, and an undamaged track, as the world draws it, is left much as it was. It changes where a ball is and nothing else: presence, radius and colour go through as they
came, and a frame where the ball is not shown is not moved. It runs in the video decoder graph,
before the tracks are smoothed (slots.smooth_tracks).
"""
from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .configs import Config, TrackRefinerTrain
from .slots import SLOT_NUMBERS, TRACK_CONTEXT, separate_balls, smooth_tracks
from .slots import shown as shown_of  # the presence ramp; "shown" names the per-frame tensors here

# The damage the training tracks get, each drawn uniformly up to its maximum, and none (bar the
# jitter) for UNDAMAGED of them. Draft 0.6.0's refiner learnt from the blur alone (up to 2 frames):
# on its student's 300 held-out clips the bench still found uneven gravity in 93. With the time warp
# and drift as well, 57 (reports/experiments.md, "A track refiner that has seen the sampler's damage").
# 0.7.0's spared 15% and moved a straight roll by up to 4.2 px; sparing 40% (with EXIT_WEIGHT below)
# keeps the world's own tracks nearer as they are (a mean move of 0.47 px where 0.79) at no cost to
# the student's (reports/experiments.md, "The track refiner's edge hold-back, mended").
UNDAMAGED = 0.4
# A smooth time warp: each frame is read from the track at a time off by a smooth random curve
# (correlated over WARP_SMOOTHNESS frames) of up to this many frames' standard deviation.
MAX_WARP_FRAMES = 1.5
WARP_SMOOTHNESS = 3.0
# Then a Gaussian blur along time of a width (standard deviation, frames) up to this.
MAX_BLUR_FRAMES = 3.5
# Then a slow drift off the path (correlated over DRIFT_SMOOTHNESS frames), up to this many pixels
# (of a 128² frame) of standard deviation.
DRIFT_PX = 1.5
DRIFT_SMOOTHNESS = 4.0
# The jitter on top: up to this many pixels of Gaussian noise per frame.
JITTER_PX = 0.3
# What a pixel is, in the share-of-the-side units slots use: the loss reads pixels of a 128² frame
# (Pro's 256² frames use the same shares, so the same refiner serves them).
LOSS_SIDE = 128
# A track the refiner learns from shows its ball in at least this many frames.
MIN_SHOWN_FRAMES = 4
# The frames just before a ball leaves the picture (or just after it comes into it) weigh 1 +
# EXIT_WEIGHT as much in the loss, over EXIT_FRAMES frames. They are few (about 4% of the frames
# shown), and the student's tracks lag the world's by 2–5 px there: weighed as every other frame,
# 0.7.0's refiner learnt to pull a ball near the edge back toward the middle, and held a ball that
# leaves 3–6 px short of the edge, where the bench saw it vanish inside the frame.
EXIT_WEIGHT = 4.0
EXIT_FRAMES = 3


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
    them): the first `balls` (the config's; several clips' balls side by side, cfg.slots each, for the
    sound refiner's training) refined where the config has a track refiner, then every slot smoothed
    (slots.smooth_tracks). Where the config separates balls, each clip's balls are moved apart
    (slots.separate_balls) before the smoothing, so it smooths the paths they take around each other,
    and again after it, since a path's quadratic fit can bring two balls back a few pixels into each
    other (up to 3.3 px in 42 of the 300 held-out clips of Draft 0.8.1's student)."""
    balls = cfg.slots if balls is None else balls
    if cfg.track_refiner:
        if refiner is None:
            raise ValueError(f"config {cfg.name} refines the generated ball tracks: load the run's track refiner")
        slots = refine_tracks(refiner, slots, balls)
    if not cfg.separate_balls:
        return smooth_tracks(slots)
    if balls % cfg.slots:
        raise ValueError(f"{balls} balls side by side are not whole clips of config {cfg.name}'s {cfg.slots}")

    def apart(s: torch.Tensor) -> torch.Tensor:
        T = s.shape[0]
        moved = separate_balls(s[:, :balls].reshape(T, balls // cfg.slots, cfg.slots, SLOT_NUMBERS)).reshape(T, balls, SLOT_NUMBERS)
        return torch.cat([moved, s[:, balls:]], dim=1)

    return apart(smooth_tracks(apart(slots)))


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


def smooth_noise(n: int, frames: int, smoothness: float, gen: torch.Generator) -> torch.Tensor:
    """[n, frames] of Gaussian noise of unit standard deviation, correlated along time over about
    `smoothness` frames (white noise filtered by a Gaussian of that width)."""
    reach = int(4 * smoothness)
    k = torch.arange(-reach, reach + 1, dtype=torch.float32)
    w = torch.exp(-0.5 * (k / smoothness) ** 2)
    white = torch.randn(n, 1, frames + 2 * reach, generator=gen)
    return F.conv1d(white, (w / w.norm())[None, None])[:, 0]


def time_warp(xy: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Tracks [N, T, 2] read at frame t + offset [N, T] (linearly between frames, held at the ends)."""
    T = xy.shape[1]
    at = (torch.arange(T, dtype=xy.dtype) + offset).clamp(0, T - 1)
    lo = at.floor().long().clamp(max=T - 2)
    f = (at - lo)[..., None]
    pick = lambda i: torch.gather(xy, 1, i[..., None].expand(-1, -1, 2))  # noqa: E731
    return pick(lo) * (1 - f) + pick(lo + 1) * f


def damage(xy: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """World tracks' x, y [N, T, 2] as a few-step sampler might draw them: warped in time, blurred,
    drifted and jittered, each by a random amount (UNDAMAGED of them only jittered)."""
    n, T = xy.shape[:2]
    damaged = (torch.rand(n, generator=gen) >= UNDAMAGED).to(xy.dtype)
    warp = smooth_noise(n, T, WARP_SMOOTHNESS, gen) * (torch.rand(n, 1, generator=gen) * MAX_WARP_FRAMES * damaged[:, None])
    sigma = torch.rand(n, generator=gen) * MAX_BLUR_FRAMES * damaged
    drift = torch.stack([smooth_noise(n, T, DRIFT_SMOOTHNESS, gen) for _ in range(2)], dim=-1)
    drift = drift * (torch.rand(n, 1, 1, generator=gen) * (DRIFT_PX / LOSS_SIDE) * damaged[:, None, None])
    jitter = torch.randn(xy.shape, generator=gen) * (JITTER_PX / LOSS_SIDE) * torch.rand(n, 1, 1, generator=gen)
    return blur(time_warp(xy, warp), sigma) + drift + jitter


def corrupt(tracks: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """World tracks [N, T, SLOT_NUMBERS] (raw) → (what the refiner is given: x, y [N, T, 2] damaged,
    how much each frame shows the ball [N, T], the world's x, y [N, T, 2])."""
    world = tracks[..., 1:3]
    return damage(world, gen), shown_of(tracks[..., 0]), world


def near_exit(shown: torch.Tensor) -> torch.Tensor:
    """[N, T] 1 where a shown frame is within EXIT_FRAMES of a frame (inside the clip) that does not
    show the ball: the ball is about to leave or has just come in."""
    s = shown > 0.5
    near = torch.zeros_like(s)
    for k in range(1, EXIT_FRAMES + 1):  # a shift past the clip's length selects nothing
        near[:, :-k] |= s[:, :-k] & ~s[:, k:]
        near[:, k:] |= s[:, k:] & ~s[:, :-k]
    return near.to(shown.dtype)


def refine_loss(refined: torch.Tensor, world: torch.Tensor, shown: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, mean distance in pixels, mean acceleration error in pixels per frame²), each over the
    frames that show the ball (the acceleration where three frames in a row do). The loss weighs the
    distance near a ball's exit and entry 1 + EXIT_WEIGHT times as much (near_exit); the distance it reports
    weighs every shown frame alike."""
    off = (refined - world).abs()
    m = shown[..., None]
    dist = (off * m).sum() / m.sum().clamp(min=1) / 2 * LOSS_SIDE
    w = (shown * (1 + EXIT_WEIGHT * near_exit(shown)))[..., None]
    weighted = (off * w).sum() / w.sum().clamp(min=1) / 2 * LOSS_SIDE
    acc = lambda z: z[:, 2:] - 2 * z[:, 1:-1] + z[:, :-2]  # noqa: E731
    m2 = (shown[:, 2:] * shown[:, 1:-1] * shown[:, :-2])[..., None]
    acc_err = ((acc(refined) - acc(world)).abs() * m2).sum() / m2.sum().clamp(min=1) / 2 * LOSS_SIDE
    return weighted + acc_err, dist, acc_err


def ball_tracks(cfg: Config, tokens: np.ndarray, stats, clips: list[int]) -> torch.Tensor:
    """The ball slots of the given clips' frame tokens, raw, as tracks [N, T, SLOT_NUMBERS]: one per
    slot that shows its ball in at least MIN_SHOWN_FRAMES frames."""
    at = slice(cfg.video_ae.latent_numbers, cfg.video_ae.latent_numbers + cfg.slots * SLOT_NUMBERS)
    raw = np.asarray(tokens[:, :, at][clips], dtype=np.float32) * stats["std"][at] + stats["mean"][at]  # the slots' columns alone
    tracks = raw.reshape(len(clips), cfg.frames, cfg.slots, SLOT_NUMBERS).transpose(0, 2, 1, 3).reshape(-1, cfg.frames, SLOT_NUMBERS)
    return torch.from_numpy(np.ascontiguousarray(tracks[(tracks[..., 0] > 0.5).sum(1) >= MIN_SHOWN_FRAMES]))


def pair_times(cfg: Config) -> list[float]:
    """The times the student visits from pair_time to 0: its own grid of distill.student_steps
    equal steps."""
    steps, start = cfg.distill.student_steps, cfg.track_refiner_train.pair_time
    grid = [1.0 - i / steps for i in range(steps + 1)]
    if not any(abs(g - start) < 1e-9 for g in grid):
        raise ValueError(f"config {cfg.name}: track_refiner_train.pair_time {start} is not on its student's grid of {steps} steps ({', '.join(f'{g:g}' for g in grid)})")
    return [g for g in grid if g <= start + 1e-9]


def draw_track_pairs(cfg: Config, run: Path, seed: int, log) -> dict[str, np.ndarray]:
    """The student's own damage, beside the world's tracks: pair_clips training clips' tokens
    noised to pair_time and sampled back to 0 by the run's student (as the engine samples: guidance
    1, its own step grid), their ball slots, raw, kept as {"world", "drawn"} [N, T, balls,
    SLOT_NUMBERS] with the clips they came from. Kept in RUN/track-pairs.npz and reused while the
    student's weights and the clips are the same (about 5 minutes for 1000 clips on 2 cores)."""
    from .generator import generator_for, sample
    from .text import Tokenizer
    from .train import RunClips, load_stage

    t = cfg.track_refiner_train
    times = pair_times(cfg)
    student = load_stage(run, "student", cfg)
    clips = RunClips(run)
    train_clips, _ = clips.split()
    order = np.sort(np.random.default_rng(seed).choice(train_clips, size=min(t.pair_clips, len(train_clips)), replace=False))
    path = run / "track-pairs.npz"
    # The student's weights themselves name it: a restored or resumed student can share a step count.
    weights = hashlib.sha256()
    for name, value in sorted(student["extra"]["ema"].items()):
        weights.update(name.encode() + value.detach().cpu().contiguous().numpy().tobytes())
    made_from = {"clips": order, "times": np.asarray(times), "student": np.asarray(weights.hexdigest())}
    if path.exists():
        saved = np.load(path)
        if all(k in saved and np.array_equal(saved[k], v) for k, v in made_from.items()):
            log(event="pairs", stage="track-refiner", reused=str(path), clips=len(order))
            return {"world": saved["world"], "drawn": saved["drawn"]}
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    student = generator_for(cfg.generator, len(tokenizer.vocab), student["extra"]["ema"]).eval()
    tokens = np.load(run / "tokens.npy", mmap_mode="r")
    stats = np.load(run / "token-stats.npz")
    at = slice(cfg.video_ae.latent_numbers, cfg.video_ae.latent_numbers + cfg.slots * SLOT_NUMBERS)
    raw = lambda x: (x[..., at] * stats["std"][at] + stats["mean"][at]).reshape(*x.shape[:2], cfg.slots, SLOT_NUMBERS)  # noqa: E731
    gen = torch.Generator().manual_seed(seed)
    world, drawn = [], []
    started = time.time()
    # Logged first, so the stage's minutes (model_card.stage_minutes) count the drawing.
    log(event="drawing", stage="track-refiner", clips=len(order), from_time=times[0])
    for b in range(0, len(order), 20):
        chunk = order[b : b + 20]
        x0 = torch.from_numpy(np.asarray(tokens[chunk], dtype=np.float32))
        noised = (1 - times[0]) * x0 + times[0] * torch.randn(x0.shape, generator=gen)
        ids, mask = tokenizer.batch([clips.meta(int(i))["prompt"] for i in chunk])
        with torch.no_grad():
            back = sample(student, ids, mask, noised, len(times) - 1, 1.0, schedule=times)
        world.append(raw(x0.numpy()))
        drawn.append(raw(back.numpy()))
    out = {"world": np.concatenate(world).astype(np.float32), "drawn": np.concatenate(drawn).astype(np.float32)}
    tmp = path.with_name("track-pairs.tmp.npz")
    np.savez(tmp, **out, **made_from)
    tmp.replace(path)
    log(event="pairs", stage="track-refiner", drawn=len(order), from_time=times[0], elapsed_s=round(time.time() - started, 1))
    return out


def pair_tracks(cfg: Config, pairs: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The drawn ball tracks that are damaged copies of the world's: (drawn x, y [N, T, 2], how much
    each drawn frame shows the ball [N, T], the world's x, y [N, T, 2], the frames both show [N, T]).
    A pair is kept when both show the ball in MIN_SHOWN_FRAMES frames together and the drawn track
    is at most pair_max_px from the world's, on average over those frames."""
    per_track = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(0, 2, 1, 3).reshape(-1, a.shape[1], SLOT_NUMBERS)))  # noqa: E731
    world, drawn = per_track(pairs["world"]), per_track(pairs["drawn"])
    drawn_shown, world_shown = shown_of(drawn[..., 0]), shown_of(world[..., 0])
    both = drawn_shown * world_shown
    apart = ((drawn[..., 1:3] - world[..., 1:3]).norm(dim=-1) * both).sum(1) / both.sum(1).clamp(min=1) * LOSS_SIDE
    keep = ((both > 0.5).sum(1) >= MIN_SHOWN_FRAMES) & (apart <= cfg.track_refiner_train.pair_max_px)
    return drawn[keep, :, 1:3], drawn_shown[keep], world[keep, :, 1:3], both[keep]


def train_track_refiner(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    """Trains the refiner on the run's ball tracks (the world's, as encoded), damaged by hand and,
    once the run has a student, by the student itself (draw_track_pairs); held-out tracks, damaged
    the same ways with fixed seeds, measure it against the damaged input itself."""
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
    # The student's own damage, once the run has one; the pairs of every tenth clip drawn are held out.
    pairs = None
    if (run / "student.pt").exists():
        drawn = draw_track_pairs(cfg, run, seed, log)
        held = lambda d, keep: {k: v[np.arange(len(v)) % 10 == 0] if keep else v[np.arange(len(v)) % 10 != 0] for k, v in d.items()}  # noqa: E731
        pairs, val_pairs = pair_tracks(cfg, held(drawn, False)), pair_tracks(cfg, held(drawn, True))
        if len(pairs[0]) == 0 or len(val_pairs[0]) == 0:
            raise ValueError(f"none of the student's {'training' if len(pairs[0]) == 0 else 'held-out'} tracks in {run / 'track-pairs.npz'} is within {t.pair_max_px} px of the world's: is the student trained?")
    refiner = refiner_for(cfg)
    ema = copy.deepcopy(refiner).requires_grad_(False)
    loop = Loop("track-refiner", cfg, refiner, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema})
    log(event="tracks", stage="track-refiner", train=len(train), held_out=len(val), student_pairs=len(pairs[0]) if pairs else 0, held_out_pairs=len(val_pairs[0]) if pairs else 0, receptive_field=refiner.receptive_field, undamaged=UNDAMAGED, exit_weight=EXIT_WEIGHT)
    gen = torch.Generator().manual_seed(seed + loop.step)
    val_in, val_shown, val_world = corrupt(val, torch.Generator().manual_seed(777))
    _, input_px, input_acc = refine_loss(val_in, val_world, val_shown)
    from_pairs = round(t.batch * t.pair_share) if pairs else 0

    def train_step() -> torch.Tensor:
        pick = torch.from_numpy(loop.rng.choice(len(train), size=t.batch - from_pairs))
        given, shown, world = corrupt(train[pick], gen)
        loss = refine_loss(refiner(given, shown), world, shown)[0] * (t.batch - from_pairs)
        if from_pairs:
            pick = torch.from_numpy(loop.rng.choice(len(pairs[0]), size=from_pairs))
            drawn_xy, drawn_shown, world_xy, both = (a[pick] for a in pairs)
            # Half of them mirrored left to right (the world's physics is the same both ways): the
            # few hundred pairs go twice as far before the refiner starts to fit them.
            flip = torch.from_numpy(loop.rng.random(from_pairs) < 0.5)[:, None]
            drawn_xy, world_xy = (torch.stack([torch.where(flip, 1 - xy[..., 0], xy[..., 0]), xy[..., 1]], dim=-1) for xy in (drawn_xy, world_xy))
            loss = loss + refine_loss(refiner(drawn_xy, drawn_shown), world_xy, both)[0] * from_pairs
        return loss / t.batch

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, refiner, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            _, px, acc = refine_loss(ema(val_in, val_shown), val_world, val_shown)
            scores = {"val_px": round(px.item(), 4), "val_acc_px": round(acc.item(), 4), "input_px": round(input_px.item(), 4), "input_acc_px": round(input_acc.item(), 4)}
            if pairs:
                drawn_xy, drawn_shown, world_xy, both = val_pairs
                _, px, acc = refine_loss(ema(drawn_xy, drawn_shown), world_xy, both)
                _, px_in, acc_in = refine_loss(drawn_xy, world_xy, both)
                scores |= {"pairs_px": round(px.item(), 4), "pairs_acc_px": round(acc.item(), 4), "pairs_input_px": round(px_in.item(), 4), "pairs_input_acc_px": round(acc_in.item(), 4)}
        return scores

    started = time.time()
    result = loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result

