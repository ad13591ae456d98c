"""`npm run train:draft -- --work DIR [--out model-shards/zoetrope-draft] [--version V]`

The Draft from nothing, in one command and under three hours on the 2-core machine: the world's
dataset, every training stage with its time budget, the ONNX export with a parity check, and the
physics bench on held-out prompts for the teacher and the student. Each stage resumes, so running the
command again after an interruption carries on where it stopped.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

# (stage, steps, minutes): the budget that fits 3 hours with the 6000-clip dataset on 2 cores.
# Steps are set so each learning-rate schedule finishes inside its minutes (measured 2026-11-25:
# video AE ~0.45 s/step, audio AE ~0.35, generator ~0.32; encoding 6000 clips ~5 min).
DRAFT_PLAN = [
    ("video-ae", 5500, 45),
    ("audio-ae", 1500, 12),
    ("encode", None, 10),
    ("generator", 8000, 50),
    ("pairs", None, 15),
    ("student", 1500, 15),
]
DATA = {"clips": 6000, "seed": 100000, "size": 128, "duration": 2, "fps": 12, "sample_rate": 24000}


def run(cmd: list[str], **env: str) -> None:
    print(f"pipeline: {' '.join(cmd)}", flush=True)
    full_env = {**__import__("os").environ, "PYTHONPATH": str(REPO / "model-shards" / "training"), **env}
    result = subprocess.run(cmd, cwd=REPO, env=full_env)
    if result.returncode != 0:
        raise SystemExit(f"pipeline: {cmd[0]} failed with exit code {result.returncode}; run the same command again to resume")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run train:draft --", description=__doc__.split("\n\n")[1])
    p.add_argument("--work", required=True, help="folder for the dataset, the run and the evaluations")
    p.add_argument("--out", default="model-shards/zoetrope-draft")
    p.add_argument("--version", default="0.1.0")
    args = p.parse_args(argv)
    work = Path(args.work).resolve()
    data, run_dir, evals = work / "data", work / "run", work / "eval"
    started = time.time()
    tsx = str(REPO / "node_modules" / ".bin" / "tsx")
    if not (data / "index.json").exists():
        run([tsx, "model-shards/world/cli.ts", "export", "--clips", str(DATA["clips"]), "--seed", str(DATA["seed"]), "--size", str(DATA["size"]), "--duration", str(DATA["duration"]), "--fps", str(DATA["fps"]), "--sample-rate", str(DATA["sample_rate"]), "--background", "--out", str(data)])
    py = "/usr/bin/python3"
    for stage, steps, minutes in DRAFT_PLAN:
        cmd = [py, "-m", "zoetrope.train", "--config", "draft", "--stage", stage, "--data", str(data), "--run", str(run_dir), "--minutes", str(minutes)]
        if steps is not None:
            cmd += ["--steps", str(steps)]
        if stage == "encode" and (run_dir / "tokens.npy").exists():
            continue
        run(cmd)
    parity = work / "parity.json"
    run([py, "-m", "zoetrope.export", "--config", "draft", "--run", str(run_dir), "--out", args.out, "--version", args.version, "--steps", "4", "--guidance", "1", "--parity", str(parity)])
    run([tsx, "scripts/onnx-parity.ts", "--model", args.out, "--parity", str(parity), "--json", str(work / "parity-report.json")])
    results = {}
    for name, extra in (("teacher-24", ["--denoiser", "generator", "--steps", "24", "--guidance", "2"]), ("student-4", ["--denoiser", "student", "--steps", "4", "--guidance", "1"])):
        out = evals / name
        run([py, "-m", "zoetrope.evaluate", "--config", "draft", "--run", str(run_dir), "--data", str(data), "--out", str(out), "--clips", "100", *extra])
        run([tsx, "model-shards/world/cli.ts", "judge", "--dataset", str(out)])
        results[name] = json.loads((out / "judgement.json").read_text())["passRate"]
    print(json.dumps({"minutes": round((time.time() - started) / 60, 1), "bench": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
