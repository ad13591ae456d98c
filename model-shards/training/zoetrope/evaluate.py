"""`npm run evaluate -- --config draft --run DIR --data DIR --out DIR [--clips N] [--steps S] [--guidance G] [--reconstruct]`

Generates clips for the dataset's held-out prompts with a trained run (or, with --reconstruct, passes
the held-out clips themselves through the autoencoders: the ceiling the decoders allow) and writes them
in the world's dataset format, so `npm run world -- judge --dataset OUT` scores them with the physics
bench. The initial noise comes from the shared Philox generator, so a (prompt, seed) pair gives the
same clip here, in Node and in the browser.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .audio_ae import AudioAutoencoder, pcm_to_unit
from .configs import Config, check_temperature, get_config
from .data import DatasetError, WorldDataset
from .generator import FlowGenerator, generator_for, sample
from .box_planner import PlannedDenoiser, load_box_planner
from .head_locator import HeadLocator, load_head_locator
from .noise import gaussian_noise
from .slots import SLOT_NUMBERS, clip_slots, composite, composite_boxes, paint_face, smooth_tracks
from .text import Tokenizer
from .sound_refiner import SoundRefiner, load_sound_refiner
from .track_refiner import TrackRefiner, load_track_refiner, painted_slots
from .train import bare_decoder, load_stage, upscale_decoder
from .video_ae import FrameAutoencoder, to_unit

NOISE_STREAM_VIDEO = 0
NOISE_STREAM_AUDIO = 1


def initial_noise(cfg: Config, seed: int) -> torch.Tensor:
    """The frame tokens' starting noise [T, D]: video part from stream 0, audio part from stream 1, row-major (frame, channel)."""
    nv = cfg.video_numbers
    na = cfg.audio_ae.latent_channels
    video = np.asarray(gaussian_noise(seed, NOISE_STREAM_VIDEO, cfg.frames * nv), dtype=np.float32).reshape(cfg.frames, nv)
    audio = np.asarray(gaussian_noise(seed, NOISE_STREAM_AUDIO, cfg.frames * na), dtype=np.float32).reshape(cfg.frames, na)
    return torch.from_numpy(np.concatenate([video, audio], axis=1))


def figure_cells(cfg: Config, first: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The latent cells kept at full temperature [T, side, side] (bool) for one clip, from the head slot
    of its first draw `first` (normalised tokens [T, D]); see configs.Temperature. In float64, as the
    engine computes it."""
    t, side = cfg.temperature, cfg.video_ae.latent_side
    at = cfg.head_at
    head = first[:, at : at + 3].double() * std[at : at + 3].double() + mean[at : at + 3].double()
    centres = (torch.arange(side, dtype=torch.float64) + 0.5) / side
    shown = head[:, 0] > 0.5
    across = (centres[None, :] - head[:, 1:2]).abs() <= t.across
    dy = centres[None, :] - head[:, 2:3]
    down = (dy >= -t.above) & (dy <= t.below)
    keep = shown[:, None, None] & down[:, :, None] & across[:, None, :]
    near = keep.clone()
    near[1:] |= keep[:-1]
    near[:-1] |= keep[1:]
    return near


def temper(cfg: Config, noise: torch.Tensor, first: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """The second draw's starting noise for one clip [T, D]: the background latent's times the scale
    (rounded to float32), except on the figure's cells (figure_cells)."""
    c, side, nl = cfg.video_ae.latent_channels, cfg.video_ae.latent_side, cfg.video_ae.latent_numbers
    keep = figure_cells(cfg, first, mean, std)
    latent = noise[:, :nl].reshape(-1, c, side, side)
    scaled = torch.where(keep[:, None], latent, latent * torch.tensor(cfg.temperature.scale, dtype=torch.float32))
    return torch.cat([scaled.reshape(-1, nl), noise[:, nl:]], dim=1)


def head_track(cfg: Config, x: torch.Tensor, locator: HeadLocator | None = None) -> torch.Tensor:
    """Where a cameo's face goes: raw frame tokens [T, D] → the head as a slot [T, SLOT_NUMBERS] (raw),
    smoothed over time like the balls. With a head locator (Config.head_locator) it is read from each
    frame's latent, where the decoder draws the figure; else it is the generated head slot."""
    nl = cfg.video_ae.latent_numbers
    if cfg.head_locator:
        if locator is None:
            raise ValueError(f"config {cfg.name} paints a cameo where the latent draws the head: load the run's head locator")
        c, s = cfg.video_ae.latent_channels, cfg.video_ae.latent_side
        head = locator(x[:, :nl].reshape(-1, c, s, s))
    else:
        head = x[:, cfg.head_at : cfg.head_at + SLOT_NUMBERS]
    return smooth_tracks(head[:, None])[:, 0]


def decode_video(cfg: Config, video: FrameAutoencoder, x: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None, locator: HeadLocator | None = None, refiner: TrackRefiner | None = None) -> torch.Tensor:
    """Raw (de-normalised) frame tokens [T, D] → RGB frames [T, S, S, 3] in [0, 1]: the latent through
    the decoder, then, with object slots, each ball painted over it along its track, refined by the
    learnt prior of the world's motion (track_refiner.py, Config.track_refiner, which sees
    refiner.receptive_field frames either way) and then smoothed (slots.smooth_tracks, which looks
    TRACK_CONTEXT frames either way: the engine decodes a preview frame with neighbours enough for
    both), then, with a head slot and a cameo (`appearance`
    [side, side, 3] in [0, 1], `cameo` [1] = 1), the cameo's face on the head (slots.paint_face),
    where head_track puts it, lit by the light the head locator reads. The exported video decoder
    graph is this function."""
    nl, c, s = cfg.video_ae.latent_numbers, cfg.video_ae.latent_channels, cfg.video_ae.latent_side
    rgb = ((video.decoder(x[:, :nl].reshape(-1, c, s, s)) + 1) * 0.5).clamp(0, 1).permute(0, 2, 3, 1)
    if cfg.slots:
        slots = painted_slots(cfg, x[:, nl : cfg.video_numbers].reshape(-1, cfg.slot_count, SLOT_NUMBERS), refiner)
        if cfg.boxes:
            rgb = composite_boxes(rgb, slots[:, cfg.slot_count - cfg.boxes :])
        rgb = composite(rgb, slots[:, : cfg.slots])
        if cfg.head_slot and appearance is not None:
            rgb = paint_face(rgb, head_track(cfg, x, locator), appearance, cameo if cameo is not None else torch.ones(1), lit=cfg.head_locator)
    return rgb


def decode_audio(cfg: Config, decoder: torch.nn.Module, sound: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, slots: torch.Tensor | None = None, refiner: TrackRefiner | None = None, sound_refiner: SoundRefiner | None = None) -> torch.Tensor:
    """Normalised sound tokens [T, C] (`mean`, `std` [C]: their statistics) → mono waveform [T × hop];
    with a sound refiner (Config.sound_refiner, sound_refiner.py), the sound first refined to sound the
    impacts of the balls as the video decoder paints them (`slots`, raw [T, K, SLOT_NUMBERS], through
    painted_slots). The exported audio decoder graph is this function."""
    if cfg.sound_refiner:
        if sound_refiner is None or slots is None:
            raise ValueError(f"config {cfg.name} refines the generated sound to the painted balls: pass the slots and load the run's sound refiner")
        sound = sound_refiner(sound[None], painted_slots(cfg, slots, refiner)[None], cfg.slots)[0]
    return decoder((sound * std + mean).transpose(0, 1).unsqueeze(0))[0]


def judge_folder(folder: Path) -> dict:
    """Runs the physics bench (TypeScript) on a folder in the dataset format; returns judgement.json."""
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run([str(repo / "node_modules" / ".bin" / "tsx"), "model-shards/world/cli.ts", "judge", "--dataset", str(folder)], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the physics bench failed on {folder}: {result.stderr.strip()[-500:]}")
    return json.loads((folder / "judgement.json").read_text())


class Model:
    """A trained run, ready to sample: autoencoders, EMA generator, tokenizer and token statistics."""

    def __init__(self, cfg: Config, run: Path, denoiser: str = "generator"):
        self.cfg = cfg
        self.video = FrameAutoencoder(cfg.video_ae)
        self.video.load_state_dict(load_stage(run, "video-ae", cfg)["model"])
        if cfg.bare_decoder:
            bare_decoder(cfg, run, self.video)
        if cfg.upscale > 1:
            # Pro paints the shared latent at its own size (train.upscale_decoder).
            if not (run / "video-upscale.pt").exists():
                raise ValueError(f"{run} has no video-upscale checkpoint: config {cfg.name} draws at {cfg.size}², train --stage video-upscale first")
            self.video.decoder = upscale_decoder(cfg, run, self.video.decoder)
        self.audio = AudioAutoencoder(cfg.audio_ae)
        self.audio.load_state_dict(load_stage(run, "audio-ae", cfg)["model"])
        self.locator = load_head_locator(cfg, run) if cfg.head_locator else None
        self.refiner = load_track_refiner(cfg, run) if cfg.track_refiner else None
        self.sound_refiner = load_sound_refiner(cfg, run) if cfg.sound_refiner else None
        self.video.eval()
        self.audio.eval()
        self.tokenizer = Tokenizer.load(run / "tokenizer.json")
        stats = np.load(run / "token-stats.npz")
        self.mean = torch.from_numpy(stats["mean"])
        self.std = torch.from_numpy(stats["std"])
        if denoiser not in ("generator", "student", ""):
            raise ValueError(f"denoiser must be generator (the teacher) or student (distilled), not {denoiser!r}")
        self.generator: FlowGenerator | PlannedDenoiser | None = None
        if denoiser and (run / f"{denoiser}.pt").exists():
            ckpt = load_stage(run, denoiser, cfg)
            self.generator = generator_for(cfg.generator, len(self.tokenizer.vocab), ckpt["extra"]["ema"])
            if cfg.box_planner:
                # The base's teacher or student, its box slots planned (box_planner.PlannedDenoiser).
                self.generator = PlannedDenoiser(cfg, self.generator, load_box_planner(cfg, run))
            self.generator.eval()

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor, appearance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Normalised frame tokens [T, D] → frames uint8 [T, S, S, 3] and PCM int16 [T × hop]. With a
        head slot, `appearance` (uint8 [side, side, 3], a cameo's reference face) is painted on the head."""
        if appearance is not None and not self.cfg.head_slot:
            raise ValueError(f"config {self.cfg.name} has no head slot to paint a cameo's face on")
        x = tokens * self.std + self.mean
        face = torch.from_numpy(np.asarray(appearance, dtype=np.float32) / 255.0) if appearance is not None else None
        frames = (decode_video(self.cfg, self.video, x, face, locator=self.locator, refiner=self.refiner) * 255).round().to(torch.uint8).numpy()
        nl, nv = self.cfg.video_ae.latent_numbers, self.cfg.video_numbers
        slots = x[:, nl:nv].reshape(-1, self.cfg.slot_count, SLOT_NUMBERS) if self.cfg.slots else None
        wave = decode_audio(self.cfg, self.audio.decoder, tokens[:, nv:], self.mean[nv:], self.std[nv:], slots, self.refiner, self.sound_refiner)
        pcm = (wave.clamp(-1, 1) * 32767).round().to(torch.int16).numpy()
        return frames, pcm

    @torch.no_grad()
    def head(self, tokens: torch.Tensor) -> np.ndarray:
        """Normalised frame tokens [T, D] → where a cameo's face is painted, raw [T, SLOT_NUMBERS]."""
        return head_track(self.cfg, tokens * self.std + self.mean, self.locator).numpy()

    @torch.no_grad()
    def encode(self, frames: np.ndarray, pcm: np.ndarray, background: np.ndarray | None = None, meta: dict | None = None) -> torch.Tensor:
        """A clip's normalised frame tokens; with object slots, from its background and tracks too."""
        if self.cfg.slots and (background is None or meta is None):
            raise ValueError(f"config {self.cfg.name} encodes a clip's background and its balls' tracks: pass both")
        pixels = to_unit(torch.from_numpy(background if self.cfg.slots else frames))
        if pixels.shape[-1] != self.cfg.video_ae.size:
            # Frames at an upscaling config's size: the shared encoder sees them area-averaged, as in training.
            pixels = torch.nn.functional.avg_pool2d(pixels, pixels.shape[-1] // self.cfg.video_ae.size)
        zv = self.video.encoder(pixels).reshape(self.cfg.frames, -1)
        parts = [zv]
        if self.cfg.slots:
            parts.append(torch.from_numpy(clip_slots(meta, frames, background, self.cfg.slots, self.cfg.head_slot, self.cfg.boxes)).reshape(self.cfg.frames, -1))
        parts.append(self.audio.encoder(pcm_to_unit(torch.from_numpy(pcm.astype(np.int16)))[None])[0].transpose(0, 1))
        return (torch.cat(parts, dim=1) - self.mean) / self.std

    @torch.no_grad()
    def draw(self, ids: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor, steps: int, guidance: float) -> torch.Tensor:
        """Normalised frame tokens [B, T, D] from full-scale noise, as the engine draws them: at the
        config's temperature (configs.Temperature), a first draw finds the figure, then the clip."""
        if self.generator is None:
            raise ValueError("this run has no generator checkpoint yet")
        t = self.cfg.temperature
        if t.scale < 1:
            first = sample(self.generator, ids, mask, noise, t.first_steps, guidance)
            noise = torch.stack([temper(self.cfg, n, f, self.mean, self.std) for n, f in zip(noise, first)])
        return sample(self.generator, ids, mask, noise, steps, guidance)

    @torch.no_grad()
    def generate(self, prompts: list[str], seeds: list[int], steps: int, guidance: float) -> list[tuple[np.ndarray, np.ndarray]]:
        ids, mask = self.tokenizer.batch(prompts)
        noise = torch.stack([initial_noise(self.cfg, s) for s in seeds])
        return [self.decode(t) for t in self.draw(ids, mask, noise, steps, guidance)]


def write_dataset(out: Path, cfg: Config, clips: list[tuple[np.ndarray, np.ndarray, dict]], generator: str) -> None:
    """One shard in the world's dataset format (what `npm run world -- judge` reads)."""
    out.mkdir(parents=True, exist_ok=True)
    name = "shard-00000"
    frames = np.stack([c[0] for c in clips])
    audio = np.stack([c[1] for c in clips]).astype("<i2")
    np.save(out / f"{name}.frames.npy", frames)
    np.save(out / f"{name}.audio.npy", audio)
    (out / f"{name}.meta.jsonl").write_text("".join(json.dumps(c[2]) + "\n" for c in clips))
    files = []
    for kind in ("frames.npy", "audio.npy", "meta.jsonl"):
        p = out / f"{name}.{kind}"
        files.append({"file": p.name, "bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()})
    index = {"version": 1, "generator": generator, "seed": 0, "clips": len(clips), "size": cfg.size, "fps": cfg.fps, "durationS": cfg.duration_s, "sampleRate": cfg.sample_rate, "framesPerClip": cfg.frames, "samplesPerClip": int(audio.shape[1]), "shardSize": len(clips), "shards": [{"name": name, "clips": len(clips), "files": files}]}
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")


def with_temperature(cfg: Config, scale: float | None) -> Config:
    """The config with --temperature in place of its own scale, when given."""
    if scale is None:
        return cfg
    out = replace(cfg, temperature=replace(cfg.temperature, scale=scale))
    check_temperature(out, "--temperature")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run evaluate --", description="Generate held-out clips in the dataset format for the physics bench.")
    p.add_argument("--config", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--data", required=True, help="the dataset the run trained on (its held-out prompts are used)")
    p.add_argument("--out", required=True)
    p.add_argument("--clips", type=int, default=100)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=10)
    p.add_argument("--reconstruct", action="store_true", help="autoencode the held-out clips instead of generating")
    p.add_argument("--ground-truth", action="store_true", help="write the held-out clips themselves (the bench's score for real world footage)")
    p.add_argument("--denoiser", default="generator", choices=("generator", "student"), help="the teacher or the distilled student")
    p.add_argument("--all-clips", action="store_true", help="take every clip of --data, not its held-out share: for a dataset exported for evaluation alone, from seeds the run never trained on")
    p.add_argument("--temperature", type=float, default=None, metavar="SCALE", help="the background latent's starting noise scale, 1 around a figure (default: the config's, configs.Temperature)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        cfg = with_temperature(get_config(args.config), args.temperature)
        data = WorldDataset(args.data)
        if (args.ground_truth or args.reconstruct) and data.size != cfg.size and data.size != cfg.video_ae.size:
            raise DatasetError(f"config {cfg.name} draws {cfg.size}² frames; {args.data} has {data.size}²")
        if args.ground_truth and data.size != cfg.size:
            raise DatasetError(f"--ground-truth writes the dataset's own {data.size}² frames, and config {cfg.name} is judged at {cfg.size}²: export the held-out clips with --size {cfg.size}")
        if (args.ground_truth or args.reconstruct) and data.frames_per_clip != cfg.frames:
            raise DatasetError(f"config {cfg.name} makes {cfg.frames} frames a clip; {args.data} has {data.frames_per_clip}")
        # The real clips need no model (nor a trained run).
        model = None if args.ground_truth else Model(cfg, Path(args.run), args.denoiser)
        held_out = list(range(len(data))) if args.all_clips else data.split()[1]
        picks = held_out[: args.clips]
        started = time.time()
        clips: list[tuple[np.ndarray, np.ndarray, dict]] = []
        for start in range(0, len(picks), args.batch):
            chunk = picks[start : start + args.batch]
            metas = [data.meta(i) for i in chunk]
            if args.ground_truth or args.reconstruct:
                real = [data.clip(i) for i in chunk]
                backgrounds = [data.background(i) if cfg.slots and args.reconstruct else None for i in chunk]
                outs = [(c.frames, c.audio) if model is None else model.decode(model.encode(c.frames, c.audio, bg, c.meta)) for c, bg in zip(real, backgrounds)]
            else:
                assert model is not None
                outs = model.generate([m["prompt"] for m in metas], [int(m["seed"]) for m in metas], args.steps, args.guidance)
            clips.extend((f, a, {"index": m["index"], "seed": m["seed"], "prompt": m["prompt"]}) for (f, a), m in zip(outs, metas))
            print(f"evaluate: {len(clips)}/{len(picks)} clips ({time.time() - started:.0f} s)", file=sys.stderr, flush=True)
        write_dataset(Path(args.out), cfg, clips, "zoetrope-world" if args.ground_truth else "zoetrope-reconstruction" if args.reconstruct else "zoetrope-model")
        print(json.dumps({"clips": len(clips), "denoiser": args.denoiser, "steps": args.steps, "guidance": args.guidance, "temperature": cfg.temperature.scale, "reconstruct": args.reconstruct, "seconds": round(time.time() - started, 1), "out": args.out}))
    except (ValueError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
