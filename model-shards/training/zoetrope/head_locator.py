"""Where the figure's head is, read from the frame's own video latent: where a cameo's face goes.

The generator draws the figure in the background latent and, beside it, the head's slot (slots.py,
head_slot). The two are learnt apart and need not agree: painted on the generated slot, a face can
float beside the figure, above it, or over no figure at all (Draft 0.4.0's card). The locator reads
the head from the latent the video decoder paints the figure from, so the face lands on the head
the decoder draws. It is a small convolutional net over the latent grid: a soft-argmax over the
cells (each cell's weight, plus its offset of up to `reach` cells) gives the head's centre, the same
weights its radius, and pooled features whether a head is in the frame at all. A branch of its own
reads the light the scene is lit by (what the world multiplies every pixel by: the time of day's
level and the colour temperature's tint), so the face is lit as the figure is. Trained on the run's
own tokens (the world's head tracks and each clip's light as targets), it runs inside the video
decoder graph.
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

# A locator saved without its reach (every one before Draft 0.8.0) moves a cell's vote this far.
LEGACY_REACH = 2.0


class LightBranch(nn.Module):
    """Normalised latent [N, C, s, s] → the light [N, 3], as 1 + what its last layer adds (it starts at
    zero: no light). Its own two convolutions, apart from the locator's: what finds the head is left
    to find the head, and a light added to a trained locator leaves where it finds it as it was."""

    def __init__(self, channels: int, width: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.SiLU(), nn.Conv2d(width, width, 3, stride=2, padding=1), nn.SiLU())
        self.out = nn.Linear(2 * width, 3)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.net(z)
        return 1 + self.out(torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1))


class HeadLocator(nn.Module):
    """Raw video latent [N, C, s, s] → the head as a slot [N, SLOT_NUMBERS]: present (a probability),
    x, y and radius as shares of the frame's side, and in the colour fields the light on it (per
    channel, 1 = a face drawn as it is). A cell votes for a centre up to `reach` cells from its own."""

    def __init__(self, channels: int, side: int, width: int = 48, layers: int = 4, reach: float = LEGACY_REACH):
        super().__init__()
        self.side = side
        # A constant of the graph, not a weight: the checkpoint keeps it beside the weights (extra.reach).
        self.reach = float(reach)
        convs: list[nn.Module] = []
        for k in range(layers):
            convs += [nn.Conv2d(channels if k == 0 else width, width, 3, padding=1), nn.SiLU()]
        self.net = nn.Sequential(*convs)
        self.cell = nn.Conv2d(width, 4, 1)  # per cell: weight, x offset, y offset, radius
        self.present = nn.Linear(2 * width, 1)
        self.light = LightBranch(channels)
        # The latent's token statistics, so the graph takes the raw latent the decoder takes.
        self.register_buffer("mean", torch.zeros(channels, side, side))
        self.register_buffer("std", torch.ones(channels, side, side))

    def set_statistics(self, mean: np.ndarray, std: np.ndarray) -> None:
        """The run's token statistics of the latent numbers (the first C·s·s of a frame token)."""
        self.mean.copy_(torch.from_numpy(np.asarray(mean, dtype=np.float32)).reshape(self.mean.shape))
        self.std.copy_(torch.from_numpy(np.asarray(std, dtype=np.float32)).reshape(self.std.shape))

    def logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised latent → (presence logit, x, y, radius), each [N], and the light [N, 3]."""
        h = self.net(z)
        out = self.cell(h)
        s = self.side
        weight = torch.softmax(out[:, 0].flatten(1), dim=-1).view(-1, s, s)
        centre = (torch.arange(s, dtype=z.dtype, device=z.device) + 0.5) / s
        x = (weight * (centre[None, None, :] + self.reach * torch.tanh(out[:, 1]) / s)).sum((1, 2))
        y = (weight * (centre[None, :, None] + self.reach * torch.tanh(out[:, 2]) / s)).sum((1, 2))
        r = (weight * F.softplus(out[:, 3]) / s).sum((1, 2))
        present = self.present(torch.cat([h.mean((2, 3)), h.amax((2, 3))], dim=1))[:, 0]
        return present, x, y, r, self.light(z)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        present, x, y, r, light = self.logits((latent - self.mean) / self.std)
        return torch.cat([torch.stack([torch.sigmoid(present), x, y, r], dim=-1), light], dim=-1)


def locator_for(cfg: Config, reach: float | None = None) -> HeadLocator:
    """A fresh locator shaped as `cfg`'s, with `reach` (default: the config's, what a new one trains with)."""
    t = cfg.head_locator_train
    return HeadLocator(cfg.video_ae.latent_channels, cfg.video_ae.latent_side, t.width, t.layers, t.reach if reach is None else reach)


def checkpoint_reach(ckpt: dict) -> float:
    """The reach a saved locator was trained with (LEGACY_REACH where it was saved without one)."""
    return float(ckpt.get("extra", {}).get("reach", LEGACY_REACH))


def load_head_locator(cfg: Config, run: Path) -> HeadLocator:
    from .train import decoder_stage

    ckpt = decoder_stage(cfg, run, "head-locator")
    state = ckpt["extra"]["ema"]
    locator = locator_for(cfg, checkpoint_reach(ckpt))
    if not any(k.startswith("light.") for k in state):
        raise ValueError(f"{run}/head-locator.pt reads no light (it was trained before faces were lit): train --stage head-locator on, with more --steps, to add it")
    locator.load_state_dict(state)
    return locator.eval()


def locate_loss(locator: HeadLocator, z: torch.Tensor, head: torch.Tensor, light: torch.Tensor, side_px: int) -> torch.Tensor:
    """Presence as a binary cross-entropy over every frame; where the head is shown, the distance of
    centre and radius in pixels of the frame (a fifth of a pixel weighs as the presence term); and
    over every frame, the light's error in 8-bit levels (one level weighs as a tenth of a pixel)."""
    present, x, y, r, lit = locator.logits(z)
    shown = (head[:, 0] > 0.5).float()
    miss = ((x - head[:, 1]).abs() + (y - head[:, 2]).abs() + (r - head[:, 3]).abs()) * side_px
    light_miss = (lit - light).abs().mean(-1) * 255
    return F.binary_cross_entropy_with_logits(present, shown) + 0.2 * (miss * shown).sum() / shown.sum().clamp(min=1) + 0.02 * light_miss.mean()


def clip_lights(run: Path, metas: list[dict]) -> np.ndarray:
    """Each clip's light float32 [clips, 3] (the `light` the world writes in a clip's meta), read from
    the datasets clips.json names (a run of several datasets names each clip's)."""
    from .data import WorldDataset

    datasets: dict[str, WorldDataset] = {}
    out = np.zeros((len(metas), 3), dtype=np.float32)
    for k, m in enumerate(metas):
        if "dataset" not in m:
            raise ValueError(f"{run}/clips.json does not say which dataset clip {k} is from: the head locator trains on a cameo run, encoded from several datasets")
        d = datasets.get(m["dataset"])
        if d is None:
            d = datasets[m["dataset"]] = WorldDataset(m["dataset"])
        meta = d.meta(int(m["index"]))
        if "light" not in meta:
            raise ValueError(f"{m['dataset']} has no light in its clips' meta: export it again (the world writes `light` since cameo faces are lit); its frames come out the same")
        out[k] = meta["light"]
    return out


def add_light(cfg: Config, run: Path, steps: int | None, log) -> bool:
    """Whether this run's locator trains its light alone. A locator trained before faces were lit
    (no light head) keeps what it learnt: the checkpoint gains a light head that starts as no light,
    and the next --steps train that head alone, so where the head is found stays exactly as it was."""
    from .train import save_atomic

    path = run / "head-locator.pt"
    if not path.exists():
        return False
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if any(k.startswith("light.") for k in ckpt["model"]):
        return bool(ckpt["extra"].get("light_only", False))
    if steps is None or steps <= ckpt["step"]:
        raise ValueError(f"{path} has trained {ckpt['step']} steps without the light: pass --steps above {ckpt['step']} to add the light and train it on")
    fresh = locator_for(cfg).light.state_dict()
    for states in (ckpt["model"], ckpt["extra"]["ema"]):
        states.update({f"light.{k}": v.clone() for k, v in fresh.items()})
    ckpt["optimizer"], ckpt["extra"]["light_only"] = None, True
    save_atomic(ckpt, path)
    log(event="light-added", stage="head-locator", step=ckpt["step"])
    return True


def train_head_locator(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    """Trains the locator on the run's frame tokens: every frame's latent as the input, its head slot
    (the world's head track) and its clip's light as the targets; the run's held-out clips measure it."""
    from .train import Loop, RunClips, ema_update, restrict_training

    if not cfg.head_slot:
        raise ValueError(f"config {cfg.name} has no head slot: there is no head to locate")
    if not cfg.head_locator:
        raise ValueError(f"config {cfg.name} paints a cameo on the generated head slot: it has no head locator to train")
    torch.manual_seed(seed)
    clips = RunClips(run)
    if not (run / "tokens.npy").exists():
        raise ValueError(f"{run} has no tokens.npy: run --stage encode first")
    tokens = np.load(run / "tokens.npy", mmap_mode="r")
    stats = np.load(run / "token-stats.npz")
    nl = cfg.video_ae.latent_numbers
    head_at = slice(cfg.head_at, cfg.head_at + SLOT_NUMBERS)
    c, s = cfg.video_ae.latent_channels, cfg.video_ae.latent_side
    latent = torch.from_numpy(np.ascontiguousarray(tokens[:, :, :nl]).astype(np.float32)).reshape(-1, c, s, s)
    head = torch.from_numpy(np.ascontiguousarray(tokens[:, :, head_at]).astype(np.float32) * stats["std"][head_at] + stats["mean"][head_at]).reshape(-1, SLOT_NUMBERS)
    light = torch.from_numpy(clip_lights(run, clips.metas)).repeat_interleave(cfg.frames, dim=0)
    train_clips, val_clips = clips.split()
    frames = cfg.frames
    train_frames = np.concatenate([np.arange(k * frames, (k + 1) * frames) for k in train_clips])
    val_frames = torch.from_numpy(np.concatenate([np.arange(k * frames, (k + 1) * frames) for k in val_clips[:64]]))
    if (head[torch.from_numpy(train_frames), 0] > 0.5).sum() == 0:
        raise ValueError(f"{run} shows no head in any training frame: encode a dataset whose clips have a figure")
    light_only = add_light(cfg, run, steps, log)
    # A run that has a locator trains it on with the reach it has; a new one takes the config's.
    path = run / "head-locator.pt"
    reach = checkpoint_reach(torch.load(path, map_location="cpu", weights_only=False)) if path.exists() else cfg.head_locator_train.reach
    locator = locator_for(cfg, reach)
    locator.set_statistics(stats["mean"][:nl], stats["std"][:nl])
    ema = copy.deepcopy(locator).requires_grad_(False)
    if light_only:
        restrict_training(locator, ["light"])
    t = cfg.head_locator_train
    loop = Loop("head-locator", cfg, locator, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema, "light_only": light_only, "reach": reach})
    side_px = cfg.video_ae.size

    def train_step() -> torch.Tensor:
        pick = torch.from_numpy(loop.rng.choice(train_frames, size=t.batch))
        return locate_loss(locator, latent[pick], head[pick], light[pick], side_px)

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, locator, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            present, x, y, r, lit = ema.logits(latent[val_frames])
            want = head[val_frames]
            light_levels = ((lit - light[val_frames]).abs() * 255).amax(-1)
            shown = want[:, 0] > 0.5
            dist = torch.hypot(x - want[:, 1], y - want[:, 2])[shown] * side_px
            return {
                "val_presence_accuracy": round(((present > 0) == shown).float().mean().item(), 4),
                "val_median_px": round(dist.median().item(), 3) if len(dist) else None,
                "val_p90_px": round(dist.quantile(0.9).item(), 3) if len(dist) else None,
                "val_radius_px": round(((r - want[:, 3]).abs()[shown] * side_px).median().item(), 3) if len(dist) else None,
                # The light's largest channel error, in 8-bit levels.
                "val_light_levels": round(light_levels.median().item(), 2),
                "val_light_levels_p90": round(light_levels.quantile(0.9).item(), 2),
            }

    started = time.time()
    result = loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result
