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
    pack RUN DIR --regenerate --config C --data D [--data D ...]
                       no tokens: which clips the run holds (its datasets' seeds, counts and export
                       options, checked against clips.json) and its encoders (float16, 1.6 MB), for a
                       GPU machine that renders them again with the world kit (zoetrope/regenerate.py)
                       and can add more than would ever fit in what travels
    world-kit DIR      the world CLI with its own node and native module (`npm run world:kit`), every
                       file over 1 MiB compressed with xz (135 MiB → 34.5 MiB); on the GPU machine
                       `unpack_world_kit` checks each file against the kit's sha256 list
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
import torch

from .regenerate import ENCODERS_FILE, WORLD_FILE
from .train import weights_checkpoint

REPO = Path(__file__).resolve().parents[3]
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
    for stale in (WORLD_FILE, ENCODERS_FILE):  # what a --regenerate pack into the same folder left
        (out / stale).unlink(missing_ok=True)
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
    if not (src / "tokens.q8").exists() and (src / WORLD_FILE).exists():
        # A pack made with --regenerate: the tokens are rendered again where it is unpacked.
        run.mkdir(parents=True, exist_ok=True)
        for name in SMALL_FILES:
            shutil.copy(src / name, run / name)
        return {"clips": 0, "regenerate": json.loads((src / WORLD_FILE).read_text())["clips"]}
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


KIT_COMPRESS_BYTES = 1 << 20


def pack_regenerate(run: Path, out: Path, config: str, data: list[str]) -> dict:
    from .configs import get_config
    from .data import WorldDataset
    from .regenerate import pack_world

    if not data:
        raise ValueError("pack --regenerate needs the run's datasets: --data DIR for each, in the order it was encoded from them")
    result = pack_world(get_config(config), run, [WorldDataset(d) for d in data], out)
    (out / "tokens.q8").unlink(missing_ok=True)  # a pack made before into the same folder would win over world.json
    for name in SMALL_FILES:
        shutil.copy(run / name, out / name)
    return result


def world_kit(out: Path) -> dict:
    """`npm run world:kit` into a temporary folder, then into `out` with its large files xz-compressed."""
    tsx = REPO / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        raise ValueError(f"{tsx} is missing: run npm ci first")
    if out.exists() and any(out.iterdir()) and not (out / "kit.json").exists():
        raise ValueError(f"{out} is not empty and holds no world kit (kit.json): give an empty or new folder")
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / "kit"
        done = subprocess.run([str(tsx), "model-shards/world/kit.ts", "--out", str(built)], cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise ValueError(f"npm run world:kit failed: {(done.stderr or done.stdout).strip()[-2000:]}")
        manifest = json.loads((built / "kit.json").read_text())
        shutil.rmtree(out, ignore_errors=True)
        sent = 0
        for f in manifest["files"]:
            target = out / f["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if f["bytes"] > KIT_COMPRESS_BYTES:
                target = target.with_name(target.name + ".xz")
                target.write_bytes(lzma.compress((built / f["path"]).read_bytes(), preset=9 | lzma.PRESET_EXTREME))
            else:
                shutil.copy(built / f["path"], target)
            sent += target.stat().st_size
        shutil.copy(built / "kit.json", out / "kit.json")
    return {"files": len(manifest["files"]), "bytes": sum(f["bytes"] for f in manifest["files"]), "packed_bytes": sent, "node": manifest["node"]}


def unpack_world_kit(src: Path, dest: Path) -> list[str]:
    """The kit of `world-kit` into `dest`, every file checked against kit.json; the command that runs
    the world CLI from it."""
    manifest = json.loads((src / "kit.json").read_text())
    for f in manifest["files"]:
        plain, packed = src / f["path"], src / (f["path"] + ".xz")
        data = lzma.decompress(packed.read_bytes()) if packed.exists() else plain.read_bytes()
        if len(data) != f["bytes"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
            raise ValueError(f"{src} holds a damaged {f['path']}: its bytes do not match kit.json's sha256")
        target = dest / f["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    os.chmod(dest / "node", 0o755)
    return [str(dest / manifest["entry"][0]), str(dest / manifest["entry"][1])]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run carry --", description="Move a run's generator stages to a GPU machine and back.")
    p.add_argument("command", choices=("pack", "unpack", "send-back", "receive", "world-kit"))
    p.add_argument("src", help="the run (pack, send-back), the packed folder (unpack, receive), or, for world-kit, the kit's folder")
    p.add_argument("dst", nargs="?")
    p.add_argument("--regenerate", action="store_true", help="pack: no tokens; the clips are rendered again on the GPU machine (needs --config and --data)")
    p.add_argument("--config", default=None, help="pack --regenerate: the run's config")
    p.add_argument("--data", action="append", default=[], help="pack --regenerate: a dataset the run was encoded from (once each, in order)")
    p.add_argument("--ema-only", action="store_true", help="send-back: the EMA weights alone (a resume point to carry to a GPU)")
    p.add_argument("--stage", choices=DENOISERS, default=None, help="send-back: that denoiser alone (default: both)")
    args = p.parse_args(argv)
    for flag, given, command in (("--ema-only", args.ema_only, "send-back"), ("--stage", args.stage, "send-back"), ("--regenerate", args.regenerate, "pack"), ("--config", args.config, "pack"), ("--data", args.data, "pack")):
        if given and args.command != command:
            print(f"error: {flag} is for {command}, not {args.command}", file=sys.stderr)
            return 2
    if (args.config or args.data) and not args.regenerate:
        print("error: --config and --data go with pack --regenerate", file=sys.stderr)
        return 2
    if args.regenerate and not args.config:
        print("error: pack --regenerate needs --config (the run's)", file=sys.stderr)
        return 2
    if args.command == "world-kit":
        if args.dst is not None:
            print("error: world-kit takes one folder: npm run carry -- world-kit DIR", file=sys.stderr)
            return 2
        try:
            print(json.dumps(world_kit(Path(args.src))))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    if args.dst is None:
        print(f"error: {args.command} takes two folders (SRC DST)", file=sys.stderr)
        return 2
    src, dst = Path(args.src), Path(args.dst)
    if not src.is_dir():
        print(f"error: {src} is not a folder", file=sys.stderr)
        return 2
    try:
        if args.command == "pack" and args.regenerate:
            result = pack_regenerate(src, dst, args.config, args.data)
        elif args.command == "send-back":
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
