"""Moving a run to a lent GPU machine and back (`npm run carry -- <command> ...`).

The GPU machine gets a copy of the repository (at most 64 MiB with what it carries) and returns at
most 8 files of 16 MiB. The generator stages need only the run folder, and its tokens compress well:
    pack RUN DIR       tokens as int8, per number in steps of 1/QUANT standard deviations or coarser
                       where a number's largest value needs it (the sound's impacts reach ~18), stored
                       as differences along time and compressed with xz (a still background is
                       ~0 bytes; the Draft cameo run's 464 MB → 36 MB, where deflate, used before and
                       still read, made 43 MB, too much beside its teacher's EMA in the 64 MiB the
                       machine takes), with the token statistics, clips.json and the tokenizer
    unpack DIR RUN     the reverse, into a fresh run folder
    send-back RUN OUT  the trained denoisers' weights (float16; the teacher's EMA and raw weights, the
                       student's EMA) in parts of ≤ 15 MiB and the stage logs, for OUT (the machine's $OUT);
                       with --ema-only, the EMA alone: half the bytes, for a resume point carried *to*
                       the GPU beside the packed tokens (Pro's 23 MB of tokens and 45 MB of generator
                       weights would not fit the 64 MiB working tree; its EMA alone does); with
                       --stage generator, that denoiser alone (the teacher trains on; the student
                       is distilled from it again)
    receive DIR RUN    the parts back into generator.pt / student.pt checkpoints in RUN: evaluate and
                       export read them; training resumes from them with a fresh optimiser
"""
from __future__ import annotations

import argparse
import io
import json
import lzma
import shutil
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

from .train import weights_checkpoint

QUANT = 24.0
PART_BYTES = 15 * 1024 * 1024
SMALL_FILES = ("token-stats.npz", "clips.json", "tokenizer.json")
# A cameo run's reference faces (uint8, 768 bytes a clip), when there are any.
OPTIONAL_FILES = ("appearance.npy",)
DENOISERS = ("generator", "student")
CODECS = {"xz": lzma.decompress, "deflate": zlib.decompress}


def pack(run: Path, out: Path) -> dict:
    tokens = np.load(run / "tokens.npy")
    scale = np.minimum(QUANT, 127.0 / np.maximum(np.abs(tokens.astype(np.float32)).max(axis=(0, 1)), 1e-6)).astype(np.float32)
    q = np.clip(np.round(tokens.astype(np.float32) * scale), -127, 127).astype(np.int8)
    delta = q.copy()
    delta[:, 1:] = q[:, 1:] - q[:, :-1]  # int8 wrap-around is undone exactly by the cumulative sum
    out.mkdir(parents=True, exist_ok=True)
    blob = lzma.compress(delta.tobytes(), preset=6)
    (out / "tokens.q8").write_bytes(json.dumps({"shape": list(q.shape), "scale": scale.tolist(), "codec": "xz"}).encode() + b"\n" + blob)
    for name in SMALL_FILES:
        shutil.copy(run / name, out / name)
    for name in OPTIONAL_FILES:
        if (run / name).exists():
            shutil.copy(run / name, out / name)
    error = float(np.abs(q.astype(np.float32) / scale - tokens.astype(np.float32)).max())
    return {"tokens_bytes": tokens.nbytes, "packed_bytes": len(blob), "max_error": error}


def unpack(src: Path, run: Path) -> dict:
    head, blob = (src / "tokens.q8").read_bytes().split(b"\n", 1)
    meta = json.loads(head)
    codec = meta.get("codec", "deflate")  # packs made before xz have no codec
    if codec not in CODECS:
        raise ValueError(f"{src / 'tokens.q8'} is packed with {codec!r}; this version reads {', '.join(CODECS)}")
    delta = np.frombuffer(CODECS[codec](blob), dtype=np.int8).reshape(meta["shape"])
    q = np.cumsum(delta, axis=1, dtype=np.int8)
    run.mkdir(parents=True, exist_ok=True)
    np.save(run / "tokens.npy", (q.astype(np.float32) / np.asarray(meta["scale"], dtype=np.float32)).astype(np.float16))
    for name in SMALL_FILES:
        shutil.copy(src / name, run / name)
    for name in OPTIONAL_FILES:
        if (src / name).exists():
            shutil.copy(src / name, run / name)
    return {"clips": meta["shape"][0]}


def send_back(run: Path, out: Path, stages: tuple[str, ...] = DENOISERS, ema_only: bool = False) -> dict:
    """The run's denoisers (those of `stages` it has) as float16 parts of ≤ PART_BYTES, and its logs;
    with `ema_only`, the EMA weights alone (receive then starts the raw weights from them)."""
    out.mkdir(parents=True, exist_ok=True)
    sent = {}
    for stage in stages:
        path = run / f"{stage}.pt"
        if not path.exists():
            continue
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
        half = lambda sd: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}  # noqa: E731
        buf = io.BytesIO()
        saved = {"config": ckpt["config"], "stage": stage, "step": ckpt["step"], "ema": half(ckpt["extra"]["ema"])}
        if stage == "generator" and not ema_only:  # the raw weights too, to train on from; the student's are not worth the bytes
            saved["model"] = half(ckpt["model"])
        torch.save(saved, buf)
        data = buf.getvalue()
        parts = [data[i : i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]
        for k, part in enumerate(parts):
            (out / f"{stage}.part{k}").write_bytes(part)
        sent[stage] = {"step": ckpt["step"], "parts": len(parts), "bytes": len(data)}
    # The run's own stage logs: those a resume point brought with it (received as gpu-…) stay home.
    logs = {p.name: p.read_text() for p in sorted(run.glob("*.log.jsonl")) if not p.name.startswith("gpu-")}
    (out / "logs.json").write_text(json.dumps(logs))
    return sent


def receive(src: Path, run: Path) -> dict:
    got = {}
    for stage in DENOISERS:
        parts = sorted(src.glob(f"{stage}.part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
        if not parts:
            continue
        saved = torch.load(io.BytesIO(b"".join(p.read_bytes() for p in parts)), map_location="cpu", weights_only=False)
        torch.save(weights_checkpoint(saved["config"], stage, saved.get("model", saved["ema"]), saved["step"], saved["ema"]), run / f"{stage}.pt")
        got[stage] = saved["step"]
    if (src / "logs.json").exists():
        for name, text in json.loads((src / "logs.json").read_text()).items():
            (run / f"gpu-{name}").write_text(text)
    return got


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run carry --", description="Move a run's generator stages to a GPU machine and back.")
    p.add_argument("command", choices=("pack", "unpack", "send-back", "receive"))
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--ema-only", action="store_true", help="send-back: the EMA weights alone (a resume point to carry to a GPU)")
    p.add_argument("--stage", choices=DENOISERS, default=None, help="send-back: that denoiser alone (default: both)")
    args = p.parse_args(argv)
    src, dst = Path(args.src), Path(args.dst)
    if not src.is_dir():
        print(f"error: {src} is not a folder", file=sys.stderr)
        return 2
    try:
        for flag, given in (("--ema-only", args.ema_only), ("--stage", args.stage)):
            if given and args.command != "send-back":
                print(f"error: {flag} is for send-back, not {args.command}", file=sys.stderr)
                return 2
        if args.command == "send-back":
            result = send_back(src, dst, (args.stage,) if args.stage else DENOISERS, ema_only=args.ema_only)
        else:
            result = {"pack": pack, "unpack": unpack, "receive": receive}[args.command](src, dst)
    except FileNotFoundError as e:
        print(f"error: {e.filename} is missing", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
