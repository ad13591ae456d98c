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
import torch.nn.functional as F

from .configs import Config
from .data import WorldDataset
from .generator import FlowGenerator, drop_prompt, sample
from .text import Tokenizer


def load_teacher(cfg: Config, run: Path, vocab: int) -> FlowGenerator:
    from .train import load_stage

    teacher = FlowGenerator(cfg.generator, vocab)
    teacher.load_state_dict(load_stage(run, "generator", cfg)["extra"]["ema"])
    teacher.eval()
    return teacher


def make_pairs(cfg: Config, data: WorldDataset, run: Path, seed: int, log, minutes: float | None) -> dict:
    """Teacher samples for the training prompts: noise [N, T, D] and results [N, T, D], resumable."""
    d = cfg.distill
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    teacher = load_teacher(cfg, run, len(tokenizer.vocab))
    train_clips, _ = data.split()
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
        chunk = order[done : done + d.pair_batch]
        ids, mask = tokenizer.batch([data.meta(int(i))["prompt"] for i in chunk])
        noise = torch.stack([torch.randn(cfg.frames, cfg.token_dim, generator=gen) for _ in chunk])
        result = sample(teacher, ids, mask, noise, d.teacher_steps, d.teacher_guidance)
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


def distill_student(cfg: Config, data: WorldDataset, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    from .train import Loop

    d = cfg.distill
    path = run / "pairs.npz"
    if not path.exists():
        raise ValueError(f"{run} has no pairs.npz: run --stage pairs first")
    saved = np.load(path)
    done = int(saved["done"])
    if done < d.pair_batch:
        raise ValueError(f"{path} holds only {done} pairs: let --stage pairs run longer")
    noise_all = torch.from_numpy(saved["noise"][:done].astype(np.float32))
    result_all = torch.from_numpy(saved["result"][:done].astype(np.float32))
    clips = saved["clips"][:done]
    tokens = torch.from_numpy(np.load(run / "tokens.npy").astype(np.float32))
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    ids_pairs, mask_pairs = tokenizer.batch([data.meta(int(i))["prompt"] for i in clips])
    torch.manual_seed(seed)
    student = load_teacher(cfg, run, len(tokenizer.vocab))
    student.train()
    ema = copy.deepcopy(student).requires_grad_(False)
    loop = Loop("student", cfg, student, d.lr, d.warmup_steps, steps if steps is not None else d.steps, run, seed, log, extra={"ema": ema})
    train_clips, _ = data.split()
    ids_all, mask_all = tokenizer.batch([data.meta(i)["prompt"] for i in range(len(data))])
    val_idx = torch.arange(min(32, done))
    val_t = torch.rand(len(val_idx), generator=torch.Generator().manual_seed(5))

    def straight_loss(net: FlowGenerator, idx: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
        x1, x0 = noise_all[idx], result_all[idx]
        xt = (1 - tt[:, None, None]) * x0 + tt[:, None, None] * x1
        with torch.autocast("cpu", dtype=torch.bfloat16):
            v = net(xt, tt, ids_pairs[idx], mask_pairs[idx])
        return F.mse_loss(v.float(), x1 - x0)

    def train_step() -> torch.Tensor:
        b = d.batch
        idx = torch.from_numpy(loop.rng.integers(0, done, size=b))
        # Few-step students are evaluated at the schedule's times: sample t uniformly, plus t = 1 often.
        tt = torch.rand(b)
        tt[: b // 4] = 1.0
        loss = straight_loss(student, idx, tt)
        # The unconditioned prompt keeps learning the data's flow (what guidance would compare against).
        u = torch.from_numpy(loop.rng.choice(train_clips, size=b // 4))
        x0 = tokens[u]
        noise = torch.randn_like(x0)
        tu = torch.sigmoid(torch.randn(len(u)))
        uids, umask = drop_prompt(ids_all[u], mask_all[u], torch.ones(len(u), dtype=torch.bool))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            vu = student((1 - tu[:, None, None]) * x0 + tu[:, None, None] * noise, tu, uids, umask)
        return loss + 0.25 * F.mse_loss(vu.float(), noise - x0)

    def after_step() -> None:
        with torch.no_grad():
            decay = min(d.ema, (1 + loop.step) / (10 + loop.step))
            for pe, pm in zip(ema.parameters(), student.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)

    def evaluate() -> dict:
        with torch.no_grad():
            return {"val_straight_loss": straight_loss(ema, val_idx, val_t).item()}

    return loop.run(train_step, evaluate, d.eval_every, d.checkpoint_minutes, minutes, after_step)
