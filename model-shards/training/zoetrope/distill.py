"""Distillation to few steps: guided reflow.

The teacher (the EMA generator) integrates its guided flow from the shared noise to frame tokens at
many steps; the student, initialised from the teacher, is trained on the straight line between each
(noise, teacher result) pair: v = noise − result at any t on that line. Two things are learned at once:
straight paths (so 1–4 Euler steps land where the teacher's many steps did) and the guidance
(the student's conditioned velocity is the teacher's guided one, so the tab runs one denoiser pass
per step instead of two). The unconditioned prompt keeps training on the data as before, so guidance
can still be applied on top when wanted.

Stages (through `npm run train -- --stage ...`): `pairs` makes the (noise, result) pairs,
`distill` trains the student.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch

from .configs import Config
from .generator import FlowGenerator, drop_prompt, generator_for, sample
from .text import Tokenizer


def load_teacher(cfg: Config, run: Path, vocab: int) -> FlowGenerator:
    from .train import load_stage

    teacher = generator_for(cfg.generator, vocab, load_stage(run, "generator", cfg)["extra"]["ema"])
    teacher.eval()
    return teacher


def make_pairs(cfg: Config, run: Path, seed: int, log, minutes: float | None, device: torch.device = torch.device("cpu"), batch: int | None = None) -> dict:
    """Teacher samples for the training prompts: noise [N, T, D] and results [N, T, D], resumable."""
    from .train import RunClips

    d = cfg.distill
    clips = RunClips(run)
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    teacher = load_teacher(cfg, run, len(tokenizer.vocab)).to(device)
    train_clips, _ = clips.split()
    rng = np.random.default_rng(seed)
    order = rng.permutation(train_clips)[: d.pairs]
    path = run / "pairs.npz"
    done = 0
    noise_all = np.zeros((len(order), cfg.frames, cfg.token_dim), dtype=np.float16)
    result_all = np.zeros_like(noise_all)
    if path.exists():
        saved = np.load(path)
        done = int(saved["done"])
        noise_all[:done], result_all[:done] = saved["noise"][:done], saved["result"][:done]
        log(event="resume", stage="pairs", done=done)
    started = last_save = time.time()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(done):
        torch.randn(cfg.frames, cfg.token_dim, generator=gen)  # keep the noise stream where it was

    def save() -> None:
        tmp = path.with_name("pairs.tmp.npz")
        np.savez(tmp, noise=noise_all, result=result_all, clips=order, done=done)
        tmp.replace(path)

    while done < len(order):
        if minutes is not None and time.time() - started > minutes * 60:
            break
        chunk = order[done : done + (batch or d.pair_batch)]
        ids, mask = tokenizer.batch([clips.meta(int(i))["prompt"] for i in chunk])
        noise = torch.stack([torch.randn(cfg.frames, cfg.token_dim, generator=gen) for _ in chunk])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type != "cpu"):
            result = sample(teacher, ids.to(device), mask.to(device), noise.to(device), d.teacher_steps, d.teacher_guidance).float().cpu()
        noise_all[done : done + len(chunk)] = noise.numpy()
        result_all[done : done + len(chunk)] = result.numpy()
        done += len(chunk)
        # The pairs file is large: written every two minutes and at the end, not after every batch.
        if time.time() - last_save > 120:
            save()
            last_save = time.time()
            log(event="progress", stage="pairs", done=done, of=len(order), elapsed_s=round(time.time() - started, 1))
    save()
    log(event="end", stage="pairs", done=done, of=len(order), elapsed_s=round(time.time() - started, 1))
    return {"stage": "pairs", "done": done, "of": len(order)}


def distill_student(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log, device: torch.device = torch.device("cpu"), anneal_minutes: float | None = None, batch: int | None = None, lr: float | None = None) -> dict:
    from .train import Loop, RunClips, ema_update, load_tokens

    d = cfg.distill
    path = run / "pairs.npz"
    if not path.exists():
        raise ValueError(f"{run} has no pairs.npz: run --stage pairs first")
    saved = np.load(path)
    done = int(saved["done"])
    if done < d.pair_batch:
        raise ValueError(f"{path} holds only {done} pairs: let --stage pairs run longer")
    noise_all = torch.from_numpy(saved["noise"][:done].astype(np.float32)).to(device)
    result_all = torch.from_numpy(saved["result"][:done].astype(np.float32)).to(device)
    pair_clips = saved["clips"][:done]
    clips = RunClips(run)
    tokens = load_tokens(run, clips, device)
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    ids_pairs, mask_pairs = (x.to(device) for x in tokenizer.batch([clips.meta(int(i))["prompt"] for i in pair_clips]))
    torch.manual_seed(seed)
    student = load_teacher(cfg, run, len(tokenizer.vocab)).to(device)
    student.train()
    ema = copy.deepcopy(student).requires_grad_(False)
    b = batch or d.batch
    loop = Loop("student", cfg, student, lr or d.lr * min(2.0, (b / d.batch) ** 0.5), d.warmup_steps, steps if steps is not None else d.steps, run, seed, log, extra={"ema": ema}, anneal_minutes=anneal_minutes)
    train_clips, _ = clips.split()
    ids_all, mask_all = (x.to(device) for x in tokenizer.batch(clips.prompts()))
    val_idx = torch.arange(min(32, done), device=device)
    weights = cfg.loss_weights().to(device)
    val_t = torch.rand(len(val_idx), generator=torch.Generator().manual_seed(5)).to(device)

    def straight_loss(net: FlowGenerator, idx: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        x1, x0 = noise_all[idx], result_all[idx]
        xt = (1 - tt[:, None, None]) * x0 + tt[:, None, None] * x1
        with torch.autocast(device.type, dtype=torch.bfloat16):
            v = net(xt, tt, ids_pairs[idx], mask_pairs[idx])
        return (weights * (v.float() - (x1 - x0)) ** 2).mean()

    def train_step() -> torch.Tensor:
        idx = torch.from_numpy(loop.rng.integers(0, done, size=b)).to(device)
        # Few-step students are evaluated at the schedule's times: sample t uniformly, plus t = 1 often.
        tt = torch.rand(b, device=device)
        tt[: b // 4] = 1.0
        loss = straight_loss(student, idx, tt)
        # The unconditioned prompt keeps learning the data's flow (what guidance would compare against).
        u = torch.from_numpy(loop.rng.choice(train_clips, size=b // 4)).to(device)
        x0 = tokens[u]
        noise = torch.randn_like(x0)
        tu = torch.sigmoid(torch.randn(len(u), device=device))
        uids, umask = drop_prompt(ids_all[u], mask_all[u], torch.ones(len(u), dtype=torch.bool, device=device))
        with torch.autocast(device.type, dtype=torch.bfloat16):
            vu = student((1 - tu[:, None, None]) * x0 + tu[:, None, None] * noise, tu, uids, umask)
        return loss + 0.25 * (weights * (vu.float() - (noise - x0)) ** 2).mean()

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, student, min(d.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            return {"val_straight_loss": straight_loss(ema, val_idx, val_t).item()}

    return loop.run(train_step, evaluate, d.eval_every, d.checkpoint_minutes, minutes, after_step)
