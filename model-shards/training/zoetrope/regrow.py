"""`npm run regrow -- --config pro --run RUN --base BASE-RUN`

A grown generator (Pro's: the Draft cameo teacher grown deeper and longer, `generator.grow`) made
again from its base run's teacher after that teacher has trained on, keeping the frame embeddings
this run trained (`--stage generator --train-only pos`). Every other weight of a generator so
trained is the base's as grown, so the regrown one is what growing the new teacher and training its
frames would give, without the 40 CPU minutes of training its frames again. Whether the old frame
embeddings still fit the new teacher is for the bench to say (Pro 0.6.0 on Draft 0.8.0's teacher:
`reports/zoetrope-pro-0.6.0-notes.md`).

The run's generator.pt is replaced (the one before is kept as generator.before-regrow.pt) and the
generator's log records the regrowing.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from .configs import Config, get_config
from .generator import grow
from .text import Tokenizer
from .train import load_stage, save_atomic, weights_checkpoint


def regrow(cfg: Config, run: Path, base: Path) -> dict:
    src = get_config(cfg.shares) if cfg.shares else None
    if src is None or src.generator.frames == cfg.generator.frames:
        # A cameo config grows its base by a slot and then trains every weight: nothing of it to keep.
        raise ValueError(f"config {cfg.name} does not grow its base's generator to more frames: there are no trained frame embeddings to keep")
    for folder in (run, base):
        if not (folder / "generator.pt").exists():
            raise ValueError(f"{folder} has no generator.pt: {'train --stage generator on it first' if folder == run else f'pass a {src.name} run with a trained teacher'}")
    current = load_stage(run, "generator", cfg)
    teacher = torch.load(base / "generator.pt", map_location="cpu", weights_only=False)
    if teacher["config"] != src.name:
        raise ValueError(f"{base}/generator.pt was trained with config {teacher['config']!r}; config {cfg.name} grows from a {src.name} teacher")
    if (run / "tokenizer.json").read_bytes() != (base / "tokenizer.json").read_bytes():
        raise ValueError(f"{base} has another tokenizer than {run}: regrow from the run this one was built on (encode --base)")
    vocab = len(Tokenizer.load(run / "tokenizer.json").vocab)
    state = grow(teacher["extra"]["ema"], src.generator, cfg.generator, vocab)
    kept = current["extra"]["ema"]["pos"]
    if kept.shape != state["pos"].shape:
        raise ValueError(f"{run}'s frame embeddings are {tuple(kept.shape)}, the grown generator's {tuple(state['pos'].shape)}")
    state["pos"] = kept.clone()
    shutil.copy(run / "generator.pt", run / "generator.before-regrow.pt")
    save_atomic(weights_checkpoint(cfg.name, "generator", state, 0, state), run / "generator.pt")
    event = {"time": time.time(), "event": "regrow", "stage": "generator", "base": str(base.resolve()), "base_step": int(teacher["step"]), "kept": ["pos"], "step": 0}
    with open(run / "generator.log.jsonl", "a") as log:
        log.write(json.dumps(event) + "\n")
    return {k: v for k, v in event.items() if k != "time"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run regrow --", description="Grow a base run's (trained-on) teacher into this run's generator again, keeping this run's trained frame embeddings.")
    p.add_argument("--config", required=True, help="the grown config (pro, or tiny-pro for tests)")
    p.add_argument("--run", required=True, help="the grown run whose generator is replaced")
    p.add_argument("--base", required=True, help="the run of the config it grows from, with the teacher to grow")
    args = p.parse_args(argv)
    try:
        result = regrow(get_config(args.config), Path(args.run), Path(args.base))
    except (ValueError, KeyError) as e:
        print(f"regrow: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
