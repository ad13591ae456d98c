"""`python3 -m zoetrope.gpu --pack DIR --run DIR --out DIR [--generator-minutes M --student-minutes M] [--cameo-pack DIR --cameo-minutes M]`

The generator stages on a lent GPU machine, in one call: unpack the run that `npm run carry -- pack`
made, train the teacher for a fixed time (its learning-rate schedule fitted to that time), send its
weights back, then, with --cameo-pack (a cameo run packed the same way), fine-tune the teacher with
cameos and send that back into OUT/cameo, then make the distillation pairs, train the student, send
everything back. Bring the result home with `npm run carry -- receive OUT RUN` (and
`receive OUT/cameo CAMEO-RUN`). Weights are sent back after each stage, so a call cut short still
returns what it finished. `--generator-minutes 0` skips the teacher (fine-tune from --resume);
`--student-minutes 0` skips the pairs and the student.

With `--stream`, the `--more` clips are not made before the teacher but while it trains: a second
process (`python3 -m zoetrope.regenerate`) renders and encodes them a chunk at a time on the
machine's cores into RUN/stream, and the teacher takes each chunk into its training clips as it
arrives (`npm run train -- --grow DIR`). The rendering, about 80 clips a second on an H200
machine's 16 cores, then costs the teacher none of its minutes; the process is stopped when the
teacher ends.

With a pack made by `carry pack --regenerate` and the kit of `carry world-kit` (`--world-kit DIR`),
the run's clips are rendered and encoded again here first, with `--more plain:SEED:N` /
`--more cameos:SEED:N` clips beside them (zoetrope/regenerate.py): the teacher is then no longer
limited to the clips that fit in what travels to the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .carry import receive, send_back, unpack, unpack_world_kit
from .configs import get_config
from .regenerate import STREAM_GLOB, WORLD_FILE, regenerate
from .train import Logger
from .train import main as train_main
from .train import teacher_sampler


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
    p.add_argument("--teacher-steps", type=int, default=None, help="the pairs drawn by the teacher at this many steps (default: the config's)")
    p.add_argument("--teacher-guidance", type=float, default=None, help="the pairs drawn by the teacher at this guidance (default: the config's)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--resume", default=None, help="weights sent back by an earlier call (carry send-back): the teacher trains on from them")
    p.add_argument("--lr", type=float, default=None, help="the teacher's peak learning rate (lower to fine-tune from --resume)")
    p.add_argument("--cameo-pack", default=None, help="a cameo run packed by `npm run carry -- pack` (its tokens and faces): the cameo stage runs after the teacher")
    p.add_argument("--cameo-minutes", type=float, default=4.0)
    p.add_argument("--world-kit", default=None, help="the world kit (`npm run carry -- world-kit DIR`): needed by a pack made with --regenerate")
    p.add_argument("--more", action="append", default=[], help="with --world-kit: more clips to train on, plain:SEED:N or cameos:SEED:N (seeds from 1000000)")
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="with --world-kit: the world's render threads and the slot pool's processes (default: the cores but one)")
    p.add_argument("--more-minutes", type=float, default=None, help="with --more: no chunk of more clips starts after this many minutes of rendering (the run's own clips always finish)")
    p.add_argument("--chunk", type=int, default=2048, help="with --world-kit: clips rendered at a time (each chunk's frames are deleted once encoded)")
    p.add_argument("--stream", action="store_true", help="with --world-kit and --more: the more clips render while the teacher trains and join its training clips a chunk at a time (the run's own clips render first)")
    args = p.parse_args(argv)
    run, out = Path(args.run), Path(args.out)
    pack = Path(args.pack)
    regenerating = (pack / WORLD_FILE).exists() and not (pack / "tokens.q8").exists()
    if regenerating and not args.world_kit:
        p.error(f"{pack} was packed with --regenerate: give the world kit with --world-kit DIR (npm run carry -- world-kit DIR)")
    if (args.world_kit or args.more) and not regenerating:
        p.error(f"--world-kit and --more need a pack made with `carry pack --regenerate`; {pack} holds its tokens")
    if args.stream and not (regenerating and args.more):
        p.error("--stream makes the --more clips while the teacher trains: give --world-kit, --more and a pack made with `carry pack --regenerate`")
    if args.stream and args.more_minutes is not None:
        p.error("--more-minutes times the clips made before the teacher; streamed clips stop when it does")
    if args.stream and args.generator_minutes <= 0:
        p.error("--stream feeds the teacher: give --generator-minutes above 0")
    if args.chunk < 1 or args.workers < 1:
        p.error("--chunk and --workers are at least 1")
    if (args.teacher_steps is not None or args.teacher_guidance is not None) and args.student_minutes <= 0:
        p.error("--teacher-steps and --teacher-guidance choose the pairs' sampler: give --student-minutes above 0")
    try:  # refused before the teacher's minutes are spent, not when the pairs stage comes to them
        teacher_sampler(get_config(args.config).distill, args.teacher_steps, args.teacher_guidance)
    except ValueError as e:
        p.error(str(e))
    started = time.time()
    timing = {}
    print(json.dumps({"unpack": unpack(pack, run)}), flush=True)
    kit: list[str] = []
    if regenerating:
        t0 = time.time()
        kit = unpack_world_kit(Path(args.world_kit), run.parent / f"{run.name}-world-kit")
        log = Logger(run / "world.log.jsonl", quiet=False)
        before = [] if args.stream else args.more
        result = regenerate(get_config(args.config), run, pack, kit, before, torch.device(args.device), run.parent / f"{run.name}-world", args.workers, args.chunk, log, None if args.more_minutes is None else 60 * args.more_minutes)
        timing["world"] = round(time.time() - t0, 1)
        print(json.dumps({"world": result, "seconds": timing["world"]}), flush=True)
    if args.resume:
        print(json.dumps({"resume": receive(Path(args.resume), run)}), flush=True)
    common = ["--config", args.config, "--run", str(run), "--device", args.device, "--quiet"]

    def timed(stage: str, argv: list[str], where: Path, sent_to: Path, stages: tuple[str, ...]) -> int:
        t0 = time.time()
        code = train_main(argv)
        timing[stage] = round(time.time() - t0, 1)
        print(json.dumps({"stage": stage, "exit": code, "seconds": timing[stage]}), flush=True)
        print(json.dumps({"sent": send_back(where, sent_to, stages)}), flush=True)
        return code

    budget = lambda minutes: ["--minutes", str(minutes), "--anneal-minutes", str(minutes), "--steps", "100000000"]  # noqa: E731
    if args.generator_minutes > 0:
        lr = ["--lr", str(args.lr)] if args.lr else []
        grow: list[str] = []
        stream = None
        if args.stream:
            sink = run / "stream"
            sink.mkdir(parents=True, exist_ok=True)
            grow = ["--grow", str(sink)]
            stream = start_stream(args, run, pack, kit, sink)
        try:
            code = timed("generator", [*common, "--stage", "generator", "--batch", str(args.batch), *budget(args.generator_minutes), *lr, *grow], run, out, ("generator",))
        finally:
            if stream is not None:
                timing["streamed_clips"] = stop_stream(stream, run / "stream")
                print(json.dumps({"stream": {"clips": timing["streamed_clips"], "exit": stream.returncode}}), flush=True)
        if code:
            return code
    if args.cameo_pack:
        cameo_run = run.parent / f"{run.name}-cameo"
        print(json.dumps({"unpack cameo": unpack(Path(args.cameo_pack), cameo_run)}), flush=True)
        (cameo_run / "base.json").write_text(json.dumps({"base": str(run.resolve())}) + "\n")
        cameo = ["--config", args.config, "--run", str(cameo_run), "--device", args.device, "--quiet", "--stage", "cameo", "--batch", str(args.batch), *budget(args.cameo_minutes)]
        if code := timed("cameo", cameo, cameo_run, out / "cameo", ("generator",)):
            return code
    if args.student_minutes > 0:
        sampler = [*(["--teacher-steps", str(args.teacher_steps)] if args.teacher_steps is not None else []), *(["--teacher-guidance", str(args.teacher_guidance)] if args.teacher_guidance is not None else [])]
        if code := timed("pairs", [*common, "--stage", "pairs", "--batch", str(args.pair_batch), *sampler], run, out, ()):
            return code
        if code := timed("student", [*common, "--stage", "student", "--batch", str(args.batch), *budget(args.student_minutes)], run, out, ("student",)):
            return code
    (out / "timing.json").write_text(json.dumps({**timing, "total": round(time.time() - started, 1)}))
    return 0


def start_stream(args: argparse.Namespace, run: Path, pack: Path, kit: list[str], sink: Path) -> subprocess.Popen:
    """The process that makes the --more clips into `sink` while the teacher trains (regenerate.main)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    more = [a for m in args.more for a in ("--more", m)]
    argv = [sys.executable, "-m", "zoetrope.regenerate", "--config", args.config, "--run", str(run), "--pack", str(pack), "--kit", *kit, *more, "--sink", str(sink), "--work", str(run.parent / f"{run.name}-stream"), "--device", args.device, "--workers", str(args.workers), "--chunk", str(args.chunk)]
    with (run / "stream.out").open("w") as out:
        # At a lower priority, with its renders and encoders: they fill every core, and the teacher's
        # one busy thread is what keeps the GPU fed.
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=lambda: os.nice(10))


def stop_stream(stream: subprocess.Popen, sink: Path) -> int:
    """Stops the streaming process (it stops the render in flight) and counts the clips it made."""
    if stream.poll() is None:
        stream.terminate()
        try:
            stream.wait(60)
        except subprocess.TimeoutExpired:
            stream.kill()
            stream.wait()
    total = 0
    for path in sink.glob(STREAM_GLOB):
        with np.load(path, allow_pickle=False) as z:
            total += int(z["seeds"].shape[0])
    return total


if __name__ == "__main__":
    sys.exit(main())
