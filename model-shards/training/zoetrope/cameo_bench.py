"""`npm run evaluate:cameo -- --config draft --run DIR --data DIR [--clips N] [--steps S] [--guidance G] [--denoiser generator|student] [--reconstruct] [--out FILE] [--sheet PNG]`

Does a cameo come through? For each held-out clip of a dataset exported with --cameos, the model
draws the clip's prompt and seed twice: with the clip's own reference face A and with another clip's
face B (the next held-out clip's). The pixels where the two videos differ are what the cameo changed;
their mean colour in each video is compared with the two references' mean colours, toned down the
way the world draws a face (a third of its saturation). The pair counts as told apart when matching
each video with its own reference is closer than the swap. Chance is 50%. It also reports how much
of the picture a cameo changes (a face is ~40 of 16 384 pixels at 128²: a cameo that repaints the
scene is not a cameo).

A config with a head slot (draft-cameo) draws each clip once, without the face, and its video
decoder paints face A, then face B, on the head: where the latent draws it, read by the run's head
locator (head_locator.py), or on the generated head slot for a config without one. There the test
also reports where that head is: the share of frames whose head is shown (or not) as in the
held-out clip itself, and how far it is from the clip's own (median px, frames where both show it;
the camera of a generated clip can differ from the clip's, so this is an upper bound of the
placement error). With a locator it also reports how far the generated head slot is from the
located head (median px): how far a face painted on the slot would have been from the figure, and
how far the light the locator reads (the face is lit by it) is from the clip's own light (median of
the largest channel's error, 8-bit levels; a generated clip may light its scene otherwise).
`--reconstruct` takes each clip's own tokens instead of generating: the ceiling. `--all-clips` takes
every clip of --data (a dataset exported for evaluation alone, from seeds the run never trained on:
Pro's 4-second clips at 256²).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .configs import get_config
from .data import DatasetError, WorldDataset
from .evaluate import Model, initial_noise, with_temperature
from .generator import sample
from .slots import FACE_SATURATION, SLOT_NUMBERS, head_slot

# A pixel counts as changed by the cameo when its RGB differs by more than this (0–255, summed).
CHANGED = 24


def muted_mean(appearance: np.ndarray) -> np.ndarray:
    """A reference image's mean colour (0–255) as the world would paint it on a head."""
    rgb = appearance.reshape(-1, 3).astype(np.float64).mean(0)
    y = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return y + (rgb - y) * FACE_SATURATION


def told_apart(video_a: np.ndarray, video_b: np.ndarray, ref_a: np.ndarray, ref_b: np.ndarray) -> tuple[bool | None, float]:
    """(whether each video matches its own reference better than the swap, or None when the two
    videos do not differ at all; the changed share of pixels per frame)."""
    diff = np.abs(video_a.astype(np.int16) - video_b.astype(np.int16)).sum(-1) > CHANGED
    share = float(diff.mean())
    if not diff.any():
        return None, share
    ca, cb = video_a[diff].astype(np.float64).mean(0), video_b[diff].astype(np.float64).mean(0)
    ma, mb = muted_mean(ref_a), muted_mean(ref_b)
    own = np.linalg.norm(ca - ma) + np.linalg.norm(cb - mb)
    swap = np.linalg.norm(ca - mb) + np.linalg.norm(cb - ma)
    return bool(own < swap), share


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run evaluate:cameo --", description="How well a cameo's face comes through, on held-out clips exported with --cameos.")
    p.add_argument("--config", required=True)
    p.add_argument("--run", required=True, help="a run trained with --stage cameo")
    p.add_argument("--data", required=True, help="a dataset exported with --cameos (its held-out clips are used)")
    p.add_argument("--clips", type=int, default=50)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--guidance", type=float, default=1.5)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--denoiser", default="generator", choices=("generator", "student"), help="the teacher (default) or the distilled student")
    p.add_argument("--all-clips", action="store_true", help="take every clip of --data, not its held-out share")
    p.add_argument("--reconstruct", action="store_true", help="with a head slot: each clip's own tokens, not generated ones (the ceiling)")
    p.add_argument("--out", default=None, help="also write the result here (JSON)")
    p.add_argument("--sheet", default=None, help="also write a PNG: for the first clips, face A, the clip's middle frame with A, then with B, and face B")
    p.add_argument("--temperature", type=float, default=None, metavar="SCALE", help="the background latent's starting noise scale, 1 around a figure (default: the config's, configs.Temperature)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        cfg = with_temperature(get_config(args.config), args.temperature)
        data = WorldDataset(args.data)
        if "appearance" not in data.layers:
            raise DatasetError(f"{args.data} has no appearance layer: export it with `npm run world -- export --cameos ...`")
        if args.reconstruct and not cfg.head_slot:
            raise ValueError(f"--reconstruct is for a config with a head slot; config {cfg.name} draws faces from its generator")
        model = Model(cfg, Path(args.run), "" if args.reconstruct else args.denoiser)
        if cfg.head_slot:
            if model.generator is None and not args.reconstruct:
                raise ValueError(f"{args.run} has no {args.denoiser} checkpoint: train it first")
        elif model.generator is None or not model.generator.cfg.appearance_side:
            raise ValueError(f"{args.run} has no generator with cameo conditioning: train --stage cameo first")
        held_out = list(range(len(data))) if args.all_clips else data.split()[1]
        picks = held_out[: args.clips]
        if len(picks) < 2:
            raise ValueError(f"{args.data} has {len(picks)} held-out clip(s); the test swaps faces between two")
        others = picks[1:] + picks[:1]
        started = time.time()
        results: list[bool | None] = []
        shares: list[float] = []
        head_agree: list[float] = []
        head_px: list[float] = []
        slot_px: list[float] = []
        light_levels: list[float] = []
        slot_at = slice(cfg.head_at, cfg.head_at + SLOT_NUMBERS) if cfg.head_slot else None
        rows: list[np.ndarray] = []
        for start in range(0, len(picks), args.batch):
            chunk, swap = picks[start : start + args.batch], others[start : start + args.batch]
            metas = [data.meta(i) for i in chunk]
            ids, mask = model.tokenizer.batch([m["prompt"] for m in metas])
            noise = torch.stack([initial_noise(cfg, int(m["seed"])) for m in metas])
            refs_a = [data.appearance(i) for i in chunk]
            refs_b = [data.appearance(i) for i in swap]
            videos = []
            if cfg.head_slot:
                # One drawing; the decoder paints each face on it.
                if args.reconstruct:
                    clips = [data.clip(i) for i in chunk]
                    tokens = torch.stack([model.encode(c.frames, c.audio, data.background(i), c.meta) for c, i in zip(clips, chunk)])
                else:
                    tokens = model.draw(ids, mask, noise, args.steps, args.guidance)
                for refs in (refs_a, refs_b):
                    videos.append([model.decode(t, appearance=r)[0] for t, r in zip(tokens, refs)])
                # Positions are shares of the side: distances in pixels of the model's frames.
                S = cfg.size
                for t, m in zip(tokens, metas):
                    got = model.head(t)
                    want = head_slot(m, cfg.frames, data.size)
                    shown_got, shown_want = got[:, 0] > 0.5, want[:, 0] > 0.5
                    head_agree.append(float((shown_got == shown_want).mean()))
                    both = shown_got & shown_want
                    if both.any():
                        head_px.append(float(np.median(np.hypot(*(got[both, 1:3] - want[both, 1:3]).T) * S)))
                    if model.locator is not None:
                        if "light" in m:
                            light_levels.append(float(np.median(np.abs(got[:, 4:7] - np.asarray(m["light"])).max(-1) * 255)))
                        slot = (t * model.std + model.mean)[:, slot_at].numpy()
                        shared = (slot[:, 0] > 0.5) & shown_got
                        if shared.any():
                            slot_px.append(float(np.median(np.hypot(*(slot[shared, 1:3] - got[shared, 1:3]).T) * S)))
            else:
                for refs in (refs_a, refs_b):
                    faces = torch.from_numpy(np.stack(refs)).float() / 255
                    tokens = sample(model.generator, ids, mask, noise, args.steps, args.guidance, appearance=faces, cameo=torch.ones(len(chunk)))
                    videos.append([model.decode(t)[0] for t in tokens])
            for va, vb, ra, rb in zip(*videos, refs_a, refs_b):
                ok, share = told_apart(va, vb, ra, rb)
                results.append(ok)
                shares.append(share)
                if args.sheet and len(rows) < 4:
                    S, mid = va.shape[1], va.shape[0] // 2
                    face = lambda ref: np.kron(ref, np.ones((S // ref.shape[0], S // ref.shape[1], 1), dtype=np.uint8))  # noqa: E731
                    rows.append(np.concatenate([face(ra), va[mid], vb[mid], face(rb)], axis=1))
            print(f"evaluate:cameo: {len(results)}/{len(picks)} clips ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
        judged = [r for r in results if r is not None]
        report = {
            "clips": len(results),
            "toldApart": round(sum(judged) / len(results), 3),
            "unchanged": sum(r is None for r in results),
            "changedPixelShare": {"median": round(float(np.median(shares)), 5), "max": round(float(np.max(shares)), 5)},
            "steps": None if args.reconstruct else args.steps,
            "guidance": None if args.reconstruct else args.guidance,
            "temperature": None if args.reconstruct else cfg.temperature.scale,
            "tokens": "the clips' own" if args.reconstruct else args.denoiser,
            "seconds": round(time.time() - started, 1),
        }
        if cfg.head_slot:
            report["head"] = {"shownAsInTheClip": round(float(np.mean(head_agree)), 3), "medianDistancePx": round(float(np.median(head_px)), 2) if head_px else None}
            if model.locator is not None:
                report["head"]["located"] = True
                report["head"]["slotFromLocatedPx"] = round(float(np.median(slot_px)), 2) if slot_px else None
                # How far the light the face is lit by is from the clip's own (its largest channel, 8-bit levels).
                report["head"]["lightLevels"] = round(float(np.median(light_levels)), 2) if light_levels else None
        print(json.dumps(report))
        if args.sheet and rows:
            from .model_card import png

            png(np.concatenate(rows, axis=0), Path(args.sheet))
        if args.out:
            Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    except (ValueError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
