"""`npm run train:draft -- --work DIR [--out model-shards/zoetrope-draft] [--version V] [--notes FILE]`
`npm run train:pro -- --work DIR [--base DIR/cameo-run] [--out model-shards/zoetrope-pro] [--version V] [--notes FILE]`

The Draft from nothing, in one command and under three hours on the 2-core machine: the world's
dataset (and its cameo clips), every training stage with its time budget, then the cameo run that
ships (config draft-plan: the cameo run, config draft-cameo — the figure's head as a slot, the base
run's teacher and student grown by it and trained on both datasets — with box slots set by a box
planner trained on its tokens), the ONNX export of its distilled student with a parity check and
its rest beside it (model-shards/checkpoints/zoetrope-draft.npz: the teacher and encoders, recover.py), the
physics bench on held-out prompts for the student and its teacher, the cameo bench, the model card's
other rows (the real clips, the decoders' ceiling, the student at 1, 2 and 8 steps) and the model
card (`--notes FILE` appends its known failure modes). Each stage resumes, so running the command
again after an interruption carries on where it stopped; WORK/pipeline-done.json keeps the minutes
of every step, and the total printed at the end adds them up over every invocation.

Pro builds on the Draft's cameo run (by default the one train:draft made in the same --work,
WORK/cameo-run): 4-second clips at 128² for its tokens, 256² clips for its decoder, encode --base,
video-upscale, the generator grown from the cameo run's teacher (head slot included, so Pro paints
cameos as the Draft does) with its frame embeddings trained for the four seconds, the export of the
teacher with a parity check, the physics bench at 256² on held-out seeds (the real clips, the
decoders' ceiling, the model), the cameo bench on held-out cameo seeds at 256², and the model card.
About two hours here: 40 minutes of it the frame embeddings, 45 the benches (32 denoiser passes a
clip at 256²).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# (stage, steps, minutes): the budget that fits 3 hours with the 6000-clip dataset on 2 cores. The
# whole command, run on a fresh folder on 2026-11-26, took 161.0 minutes with the head locator's
# stage (reports/experiments.md). The stages added since were each measured alone, not in a rerun of
# the whole: the track refiner's takes 5.6 (4.7 to draw the student's pairs, 0.8 to train) and the
# sound refiner's 3.8, so about 170 minutes in all. The planned run (draft-plan) adds about 15: 1 to
# put the box slots into the cameo run's tokens, and the box planner's 14 (sampling and encoding the
# prompts 3, its colour branch 5, 600 steps of the rest at 0.5 s, loading 1.5); the base generator
# gives up 5 of its 45 for it, so about 180 (estimated from the stages' own times, not rerun whole);
# the cameo bench on all 150 held-out cameo clips rather than 50 adds about 2 more. The decoder
# without boxes (video-bare, Draft 0.10.0) adds about 9: the bare layer in the two data exports
# (about 2: 6000 clips with it took 5.5 minutes here), and 1500 of its steps (6; the shipped
# decoder took 3000, 10 minutes); the base generator gives up 8 more of its minutes for it.
# Steps are set so each learning-rate schedule finishes inside its minutes (measured 2026-11-25:
# video AE ~0.45 s/step, audio AE ~0.35; encoding 6000 clips ~5 min). The generator's steps are
# capped by its minutes (a step of 16 clips is ~3–4 s here); its schedule runs over them.
# The student as 0.3.0's was made: reflow on the ends of the teacher's paths first (it folds the
# guidance in and straightens the paths), then progressive distillation on the same checkpoint
# (measured: progressive straight from the teacher lost 9 points of physics, reports/experiments.md).
DRAFT_PLAN = [
    ("video-ae", 5000, 38, []),
    ("audio-ae", 1500, 12, []),
    ("encode", None, 10, []),
    ("generator", 100_000, 32, []),
    ("pairs", None, 12, []),
    ("student", 100_000, 6, ["--method", "reflow"]),
    ("student", 100_000, 8, ["--method", "progressive"]),
]
# Cameos as a slot (config draft-cameo): the base clips and the cameo clips in one run built on the
# base run (encode --base), its teacher grown by the head's slot and trained on both, then distilled
# from the base run's student, grown the same way. This run is what ships.
CAMEO_PLAN = [
    ("encode", None, 8, []),
    # Where the latent draws the head, so the decoder paints a cameo's face on the figure (head_locator.py).
    ("head-locator", 3_000, 8, []),
    ("generator", 100_000, 12, []),
    ("pairs", None, 5, []),
    ("student", 100_000, 6, ["--method", "progressive"]),
    # A learnt prior of the world's ball motion, between the generated tracks and the painter
    # (track_refiner.py). After the student: it learns from the student's own damage too.
    ("track-refiner", 1_500, 5, []),
    # The generated sound refined to sound the impacts of the balls as painted (sound_refiner.py).
    ("sound-refiner", 6_000, 6, []),
]
# Boxes planned (config draft-plan, box_planner.py): the cameo run's tokens with the box slots put in
# (encode --base), its teacher and student as they are, and a planner that sets the box slots from
# the prompt and the clip the student draws. This run is what ships.
PLANNED_PLAN = [
    ("encode", None, 2, []),
    ("box-planner", 600, 14, []),
    # The decoder taught to paint the background without its boxes, which come from their slots
    # (train.train_video_bare), on the datasets' bare layer.
    ("video-bare", 1_500, 6, []),
]
DATA = {"clips": 6000, "seed": 100000, "size": 128, "duration": 2, "fps": 12, "sample_rate": 24000}
CAMEO_DATA = {"clips": 3000, "seed": 300000}
# What ships: the cameo run's student, 4 steps of one denoiser pass (progressive distillation of the
# teacher's 8 guided steps, see distill.py).
SHIPPED = {"denoiser": "student", "steps": 4, "guidance": 1.0}
CAMEO_CONFIG = "draft-cameo"
SHIPPED_CONFIG = "draft-plan"
# The versions the two commands write by default: the shipped ones'.
DRAFT_VERSION, PRO_VERSION = "0.10.0", "0.6.2"
TEACHER = {"denoiser": "generator", "steps": 8, "guidance": 1.5}
# The model card's table: the student at each step count the issue asks for besides the shipped 4.
CARD_STUDENT_STEPS = (1, 2, 8)


# Pro: 3200 four-second clips (tokens at the Draft's 128²; the last 160 held out), the first 320 of
# them at 256² for the decoder, and the first 100 held-out seeds at 256² for the bench.
PRO_DATA = {"clips": 3200, "seed": 500000, "size": 128}
PRO_DECODER_DATA = {"clips": 320, "seed": 500000, "size": 256}
PRO_EVAL_DATA = {"clips": 100, "seed": 503040, "size": 256}
# The cameo bench: 50 four-second clips at 256² whose figure wears a face, from the seeds the
# Draft's cameo run holds out (its cameo data is 3000 clips from 300000; the last 150 held out).
PRO_CAMEO_DATA = {"clips": 50, "seed": 302850, "size": 256}
PRO_PLAN = [
    ("encode", None, 10, "tokens", []),
    ("video-upscale", 100_000, 15, "decoder", []),
    # The generator grown from the Draft's teacher, then only its frame embeddings trained on these
    # clips: grown, frames 24–47 start as copies of 0–23 and the clip replays its first two seconds
    # (reports/zoetrope-pro-0.3.0-notes.md). Training every weight for 75 CPU minutes cost 20 points
    # of adherence (reports/zoetrope-pro-0.1.0-notes.md); that wants a GPU and more clips.
    ("generator", 100_000, 40, "tokens", ["--train-only", "pos", "--lr", "1e-3"]),
]
# Pro ships its teacher: a render node has a GPU, so it can afford the steps and the guidance.
PRO_SHIPPED = {"denoiser": "generator", "steps": 16, "guidance": 1.5}


def sampler_args(sampler: dict) -> list[str]:
    return ["--denoiser", sampler["denoiser"], "--steps", str(sampler["steps"]), "--guidance", str(sampler["guidance"])]


def run(cmd: list[str], **env: str) -> None:
    print(f"pipeline: {' '.join(cmd)}", flush=True)
    full_env = {**__import__("os").environ, "PYTHONPATH": str(REPO / "model-shards" / "training"), **env}
    result = subprocess.run(cmd, cwd=REPO, env=full_env)
    if result.returncode != 0:
        raise SystemExit(f"pipeline: {cmd[0]} failed with exit code {result.returncode}; run the same command again to resume")


class Ledger:
    """What a --work folder has finished, and the minutes each step took, kept across reruns in
    WORK/pipeline-done.json (Pro's in WORK/pro-pipeline-done.json). Stages with a time budget never
    finish their step count, so a rerun would train each of them again for its minutes: those done
    are skipped, and the one that was interrupted resumes from its checkpoint. A bench is skipped
    too once judged, until a stage trains again. The minutes of every invocation add up to the
    command's total."""

    # Steps that only read what the stages made: stale once a stage trains again.
    DERIVED = ("bench ", "judge ", "cameo bench", "pro bench ", "pro judge ", "pro cameo bench")

    def __init__(self, path: Path):
        self.path = path
        self.minutes: dict[str, float] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def __contains__(self, key: str) -> bool:
        return key in self.minutes

    def _timed(self, key: str, cmd: list[str]) -> None:
        began = time.time()
        run(cmd)
        self.minutes[key] = round((time.time() - began) / 60, 2)
        self.path.write_text(json.dumps(self.minutes, indent=1) + "\n")

    def train(self, key: str, cmd: list[str]) -> None:
        """A stage of training: what was derived from the run before it is stale now."""
        self.minutes = {k: m for k, m in self.minutes.items() if not k.startswith(self.DERIVED)}
        self._timed(key, cmd)

    def derive(self, key: str, cmd: list[str], again: bool = False) -> None:
        """A step that reads the stages' output: skipped when already done, unless `again` (the
        export, which writes into --out, and what reads it)."""
        if again or key not in self.minutes:
            self._timed(key, cmd)

    def forget(self, prefix: str) -> None:
        """Drops the steps under `prefix` (a run started over), and what was derived."""
        self.minutes = {k: m for k, m in self.minutes.items() if not k.startswith(prefix) and not k.startswith(self.DERIVED)}
        self.path.write_text(json.dumps(self.minutes, indent=1) + "\n")

    def total(self) -> float:
        return round(sum(self.minutes.values()), 1)

    def report(self, started: float, bench: dict) -> None:
        print(json.dumps({"minutes": self.total(), "minutesThisRun": round((time.time() - started) / 60, 1), "steps": self.minutes, "bench": bench}, indent=2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run train:draft --", description=__doc__.split("\n\n")[1])
    p.add_argument("--config", default="draft", choices=("draft", "pro"))
    p.add_argument("--work", required=True, help="folder for the dataset, the run and the evaluations")
    p.add_argument("--out", default=None, help="the model folder (default model-shards/zoetrope-<config>)")
    p.add_argument("--version", default=None, help=f"default: {DRAFT_VERSION} for the Draft, {PRO_VERSION} for Pro")
    p.add_argument("--notes", default=None, help="a Markdown file of known failure modes and remarks for the model card")
    p.add_argument("--base", default=None, help="pro: the trained Draft cameo run it builds on (default WORK/cameo-run, what train:draft made)")
    args = p.parse_args(argv)
    if args.notes is not None and not Path(args.notes).is_file():
        raise SystemExit(f"pipeline: --notes {args.notes} is not a file")
    if args.config == "pro":
        return pro(args)
    if args.base is not None:
        raise SystemExit("pipeline: --base is for --config pro")
    args.out = args.out or "model-shards/zoetrope-draft"
    args.version = args.version or DRAFT_VERSION
    work = Path(args.work).resolve()
    data, run_dir, evals = work / "data", work / "run", work / "eval"
    cameo_data, cameo_run, plan_run = work / "cameo-data", work / "cameo-run", work / "plan-run"
    started = time.time()
    tsx = str(REPO / "node_modules" / ".bin" / "tsx")
    shape = ["--size", str(DATA["size"]), "--duration", str(DATA["duration"]), "--fps", str(DATA["fps"]), "--sample-rate", str(DATA["sample_rate"]), "--background", "--bare"]
    work.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(work / "pipeline-done.json")
    if not (data / "index.json").exists():
        ledger.train("data", [tsx, "model-shards/world/cli.ts", "export", "--clips", str(DATA["clips"]), "--seed", str(DATA["seed"]), *shape, "--out", str(data)])
    if not (cameo_data / "index.json").exists():
        ledger.train("cameo data", [tsx, "model-shards/world/cli.ts", "export", "--clips", str(CAMEO_DATA["clips"]), "--seed", str(CAMEO_DATA["seed"]), *shape, "--cameos", "--out", str(cameo_data)])
    py = "/usr/bin/python3"

    def train_stages(prefix: str, plan: list, config: str, run_to: Path, every: list[str], datasets: tuple[str, ...] = (), base: tuple[str, ...] = ()) -> None:
        """The plan's stages into run_to, each once (the ledger); `every` goes to each stage, `datasets`
        to those that read the frames (encode, video-bare), `base` to encode."""
        for stage, steps, minutes, extra in plan:
            key = " ".join([prefix, stage, *extra])
            if key in ledger or stage == "encode" and (run_to / "tokens.npy").exists():
                continue
            cmd = [py, "-m", "zoetrope.train", "--config", config, "--stage", stage, *every, "--run", str(run_to), "--minutes", str(minutes), *extra]
            if stage in ("encode", "video-bare"):
                cmd += [*datasets]
            if stage == "encode":
                cmd += [*base]
            if steps is not None:
                cmd += ["--steps", str(steps)]
            if stage in ("generator", "student"):
                cmd += ["--anneal-minutes", str(minutes)]
            ledger.train(key, cmd)

    both = ("--data", str(data), "--data", str(cameo_data))
    train_stages("base", DRAFT_PLAN, "draft", run_dir, ["--data", str(data)])
    train_stages("cameo", CAMEO_PLAN, CAMEO_CONFIG, cameo_run, [], both, ("--base", str(run_dir)))
    student, planned_student = cameo_run / "student.pt", plan_run / "student.pt"
    if planned_student.exists() and student.exists() and planned_student.read_bytes() != student.read_bytes():
        # The cameo run's student trained again since: the planner reads the prompt as it does, so the planned run starts over.
        shutil.rmtree(plan_run)
        ledger.forget("plan ")
    train_stages("plan", PLANNED_PLAN, SHIPPED_CONFIG, plan_run, [], both, ("--base", str(cameo_run)))
    # The export and its parity check run every time; each bench once for what the stages made.
    parity = work / "parity.json"
    ledger.derive("export", [py, "-m", "zoetrope.export", "--config", SHIPPED_CONFIG, "--run", str(plan_run), "--out", args.out, "--id", "zoetrope-draft", "--version", args.version, *sampler_args(SHIPPED), "--parity", str(parity)], again=True)
    ledger.derive("parity", [tsx, "scripts/onnx-parity.ts", "--model", args.out, "--parity", str(parity), "--json", str(work / "parity-report.json")], again=True)
    # What the shipped graphs do not hold (the teacher, the encoders), beside the model folder, so
    # training resumes from it on another machine (npm run recover -- restore).
    ledger.derive("rest", [py, "-m", "zoetrope.recover", "pack", "--config", SHIPPED_CONFIG, "--model", args.out, "--run", str(plan_run)], again=True)
    bench = ["--config", SHIPPED_CONFIG, "--run", str(plan_run), "--data", str(data), "--clips", "100"]
    results = {}

    def judged(name: str, extra: list[str]) -> None:
        out = evals / name
        ledger.derive(f"bench {name}", [py, "-m", "zoetrope.evaluate", *bench, "--out", str(out), *extra])
        ledger.derive(f"judge {name}", [tsx, "model-shards/world/cli.ts", "judge", "--dataset", str(out)])
        results[name] = json.loads((out / "judgement.json").read_text())["passRate"]

    # What ships and its teacher first, and the cameo bench; then the model card's other rows.
    for name, chosen in ((f"teacher-{TEACHER['steps']}", TEACHER), (f"student-{SHIPPED['steps']}", SHIPPED)):
        judged(name, sampler_args(chosen))
    cameo_report = evals / "cameo.json"
    # Every held-out cameo clip (the bench takes at most the held-out share: 150 of the 3000, about 2.5
    # minutes): on 50, two draws of the same model once differed by 14 points (reports/experiments.md,
    # "the cameo bench regression, explained").
    ledger.derive("cameo bench", [py, "-m", "zoetrope.cameo_bench", "--config", SHIPPED_CONFIG, "--run", str(plan_run), "--data", str(cameo_data), "--clips", str(CAMEO_DATA["clips"]), *sampler_args(SHIPPED), "--out", str(cameo_report)])
    results["cameo"] = json.loads(cameo_report.read_text())
    judged("ground-truth", ["--ground-truth"])
    judged("reconstruction", ["--reconstruct"])
    for steps in CARD_STUDENT_STEPS:
        judged(f"student-{steps}", sampler_args({**SHIPPED, "steps": steps}))
    card = [py, "-m", "zoetrope.model_card", "--config", SHIPPED_CONFIG, "--run", str(plan_run), "--model", args.out, "--evals", str(evals), "--data", str(data), "--denoiser", SHIPPED["denoiser"], "--cameo", str(cameo_report)]
    ledger.derive("model card", card + (["--notes", str(Path(args.notes).resolve())] if args.notes else []), again=True)
    ledger.report(started, results)
    return 0


def pro(args: argparse.Namespace) -> int:
    work = Path(args.work).resolve()
    base = Path(args.base).resolve() if args.base else work / "cameo-run"
    if not (base / "generator.pt").exists() or not (base / "video-ae.pt").exists():
        raise SystemExit(f"pipeline: Pro builds on the Draft's trained cameo run, and {base} has none (run npm run train:draft -- --work {work} first, or pass --base)")
    out_dir, version = args.out or "model-shards/zoetrope-pro", args.version or PRO_VERSION
    data = {"tokens": work / "pro-data", "decoder": work / "pro-data-256", "eval": work / "pro-eval-256", "cameo": work / "pro-cameo-256"}
    run_dir, evals = work / "pro-run", work / "pro-eval"
    started = time.time()
    tsx, py = str(REPO / "node_modules" / ".bin" / "tsx"), "/usr/bin/python3"
    ledger = Ledger(work / "pro-pipeline-done.json")
    for key, spec in (("tokens", PRO_DATA), ("decoder", PRO_DECODER_DATA), ("eval", PRO_EVAL_DATA), ("cameo", PRO_CAMEO_DATA)):
        if not (data[key] / "index.json").exists():
            shape = ["--size", str(spec["size"]), "--duration", "4", "--fps", "12", "--sample-rate", "24000", "--background", *(["--cameos"] if key == "cameo" else [])]
            ledger.train(f"pro data {key}", [tsx, "model-shards/world/cli.ts", "export", "--clips", str(spec["clips"]), "--seed", str(spec["seed"]), *shape, "--out", str(data[key])])
    for stage, steps, minutes, source, extra in PRO_PLAN:
        key = f"pro {stage}"
        if key in ledger or stage == "encode" and (run_dir / "tokens.npy").exists():
            continue
        cmd = [py, "-m", "zoetrope.train", "--config", "pro", "--stage", stage, "--run", str(run_dir), "--minutes", str(minutes)]
        if stage == "encode":
            cmd += ["--data", str(data[source]), "--base", str(base)]
        else:
            cmd += ["--steps", str(steps), "--anneal-minutes", str(minutes)] + (["--data", str(data[source])] if stage == "video-upscale" else [])
        ledger.train(key, cmd + extra)
    parity = work / "pro-parity.json"
    ledger.derive("pro export", [py, "-m", "zoetrope.export", "--config", "pro", "--run", str(run_dir), "--out", out_dir, "--version", version, *sampler_args(PRO_SHIPPED), "--parity", str(parity)], again=True)
    ledger.derive("pro parity", [tsx, "scripts/onnx-parity.ts", "--model", out_dir, "--parity", str(parity), "--json", str(work / "pro-parity-report.json")], again=True)
    results = {}
    bench = ["--config", "pro", "--run", str(run_dir), "--data", str(data["eval"]), "--all-clips", "--clips", str(PRO_EVAL_DATA["clips"])]
    for name, extra in (("ground-truth", ["--ground-truth"]), ("reconstruction", ["--reconstruct"]), (f"teacher-{PRO_SHIPPED['steps']}", sampler_args(PRO_SHIPPED))):
        out = evals / name
        ledger.derive(f"pro bench {name}", [py, "-m", "zoetrope.evaluate", *bench, "--out", str(out), *extra])
        ledger.derive(f"pro judge {name}", [tsx, "model-shards/world/cli.ts", "judge", "--dataset", str(out)])
        results[name] = json.loads((out / "judgement.json").read_text())["passRate"]
    cameo_report = evals / "cameo.json"
    ledger.derive("pro cameo bench", [py, "-m", "zoetrope.cameo_bench", "--config", "pro", "--run", str(run_dir), "--data", str(data["cameo"]), "--all-clips", "--clips", str(PRO_CAMEO_DATA["clips"]), *sampler_args(PRO_SHIPPED), "--out", str(cameo_report)])
    results["cameo"] = json.loads(cameo_report.read_text())
    card = [py, "-m", "zoetrope.model_card", "--config", "pro", "--run", str(run_dir), "--model", out_dir, "--evals", str(evals), "--data", str(data["tokens"]), "--denoiser", "generator", "--cameo", str(cameo_report)]
    ledger.derive("pro model card", card + (["--notes", str(Path(args.notes).resolve())] if args.notes else []), again=True)
    ledger.report(started, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
