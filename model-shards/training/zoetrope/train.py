"""`npm run train -- --config draft --stage <stage> --data DIR --run DIR [--minutes M] [--steps N]`

Stages, in order: video-ae and audio-ae (the autoencoders), encode (every clip's frame tokens and the
prompt tokenizer, from the trained encoders), generator (rectified flow over the frame tokens: the
teacher), pairs and student (guided reflow to few steps, see distill.py). Each
resumes from its checkpoint in the run folder, logs one JSON line per event to
<run>/<stage>.log.jsonl, and is deterministic from --seed given the same thread count.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .audio_ae import AudioAutoencoder, envelope_loss, pcm_to_unit, stft_loss
from .configs import Config, get_config
from .data import DatasetError, WorldDataset
from .distill import distill_student, make_pairs
from .generator import FlowGenerator, drop_prompt
from .text import Tokenizer
from .video_ae import FrameAutoencoder, psnr, to_unit, vivid_weight

STAGES = ("video-ae", "audio-ae", "encode", "generator", "pairs", "student")


class Logger:
    def __init__(self, path: Path, quiet: bool = False):
        self.path = path
        self.quiet = quiet

    def __call__(self, **event) -> None:
        event = {"time": round(time.time(), 3), **event}
        with self.path.open("a") as f:
            f.write(json.dumps(event) + "\n")
        if not self.quiet:
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in event.items() if k != "time"), flush=True)


def save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def lr_at(step: int, base: float, warmup: int, total: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def load_stage(run: Path, stage: str, cfg: Config) -> dict:
    path = run / f"{stage}.pt"
    if not path.exists():
        raise ValueError(f"{run} has no {stage} checkpoint yet: train that stage first (--stage {stage})")
    ckpt = torch.load(path, map_location="cpu")
    if ckpt["config"] != cfg.name:
        raise ValueError(f"{path} was trained with config {ckpt['config']!r}, not {cfg.name!r}: use another --run folder")
    return ckpt


class Loop:
    """Optimiser, schedule, checkpoint/resume and logging shared by the trained stages."""

    def __init__(self, stage: str, cfg: Config, model: torch.nn.Module, lr: float, warmup: int, total: int, run: Path, seed: int, log: Logger, extra: dict | None = None):
        self.stage, self.cfg, self.model, self.lr, self.warmup, self.total, self.log = stage, cfg, model, lr, warmup, total, log
        self.opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, betas=(0.9, 0.99), weight_decay=1e-4)
        self.path = run / f"{stage}.pt"
        self.step = 0
        self.rng = np.random.default_rng(seed)
        self.extra = extra if extra is not None else {}
        if self.path.exists():
            ckpt = load_stage(run, stage, cfg)
            model.load_state_dict(ckpt["model"])
            self.opt.load_state_dict(ckpt["optimizer"])
            self.step = ckpt["step"]
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
        while self.step < self.total:
            if stop_requested:
                self.log(event="stopped", stage=self.stage, step=self.step, signal=stop_requested[0])
                break
            if minutes is not None and time.time() - started > minutes * 60:
                break
            for g in self.opt.param_groups:
                g["lr"] = lr_at(self.step, self.lr, self.warmup, self.total)
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


def check_dataset(cfg: Config, data: WorldDataset) -> None:
    problems = []
    if data.size != cfg.size:
        problems.append(f"{data.size}×{data.size} frames (export with --size {cfg.size})")
    if data.fps != cfg.fps:
        problems.append(f"{data.fps} fps (--fps {cfg.fps})")
    if data.sample_rate != cfg.sample_rate:
        problems.append(f"{data.sample_rate} Hz audio (--sample-rate {cfg.sample_rate})")
    if data.frames_per_clip != cfg.frames:
        problems.append(f"{data.frames_per_clip} frames per clip (--duration {cfg.duration_s})")
    if problems:
        raise DatasetError(f"config {cfg.name} does not match the dataset: it has " + ", ".join(problems))


def train_video_ae(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    check_dataset(cfg, data)
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    t = cfg.video_ae_train
    model = FrameAutoencoder(cfg.video_ae)
    loop = Loop("video-ae", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log)
    train_clips, val_clips = data.split()
    val = to_unit(torch.from_numpy(data.frame_batch(np.random.default_rng(12345), val_clips, 64)))

    def train_step() -> torch.Tensor:
        x = to_unit(torch.from_numpy(data.frame_batch(loop.rng, train_clips, t.batch)))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y, z = model(x)
        y = y.float()
        w = vivid_weight(x, t.vivid_boost)
        return (w * ((y - x).abs() + (y - x) ** 2)).mean() + t.latent_l2 * z.float().pow(2).mean()

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
    check_dataset(cfg, data)
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    t = cfg.audio_ae_train
    model = AudioAutoencoder(cfg.audio_ae)
    loop = Loop("audio-ae", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log)
    train_clips, val_clips = data.split()
    val = audio_batch(data, np.random.default_rng(12345), val_clips, 8)

    def train_step() -> torch.Tensor:
        x = audio_batch(data, loop.rng, train_clips, t.batch)
        y, z = model(x)
        return stft_loss(y, x) + envelope_loss(y, x) + t.waveform_l1 * (y - x).abs().mean() * cfg.audio_ae.gain + t.latent_l2 * z.pow(2).mean()

    def evaluate() -> dict:
        model.eval()
        with torch.no_grad():
            y, _ = model(val)
            spectral = stft_loss(y, val).item()
            envelope = envelope_loss(y, val).item()
            snr = 10 * math.log10(val.pow(2).mean().item() / max((y - val).pow(2).mean().item(), 1e-12))
        model.train()
        return {"val_stft": spectral, "val_envelope": envelope, "val_snr_db": snr}

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes)


def encode_dataset(cfg: Config, data: WorldDataset, run: Path, log: Logger) -> dict:
    """Every clip's frame tokens [N, T, D] (float16) with per-channel mean/std, and the tokenizer."""
    check_dataset(cfg, data)
    video = FrameAutoencoder(cfg.video_ae)
    video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
    audio = AudioAutoencoder(cfg.audio_ae)
    audio.load_state_dict(load_stage(run, "audio-ae", cfg)["model"])
    video.eval()
    audio.eval()
    n = len(data)
    tokens = np.zeros((n, cfg.frames, cfg.token_dim), dtype=np.float32)
    started = time.time()
    with torch.no_grad():
        for i in range(n):
            clip = data.clip(i)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                zv = video.encoder(to_unit(torch.from_numpy(clip.frames))).float()
            za = audio.encoder(pcm_to_unit(torch.from_numpy(clip.audio.astype(np.int16)))[None]).float()
            tokens[i, :, : cfg.video_ae.latent_numbers] = zv.reshape(cfg.frames, -1).numpy()
            tokens[i, :, cfg.video_ae.latent_numbers :] = za[0].transpose(0, 1).numpy()
            if (i + 1) % 500 == 0:
                log(event="progress", stage="encode", clips=i + 1, of=n, elapsed_s=round(time.time() - started, 1))
    train_clips, _ = data.split()
    flat = tokens[train_clips].reshape(-1, cfg.token_dim)
    mean = flat.mean(0)
    std = flat.std(0) + 1e-4
    np.save(run / "tokens.npy", ((tokens - mean) / std).astype(np.float16))
    np.savez(run / "token-stats.npz", mean=mean, std=std)
    tokenizer = Tokenizer.build([data.meta(i)["prompt"] for i in train_clips], max_tokens=cfg.generator.max_tokens)
    tokenizer.save(run / "tokenizer.json")
    lengths = [len(tokenizer.encode(data.meta(i)["prompt"])[0]) for i in range(n)]
    result = {"stage": "encode", "clips": n, "vocab": len(tokenizer.vocab), "longest_prompt_tokens": max(lengths), "truncated_prompts": sum(l >= cfg.generator.max_tokens for l in lengths), "elapsed_s": round(time.time() - started, 1)}
    log(event="end", **result)
    return result


def train_generator(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log: Logger) -> dict:
    check_dataset(cfg, data)
    torch.manual_seed(seed)  # before any weights are made: the initialisation is part of the seed
    for needed in ("tokens.npy", "tokenizer.json"):
        if not (run / needed).exists():
            raise ValueError(f"{run} has no {needed}: run --stage encode first")
    tokens = torch.from_numpy(np.load(run / "tokens.npy").astype(np.float32))
    if tokens.shape[0] != len(data):
        raise ValueError(f"{run}/tokens.npy holds {tokens.shape[0]} clips, the dataset {len(data)}: run --stage encode again")
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    t = cfg.generator_train
    model = FlowGenerator(cfg.generator, len(tokenizer.vocab))
    ema = copy.deepcopy(model).requires_grad_(False)
    loop = Loop("generator", cfg, model, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema})
    train_clips, val_clips = data.split()
    ids_all, mask_all = tokenizer.batch([data.meta(i)["prompt"] for i in range(len(data))])
    val = torch.tensor(val_clips[:64])
    val_gen = torch.Generator().manual_seed(777)
    val_noise = torch.randn(len(val), cfg.frames, cfg.token_dim, generator=val_gen)
    val_t = torch.rand(len(val), generator=val_gen)

    def flow_loss(net: FlowGenerator, idx: torch.Tensor, noise: torch.Tensor, tt: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
        x0 = tokens[idx]
        ids, mask = ids_all[idx], mask_all[idx]
        if drop is not None:
            ids, mask = drop_prompt(ids, mask, drop)
        xt = (1 - tt[:, None, None]) * x0 + tt[:, None, None] * noise
        with torch.autocast("cpu", dtype=torch.bfloat16):
            v = net(xt, tt, ids, mask)
        return F.mse_loss(v.float(), noise - x0)

    def train_step() -> torch.Tensor:
        idx = torch.from_numpy(loop.rng.choice(train_clips, size=t.batch))
        noise = torch.randn(t.batch, cfg.frames, cfg.token_dim)
        # Logit-normal flow times: more training where the picture takes shape, mid-way.
        tt = torch.sigmoid(torch.randn(t.batch))
        drop = torch.rand(t.batch) < t.prompt_dropout
        return flow_loss(model, idx, noise, tt, drop)

    def after_step() -> None:
        with torch.no_grad():
            decay = min(t.ema, (1 + loop.step) / (10 + loop.step))
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)

    bench_model = None

    def bench() -> dict:
        """The physics bench on a few held-out prompts, sampled from the EMA weights."""
        nonlocal bench_model
        from .evaluate import Model, initial_noise, judge_folder, write_dataset
        from .generator import sample

        if bench_model is None:
            bench_model = Model(cfg, run, denoiser="")
        picks = val_clips[: t.bench_clips]
        metas = [data.meta(i) for i in picks]
        ids, mask = tokenizer.batch([m["prompt"] for m in metas])
        noise = torch.stack([initial_noise(cfg, int(m["seed"])) for m in metas])
        ema.eval()
        out = sample(ema, ids, mask, noise, 8, 2.0)
        clips = [(*bench_model.decode(tok), {"index": m["index"], "seed": m["seed"], "prompt": m["prompt"]}) for tok, m in zip(out, metas)]
        folder = run / "bench" / f"generator-{loop.step}"
        write_dataset(folder, cfg, clips, "zoetrope-model")
        rates = judge_folder(folder)["passRate"]
        return {f"bench_{k}": round(v, 3) for k, v in rates.items()}

    def evaluate() -> dict:
        with torch.no_grad():
            result = {"val_flow_loss": flow_loss(ema, val, val_noise, val_t, None).item()}
        if t.bench_every and loop.step > 0 and loop.step % t.bench_every == 0:
            result.update(bench())
        return result

    return loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run train --", description="Train a Zoetrope model stage on the world's dataset.")
    p.add_argument("--config", required=True, help="tiny, draft or pro")
    p.add_argument("--stage", required=True, choices=STAGES)
    p.add_argument("--data", required=True, help="dataset folder written by `npm run world -- export`")
    p.add_argument("--run", required=True, help="folder for checkpoints and logs (resumed when it holds a checkpoint)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    p.add_argument("--steps", type=int, default=None, help="total steps (default: the config's)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        cfg = get_config(args.config)
        data = WorldDataset(args.data)
        run = Path(args.run)
        run.mkdir(parents=True, exist_ok=True)
        log = Logger(run / f"{args.stage}.log.jsonl", args.quiet)
        if args.stage == "video-ae":
            train_video_ae(cfg, data, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "audio-ae":
            train_audio_ae(cfg, data, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "encode":
            encode_dataset(cfg, data, run, log)
        elif args.stage == "generator":
            train_generator(cfg, data, run, args.seed, args.minutes, args.steps, log)
        elif args.stage == "pairs":
            make_pairs(cfg, data, run, args.seed, log, args.minutes)
        else:
            distill_student(cfg, data, run, args.seed, args.minutes, args.steps, log)
    except (ValueError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
