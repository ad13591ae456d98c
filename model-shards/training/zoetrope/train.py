"""`npm run train -- --config draft --stage <stage> --data DIR --run DIR [--minutes M] [--steps N]`

Stages, in order: video-ae and audio-ae (the autoencoders), encode (every clip's frame tokens and the
prompt tokenizer, from the trained encoders), generator (rectified flow over the frame tokens: the
teacher), pairs and student (distillation to few steps, see distill.py). A config that builds on
another's run (Pro on the Draft: configs.Config.shares) starts at encode --base RUN, trains
video-upscale (the decoder at its larger size), then its generator, grown from the base's. A
config that plans its boxes (draft-plan) trains box-planner and video-bare (the decoder painting the
background without its boxes, which come from their slots) on its base's teacher and student. Each
resumes from its checkpoint in the run folder, logs one JSON line per event to
<run>/<stage>.log.jsonl, and is deterministic from --seed given the same thread count. A run rebuilt
from a shipped model (`npm run recover -- restore`) without its rest starts at refit-encoders (the
encoders, fitted to the decoders it recovered), then encode, which keeps its statistics and tokenizer.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import shutil
import signal
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import torch

from .audio_ae import AudioAutoencoder, envelope_loss, pcm_to_unit, stft_loss
from .configs import AudioAETrain, Config, DistillTrain, VideoAETrain, added_numbers, adds_head_slot, get_config, lineage, root_config
from .data import DatasetError, WorldDataset
from .files import replace_file
from .distill import distill_student, make_pairs
from .generator import FlowGenerator, drop_prompt, generator_for, grow
from .slots import SLOT_NUMBERS, box_order, box_slots, clip_slots, head_slot
from .text import Tokenizer
from .video_ae import FrameAutoencoder, FrameDecoder, UpscaleDecoder, psnr, to_unit, vivid_weight

STAGES = ("video-ae", "audio-ae", "encode", "video-upscale", "generator", "cameo", "pairs", "student", "head-locator", "track-refiner", "sound-refiner", "box-planner", "video-bare", "refit-encoders")
# What a cameo run takes from the run it builds on (encode --base): the decoders, the tokenizer and
# the token statistics, so its tokens mean what the base generator's mean.
BASE_FILES = ("video-ae.pt", "audio-ae.pt", "tokenizer.json", "token-stats.npz")
# Trained once and used as they are by a config built on the one that trained them.
SHARED_STAGES = ("video-ae", "audio-ae", "head-locator", "track-refiner", "sound-refiner")
# What a config that plans its boxes takes from its base run as it is: the generator stages.
PLANNED_STAGES = ("generator", "student")
# How often (steps) the teacher looks for streamed clips (train_generator's `streamed`, --grow): ~6 s on an H200.
GROW_EVERY = 100
# The decoders' learnt parts beside the autoencoders: each stage, the Config flag that turns it on,
# and what a config with it needs it for (the words of the errors that ask for it).
DECODER_STAGES = {
    "head-locator": ("head_locator", "paints a cameo where the latent draws the head"),
    "track-refiner": ("track_refiner", "refines the generated ball tracks"),
    "sound-refiner": ("sound_refiner", "refines the generated sound to the painted balls"),
}


class Logger:
    def __init__(self, path: Path, quiet: bool = False):
        self.path = path
        self.quiet = quiet
        self.unshared = False

    def __call__(self, **event) -> None:
        event = {"time": round(time.time(), 3), **event}
        if not self.unshared:
            # A log a hard-linked copy of a run shares with the original becomes this run's own first.
            if self.path.exists() and self.path.stat().st_nlink > 1:
                old = self.path.read_bytes()
                replace_file(self.path, lambda f: f.write(old))
            self.unshared = True
        with self.path.open("a") as f:
            f.write(json.dumps(event) + "\n")
        if not self.quiet:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in event.items() if k != "time"), flush=True)


def save_atomic(obj: dict, path: Path) -> None:
    replace_file(path, lambda f: torch.save(obj, f))


def teacher_sampler(d: DistillTrain, steps: int | None, guidance: float | None) -> DistillTrain:
    """The distillation settings with the pairs drawn by the teacher at `steps` and `guidance` where
    given (--teacher-steps, --teacher-guidance), refused by name where the student's grid cannot
    keep them: progressive distillation keeps every (steps / student steps)-th state."""
    if steps is not None:
        if steps < 1:
            raise ValueError(f"--teacher-steps must be at least 1, got {steps}")
        if d.method == "progressive" and steps % d.student_steps:
            raise ValueError(f"--teacher-steps {steps}: progressive distillation to {d.student_steps} steps keeps the teacher's state every steps / {d.student_steps} steps, so give a multiple of {d.student_steps}")
        d = replace(d, teacher_steps=steps)
    if guidance is not None:
        if not math.isfinite(guidance) or guidance < 1:
            raise ValueError(f"--teacher-guidance must be a finite number of at least 1 (1: no guidance), got {guidance}")
        d = replace(d, teacher_guidance=guidance)
    return d


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def load_stage(run: Path, stage: str, cfg: Config) -> dict:
    path = run / f"{stage}.pt"
    if not path.exists():
        raise ValueError(f"{run} has no {stage} checkpoint yet: train that stage first (--stage {stage})")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    # A config that builds on another uses that one's autoencoders (and head locator) as they are (encode --base).
    # A config that plans its boxes (box_planner.py) samples with its base's teacher and student as they are.
    taken = SHARED_STAGES + (PLANNED_STAGES if cfg.box_planner else ())
    shared = cfg.shares and stage in taken and ckpt["config"] in lineage(cfg.name)[1:]
    if ckpt["config"] != cfg.name and not shared:
        raise ValueError(f"{path} was trained with config {ckpt['config']!r}, not {cfg.name!r}: use another --run folder")
    return ckpt


TrainedModule = TypeVar("TrainedModule", bound=torch.nn.Module)


def decoder_stage(cfg: Config, run: Path, stage: str) -> dict:
    """A decoder stage's checkpoint (DECODER_STAGES); a run without it is refused by name, saying
    what config `cfg` needs the stage for and which stage makes it."""
    if not (run / f"{stage}.pt").exists():
        raise ValueError(f"{run} has no {stage} checkpoint: config {cfg.name} {DECODER_STAGES[stage][1]} (train --stage {stage})")
    return load_stage(run, stage, cfg)


def decoder_stage_ema(cfg: Config, run: Path, stage: str) -> dict:
    """A decoder stage's EMA weights (decoder_stage)."""
    return decoder_stage(cfg, run, stage)["extra"]["ema"]


def load_ema(cfg: Config, run: Path, stage: str, module: TrainedModule) -> TrainedModule:
    """A decoder stage's EMA weights in `module`, ready to run (decoder_stage_ema)."""
    module.load_state_dict(decoder_stage_ema(cfg, run, stage))
    return module.eval()


def weights_checkpoint(config: str, stage: str, model: dict, step: int, ema: dict | None = None, extra: dict | None = None) -> dict:
    """A checkpoint as Loop writes it, with weights (float32) and no optimiser state or random
    streams: what comes back from a GPU machine (carry.py) or out of a shipped model (recover.py).
    Training resumes from it with a fresh optimiser."""
    full = lambda sd: {k: v.detach().clone().float() if v.is_floating_point() else v.detach().clone() for k, v in sd.items()}  # noqa: E731
    return {"config": config, "stage": stage, "model": full(model), "optimizer": None, "step": step, "rng": None, "torch_rng": None, "extra": ({"ema": full(ema)} if ema is not None else {}) | (extra or {})}


class Loop:
    """Optimiser, schedule, checkpoint/resume and logging shared by the trained stages."""

    def __init__(self, stage: str, cfg: Config, model: torch.nn.Module, lr: float, warmup: int, total: int, run: Path, seed: int, log: Logger, extra: dict | None = None, anneal_minutes: float | None = None):
        self.stage, self.cfg, self.model, self.lr, self.warmup, self.total, self.log = stage, cfg, model, lr, warmup, total, log
        # With a time budget (a lent GPU), the schedule runs over the minutes rather than the steps.
        self.anneal_minutes = anneal_minutes
        self.opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
        self.path = run / f"{stage}.pt"
        self.step = 0
        self.rng = np.random.default_rng(seed)
        self.extra = extra if extra is not None else {}
        if self.path.exists():
            ckpt = load_stage(run, stage, cfg)
            model.load_state_dict(ckpt["model"])
            # A checkpoint brought back from a GPU machine (carry.py) has weights but no optimiser state.
            # One that has taken no step yet (a grown generator, --steps 0) has none worth keeping.
            if ckpt["optimizer"] is not None and ckpt["optimizer"]["state"]:
                trained = sum(len(g["params"]) for g in ckpt["optimizer"]["param_groups"])
                trainable = sum(len(g["params"]) for g in self.opt.param_groups)
                if trained != trainable:
                    raise ValueError(f"{self.path} was trained with {trained} weight tensors, this run trains {trainable}: resume it with the same --train-only")
                self.opt.load_state_dict(ckpt["optimizer"])
            self.step = ckpt["step"]
            if ckpt["rng"] is not None:
                self.rng.bit_generator.state = ckpt["rng"]
                torch.set_rng_state(ckpt["torch_rng"])
            for k, v in ckpt.get("extra", {}).items():
                if k in self.extra and isinstance(self.extra[k], torch.nn.Module):
                    self.extra[k].load_state_dict(v)
            log(event="resume", stage=stage, step=self.step)

    def checkpoint(self) -> None:
        extra = {k: (v.state_dict() if isinstance(v, torch.nn.Module) else v) for k, v in self.extra.items()}
        save_atomic({"config": self.cfg.name, "stage": self.stage, "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "step": self.step, "rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(), "extra": extra}, self.path)

    def run(self, train_step: Callable[[], torch.Tensor], evaluate: Callable[[], dict], eval_every: int, checkpoint_minutes: float, minutes: float | None, after_step: Callable[[], None] | None = None) -> dict:
        params = sum(p.numel() for p in self.model.parameters())
        self.log(event="start", stage=self.stage, config=self.cfg.name, params=params, total_steps=self.total, step=self.step)
        started = last_ckpt = time.time()
        losses: list[float] = []
        # Ctrl-C or a kill: finish the step, write the checkpoint, stop (the same command resumes).
        stop_requested: list[str] = []
        previous = {sig: signal.signal(sig, lambda signum, _frame: stop_requested.append(signal.Signals(signum).name)) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._loop(train_step, evaluate, eval_every, checkpoint_minutes, minutes, after_step, started, last_ckpt, losses, stop_requested)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _loop(self, train_step, evaluate, eval_every, checkpoint_minutes, minutes, after_step, started, last_ckpt, losses, stop_requested) -> dict:
        first_step = self.step
        while self.step < self.total:
            if stop_requested:
                self.log(event="stopped", stage=self.stage, step=self.step, signal=stop_requested[0])
                break
            if minutes is not None and time.time() - started > minutes * 60:
                break
            for g in self.opt.param_groups:
                g["lr"] = lr_at(self.step, self.lr, self.warmup, self.total)
                if self.anneal_minutes:  # warm up again from this session's first step (the optimiser may be fresh)
                    done = (time.time() - started) / (self.anneal_minutes * 60)
                    warm = min(1.0, (self.step - first_step + 1) / self.warmup)
                    g["lr"] = self.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, done))))
            loss = train_step()
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{self.stage}: the loss became {loss.item()} at step {self.step}; lower the learning rate or resume from the last checkpoint")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.opt.step()
            if after_step:
                after_step()
            self.step += 1
            losses.append(loss.item())
            if self.step % eval_every == 0 or self.step == self.total:
                self.log(event="eval", stage=self.stage, step=self.step, loss=float(np.mean(losses)), lr=self.opt.param_groups[0]["lr"], elapsed_s=round(time.time() - started, 1), **evaluate())
                losses.clear()
            if time.time() - last_ckpt > checkpoint_minutes * 60:
                self.checkpoint()
                last_ckpt = time.time()
        self.checkpoint()
        result = {"stage": self.stage, "step": self.step, "done": self.step >= self.total, **evaluate()}
        self.log(event="end", **result)
        return result


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """ema ← decay·ema + (1 − decay)·model, in two fused ops over the weights being trained."""
    # Frozen weights (--train-only) are left as they are, bit for bit.
    pairs = [(e, p.detach()) for e, p in zip(ema.parameters(), model.parameters()) if p.requires_grad]
    e = [e for e, _ in pairs]
    torch._foreach_mul_(e, decay)
    torch._foreach_add_(e, [p for _, p in pairs], alpha=1 - decay)


def check_dataset(cfg: Config, data: WorldDataset, size: int | None = None) -> None:
    """The dataset has the config's frames (or `size`: an upscaling config encodes at its autoencoder's side)."""
    size = size or cfg.size
    problems = []
    if data.size != size:
        problems.append(f"{data.size}×{data.size} frames (export with --size {size})")
    if data.fps != cfg.fps:
        problems.append(f"{data.fps} fps (--fps {cfg.fps})")
    if data.sample_rate != cfg.sample_rate:
        problems.append(f"{data.sample_rate} Hz audio (--sample-rate {cfg.sample_rate})")
    if data.frames_per_clip != cfg.frames:
        problems.append(f"{data.frames_per_clip} frames per clip (--duration {cfg.duration_s})")
    if problems:
        raise DatasetError(f"config {cfg.name} does not match the dataset: it has " + ", ".join(problems))


def refuse_shared(cfg: Config, stage: str) -> None:
    if cfg.shares:
        raise ValueError(f"config {cfg.name} uses a trained {cfg.shares} run's autoencoders and trains no {stage} of its own: start with --stage encode --base RUN")


def pixel_loss(y: torch.Tensor, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The video decoders' loss of picture `y` against `x` ([-1, 1]): L1 + L2, per pixel weighted."""
    return (weight * ((y - x).abs() + (y - x) ** 2)).mean()


def video_ae_loss(model: FrameAutoencoder, x: torch.Tensor, t: VideoAETrain) -> torch.Tensor:
    """The video autoencoder's loss on frames `x` in [-1, 1]: L1 + L2, vivid pixels weighted up, and a
    small penalty on the latent's size."""
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y, z = model(x)
    y = y.float()
    return pixel_loss(y, x, vivid_weight(x, t.vivid_boost)) + t.latent_l2 * z.float().pow(2).mean()


def audio_ae_loss(model: AudioAutoencoder, x: torch.Tensor, t: AudioAETrain) -> torch.Tensor:
    """The audio autoencoder's loss on waves `x`: spectra, envelope, some waveform L1, the latent's size."""
    y, z = model(x)
    return stft_loss(y, x) + envelope_loss(y, x) + t.waveform_l1 * (y - x).abs().mean() * model.cfg.gain + t.latent_l2 * z.pow(2).mean()


def audio_metrics(y: torch.Tensor, val: torch.Tensor) -> dict:
    snr = 10 * math.log10(val.pow(2).mean().item() / max((y - val).pow(2).mean().item(), 1e-12))
    return {"val_stft": stft_loss(y, val).item(), "val_envelope": envelope_loss(y, val).item(), "val_snr_db": snr}


def train_video_ae(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    refuse_shared(cfg, "video-ae")
    check_dataset(cfg, data)
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    t = cfg.video_ae_train
    model = FrameAutoencoder(cfg.video_ae)
    loop = Loop("video-ae", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log)
    train_clips, val_clips = data.split()
    val = to_unit(torch.from_numpy(data.frame_batch(np.random.default_rng(12345), val_clips, 64)))

    def train_step() -> torch.Tensor:
        return video_ae_loss(model, to_unit(torch.from_numpy(data.frame_batch(loop.rng, train_clips, t.batch))), t)

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad():
            y, _ = model(val)
        model.train()
        return {"val_psnr": psnr(y, val)}

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes)


def audio_batch(data: WorldDataset, rng: np.random.Generator, clips: list[int], n: int) -> torch.Tensor:
    picks = rng.choice(clips, size=n)
    return pcm_to_unit(torch.from_numpy(np.stack([data.audio(int(c)) for c in picks]).astype(np.int16)))


def train_audio_ae(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    refuse_shared(cfg, "audio-ae")
    check_dataset(cfg, data)
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    t = cfg.audio_ae_train
    model = AudioAutoencoder(cfg.audio_ae)
    loop = Loop("audio-ae", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log)
    train_clips, val_clips = data.split()
    val = audio_batch(data, np.random.default_rng(12345), val_clips, 8)

    def train_step() -> torch.Tensor:
        return audio_ae_loss(model, audio_batch(data, loop.rng, train_clips, t.batch), t)

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad():
            result = audio_metrics(model(val)[0], val)
        model.train()
        return result

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes)


def encoder_state(ckpt: dict) -> str:
    """Where an autoencoder checkpoint's encoder stands: "trained" with its decoder; for a run restored
    from a shipped model (recover.py), "untrained" until refit-encoders, "refitting" part of the way,
    "refit" once done."""
    return ckpt.get("extra", {}).get("encoder", "trained")


def encoders_untrained(run: Path) -> bool:
    """Whether the run's encoders were never fitted: a run restored from a shipped model without its rest."""
    return any(encoder_state(torch.load(run / f"{stage}.pt", map_location="cpu", weights_only=False)) == "untrained" for stage in ("video-ae", "audio-ae") if (run / f"{stage}.pt").exists())


# Clips the run's shipped denoiser draws for refit-encoders to invert (their latents are the ones the
# generator learnt), the last tenth of them to measure it; and how much that weighs.
ANCHOR_CLIPS = 640
ANCHOR_WEIGHT = 1.0


@torch.no_grad()
def anchor_latents(cfg: Config, run: Path, prompts: list[str], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw frame latents the run's denoiser draws for `prompts` (its student at 4 steps, or its teacher
    at 8 guided ones): video [n·T, C, s, s] and sound [n, channels, T]."""
    from .evaluate import Model
    from .generator import sample

    denoiser, steps, guidance = ("student", 4, 1.0) if (run / "student.pt").exists() else ("generator", 8, 1.5)
    model = Model(cfg, run, denoiser)
    if model.generator is None:
        raise ValueError(f"{run} has no denoiser to draw the latents the encoders must make: restore it from a shipped model first")
    gen = torch.Generator().manual_seed(seed)
    out = []
    for k in range(0, len(prompts), 32):
        ids, mask = model.tokenizer.batch(prompts[k : k + 32])
        noise = torch.randn(len(ids), cfg.frames, cfg.token_dim, generator=gen)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out.append(sample(model.generator, ids, mask, noise, steps, guidance).float() * model.std + model.mean)
    raw = torch.cat(out)
    nl, nv, c, side = cfg.video_ae.latent_numbers, cfg.video_numbers, cfg.video_ae.latent_channels, cfg.video_ae.latent_side
    return raw[:, :, :nl].reshape(-1, c, side, side), raw[:, :, nv:].transpose(1, 2).contiguous()


def refit_encoders(cfg: Config, datasets: list[WorldDataset], run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    """Fits the video and audio encoders to the run's decoders, which do not change: a shipped model
    holds its decoders, not its encoders (recover.py). Each encoder learns, with its autoencoder
    stage's loss, to make the latent its decoder turns back into the clip; with object slots the
    video encoder sees what encode gives it, the frames without their balls. A decoder may paint
    the same picture from more than one latent, and the generator learnt the original encoder's:
    so each encoder also learns to give back the latents the run's shipped denoiser draws, from
    what the decoder paints of them (ANCHOR_CLIPS clips of training prompts; the error, in the
    token statistics' units, is logged as val_anchor). `steps` (default the autoencoder stages'
    own) is the video encoder's, a third as many the audio's; `minutes` is split the same way. The
    checkpoints stay video-ae.pt and audio-ae.pt, under the config that trained the decoders, and
    a --steps above the last resumes them."""
    for d in datasets:
        check_dataset(cfg, d, cfg.video_ae.size)
        if cfg.slots and "background" not in d.layers:
            raise DatasetError(f"config {cfg.name} encodes the frames without their balls: export the dataset {d.root} with --background")
    root = get_config(root_config(cfg.name))
    torch.manual_seed(seed)
    video = FrameAutoencoder(cfg.video_ae)
    audio = AudioAutoencoder(cfg.audio_ae)
    for model, stage in ((video, "video-ae"), (audio, "audio-ae")):
        ckpt = load_stage(run, stage, cfg)
        if encoder_state(ckpt) == "trained":
            raise ValueError(f"{run}/{stage}.pt has the encoder its decoder was trained with: there is nothing to refit (only a run restored from a shipped model without its rest needs it)")
        if encoder_state(ckpt) == "untrained":
            # Start from fresh weights, not the placeholder the restore wrote, then keep the decoder.
            model.decoder.load_state_dict({k.removeprefix("decoder."): v for k, v in ckpt["model"].items() if k.startswith("decoder.")})
            save_atomic({**ckpt, "model": model.state_dict(), "step": 0, "optimizer": None, "extra": {"encoder": "refitting"}}, run / f"{stage}.pt")
        model.decoder.requires_grad_(False)
    splits = [d.split() for d in datasets]
    prompts = [datasets[d].meta(i)["prompt"] for d, (train, _) in enumerate(splits) for i in train]
    picked = np.random.default_rng(seed).choice(len(prompts), size=min(ANCHOR_CLIPS, len(prompts)), replace=False)
    started = time.time()
    anchor_video, anchor_audio = anchor_latents(cfg, run, [prompts[i] for i in picked], seed)
    n_val = max(1, len(picked) // 10)
    stats = np.load(run / "token-stats.npz")
    nl, nv = cfg.video_ae.latent_numbers, cfg.video_numbers
    video_std = torch.from_numpy(stats["std"][:nl]).reshape(1, cfg.video_ae.latent_channels, cfg.video_ae.latent_side, cfg.video_ae.latent_side)
    audio_std = torch.from_numpy(stats["std"][nv:])[None, :, None]
    log(event="anchors", stage="refit-encoders", clips=len(picked), held_out=n_val, elapsed_s=round(time.time() - started, 1))
    v_train, v_val = anchor_video[: -n_val * cfg.frames], anchor_video[-n_val * cfg.frames :]
    a_train, a_val = anchor_audio[:-n_val], anchor_audio[-n_val:]
    v_steps = steps if steps is not None else cfg.video_ae_train.steps
    a_steps = max(1, v_steps // 3)
    v_minutes, a_minutes = (minutes * 0.75, minutes * 0.25) if minutes is not None else (None, None)
    tv = cfg.video_ae_train
    loop = Loop("video-ae", root, video, tv.lr, tv.warmup_steps, v_steps, run, seed, log, extra={"encoder": "refitting"})
    layer = "background" if cfg.slots else "frames"

    def frames(rng: np.random.Generator, n: int, held_out: bool) -> torch.Tensor:
        # An even share of each dataset's clips (the Draft's and the cameos', whose figures wear faces).
        k = np.repeat(np.arange(len(datasets)), -(-n // len(datasets)))[:n]
        parts = [datasets[d].frame_batch(rng, splits[d][1 if held_out else 0], int((k == d).sum()), layer) for d in range(len(datasets))]
        return to_unit(torch.from_numpy(np.concatenate(parts)))

    val = frames(np.random.default_rng(12345), 64, True)

    def video_anchor(z: torch.Tensor) -> torch.Tensor:
        """How far the encoder's latent of what the decoder paints from `z` is from `z`, in standard deviations (squared)."""
        with torch.no_grad():
            painted = video.decoder(z)
        return ((video.encoder(painted) - z) / video_std).pow(2).mean()

    def video_step() -> torch.Tensor:
        loss = video_ae_loss(video, frames(loop.rng, tv.batch, False), tv)
        return loss + ANCHOR_WEIGHT * video_anchor(v_train[torch.from_numpy(loop.rng.choice(len(v_train), size=tv.batch // 2))])

    def video_eval() -> dict:
        video.eval()
        with torch.no_grad():
            y, _ = video(val)
            anchor = video_anchor(v_val).item()
        video.train()
        return {"val_psnr": psnr(y, val), "val_anchor": round(anchor, 5)}

    result = {"video": loop.run(video_step, video_eval, tv.eval_every, tv.checkpoint_minutes, v_minutes)}
    if loop.step >= loop.total:
        loop.extra["encoder"] = "refit"
        loop.checkpoint()
    ta = cfg.audio_ae_train
    aloop = Loop("audio-ae", root, audio, ta.lr, ta.warmup_steps, a_steps, run, seed, log, extra={"encoder": "refitting"})
    clips = [(d, i) for d, (train, _) in enumerate(splits) for i in train]
    held = [(d, i) for d, (_, h) in enumerate(splits) for i in h]

    def waves(rng: np.random.Generator, pool: list[tuple[int, int]], n: int) -> torch.Tensor:
        picks = rng.choice(len(pool), size=n)
        return pcm_to_unit(torch.from_numpy(np.stack([datasets[pool[p][0]].audio(pool[p][1]) for p in picks]).astype(np.int16)))

    aval = waves(np.random.default_rng(12345), held, 8)

    def audio_anchor(z: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            wave = audio.decoder(z)
        return ((audio.encoder(wave) - z) / audio_std).pow(2).mean()

    def audio_step() -> torch.Tensor:
        loss = audio_ae_loss(audio, waves(aloop.rng, clips, ta.batch), ta)
        return loss + ANCHOR_WEIGHT * audio_anchor(a_train[torch.from_numpy(aloop.rng.choice(len(a_train), size=ta.batch))])

    def audio_eval() -> dict:
        audio.eval()
        with torch.no_grad():
            out = {**audio_metrics(audio(aval)[0], aval), "val_anchor": round(audio_anchor(a_val).item(), 5)}
        audio.train()
        return out

    result["audio"] = aloop.run(audio_step, audio_eval, ta.eval_every, ta.checkpoint_minutes, a_minutes)
    if aloop.step >= aloop.total:
        aloop.extra["encoder"] = "refit"
        aloop.checkpoint()
    return result


def upscale_decoder(cfg: Config, run: Path, base: FrameDecoder | None = None) -> UpscaleDecoder:
    """The run's decoder at cfg.size: the shared video autoencoder's decoder (`base`, when already
    loaded), grown by UpscaleDecoder (weights from the video-upscale stage's checkpoint when there is one)."""
    if base is None:
        video = FrameAutoencoder(cfg.video_ae)
        video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
        base = video.decoder
    decoder = UpscaleDecoder(base, cfg.upscale)
    if (run / "video-upscale.pt").exists():
        decoder.load_state_dict(load_stage(run, "video-upscale", cfg)["model"])
    return decoder


def train_video_upscale(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger, anneal_minutes: float | None = None) -> dict:
    """Teaches the shared autoencoder's decoder to paint at cfg.size: frames of that size (the
    background layer, with slots: balls are painted over it) are area-averaged to the autoencoder's
    side, encoded by its frozen encoder, and the UpscaleDecoder learns the full-size frame back. A
    fresh run first logs the PSNR it starts from: the shared decoder's picture, upsampled bilinearly."""
    if cfg.upscale == 1:
        raise ValueError(f"config {cfg.name} draws at its autoencoder's size: it has no video-upscale stage")
    check_dataset(cfg, data)
    layer = "background" if cfg.slots else "frames"
    if layer not in data.layers:
        raise DatasetError(f"config {cfg.name} paints balls from slots over a background: export the dataset with --background")
    torch.manual_seed(seed)
    t = cfg.video_upscale_train
    video = FrameAutoencoder(cfg.video_ae)
    video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
    encoder = video.encoder.eval().requires_grad_(False)
    model = UpscaleDecoder(video.decoder, cfg.upscale)
    loop = Loop("video-upscale", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, anneal_minutes=anneal_minutes)
    train_clips, val_clips = data.split()
    val = to_unit(torch.from_numpy(data.frame_batch(np.random.default_rng(12345), val_clips, 32, layer)))

    def latent(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return encoder(torch.nn.functional.avg_pool2d(x, cfg.upscale)).float()

    val_z = latent(val)

    def train_step() -> torch.Tensor:
        x = to_unit(torch.from_numpy(data.frame_batch(loop.rng, train_clips, t.batch, layer)))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = model(latent(x))
        return pixel_loss(y.float(), x, vivid_weight(x, t.vivid_boost))

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad():
            y = model(val_z)
        model.train()
        return {"val_psnr": psnr(y, val)}

    if loop.step == 0:
        log(event="baseline", stage="video-upscale", step=0, **evaluate())
    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes)


def has_boxes(meta: dict) -> bool:
    """Whether a clip's scene holds boxes (a stack, or loose ones)."""
    scene = meta.get("scene", {})
    return bool(scene.get("boxStack")) or any(o.get("material") == "wooden box" for o in scene.get("objects", []))


# The share of a video-bare batch drawn from clips with boxes: a third of the world's clips hold some,
# and those are the frames the stage changes.
BARE_BOX_SHARE = 0.6


def bare_decoder(cfg: Config, run: Path, video: FrameAutoencoder) -> None:
    """Puts the video-bare stage's decoder (Config.bare_decoder) in `video`, in place; a run without it
    is refused by name."""
    if not (run / "video-bare.pt").exists():
        raise ValueError(f"{run} has no video-bare checkpoint: config {cfg.name} paints its background without boxes (train --stage video-bare)")
    video.decoder.load_state_dict(load_stage(run, "video-bare", cfg)["model"])


def train_video_bare(cfg: Config, datasets: list[WorldDataset], run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    """Teaches the shared autoencoder's decoder to paint the background without its boxes: each frame's
    background layer (with its boxes) is encoded by the frozen encoder, as the run's tokens were, and
    the decoder learns the bare layer of the same frame (the world rendered without balls or boxes).
    The pixels the boxes and their shadows covered weigh more, and clips with boxes are drawn more
    often (BARE_BOX_SHARE). It starts from the shared decoder; a fresh run first logs what that scores."""
    if not cfg.bare_decoder:
        raise ValueError(f"config {cfg.name} paints its background as the latent draws it: it has no video-bare stage")
    for data in datasets:
        check_dataset(cfg, data)
        data.require("background")
        data.require("bare")
    torch.manual_seed(seed)
    t = cfg.video_bare_train
    video = FrameAutoencoder(cfg.video_ae)
    video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
    encoder = video.encoder.eval().requires_grad_(False)
    model = video.decoder
    loop = Loop("video-bare", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log)

    def by_boxes(d: WorldDataset, clips: list[int]) -> tuple[WorldDataset, list[int], list[int]]:
        return d, [i for i in clips if has_boxes(d.meta(i))], [i for i in clips if not has_boxes(d.meta(i))]

    # Every dataset's training clips, split by whether they hold boxes; the held-out ones to measure.
    train_sets = [by_boxes(d, d.split()[0]) for d in datasets]
    if not any(boxed for _, boxed, _ in train_sets):
        raise DatasetError(f"no training clip of {', '.join(str(d.root) for d in datasets)} holds a box: the video-bare stage needs clips with boxes to learn to leave them out")

    def draw(rng: np.random.Generator, n: int, sets: list) -> tuple[torch.Tensor, torch.Tensor]:
        """n frames from random clips: (background layer, bare layer) in [-1, 1]."""
        background, bare = [], []
        for _ in range(n):
            d, boxed, plain = sets[int(rng.integers(len(sets)))]
            pool = boxed if boxed and (not plain or rng.random() < BARE_BOX_SHARE) else plain
            i, f = int(pool[int(rng.integers(len(pool)))]), int(rng.integers(d.frames_per_clip))
            background.append(d.frame(i, f, "background"))
            bare.append(d.frame(i, f, "bare"))
        return to_unit(torch.from_numpy(np.stack(background))), to_unit(torch.from_numpy(np.stack(bare)))

    held = [by_boxes(d, d.split()[1]) for d in datasets]
    if not any(boxed for _, boxed, _ in held):
        # Too few clips to hold one with boxes out (the tests' tiny datasets): measured on training clips, and said so.
        log(event="note", stage="video-bare", message="no held-out clip holds a box: the scores are on training clips")
        held = train_sets
    val_x, val_y = draw(np.random.default_rng(12345), 64, [h for h in held if h[1] or h[2]])
    val_boxed = (val_x - val_y).abs().amax(dim=(1, 2, 3)) > 0.05

    def latent(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return encoder(x).float()

    val_z = latent(val_x)

    def train_step() -> torch.Tensor:
        x, y = draw(loop.rng, t.batch, train_sets)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            p = model(latent(x))
        covered = ((x - y).abs().amax(dim=1, keepdim=True) > 0.05).float()
        return pixel_loss(p.float(), y, vivid_weight(y, t.vivid_boost) + t.vivid_boost * covered)

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad():
            p = model(val_z)
        model.train()
        out = {"val_psnr": psnr(p, val_y)}
        if val_boxed.any():
            out["val_psnr_boxed"] = psnr(p[val_boxed], val_y[val_boxed])
        if (~val_boxed).any():
            out["val_psnr_plain"] = psnr(p[~val_boxed], val_y[~val_boxed])
        return out

    if loop.step == 0:
        log(event="baseline", stage="video-bare", step=0, **evaluate())
    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes)


class RunClips:
    """What the generator stages need of the dataset, written by the encode stage into <run>/clips.json
    (index, seed and prompt per clip, and where the held-out clips start), so they train from the run
    folder alone: on a lent GPU machine the tokens travel, the 15 GB of frames do not."""

    def __init__(self, run: Path):
        path = run / "clips.json"
        if not path.exists():
            raise ValueError(f"{run} has no clips.json: run --stage encode first")
        saved = json.loads(path.read_text())
        self.metas: list[dict] = saved["clips"]
        self.n_train: int = saved["train"]

    @staticmethod
    def entries(datasets: list[WorldDataset]) -> list[dict]:
        """What clips.json holds of each clip, in encode_order."""
        return [{k: datasets[d].meta(i)[k] for k in ("index", "seed", "prompt")} | ({"dataset": str(datasets[d].root)} if len(datasets) > 1 else {}) for d, i in encode_order(datasets)]

    @staticmethod
    def write(run: Path, datasets: list[WorldDataset]) -> None:
        """In encode_order: every dataset's training clips, then every dataset's held-out clips."""
        n_train = sum(len(d.split()[0]) for d in datasets)
        clips = RunClips.entries(datasets)
        replace_file(run / "clips.json", lambda f: f.write((json.dumps({"train": n_train, "clips": clips}) + "\n").encode()))

    def __len__(self) -> int:
        return len(self.metas)

    def meta(self, i: int) -> dict:
        return self.metas[i]

    def prompts(self) -> list[str]:
        return [m["prompt"] for m in self.metas]

    def split(self) -> tuple[list[int], list[int]]:
        return list(range(self.n_train)), list(range(self.n_train, len(self.metas)))


def encode_order(datasets: list[WorldDataset]) -> list[tuple[int, int]]:
    """(dataset, clip) in the order a run holds them: every dataset's training clips, then every
    dataset's held-out clips, so the run's own split (clips.json's "train") keeps each held out."""
    splits = [d.split() for d in datasets]
    return [(d, i) for d, (train, _) in enumerate(splits) for i in train] + [(d, i) for d, (_, held) in enumerate(splits) for i in held]


def token_stats(cfg: Config, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-number mean and standard deviation [D] of raw frame tokens [N, D]. The balls' slots share
    theirs across slots: the fifth ball is rare, and its own statistics would blow its values up
    (present = 1 would sit ~8 deviations out), where pooled they all stay within a few. The head's
    slot has its own (a head is larger and placed otherwise; its colour numbers are always 0). The
    boxes' slots share theirs, as the balls' do."""
    mean, std = flat.mean(0), flat.std(0)
    pooled = [(cfg.video_ae.latent_numbers, cfg.slots)] if cfg.slots else []
    if cfg.boxes:
        pooled.append((cfg.boxes_at, cfg.boxes))
    for at, count in pooled:
        end = at + count * SLOT_NUMBERS
        fields = flat[:, at:end].reshape(-1, count, SLOT_NUMBERS)
        mean[at:end] = np.tile(fields.mean((0, 1)), count)
        std[at:end] = np.tile(fields.std((0, 1)), count)
    return mean.astype(np.float32), (std + 1e-4).astype(np.float32)


def widen_stats(cfg: Config, base_mean: np.ndarray, base_std: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A config that adds slots to its base run's (a head slot, or box slots: configs.added_numbers):
    the base's statistics for everything the base has (so its generator's tokens mean the same), the
    new slots' from these raw tokens [N, D]."""
    new = added_numbers(cfg)
    if new is None:
        raise ValueError(f"config {cfg.name} adds no slots to its base run's")
    added = new.stop - new.start
    if base_mean.shape[0] != cfg.token_dim - added:
        raise ValueError(f"the base run's statistics cover {base_mean.shape[0]} numbers a frame; config {cfg.name} adds {added} to {cfg.token_dim - added}")
    own_mean, own_std = token_stats(cfg, flat)
    mean = np.concatenate([base_mean[: new.start], own_mean[new], base_mean[new.start :]]).astype(np.float32)
    std = np.concatenate([base_std[: new.start], own_std[new], base_std[new.start :]]).astype(np.float32)
    return mean, std


def base_tokens(cfg: Config, datasets: list[WorldDataset], base: Path) -> np.ndarray | None:
    """The base run's raw frame tokens [N, T, D_base] when a config that adds slots to it
    (configs.added_numbers) encodes the same clips in the same order (its clips.json is what this
    run's would be): the autoencoders are the base's, so its latents and sound are this run's, and
    only the new slots need computing (minutes, where encoding the frames again takes half an hour on
    2 cores). None otherwise."""
    if added_numbers(cfg) is None or not (base / "tokens.npy").exists() or not (base / "clips.json").exists():
        return None
    if RunClips(base).metas != RunClips.entries(datasets):
        return None
    stats = np.load(base / "token-stats.npz")
    saved = np.load(base / "tokens.npy", mmap_mode="r")
    return np.asarray(saved, dtype=np.float32) * stats["std"] + stats["mean"]


def added_slots(cfg: Config, data: WorldDataset, i: int) -> np.ndarray:
    """The slots a config adds to its base run's (configs.added_numbers) for clip i, float32
    [T, slots, SLOT_NUMBERS], as clip_slots makes them, reading only what they need: the head's from
    the clip's tracks, the boxes' from its frames where it has boxes."""
    meta = data.meta(i)
    if adds_head_slot(cfg):
        return head_slot(meta, cfg.frames, data.size)[:, None]
    first = get_config(cfg.shares).boxes
    if not box_order(meta):
        return np.zeros((cfg.frames, cfg.boxes - first, SLOT_NUMBERS), dtype=np.float32)
    return box_slots(meta, data.clip(i).frames, cfg.boxes)[:, first:]


def adopt_base(cfg: Config, run: Path, base: Path) -> None:
    """Copies a base run's decoders, tokenizer and token statistics into `run` (a cameo run, or a run
    of a config that builds on the base's), or checks that the ones there are the base's."""
    if (base / "video-ae.pt").exists():
        made_with = torch.load(base / "video-ae.pt", map_location="cpu", weights_only=False)["config"]
        wanted = root_config(cfg.name)
        if made_with != wanted:
            raise ValueError(f"--base {base} is a {made_with} run; config {cfg.name} builds on a {wanted} run")
    if cfg.shares and (base / "token-stats.npz").exists():
        # Pro builds on the cameo run, whose tokens carry the head's slot: a plain Draft run's do not.
        has, wants = np.load(base / "token-stats.npz")["mean"].shape[0], get_config(cfg.shares).token_dim
        if has != wants:
            raise ValueError(f"--base {base} makes frame tokens of {has} numbers; config {cfg.name} builds on a {cfg.shares} run, whose tokens have {wants}")
    for name in BASE_FILES:
        source, target = base / name, run / name
        if not source.exists():
            raise ValueError(f"--base {base} has no {name}: train and encode the base run first")
        if name == "token-stats.npz" and added_numbers(cfg) is not None:
            continue  # widened from the base's by encode_dataset (widen_stats)
        if target.exists():
            if target.read_bytes() != source.read_bytes():
                raise ValueError(f"{target} differs from the base run's {name}: a cameo run must share its base's decoders, tokenizer and statistics (use a new --run folder)")
            continue
        shutil.copyfile(source, target)
    if not adds_head_slot(cfg):
        # Pro decodes the shared tokens as the base run does: its locator finds the head where the
        # shared latent draws it, its refiners move the balls and make the sound follow them.
        for stage, (flag, what) in DECODER_STAGES.items():
            if not getattr(cfg, flag):
                continue
            if not (base / f"{stage}.pt").exists():
                raise ValueError(f"--base {base} has no {stage} checkpoint: train --stage {stage} on it first (config {cfg.name} {what})")
            if not (run / f"{stage}.pt").exists() or (run / f"{stage}.pt").read_bytes() != (base / f"{stage}.pt").read_bytes():
                shutil.copyfile(base / f"{stage}.pt", run / f"{stage}.pt")
    if cfg.box_planner:
        # Its teacher and student are the base's, as they are: the planner is trained on the student's reading of the prompt.
        for stage in PLANNED_STAGES:
            if not (base / f"{stage}.pt").exists():
                raise ValueError(f"--base {base} has no {stage} checkpoint: config {cfg.name} samples with its base's {stage} (train --stage {stage} on it first)")
            if not (run / f"{stage}.pt").exists() or (run / f"{stage}.pt").read_bytes() != (base / f"{stage}.pt").read_bytes():
                shutil.copyfile(base / f"{stage}.pt", run / f"{stage}.pt")
    (run / "base.json").write_text(json.dumps({"base": str(base.resolve())}) + "\n")


# The slot pool's workers (encode_clips with a pool) keep their dataset open between jobs.
_open: dict[str, WorldDataset] = {}


def _slots_job(job: tuple[str, int, int, bool, int]) -> np.ndarray:
    root, i, slots, head, boxes = job
    d = _open.get(root)
    if d is None:
        _open.clear()  # one dataset at a time
        d = _open[root] = WorldDataset(root)
    return clip_slots(d.meta(i), d.clip(i).frames, d.background(i), slots, head, boxes)


def encode_clips(cfg: Config, data: WorldDataset, video: torch.nn.Module, audio: torch.nn.Module, device: torch.device, pool=None, batch: int = 1, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Raw (unnormalised) frame tokens float32 [n, T, D] of every clip of `data`, in its order: the
    video latent of each frame (of the frames without their balls, with slots), each ball's slot
    from its track, the sound latent. `batch` clips go through the encoders at once (1 on the CPU; a
    GPU takes 64, bfloat16 rounding then differing slightly); the slots are computed by `pool` (a
    multiprocessing pool, as regenerate.py uses on a GPU machine) or here."""
    n, nl, nv = len(data), cfg.video_ae.latent_numbers, cfg.video_numbers
    tokens = np.zeros((n, cfg.frames, cfg.token_dim), dtype=np.float32)
    if cfg.slots:
        jobs = [(str(data.root), i, cfg.slots, cfg.head_slot, cfg.boxes) for i in range(n)]
        slots = pool.imap(_slots_job, jobs, chunksize=8) if pool is not None else map(_slots_job, jobs)
        for i, s in enumerate(slots):
            tokens[i, :, nl:nv] = s.reshape(cfg.frames, -1)
    with torch.no_grad():
        for a in range(0, n, batch):
            idx = range(a, min(n, a + batch))
            pixels = np.stack([data.background(i) if cfg.slots else data.clip(i).frames for i in idx])
            with torch.autocast(device.type, dtype=torch.bfloat16):
                zv = video(to_unit(torch.from_numpy(pixels).to(device).flatten(0, 1))).float()
            za = audio(pcm_to_unit(torch.from_numpy(np.stack([data.audio(i).astype(np.int16) for i in idx])).to(device))).float()
            tokens[a : a + len(idx), :, :nl] = zv.reshape(len(idx), cfg.frames, -1).cpu().numpy()
            tokens[a : a + len(idx), :, nv:] = za.transpose(1, 2).cpu().numpy()
            if progress is not None:
                progress(len(idx))
    return tokens


def encode_dataset(cfg: Config, data: WorldDataset | list[WorldDataset], run: Path, log: Logger, base: Path | None = None) -> dict:
    """Every clip's frame tokens [N, T, D] (float16) with per-channel mean/std, the tokenizer and
    clips.json. With object slots the video latent is of the frames without their balls, and each
    ball's slot comes from its track (slots.py), then, with a head slot, the figure's head. With `base`
    (a cameo run, or a config that builds on the base's), the base run's decoders, tokenizer and
    statistics are used as they are (a head slot's statistics are added from these clips), and a
    single dataset exported with --cameos also gives appearance.npy, each clip's reference image.
    Several datasets make one run: their training clips first, then their held-out clips."""
    datasets = data if isinstance(data, list) else [data]
    for d in datasets:
        check_dataset(cfg, d, cfg.video_ae.size)
        if cfg.slots and "background" not in d.layers:
            raise DatasetError(f"config {cfg.name} paints balls from slots: export the dataset {d.root} with --background")
    # A run restored from a shipped model (recover.py) has its decoders, statistics and tokenizer: its
    # tokens are made with them, as a base run's are for a run built on it.
    recovered = (run / "recovered.json").exists()
    if recovered and base is not None:
        raise ValueError(f"{run} was restored from a shipped model: encode into it without --base")
    if cfg.shares and base is None and not recovered:
        raise ValueError(f"config {cfg.name} builds on a trained {cfg.shares} run: pass it with --base RUN")
    if base is not None:
        adopt_base(cfg, run, base)
    if encoders_untrained(run):
        raise ValueError(f"{run} was restored from a shipped model without its encoders: fit them first with --stage refit-encoders")
    video = FrameAutoencoder(cfg.video_ae)
    video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
    audio = AudioAutoencoder(cfg.audio_ae)
    audio.load_state_dict(load_stage(run, "audio-ae", cfg)["model"])
    video.eval()
    audio.eval()
    order = encode_order(datasets)
    n = len(order)
    n_train = sum(len(d.split()[0]) for d in datasets)
    tokens = np.zeros((n, cfg.frames, cfg.token_dim), dtype=np.float32)
    started, done = time.time(), 0

    def progress(clips: int) -> None:
        nonlocal done
        done += clips
        if done % 500 < clips:
            log(event="progress", stage="encode", clips=done, of=n, elapsed_s=round(time.time() - started, 1))

    reused = base_tokens(cfg, datasets, base) if base is not None else None
    for d, source in enumerate(datasets):
        # Where the dataset's clips sit in the run: encode_order keeps each dataset's own order.
        at = [k for k, (dd, _) in enumerate(order) if dd == d]
        if reused is None:
            tokens[at] = encode_clips(cfg, source, video.encoder, audio.encoder, torch.device("cpu"), progress=progress)
            continue
        # The base run encoded these clips: its numbers are kept, the new slots' computed beside them.
        new = added_numbers(cfg)
        assert new is not None
        for k, i in zip(at, (i for dd, i in order if dd == d)):
            tokens[k, :, new] = added_slots(cfg, source, i).reshape(cfg.frames, -1)
            tokens[k, :, : new.start] = reused[k, :, : new.start]
            tokens[k, :, new.stop :] = reused[k, :, new.start :]
            progress(1)
    prompts = [datasets[d].meta(i)["prompt"] for d, i in order]
    if base is None and not recovered:
        mean, std = token_stats(cfg, tokens[:n_train].reshape(-1, cfg.token_dim))
        replace_file(run / "token-stats.npz", lambda f: np.savez(f, mean=mean, std=std))
        tokenizer = Tokenizer.build(prompts[:n_train], max_tokens=cfg.generator.max_tokens)
        tokenizer.save(run / "tokenizer.json")
    else:
        if added_numbers(cfg) is not None and base is not None:
            base_stats = np.load(base / "token-stats.npz")
            mean, std = widen_stats(cfg, base_stats["mean"], base_stats["std"], tokens[:n_train].reshape(-1, cfg.token_dim))
            replace_file(run / "token-stats.npz", lambda f: np.savez(f, mean=mean, std=std))
        stats = np.load(run / "token-stats.npz")
        mean, std = stats["mean"], stats["std"]
        if mean.shape[0] != cfg.token_dim:
            raise ValueError(f"{run}/token-stats.npz covers {mean.shape[0]} numbers a frame, config {cfg.name} {cfg.token_dim}: encode into a new --run folder")
        tokenizer = Tokenizer.load(run / "tokenizer.json")
    replace_file(run / "tokens.npy", lambda f: np.save(f, ((tokens - mean) / std).astype(np.float16)))
    if len(datasets) == 1 and "appearance" in datasets[0].layers:
        replace_file(run / "appearance.npy", lambda f: np.save(f, np.stack([datasets[0].appearance(i) for _, i in order])))
    RunClips.write(run, datasets)
    lengths = [len(tokenizer.encode(p)[0]) for p in prompts]
    result = {"stage": "encode", "clips": n, "datasets": len(datasets), "vocab": len(tokenizer.vocab), "longest_prompt_tokens": max(lengths), "truncated_prompts": sum(l >= cfg.generator.max_tokens for l in lengths), "elapsed_s": round(time.time() - started, 1)}
    if cfg.head_slot:
        heads = tokens[:, :, cfg.head_at] > 0.5
        result["clips_with_a_head"] = int(heads.any(axis=1).sum())
    log(event="end", **result)
    return result


def load_tokens(run: Path, clips: RunClips, device: torch.device) -> torch.Tensor:
    if not (run / "tokens.npy").exists():
        raise ValueError(f"{run} has no tokens.npy: run --stage encode first")
    tokens = torch.from_numpy(np.load(run / "tokens.npy").astype(np.float32))
    if tokens.shape[0] != len(clips):
        raise ValueError(f"{run}/tokens.npy holds {tokens.shape[0]} clips, clips.json {len(clips)}: run --stage encode again")
    return tokens.to(device)


def restrict_training(model: torch.nn.Module, prefixes: list[str]) -> list[str]:
    """Freezes every weight of the model but those whose names are, or start with, one of the prefixes
    (`pos` is the generator's frame embeddings, `blocks.6` its seventh block), and returns the names
    of those left to train. A prefix that names no weight is refused, with the top-level names."""
    names = [n for n, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(n == prefix or n.startswith(prefix + ".") for n in names):
            tops = sorted({n.split(".")[0] for n in names})
            raise ValueError(f"--train-only {prefix}: the generator has no weight of that name (its weights: {', '.join(tops)})")
    kept = []
    for name, p in model.named_parameters():
        keep = any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)
        p.requires_grad_(keep)
        if keep:
            kept.append(name)
    return kept


def train_generator(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger, device: torch.device = torch.device("cpu"), anneal_minutes: float | None = None, batch: int | None = None, lr: float | None = None, train_only: list[str] | None = None, streamed: Path | None = None) -> dict:
    """The teacher. With `streamed`, a folder another process streams clips into (regenerate.stream_more),
    the chunks that have arrived join the training clips every GROW_EVERY steps; the run's own
    held-out clips stay the measure."""
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    clips = RunClips(run)
    tokens = load_tokens(run, clips, device)
    if not (run / "tokenizer.json").exists():
        raise ValueError(f"{run} has no tokenizer.json: run --stage encode first")
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    t = cfg.generator_train
    b = batch or t.batch
    # The teacher learns from prompts alone; the cameo stage adds the appearance encoder to it.
    model = generator_for(cfg.generator, len(tokenizer.vocab)).to(device)
    grown_from = None
    if cfg.shares and not (run / "generator.pt").exists():
        # The first step of a config that builds on another: its base run's teacher (EMA), grown.
        if not (run / "base.json").exists():
            raise ValueError(f"{run} has no base.json: config {cfg.name} starts with --stage encode --base RUN")
        base = Path(json.loads((run / "base.json").read_text())["base"])
        ckpt = torch.load(base / "generator.pt", map_location="cpu", weights_only=False) if (base / "generator.pt").exists() else None
        if ckpt is None or ckpt["config"] != cfg.shares:
            raise ValueError(f"the base run {base} has no trained {cfg.shares} generator to grow from")
        src = get_config(cfg.shares).generator
        model.load_state_dict(grow(ckpt["extra"]["ema"], src, cfg.generator, len(tokenizer.vocab)))
        grown_from = {"base": str(base), "base_step": ckpt["step"], "blocks": [src.depth, cfg.generator.depth], "frames": [src.frames, cfg.generator.frames], "slots": [src.slots, cfg.generator.slots]}
    ema = copy.deepcopy(model).requires_grad_(False)
    trained = restrict_training(model, train_only) if train_only else None
    # A larger batch (on a GPU) takes a larger step, by √ of the ratio and at most twice the config's.
    loop = Loop("generator", cfg, model, lr or t.lr * min(2.0, math.sqrt(b / t.batch)), t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema}, anneal_minutes=anneal_minutes)
    if grown_from is not None:
        log(event="init", stage="generator", **grown_from)
    if trained is not None:
        log(event="train-only", stage="generator", prefixes=train_only, tensors=len(trained), params=sum(p.numel() for p in model.parameters() if p.requires_grad))
    train_clips, val_clips = clips.split()
    ids_all, mask_all = (x.to(device) for x in tokenizer.batch(clips.prompts()))
    val = torch.tensor(val_clips[:64], device=device)
    weights = cfg.loss_weights().to(device)
    val_gen = torch.Generator().manual_seed(777)
    val_noise = torch.randn(len(val), cfg.frames, cfg.token_dim, generator=val_gen).to(device)
    val_t = torch.rand(len(val), generator=val_gen).to(device)

    def flow_loss(net: FlowGenerator, idx: torch.Tensor, noise: torch.Tensor, tt: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        x0 = tokens[idx]
        ids, mask = ids_all[idx], mask_all[idx]
        if drop is not None:
            ids, mask = drop_prompt(ids, mask, drop)
        xt = (1 - tt[:, None, None]) * x0 + tt[:, None, None] * noise
        with torch.autocast(device.type, dtype=torch.bfloat16):
            v = net(xt, tt, ids, mask)
        return (weights * (v.float() - (noise - x0)) ** 2).mean()

    pool = np.asarray(train_clips)
    taken: set[str] = set()

    def feed() -> None:
        """The streamed chunks that arrived since the last look, appended to the training clips."""
        nonlocal tokens, ids_all, mask_all, pool
        from .regenerate import STREAM_GLOB, read_stream_chunk

        assert streamed is not None
        fresh = sorted(p for p in streamed.glob(STREAM_GLOB) if p.name not in taken)
        added = 0
        for path in fresh:
            chunk, prompts = read_stream_chunk(path, cfg.frames, cfg.token_dim)
            ids, mask = tokenizer.batch(prompts)
            n = tokens.shape[0]
            tokens = torch.cat([tokens, torch.from_numpy(chunk.astype(np.float32)).to(device)])
            ids_all, mask_all = torch.cat([ids_all, ids.to(device)]), torch.cat([mask_all, mask.to(device)])
            pool = np.concatenate([pool, np.arange(n, n + len(prompts))])
            taken.add(path.name)
            added += len(prompts)
        if fresh:
            log(event="grow", stage="generator", step=loop.step, chunks=len(fresh), clips=added, train_clips=len(pool))

    def train_step() -> torch.Tensor:
        if streamed is not None and loop.step % GROW_EVERY == 0:
            feed()
        idx = torch.from_numpy(loop.rng.choice(pool, size=b)).to(device)
        noise = torch.randn(b, cfg.frames, cfg.token_dim, device=device)
        # Logit-normal flow times: more training where the picture takes shape, mid-way.
        tt = torch.sigmoid(torch.randn(b, device=device))
        drop = torch.rand(b, device=device) < t.prompt_dropout
        return flow_loss(model, idx, noise, tt, drop)

    def after_step() -> None:
        with torch.no_grad():
            decay = min(t.ema, (1 + loop.step) / (10 + loop.step))
            ema_update(ema, model, decay)

    bench_model = None

    def bench() -> dict:
        """The physics bench on a few held-out prompts, sampled from the EMA weights."""
        nonlocal bench_model
        from .evaluate import Model, initial_noise, judge_folder, write_dataset
        from .generator import sample

        if bench_model is None:
            bench_model = Model(cfg, run, denoiser="")
        picks = val_clips[: t.bench_clips]
        metas = [clips.meta(i) for i in picks]
        ids, mask = tokenizer.batch([m["prompt"] for m in metas])
        noise = torch.stack([initial_noise(cfg, int(m["seed"])) for m in metas])
        ema.eval()
        out = sample(ema, ids.to(device), mask.to(device), noise.to(device), 8, 2.0).cpu()
        outs = [(*bench_model.decode(tok), {"index": m["index"], "seed": m["seed"], "prompt": m["prompt"]}) for tok, m in zip(out, metas)]
        folder = run / "bench" / f"generator-{loop.step}"
        write_dataset(folder, cfg, outs, "zoetrope-model")
        rates = judge_folder(folder)["passRate"]
        return {f"bench_{k}": round(v, 3) for k, v in rates.items()}

    def evaluate() -> dict:
        with torch.no_grad():
            result = {"val_flow_loss": flow_loss(ema, val, val_noise, val_t, None).item()}
        # The bench needs the decoders and Node (the judge): not there on a GPU machine, which gets the tokens alone.
        if t.bench_every and loop.step > 0 and loop.step % t.bench_every == 0 and (run / "video-ae.pt").exists() and device.type == "cpu":
            result.update(bench())
        return result

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)


def train_cameo(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger, device: torch.device = torch.device("cpu"), anneal_minutes: float | None = None, batch: int | None = None, lr: float | None = None) -> dict:
    """Teaches a trained generator (the base run's) to draw a cameo: the figure wears the face of a
    reference appearance image. Fine-tunes it, with a new appearance encoder (generator.py), on the
    cameo run's clips (each with its reference) mixed half and half with the base run's clips (no
    cameo), so what it drew before is kept. The result is this run's generator.pt, which exports and
    evaluates like any generator. Validation reports the flow loss on held-out cameo clips with their
    own reference and with another clip's: the gap is how much the reference steers the picture."""
    if cfg.generator.appearance_side == 0:
        raise ValueError(f"config {cfg.name} has no cameo conditioning (appearance_side = 0)")
    if not (run / "base.json").exists():
        raise ValueError(f"{run} is not a cameo run: encode a dataset exported with --cameos into it with --stage encode --base <run>")
    base = Path(json.loads((run / "base.json").read_text())["base"])
    torch.manual_seed(seed)
    clips, base_clips = RunClips(run), RunClips(base)
    tokens, base_tokens = load_tokens(run, clips, device), load_tokens(base, base_clips, device)
    if not (run / "appearance.npy").exists():
        raise ValueError(f"{run} has no appearance.npy: its dataset was not exported with --cameos")
    side = cfg.generator.appearance_side
    appearance = torch.from_numpy(np.load(run / "appearance.npy")).float().div(255).to(device)
    if appearance.shape[1:] != (side, side, 3):
        raise ValueError(f"{run}/appearance.npy holds {tuple(appearance.shape[1:])} images; config {cfg.name} takes ({side}, {side}, 3): export with the default cameo size")
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    t = cfg.generator_train
    b = batch or t.batch
    model = FlowGenerator(cfg.generator, len(tokenizer.vocab)).to(device)
    ema = copy.deepcopy(model).requires_grad_(False)
    fresh = not (run / "generator.pt").exists()
    if fresh:
        start = load_stage(base, "generator", cfg)["extra"]["ema"]
        missing, unexpected = model.load_state_dict(start, strict=False)
        if unexpected or any(not k.startswith("appearance.") for k in missing):
            raise ValueError(f"the base generator does not fit config {cfg.name}: missing {missing}, unexpected {unexpected}")
        ema.load_state_dict(model.state_dict())
    total = steps if steps is not None else 4_000
    loop = Loop("generator", cfg, model, lr or t.lr / 2, t.warmup_steps, total, run, seed, log, extra={"ema": ema}, anneal_minutes=anneal_minutes)
    if fresh:
        log(event="init", stage="cameo", base=str(base), new_parameters=sum(p.numel() for p in model.appearance.parameters()))
    train_clips, val_clips = clips.split()
    base_train, _ = base_clips.split()
    ids_all, mask_all = (x.to(device) for x in tokenizer.batch(clips.prompts()))
    base_ids, base_mask = (x.to(device) for x in tokenizer.batch(base_clips.prompts()))
    weights = cfg.loss_weights().to(device)
    val = torch.tensor(val_clips[:64], device=device)
    val_gen = torch.Generator().manual_seed(777)
    val_noise = torch.randn(len(val), cfg.frames, cfg.token_dim, generator=val_gen).to(device)
    val_t = torch.rand(len(val), generator=val_gen).to(device)
    # Another clip's reference for each held-out clip: what the loss would be if the face were ignored.
    val_other = val[torch.roll(torch.arange(len(val)), 1)]

    def flow_loss(net: FlowGenerator, x0: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, app: torch.Tensor, cameo: torch.Tensor, noise: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        xt = (1 - tt[:, None, None]) * x0 + tt[:, None, None] * noise
        with torch.autocast(device.type, dtype=torch.bfloat16):
            v = net(xt, tt, ids, mask, app, cameo)
        return (weights * (v.float() - (noise - x0)) ** 2).mean()

    def train_step() -> torch.Tensor:
        half = b // 2
        ci = torch.from_numpy(loop.rng.choice(train_clips, size=half)).to(device)
        bi = torch.from_numpy(loop.rng.choice(base_train, size=b - half)).to(device)
        x0 = torch.cat([tokens[ci], base_tokens[bi]])
        ids, mask = torch.cat([ids_all[ci], base_ids[bi]]), torch.cat([mask_all[ci], base_mask[bi]])
        app = torch.cat([appearance[ci], torch.zeros(b - half, side, side, 3, device=device)])
        cameo = torch.cat([torch.ones(half, device=device), torch.zeros(b - half, device=device)])
        # The unconditional case guidance compares against: no prompt and no cameo together. A cameo
        # is also dropped alone, so a prompt with a figure and no cameo still draws a plain figure.
        drop = torch.rand(b, device=device) < t.prompt_dropout
        ids, mask = drop_prompt(ids, mask, drop)
        cameo = cameo * (~drop).float() * (torch.rand(b, device=device) >= t.prompt_dropout).float()
        noise = torch.randn(b, cfg.frames, cfg.token_dim, device=device)
        tt = torch.sigmoid(torch.randn(b, device=device))
        return flow_loss(model, x0, ids, mask, app, cameo, noise, tt)

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, model, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            args = (tokens[val], ids_all[val], mask_all[val])
            ones = torch.ones(len(val), device=device)
            own = flow_loss(ema, *args, appearance[val], ones, val_noise, val_t).item()
            other = flow_loss(ema, *args, appearance[val_other], ones, val_noise, val_t).item()
            none = flow_loss(ema, *args, appearance[val], 0 * ones, val_noise, val_t).item()
        return {"val_flow_loss": own, "val_other_face": other, "val_no_cameo": none}

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run train --", description="Train a Zoetrope model stage on the world's dataset.")
    p.add_argument("--config", required=True, help="draft, pro, or tiny / tiny-pro for tests")
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--data", action="append", default=None, help="dataset folder written by `npm run world -- export` (the autoencoder and encode stages; later stages read the run folder); encode takes it more than once to make one run of several datasets")
    p.add_argument("--run", required=True, help="folder for checkpoints and logs (resumed when it holds a checkpoint)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    p.add_argument("--steps", type=int, default=None, help="total steps (default: the config's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine (generator, pairs and student stages)")
    p.add_argument("--anneal-minutes", type=float, default=None, help="run the learning-rate schedule over this many minutes instead of over the steps")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default: the config's, scaled for --batch); lower for fine-tuning a trained model")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: the config's; the learning rate scales with its square root, at most 2×)")
    p.add_argument("--base", default=None, help="encode: a trained run whose decoders, tokenizer and statistics a cameo run (or a Pro run, on a Draft run) shares")
    p.add_argument("--method", default=None, choices=("reflow", "progressive"), help="student: the distillation objective (default: the config's); reflow trains on the ends of whatever paths the pairs stage kept")
    p.add_argument("--grow", default=None, metavar="DIR", help="generator: clips streamed into DIR while it trains (python3 -m zoetrope.regenerate) join its training clips as they arrive")
    p.add_argument("--train-only", action="append", default=None, help="generator: train only the weights under this name (more than once for several; e.g. pos, the frame embeddings, so a grown generator learns its new frames and keeps the rest)")
    p.add_argument("--teacher-steps", type=int, default=None, help="pairs: the teacher's steps (default: the config's; a multiple of the student's for progressive distillation)")
    p.add_argument("--teacher-guidance", type=float, default=None, help="pairs: the teacher's guidance (default: the config's; at least 1)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        cfg = get_config(args.config)
        if args.method is not None:
            if args.stage != "student":
                raise ValueError(f"--method is for --stage student, not {args.stage}")
            cfg = replace(cfg, distill=replace(cfg.distill, method=args.method))
        if (args.teacher_steps is not None or args.teacher_guidance is not None) and args.stage != "pairs":
            raise ValueError(f"--teacher-steps and --teacher-guidance are for --stage pairs, not {args.stage}")
        cfg = replace(cfg, distill=teacher_sampler(cfg.distill, args.teacher_steps, args.teacher_guidance))
        if args.grow is not None and args.stage != "generator":
            raise ValueError(f"--grow is for --stage generator, not {args.stage}")
        if args.grow is not None and not Path(args.grow).is_dir():
            raise ValueError(f"--grow {args.grow} is not a folder: give the folder the streaming process writes its chunks into")
        device = torch.device(args.device)
        if device.type != "cpu" and not torch.cuda.is_available():
            raise ValueError(f"--device {args.device}: this machine has no CUDA GPU")
        if args.train_only is not None and args.stage != "generator":
            raise ValueError(f"--train-only is for --stage generator, not {args.stage}")
        if args.anneal_minutes is not None and args.stage not in ("video-upscale", "generator", "cameo", "student"):
            raise ValueError(f"--anneal-minutes is for the video-upscale, generator, cameo and student stages, not {args.stage}")
        if device.type != "cpu" and args.stage not in ("generator", "cameo", "pairs", "student"):
            raise ValueError(f"--device {args.device} is for the generator, pairs and student stages; {args.stage} runs on the CPU")
        if cfg.box_planner and args.stage in ("generator", "cameo", "pairs", "student"):
            raise ValueError(f"config {cfg.name} samples with its base run's teacher and student as they are (its tokens hold box slots they do not draw): train --stage {args.stage} on the {cfg.shares} run, then encode this run again with --base")
        run = Path(args.run)
        data = None
        if args.stage in ("video-ae", "audio-ae", "encode", "video-upscale", "video-bare", "refit-encoders"):
            if args.data is None:
                raise ValueError(f"--stage {args.stage} needs --data (the dataset folder)")
            if len(args.data) > 1 and args.stage not in ("encode", "video-bare", "refit-encoders"):
                raise ValueError(f"--stage {args.stage} trains on one dataset: pass --data once (encode, video-bare and refit-encoders take several)")
            datasets = [WorldDataset(d) for d in args.data]
            data = datasets[0]
        run.mkdir(parents=True, exist_ok=True)
        log = Logger(run / f"{args.stage}.log.jsonl", args.quiet)
        if args.stage == "video-ae":
            train_video_ae(cfg, data, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "audio-ae":
            train_audio_ae(cfg, data, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "encode":
            encode_dataset(cfg, datasets, run, log, Path(args.base) if args.base else None)
        elif args.stage == "refit-encoders":
            refit_encoders(cfg, datasets, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "video-bare":
            train_video_bare(cfg, datasets, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "video-upscale":
            train_video_upscale(cfg, data, run, args.seed, args.minutes, args.steps, log, args.anneal_minutes)
        elif args.stage == "generator":
            train_generator(cfg, run, args.seed, args.minutes, args.steps, log, device, args.anneal_minutes, args.batch, args.lr, args.train_only, Path(args.grow) if args.grow else None)
        elif args.stage == "cameo":
            train_cameo(cfg, run, args.seed, args.minutes, args.steps, log, device, args.anneal_minutes, args.batch, args.lr)
        elif args.stage == "head-locator":
            from .head_locator import train_head_locator

            train_head_locator(cfg, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "track-refiner":
            from .track_refiner import train_track_refiner

            train_track_refiner(cfg, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "sound-refiner":
            from .sound_refiner import train_sound_refiner

            train_sound_refiner(cfg, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "box-planner":
            from .box_planner import train_box_planner

            train_box_planner(cfg, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "pairs":
            make_pairs(cfg, run, args.seed, log, args.minutes, device, args.batch)
        else:
            distill_student(cfg, run, args.seed, args.minutes, args.steps, log, device, args.anneal_minutes, args.batch, args.lr)
    except (ValueError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
