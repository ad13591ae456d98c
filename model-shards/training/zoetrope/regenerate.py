"""A run's clips rendered again where it trains, and more of them: the data side of a lent GPU machine.

What travels to a GPU machine is capped (64 MiB with the repository), and a run's tokens are about
4 MB per 1000 clips packed, so the teacher could only ever see the clips that fit beside its
weights. A clip is a pure function of its seed and export options, so the clips themselves need
not travel: `carry pack RUN DIR --regenerate --data D ...` writes what the run's clips are (each
dataset's seed, count and options: world.json) with the run's encoders, statistics and tokenizer,
and `carry world-kit DIR` the world's exporter with its own node. On the GPU machine,
`regenerate` renders the run's datasets again with the kit (its 16 cores), encodes them with the
run's encoders (the GPU, and a process pool for the balls' slots) into the run's tokens, checks
that every clip has the seed and prompt the run was encoded from, and adds more datasets (`--more
plain:SEED:N`, `--more cameos:SEED:N`) the same way. The clips render a chunk at a time while the
chunk before is encoded, and each chunk's frames are deleted once encoded: 30 000 clips are
70 GB of frames, more than the machine's disk.
"""
from __future__ import annotations

import json
import multiprocessing
from contextlib import closing
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from .audio_ae import AudioAutoencoder
from .configs import Config
from .data import WorldDataset, held_out_count
from .files import replace_file
from .train import RunClips, encode_clips, encode_order, load_stage
from .video_ae import FrameAutoencoder

WORLD_FILE = "world.json"
ENCODERS_FILE = "encoders.pt"
# Seeds the world's held-out clips and the benches use: more clips must start above them.
MORE_SEED_FLOOR = 1_000_000


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a run, as `npm run world -- export` makes it."""

    seed: int
    clips: int
    size: int
    duration_s: float
    fps: int
    sample_rate: int
    background: bool
    cameos: bool
    # What clips.json calls it: the folder it was encoded from, or how it was made.
    label: str

    @staticmethod
    def of(d: WorldDataset) -> "DatasetSpec":
        ix = d.index
        return DatasetSpec(int(ix["seed"]), len(d), int(ix["size"]), float(ix["durationS"]), int(ix["fps"]), int(ix["sampleRate"]), "background" in d.layers, "appearance" in d.layers, str(d.root))

    @staticmethod
    def from_json(obj: dict) -> "DatasetSpec":
        return DatasetSpec(**obj)

    def like(self, seed: int, clips: int, cameos: bool) -> "DatasetSpec":
        """More clips shaped as this dataset's, from another seed."""
        return DatasetSpec(seed, clips, self.size, self.duration_s, self.fps, self.sample_rate, self.background, cameos, f"world-kit:{'cameos' if cameos else 'plain'}:{seed}+{clips}")

    def split(self) -> tuple[int, int]:
        """Training and held-out clip counts, as WorldDataset.split makes them."""
        held = held_out_count(self.clips)
        return self.clips - held, held

    def export_args(self, first: int, count: int, out: Path, workers: int) -> list[str]:
        args = ["export", "--clips", str(count), "--seed", str(self.seed + first), "--size", str(self.size), "--duration", f"{self.duration_s:g}", "--fps", str(self.fps), "--sample-rate", str(self.sample_rate), "--workers", str(workers), "--out", str(out)]
        return args + (["--background"] if self.background else []) + (["--cameos"] if self.cameos else [])


def parse_more(spec: str, like: DatasetSpec) -> DatasetSpec:
    """`plain:SEED:N` or `cameos:SEED:N`: N more clips from SEED, shaped as the run's first dataset."""
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] not in ("plain", "cameos"):
        raise ValueError(f"--more {spec!r}: write plain:SEED:CLIPS or cameos:SEED:CLIPS")
    try:
        seed, clips = int(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(f"--more {spec!r}: the seed and the clip count are whole numbers") from None
    if seed < MORE_SEED_FLOOR:
        raise ValueError(f"--more {spec!r}: seeds below {MORE_SEED_FLOOR} are the world's held-out clips and benches; start at {MORE_SEED_FLOOR} or above")
    if not 1 <= clips <= 1_000_000:
        raise ValueError(f"--more {spec!r}: 1 to 1000000 clips")
    return like.like(seed, clips, parts[0] == "cameos")


def rows(specs: list[DatasetSpec]) -> list[np.ndarray]:
    """Where each dataset's clip i goes in the run's tokens: every dataset's training clips, then
    every dataset's held-out clips (train.encode_order)."""
    n_train = sum(s.split()[0] for s in specs)
    out, train_at, held_at = [], 0, n_train
    for s in specs:
        tr, held = s.split()
        out.append(np.concatenate([np.arange(train_at, train_at + tr), np.arange(held_at, held_at + held)]))
        train_at, held_at = train_at + tr, held_at + held
    return out


def pack_world(cfg: Config, run: Path, datasets: list[WorldDataset], out: Path) -> dict:
    """world.json (the run's datasets, checked against its clips.json) and encoders.pt (the run's
    video and audio encoders, float16): what `regenerate` needs besides the small files."""
    clips = RunClips(run)
    order = encode_order(datasets)
    if len(order) != len(clips):
        raise ValueError(f"the datasets given hold {len(order)} clips, {run}/clips.json {len(clips)}: give every dataset the run was encoded from, in the order it was (--data)")
    for k, (d, i) in enumerate(order):
        meta, want = datasets[d].meta(i), clips.meta(k)
        if meta["seed"] != want["seed"] or meta["prompt"] != want["prompt"]:
            raise ValueError(f"clip {k} of {run} is seed {want['seed']}, but the datasets given have seed {meta['seed']} there: give the run's datasets, in the order it was encoded from them")
    specs = [DatasetSpec.of(d) for d in datasets]
    labels = [clips.meta(int(r[0])).get("dataset", s.label) for s, r in zip(specs, rows(specs))]
    specs = [replace(s, label=label) for s, label in zip(specs, labels)]
    out.mkdir(parents=True, exist_ok=True)
    (out / WORLD_FILE).write_text(json.dumps({"config": cfg.name, "clips": len(clips), "datasets": [asdict(s) for s in specs]}, indent=1) + "\n")
    half = lambda sd: {k: v.half() for k, v in sd.items()}  # noqa: E731
    video, audio = FrameAutoencoder(cfg.video_ae), AudioAutoencoder(cfg.audio_ae)
    video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
    audio.load_state_dict(load_stage(run, "audio-ae", cfg)["model"])
    torch.save({"config": cfg.name, "video": half(video.encoder.state_dict()), "audio": half(audio.encoder.state_dict())}, out / ENCODERS_FILE)
    return {"datasets": len(specs), "clips": len(clips), "encoder_bytes": (out / ENCODERS_FILE).stat().st_size}


def load_encoders(cfg: Config, path: Path, device: torch.device) -> tuple[torch.nn.Module, torch.nn.Module]:
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved["config"] != cfg.name:
        raise ValueError(f"{path} holds config {saved['config']!r}'s encoders, not {cfg.name!r}")
    video, audio = FrameAutoencoder(cfg.video_ae).encoder, AudioAutoencoder(cfg.audio_ae).encoder
    video.load_state_dict({k: v.float() for k, v in saved["video"].items()})
    audio.load_state_dict({k: v.float() for k, v in saved["audio"].items()})
    return video.to(device).eval(), audio.to(device).eval()


def chunks(specs: list[DatasetSpec], size: int) -> list[tuple[int, int, int]]:
    """(dataset, first clip, clips) in render order."""
    return [(j, a, min(size, s.clips - a)) for j, s in enumerate(specs) for a in range(0, s.clips, size)]


def interleaved(specs: list[DatasetSpec], size: int) -> list[tuple[int, int, int]]:
    """chunks(specs, size) in the order that keeps the datasets' shares of what is done so far as
    they are in full (each chunk by the share of its dataset done before it): streamed clips
    (stream_more) stop when the teacher does, at any chunk, and the mix stays the asked-for one."""
    return sorted(chunks(specs, size), key=lambda c: (c[1] / specs[c[0]].clips, c[0]))


def rendered(specs: list[DatasetSpec], plan: list[tuple[int, int, int]], kit: list[str], work: Path, workers: int, may_start: Callable[[int], bool]) -> Iterator[tuple[int, WorldDataset, float]]:
    """Each chunk of `plan` rendered by the kit, in order, as (chunk, its dataset, seconds waited for
    it); the next chunk renders while the caller encodes this one, and a chunk's frames are deleted
    when the caller takes the next. The first chunk `may_start` refuses ends it."""

    def start(k: int) -> tuple[subprocess.Popen, Path] | None:
        if not may_start(k):
            return None
        j, a, count = plan[k]
        out = work / f"chunk-{k:04d}"
        shutil.rmtree(out, ignore_errors=True)
        with (work / f"chunk-{k:04d}.log").open("w") as logf:
            return subprocess.Popen([*kit, *specs[j].export_args(a, count, out, workers)], stdout=logf, stderr=subprocess.STDOUT), out

    work.mkdir(parents=True, exist_ok=True)
    pending = start(0) if plan else None
    try:
        for k, (j, a, count) in enumerate(plan):
            if pending is None:
                return
            proc, out = pending
            t0 = time.time()
            if proc.wait() != 0:
                tail = (work / f"chunk-{k:04d}.log").read_text()[-2000:]
                raise RuntimeError(f"the world kit failed on chunk {k} (dataset {j}, clips {a}–{a + count - 1}):\n{tail}")
            waited = time.time() - t0
            pending = start(k + 1) if k + 1 < len(plan) else None
            try:
                yield k, WorldDataset(out), waited
            finally:  # also when the caller stops here: a chunk's frames are gigabytes
                shutil.rmtree(out, ignore_errors=True)
    finally:
        if pending is not None and pending[0].poll() is None:  # stopped early: the chunk rendering ahead is not wanted
            pending[0].kill()
            pending[0].wait()


def run_world(cfg: Config, src: Path, more: list[str]) -> tuple[list[DatasetSpec], list[DatasetSpec]]:
    """The run's datasets (src/world.json) and the `more` ones shaped as its first, checked against `cfg`."""
    world = json.loads((src / WORLD_FILE).read_text())
    if world["config"] != cfg.name:
        raise ValueError(f"{src / WORLD_FILE} describes a {world['config']!r} run, not {cfg.name!r}")
    base = [DatasetSpec.from_json(s) for s in world["datasets"]]
    extra = [parse_more(m, base[0]) for m in more]
    for s in base + extra:
        if s.size != cfg.video_ae.size or round(s.duration_s * s.fps) != cfg.frames:
            raise ValueError(f"{s.label}: {s.size}² frames, {round(s.duration_s * s.fps)} a clip; config {cfg.name} takes {cfg.video_ae.size}², {cfg.frames}")
    return base, extra


def regenerate(cfg: Config, run: Path, src: Path, kit: list[str], more: list[str], device: torch.device, work: Path, workers: int, chunk: int, log: Callable[..., None], more_seconds: float | None = None) -> dict:
    """Renders and encodes the datasets of `src`/world.json, then `more`, into `run`'s tokens.npy and
    clips.json (the run folder already holds the token statistics and tokenizer). `kit` is the
    command that runs the world CLI (carry.unpack_world_kit's). With `more_seconds`, no chunk of
    `more` starts rendering after that many seconds: the run keeps what was done of each (a
    prefix, split as a dataset of that many clips), so a slow machine costs clips, not the call."""
    base, extra = run_world(cfg, src, more)
    specs = base + extra
    original = json.loads((run / "clips.json").read_text())
    if len(original["clips"]) != sum(s.clips for s in base):
        raise ValueError(f"{src / WORLD_FILE} describes {sum(s.clips for s in base)} clips, {run}/clips.json {len(original['clips'])}: pack the run again")
    stats = np.load(run / "token-stats.npz")
    mean, std = stats["mean"], stats["std"]
    video, audio = load_encoders(cfg, src / ENCODERS_FILE, device)
    # Each dataset's clips in its own order, a chunk at a time; placed in the run's order at the end.
    got_tokens: list[list[np.ndarray]] = [[] for _ in specs]
    got_metas: list[list[dict]] = [[] for _ in specs]
    plan = chunks(specs, chunk)
    started, done, total = time.time(), 0, sum(s.clips for s in specs)
    seconds = {"render_wait": 0.0, "encode": 0.0}
    was = rows(base)

    def may_start(k: int) -> bool:
        j, a, _ = plan[k]
        if j >= len(base) and more_seconds is not None and time.time() - started > more_seconds:
            log(event="cut", stage="world", reason=f"more clips stop after {more_seconds:g} s", dataset=specs[j].label, at_clip=a)
            return False
        return True

    # Spawned, not forked: this process may hold a GPU context and torch's threads.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        with closing(rendered(specs, plan, kit, work, workers, may_start)) as made_chunks:
            for k, data, waited in made_chunks:
                j, a, count = plan[k]
                seconds["render_wait"] += waited
                t0 = time.time()
                for i in range(count):
                    m = data.meta(i)
                    got = {"index": a + i, "seed": m["seed"], "prompt": m["prompt"], "dataset": specs[j].label}
                    # The run's own clips must be the ones it was encoded from (checked before the GPU
                    # time goes into encoding them): a changed world would train on other data.
                    if j < len(base):
                        want = original["clips"][was[j][a + i]]
                        if got["seed"] != want["seed"] or got["prompt"] != want["prompt"]:
                            raise ValueError(f"clip {was[j][a + i]} of the run was encoded from seed {want['seed']} ({want['prompt'][:60]!r}), the world kit rendered seed {got['seed']} ({got['prompt'][:60]!r}): the world has changed since")
                    got_metas[j].append(got)
                got_tokens[j].append(((encode_clips(cfg, data, video, audio, device, pool, batch=64) - mean) / std).astype(np.float16))
                seconds["encode"] += time.time() - t0
                done += count
                log(event="progress", stage="world", clips=done, of=total, elapsed_s=round(time.time() - started, 1))
    # What was made of each dataset of more clips (all of it, unless cut) is a dataset of that size.
    kept = [j for j in range(len(specs)) if got_metas[j]]
    made = [replace(specs[j], clips=len(got_metas[j])) for j in kept]
    n = sum(s.clips for s in made)
    tokens = np.zeros((n, cfg.frames, cfg.token_dim), dtype=np.float16)
    metas: list[dict] = [{}] * n
    for j, at in zip(kept, rows(made)):
        tokens[at] = np.concatenate(got_tokens[j])
        for r, m in zip(at, got_metas[j]):
            metas[r] = m
    replace_file(run / "tokens.npy", lambda f: np.save(f, tokens))
    n_train = sum(s.split()[0] for s in made)
    replace_file(run / "clips.json", lambda f: f.write((json.dumps({"train": n_train, "clips": metas}) + "\n").encode()))
    result = {"stage": "world", "clips": n, "train": n_train, "datasets": len(made), "more": n - sum(s.clips for s in base), "more_asked": total - sum(s.clips for s in base), "chunks": len(plan), "render_wait_s": round(seconds["render_wait"], 1), "encode_s": round(seconds["encode"], 1), "elapsed_s": round(time.time() - started, 1)}
    log(event="end", **result)
    return result


# What stream_more writes, one file a chunk, for a teacher that trains meanwhile (train.py --grow).
STREAM_CHUNK = "chunk-{:04d}.npz"
STREAM_GLOB = "chunk-*.npz"


def write_stream_chunk(sink: Path, k: int, tokens: np.ndarray, prompts: list[str], seeds: list[int]) -> Path:
    """One chunk's normalised tokens (float16), prompts and seeds, renamed into place once whole, so a
    reader never sees half a chunk."""
    path = sink / STREAM_CHUNK.format(k)
    tmp = sink / f".{path.name}.part"
    with tmp.open("wb") as f:
        np.savez(f, tokens=tokens.astype(np.float16, copy=False), prompts=np.asarray(prompts, dtype=str), seeds=np.asarray(seeds, dtype=np.int64))
    tmp.replace(path)
    return path


def read_stream_chunk(path: Path, frames: int, token_dim: int) -> tuple[np.ndarray, list[str]]:
    """A chunk write_stream_chunk wrote: tokens [n, frames, token_dim] and its n prompts; anything else is refused by name."""
    try:
        with np.load(path, allow_pickle=False) as z:
            tokens, prompts = z["tokens"], [str(p) for p in z["prompts"]]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path} is not a chunk of streamed clips (tokens and prompts): {e}") from None
    if tokens.ndim != 3 or tokens.shape[1:] != (frames, token_dim) or len(prompts) != tokens.shape[0]:
        raise ValueError(f"{path} holds tokens {tuple(tokens.shape)} and {len(prompts)} prompts; this run's clips are [n, {frames}, {token_dim}], one prompt each")
    return tokens, prompts


def stream_more(cfg: Config, run: Path, src: Path, kit: list[str], more: list[str], device: torch.device, work: Path, workers: int, chunk: int, sink: Path, log: Callable[..., None], should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The `more` datasets rendered and encoded as regenerate does, each chunk written to `sink` as soon
    as it is encoded (write_stream_chunk) rather than into the run, in the interleaved order, until
    all are done or `should_stop` says so (asked before each chunk starts and before each rendered
    chunk is encoded). Every streamed clip is a training clip: the run's own held-out clips stay the
    teacher's measure."""
    if not more:
        raise ValueError("streaming needs clips to make: give --more plain:SEED:N or cameos:SEED:N")
    _, specs = run_world(cfg, src, more)
    stats = np.load(run / "token-stats.npz")
    mean, std = stats["mean"], stats["std"]
    video, audio = load_encoders(cfg, src / ENCODERS_FILE, device)
    plan = interleaved(specs, chunk)
    sink.mkdir(parents=True, exist_ok=True)
    started, done = time.time(), 0
    seconds = {"render_wait": 0.0, "encode": 0.0}
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        with closing(rendered(specs, plan, kit, work, workers, lambda k: not should_stop())) as made_chunks:
            for k, data, waited in made_chunks:
                if should_stop():  # the chunk rendered meanwhile is not wanted either
                    break
                j, a, count = plan[k]
                seconds["render_wait"] += waited
                t0 = time.time()
                metas = [data.meta(i) for i in range(count)]
                tokens = ((encode_clips(cfg, data, video, audio, device, pool, batch=64) - mean) / std).astype(np.float16)
                write_stream_chunk(sink, k, tokens, [m["prompt"] for m in metas], [int(m["seed"]) for m in metas])
                seconds["encode"] += time.time() - t0
                done += count
                log(event="progress", stage="stream", chunk=k, dataset=specs[j].label, clips=done, elapsed_s=round(time.time() - started, 1))
    result = {"stage": "stream", "clips": done, "asked": sum(s.clips for s in specs), "render_wait_s": round(seconds["render_wait"], 1), "encode_s": round(seconds["encode"], 1), "elapsed_s": round(time.time() - started, 1)}
    log(event="end", **result)
    return result


def main(argv: list[str] | None = None) -> int:
    """The streaming process `python3 -m zoetrope.gpu --stream` starts beside the teacher; it ends on
    SIGTERM or when every clip asked for is made."""
    import argparse
    import signal
    import sys

    from .configs import get_config
    from .train import Logger

    p = argparse.ArgumentParser(prog="python3 -m zoetrope.regenerate", description="Render and encode more clips into a folder, a chunk at a time, while a teacher trains on them.")
    p.add_argument("--config", required=True)
    p.add_argument("--run", required=True, help="the unpacked run (its token statistics)")
    p.add_argument("--pack", required=True, help="the pack made with `carry pack --regenerate` (world.json, encoders)")
    p.add_argument("--kit", nargs=2, required=True, metavar=("NODE", "WORLD"), help="the unpacked world kit's command")
    p.add_argument("--more", action="append", required=True)
    p.add_argument("--sink", required=True, help="where each chunk's tokens go")
    p.add_argument("--work", required=True, help="where each chunk's frames go while it is encoded")
    p.add_argument("--device", default="cuda")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--chunk", type=int, default=2048)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # unwinds through rendered(), which stops the render in flight
    run = Path(args.run)
    try:
        stream_more(get_config(args.config), run, Path(args.pack), list(args.kit), args.more, torch.device(args.device), Path(args.work), args.workers, args.chunk, Path(args.sink), Logger(run / "stream.log.jsonl", quiet=True))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
