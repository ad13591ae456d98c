"""`python3 -m zoetrope.seam DIR [DIR …] [--half FRAMES]`

Does a long clip replay its first half? A generator grown from a shorter one starts its new frames
with the old frames' embeddings (generator.grow), so frame t + half can come out as frame t again:
the clip jumps back to its opening at the seam and plays it a second time. For every clip of each
folder (the dataset format `npm run evaluate` writes), on frames area-averaged to 64²:

- replay: the mean absolute difference of frame t + half from frame t, over t < half, divided by
  that of frame t + half from frame t + half/2 (frames as far apart within the second half). About 1
  or more for a clip that goes on; near 0 for one that replays.
- seam jump: the change from frame half − 1 to frame half over the clip's median frame-to-frame
  change. About 1 for a clip that goes on smoothly; large where the replay jumps back.

Printed as one JSON line per folder: the medians over clips, and the share of clips whose replay
ratio is under 0.5 or whose seam jump is over 3.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .data import DATASET_GENERATOR, EVALUATION_GENERATORS, DatasetError, WorldDataset


def clip_seam(frames: np.ndarray, half: int) -> tuple[float, float]:
    """(replay ratio, seam jump) of one clip's frames [T, S, S, 3] (T ≥ 2·half)."""
    T, S = frames.shape[0], frames.shape[1]
    f = max(1, S // 64)
    c = frames[:, : S - S % f, : S - S % f].astype(np.float32).reshape(T, S // f, f, S // f, f, 3).mean((2, 4))
    steps = np.abs(np.diff(c, axis=0)).mean(axis=(1, 2, 3))
    seam = float(steps[half - 1] / (np.median(steps) + 1e-3))
    replay = np.mean([np.abs(c[t + half] - c[t]).mean() for t in range(half)])
    quarter = half // 2
    apart = np.mean([np.abs(c[t + half] - c[t + quarter]).mean() for t in range(quarter, half)])
    return float(replay / max(apart, 1e-3)), seam


def folder_seam(folder: Path, half: int | None = None) -> dict:
    data = WorldDataset(folder, (DATASET_GENERATOR, *EVALUATION_GENERATORS))
    half = half or data.frames_per_clip // 2
    if half < 2 or 2 * half > data.frames_per_clip:
        raise ValueError(f"--half {half}: {folder}'s clips have {data.frames_per_clip} frames, so half must be 2–{data.frames_per_clip // 2}")
    ratios_a, jumps_a = np.array([clip_seam(data.clip(i).frames, half) for i in range(len(data))]).T
    return {
        "folder": str(folder),
        "clips": len(data),
        "half": half,
        "replayRatio": round(float(np.median(ratios_a)), 3),
        "replayingShare": round(float((ratios_a < 0.5).mean()), 3),
        "seamJump": round(float(np.median(jumps_a)), 3),
        "seamJumpOver3Share": round(float((jumps_a > 3).mean()), 3),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m zoetrope.seam", description="Whether long clips replay their first half, and how hard they jump at the seam.")
    p.add_argument("folders", nargs="+", help="dataset-format folders (npm run evaluate --out, or a world export)")
    p.add_argument("--half", type=int, default=None, help="the seam's frame (default: half the clip: 24 for Pro's 48)")
    args = p.parse_args(argv)
    try:
        for folder in args.folders:
            print(json.dumps(folder_seam(Path(folder), args.half)), flush=True)
    except (ValueError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
