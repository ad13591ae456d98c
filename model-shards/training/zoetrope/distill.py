"""Distillation to few steps: guided reflow or progressive distillation.

The teacher (the EMA generator) integrates its guided flow from noise to frame tokens; the student,
initialised from the teacher, learns to go there in fewer steps, with the guidance folded in (its
conditioned velocity is the teacher's guided one, so the tab runs one denoiser pass per step instead
of two). Two objectives, chosen by `DistillTrain.method`:

- reflow: the student is trained on the straight line between each (noise, teacher result) pair,
  v = noise − result at any t on that line, so 1–8 Euler steps all land near where the teacher's many
  steps did. The unconditioned prompt keeps training on the data as before, so guidance can still be
  applied on top when wanted.
- progressive: the pairs keep the teacher's state at each point of the student's grid (every
  teacher_steps / student_steps teacher steps); the student learns to take, from each such state, the
  teacher's several steps in one: v = (next state − state) / Δt. A local target, far easier to learn
  than reflow's whole path, for exactly the sampler that ships (student_steps Euler steps); the other
  step counts are not trained.

Stages (through `npm run train -- --stage ...`): `pairs` runs the teacher and keeps its states,
`student` trains the student.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

from .configs import Config
from .generator import FlowGenerator, drop_prompt, generator_for, grow, sample
from .text import Tokenizer


def load_teacher(cfg: Config, run: Path, vocab: int) -> FlowGenerator:
    from .train import load_stage

    teacher = generator_for(cfg.generator, vocab, load_stage(run, "generator", cfg)["extra"]["ema"])
    teacher.eval()
    return teacher


def base_student(cfg: Config, run: Path, vocab: int) -> tuple[FlowGenerator, dict] | None:
    """For a config that builds on another's run (Config.shares) and has no student yet: the base
    run's distilled student (EMA), grown to this config's generator (generator.grow), and what it came
    from; None when the base has no student. A student that already takes the base's few-step grid
    needs to learn only what the new config adds (draft-cameo: the head's slot)."""
    if not cfg.shares or (run / "student.pt").exists() or not (run / "base.json").exists():
        return None
    from .configs import get_config

    base = Path(json.loads((run / "base.json").read_text())["base"])
    if not (base / "student.pt").exists():
        return None
    ckpt = torch.load(base / "student.pt", map_location="cpu", weights_only=False)
    if ckpt["config"] != cfg.shares:
        raise ValueError(f"the base run {base} has a {ckpt['config']} student; config {cfg.name} builds on a {cfg.shares} run")
    src = get_config(cfg.shares).generator
    student = generator_for(cfg.generator, vocab, grow(ckpt["extra"]["ema"], src, cfg.generator, vocab))
    return student, {"base": str(base), "base_step": ckpt["step"], "slots": [src.slots, cfg.generator.slots]}


def kept_states(cfg: Config) -> int:
    """How many of the teacher's steps lie between two states the pairs keep: every step of the
    student's grid for progressive distillation, the whole path (noise and result only) for reflow."""
    d = cfg.distill
    return d.teacher_steps // d.student_steps if d.method == "progressive" else d.teacher_steps


def make_pairs(cfg: Config, run: Path, seed: int, log, minutes: float | None, device: torch.device = torch.device("cpu"), batch: int | None = None) -> dict:
    """Teacher samples for the training prompts, resumable: states [N, K + 1, T, D] along each path,
    from the noise (k = 0) to the result (k = K), every kept_states() teacher steps."""
    from .train import RunClips

    d = cfg.distill
    clips = RunClips(run)
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    teacher = load_teacher(cfg, run, len(tokenizer.vocab)).to(device)
    train_clips, _ = clips.split()
    rng = np.random.default_rng(seed)
    order = rng.permutation(train_clips)[: d.pairs]
    path = run / "pairs.npz"
    every = kept_states(cfg)
    kept = d.teacher_steps // every
    done = 0
    states_all = np.zeros((len(order), kept + 1, cfg.frames, cfg.token_dim), dtype=np.float16)
    if path.exists():
        saved = np.load(path)
        saved_states, saved_clips = saved["states"], saved["clips"]  # each read of an npz member reads the file again
        if saved_states.shape[1:] != states_all.shape[1:] or not np.array_equal(saved_clips, order):
            raise ValueError(f"{path} was made for other pairs ({saved_states.shape[1] - 1} steps, {len(saved_clips)} clips): move it away to make new ones")
        # The same grid from another sampler would mix two teachers' paths in one file.
        sampler = (int(saved["teacher_steps"]), float(saved["teacher_guidance"]))
        if sampler != (d.teacher_steps, d.teacher_guidance):
            raise ValueError(f"{path} was drawn by the teacher at {sampler[0]} steps and guidance {sampler[1]:g}, not {d.teacher_steps} and {d.teacher_guidance:g}: move it away to make new ones")
        done = int(saved["done"])
        states_all[:done] = saved_states[:done]
        log(event="resume", stage="pairs", done=done)
    started = last_save = time.time()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(done):
        torch.randn(cfg.frames, cfg.token_dim, generator=gen)  # keep the noise stream where it was

    def save() -> None:
        tmp = path.with_name("pairs.tmp.npz")
        np.savez(tmp, states=states_all, clips=order, done=done, method=d.method, teacher_steps=d.teacher_steps, teacher_guidance=d.teacher_guidance)
        tmp.replace(path)

    while done < len(order):
        if minutes is not None and time.time() - started > minutes * 60:
            break
        chunk = order[done : done + (batch or d.pair_batch)]
        ids, mask = tokenizer.batch([clips.meta(int(i))["prompt"] for i in chunk])
        noise = torch.stack([torch.randn(cfg.frames, cfg.token_dim, generator=gen) for _ in chunk])
        visited: list[torch.Tensor] = []
        # bf16 on the CPU too: twice the speed, and the student learns within that error anyway.
        with torch.autocast(device.type, dtype=torch.bfloat16):
            sample(teacher, ids.to(device), mask.to(device), noise.to(device), d.teacher_steps, d.teacher_guidance, visited=visited)
        path_states = [noise.to(device)] + visited[every - 1 :: every]
        states_all[done : done + len(chunk)] = torch.stack([x.float() for x in path_states], dim=1).cpu().numpy()
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
    saved_states = saved["states"]  # each read of an npz member reads the file again
    # Reflow needs only each path's ends, so it takes the paths kept for progressive distillation too.
    kept = saved_states.shape[1] - 1
    if d.method == "progressive" and kept != d.student_steps:
        raise ValueError(f"{path} keeps {kept + 1} states of each path, progressive distillation to {d.student_steps} steps needs {d.student_steps + 1}: run --stage pairs again")
    states = torch.from_numpy(saved_states[:done].astype(np.float32)).to(device)  # [N, K + 1, T, D]
    pair_clips = saved["clips"][:done]
    clips = RunClips(run)
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    ids_pairs, mask_pairs = (x.to(device) for x in tokenizer.batch([clips.meta(int(i))["prompt"] for i in pair_clips]))
    torch.manual_seed(seed)
    grown = base_student(cfg, run, len(tokenizer.vocab))
    student = (grown[0] if grown else load_teacher(cfg, run, len(tokenizer.vocab))).to(device)
    student.train()
    ema = copy.deepcopy(student).requires_grad_(False)
    b = batch or d.batch
    loop = Loop("student", cfg, student, lr or d.lr * min(2.0, (b / d.batch) ** 0.5), d.warmup_steps, steps if steps is not None else d.steps, run, seed, log, extra={"ema": ema}, anneal_minutes=anneal_minutes)
    if grown is not None:
        log(event="init", stage="student", **grown[1])
    weights = cfg.loss_weights().to(device)
    val_idx = torch.arange(min(32, done), device=device)
    val_gen = torch.Generator().manual_seed(5)
    val_t = torch.rand(len(val_idx), generator=val_gen).to(device)
    val_k = torch.randint(0, kept, (len(val_idx),), generator=val_gen).to(device)

    def velocity_loss(net: FlowGenerator, idx: torch.Tensor, xt: torch.Tensor, tt: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            v = net(xt, tt, ids_pairs[idx], mask_pairs[idx])
        return (weights * (v.float() - target) ** 2).mean()

    if d.method == "progressive":
        times = torch.linspace(1.0, 0.0, kept + 1, device=device)

        def student_loss(net: FlowGenerator, idx: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
            x, nxt = states[idx, k], states[idx, k + 1]
            t0, t1 = times[k], times[k + 1]
            return velocity_loss(net, idx, x, t0, (nxt - x) / (t1 - t0)[:, None, None])

        def train_step() -> torch.Tensor:
            idx = torch.from_numpy(loop.rng.integers(0, done, size=b)).to(device)
            return student_loss(student, idx, torch.from_numpy(loop.rng.integers(0, kept, size=b)).to(device))

        def evaluate() -> dict:
            with torch.no_grad():
                return {"val_step_loss": student_loss(ema, val_idx, val_k).item()}

    else:
        tokens = load_tokens(run, clips, device)
        train_clips, _ = clips.split()
        ids_all, mask_all = (x.to(device) for x in tokenizer.batch(clips.prompts()))
        noise_all, result_all = states[:, 0], states[:, -1]

        def straight_loss(net: FlowGenerator, idx: torch.Tensor, tt: torch.Tensor) -> torch.Tensor:
            x1, x0 = noise_all[idx], result_all[idx]
            return velocity_loss(net, idx, (1 - tt[:, None, None]) * x0 + tt[:, None, None] * x1, tt, x1 - x0)

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

        def evaluate() -> dict:
            with torch.no_grad():
                return {"val_straight_loss": straight_loss(ema, val_idx, val_t).item()}

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, student, min(d.ema, (1 + loop.step) / (10 + loop.step)))

    return loop.run(train_step, evaluate, d.eval_every, d.checkpoint_minutes, minutes, after_step)
