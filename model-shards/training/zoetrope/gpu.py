"""`python3 -m zoetrope.gpu --pack DIR --run DIR --out DIR [--generator-minutes M --student-minutes M]`

The generator stages on a lent GPU machine, in one call: unpack the run that `npm run carry -- pack`
made, train the teacher for a fixed time (its learning-rate schedule fitted to that time), send its
weights back, make the distillation pairs, train the student, send everything back. Bring the
result home with `npm run carry -- receive OUT RUN`. Weights are sent back after each stage, so a
call cut short still returns the teacher.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .carry import receive, send_back, unpack
from .train import main as train_main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m zoetrope.gpu", description="Train the generator and distil the student on a GPU.")
    p.add_argument("--config", default="draft")
    p.add_argument("--pack", required=True, help="folder written by `npm run carry -- pack`")
    p.add_argument("--run", required=True, help="a fresh run folder on this machine")
    p.add_argument("--out", required=True, help="where the weights to bring back go (the machine's $OUT)")
    p.add_argument("--generator-minutes", type=float, default=6.0)
    p.add_argument("--student-minutes", type=float, default=1.5)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--pair-batch", type=int, default=500)
    p.add_argument("--device", default="cuda")
    p.add_argument("--resume", default=None, help="weights sent back by an earlier call (carry send-back): the teacher trains on from them")
    p.add_argument("--lr", type=float, default=None, help="the teacher's peak learning rate (lower to fine-tune from --resume)")
    args = p.parse_args(argv)
    run, out = Path(args.run), Path(args.out)
    started = time.time()
    print(json.dumps({"unpack": unpack(Path(args.pack), run)}), flush=True)
    if args.resume:
        print(json.dumps({"resume": receive(Path(args.resume), run)}), flush=True)
    common = ["--config", args.config, "--run", str(run), "--device", args.device, "--quiet"]
    timing = {}
    for stage, minutes, batch in (("generator", args.generator_minutes, args.batch), ("pairs", None, args.pair_batch), ("student", args.student_minutes, args.batch)):
        t0 = time.time()
        extra = ["--minutes", str(minutes), "--anneal-minutes", str(minutes), "--steps", "100000000"] if minutes else []
        lr = ["--lr", str(args.lr)] if args.lr and stage == "generator" else []
        code = train_main([*common, "--stage", stage, "--batch", str(batch), *extra, *lr])
        timing[stage] = round(time.time() - t0, 1)
        print(json.dumps({"stage": stage, "exit": code, "seconds": timing[stage]}), flush=True)
        print(json.dumps({"sent": send_back(run, out)}), flush=True)
        if code != 0:
            return code
    (out / "timing.json").write_text(json.dumps({**timing, "total": round(time.time() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
