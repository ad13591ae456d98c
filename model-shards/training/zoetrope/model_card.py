"""`npm run model-card -- --config draft --run DIR --model model-shards/zoetrope-draft --evals DIR`

Writes <model>/MODEL_CARD.md from what was measured: parameters and FLOPs per clip of each graph,
the data, the training compute (from the stage logs), the physics bench table of every evaluation
folder under --evals (teacher and student at each step count), and a contact sheet of sample frames.
Nothing in it is typed by hand except the notes passed with --notes.
"""
from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .configs import Config, adds_head_slot, get_config, lineage
from .box_planner import BOX_COLOURS, BOX_PLANNER_VAL, PlannedDenoiser, generator_part
from .evaluate import Model
from .export import DenoiserGraph
from .slots import APPEARANCE_SIDE, SEPARATION_PASSES, SLOT_FIELDS, SLOT_NUMBERS
from .track_refiner import DRIFT_PX, MAX_BLUR_FRAMES, MAX_WARP_FRAMES
from .train import SHARED_STAGES
from .video_ae import flops_per_frame


def count_flops(module: nn.Module, *inputs: torch.Tensor | int) -> int:
    """2 × multiply-adds of the linears, convolutions and attention matmuls for one call."""
    total = 0

    def hook(m: nn.Module, inp, out):
        nonlocal total
        if isinstance(m, nn.Linear):
            total += 2 * out.numel() * m.in_features
        elif isinstance(m, nn.Conv2d):
            total += 2 * out.numel() * m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        elif isinstance(m, nn.Conv1d):
            total += 2 * out.numel() * m.kernel_size[0] * m.in_channels // m.groups
        elif isinstance(m, nn.ConvTranspose1d):
            # Each input value is spread over kernel × out_channels outputs.
            total += 2 * inp[0].numel() * m.kernel_size[0] * m.out_channels // m.groups

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv1d, nn.ConvTranspose1d))]
    with torch.no_grad():
        module(*inputs)
    for h in handles:
        h.remove()
    return total


def png(arr: np.ndarray, path: Path) -> None:
    h, w, _ = arr.shape
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def stage_minutes(run: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for log in sorted(run.glob("*.log.jsonl")):
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        # Sum the wall time of each session (start → its end, or the last event before the next start).
        total, start, last = 0.0, None, None
        for e in events:
            if e.get("event") in ("start", "resume") and start is not None and last is not None:
                total += last - start
                start = None
            if start is None:
                start = e["time"]
            last = e["time"]
            if e.get("event") == "end":
                total += last - start
                start, last = None, None
        if start is not None and last is not None:
            total += last - start
        # A stage that logs only its end (pairs) says how long it took.
        total = max(total, max((float(e.get("elapsed_s", 0)) for e in events), default=0.0))
        out[log.name.replace(".log.jsonl", "")] = round(total / 60, 1)
    return out


def stage_event(folders: list[Path], stage: str, event: str) -> dict | None:
    """The last `event` of a stage's log, from the first of `folders` that holds the log; None where
    none does or the stage never logged it."""
    log = next((f / f"{stage}.log.jsonl" for f in folders if (f / f"{stage}.log.jsonl").exists()), None)
    return next((e for e in map(json.loads, reversed(log.read_text().splitlines())) if e.get("event") == event), None) if log else None


def stage_end(folders: list[Path], stage: str) -> dict | None:
    """The end event of a stage's log (stage_event): None where the stage has not ended."""
    return stage_event(folders, stage, "end")


def locator_text(cfg: Config, run: Path, model: Model) -> str:
    """The card's words on where the face goes: the head locator and how well it reads the head on
    held-out clips (from its training log, in this run or the run it was shared from)."""
    if model.locator is None:
        return ""
    end = stage_end([run, *base_chain(run)], "head-locator")
    params = sum(p.numel() for p in model.locator.parameters())
    measured = f" On held-out clips' tokens it is a median {end['val_median_px']} px from the world's head (90% within {end['val_p90_px']} px), right about whether a head is shown in {100 * end['val_presence_accuracy']:.1f}% of frames, and within a median {end['val_light_levels']} levels of 255 of the clip's light on its worst channel (90% within {end['val_light_levels_p90']})." if end and "val_light_levels" in end else ""
    return (f" The face goes where the frame's own latent draws the head, not on the generated head slot (which can drift off the figure): a head locator in the video decoder ({params / 1e3:.0f} k parameters, `zoetrope/head_locator.py`: a soft-argmax over the latent's cells, trained on the run's tokens against the world's head tracks) reads it frame by frame, smoothed over time like the balls. It also reads the light the scene is lit by (the time of day's level and the colour temperature's tint, from each clip's meta), and the face is multiplied by it, as the world lights everything it draws.{measured}")


def whose_run(cfg: Config) -> str:
    """Whose run a shared decoder stage learnt from: this one's, or (Pro) the run it builds on."""
    return f"the {cfg.shares} run's" if cfg.shares and not adds_head_slot(cfg) else "the run's own"


# What a track refiner learnt from before it learnt from the student too (Draft 0.6.0's, which Pro
# 0.4.0 decodes with): its log's "tracks" event has no student_pairs.
BLUR_BEFORE_STUDENT_PAIRS = 2.0


def refiner_text(cfg: Config, run: Path, model: Model) -> str:
    """The card's words on the track refiner, what it learnt from, and how well it undoes that
    damage on held-out tracks (from its training log)."""
    if model.refiner is None:
        return ""
    folders = [run, *base_chain(run)]
    end = stage_end(folders, "track-refiner")
    tracks = stage_event(folders, "track-refiner", "tracks") or {}
    params = sum(p.numel() for p in model.refiner.parameters())
    lead = f" Before that, a track refiner ({params / 1e3:.0f} k parameters, `zoetrope/track_refiner.py`: dilated 1-D convolutions over each ball's x, y and presence, seeing {model.refiner.receptive_field} frames either way) moves each ball along a path more like the world's"
    passes = " It moves only where a ball is; presence, size and colour pass through."
    card = restored_card(run) if not tracks and not end else None
    if card:
        # A restored run keeps the refiner's weights, not its log: the card it was restored from says how it learnt.
        return f"{lead}, so a landing the generator rounds becomes a fall that meets the floor; what it learnt from and how well it undoes that on held-out tracks are in {card}, whose graphs this run was restored from.{passes}"
    if "student_pairs" in tracks:
        damage = f"damaged as a few-step sampler damages them (a time warp of up to {MAX_WARP_FRAMES:g} frames, a blur of up to {MAX_BLUR_FRAMES:g}, a drift of up to {DRIFT_PX:g} px)"
        if tracks.get("student_pairs"):
            damage += f" and, in half of each batch, by the run's student itself ({tracks['student_pairs']} of its tracks drawn back from training clips noised halfway, beside the world's)"
        outcome = "so a landing the generator rounds becomes a fall that meets the floor and an uneven fall an even one"
    else:
        damage = f"blurred along time by up to {BLUR_BEFORE_STUDENT_PAIRS:g} frames"
        outcome = "so a landing the generator rounds becomes a fall that meets the floor"
    exits = f" {tracks['undamaged']:.0%} of the tracks it is given to damage by hand are left undamaged, and the frames by a ball's exit or entry weigh {1 + tracks['exit_weight']:g} times as much in its loss, so a ball that leaves the frame is taken all the way out." if tracks.get("exit_weight") else ""
    measured = exits + (f" On held-out tracks damaged by hand it brings a ball a mean {end['val_px']} px from the world's (the damaged track: {end['input_px']} px) and its acceleration to {end['val_acc_px']} px/frame² (damaged: {end['input_acc_px']})." if end and "val_px" in end else "")
    if end and "pairs_acc_px" in end:
        measured += f" On the student's held-out tracks, {end['pairs_px']} px (drawn: {end['pairs_input_px']}) and {end['pairs_acc_px']} px/frame² (drawn: {end['pairs_input_acc_px']})."
    return f"{lead}: it learnt from {whose_run(cfg)} tracks, {damage}, to give back the world's, {outcome}.{passes}{measured}"


def separation_text(cfg: Config) -> str:
    """The card's words on the balls kept apart (slots.separate_balls), where the config does it."""
    if not cfg.separate_balls:
        return ""
    return f" Two shown balls of a frame that overlap are moved apart along the line between their centres until they touch, each by the other's share of their mass (radius³), in {SEPARATION_PASSES} passes, before the smoothing and again after it (`slots.separate_balls`): the world's balls are solid, and where the generator draws two passing through each other the bench sees one disc swallow the other."


def sound_refiner_text(cfg: Config, run: Path, model: Model) -> str:
    """The card's words on the sound refiner and how far it brings damaged held-out sound back (from
    its training log)."""
    if model.sound_refiner is None:
        return ""
    end = stage_end([run, *base_chain(run)], "sound-refiner")
    params = sum(p.numel() for p in model.sound_refiner.parameters())
    measured = f" On held-out clips whose sound was damaged the same way it brings the sound latent's mean squared error (in token deviations) from {end['input_mse']} to {end['val_mse']}, and it moves a sound that was right by {end['clean_mse']}." if end and "val_mse" in end else ""
    return (f" The audio decoder first refines the generated sound to the picture: a sound refiner ({params / 1e3:.0f} k parameters, `zoetrope/sound_refiner.py`: 1-D convolutions over each ball's track as painted, summed over the balls, beside the sound latent) learnt from {whose_run(cfg)} clips, their sound smeared, moved by up to three frames or given another clip's knocks, to give back the world's, so a knock comes where a ball meets something.{measured}")


def based_on(run: Path) -> Path | None:
    """The run a run was built on (its base.json, written by encode --base), or None."""
    path = run / "base.json"
    return Path(json.loads(path.read_text())["base"]) if path.exists() else None


def restored_text(run: Path) -> str:
    """The card's words on a run rebuilt from a shipped model (recover.py): its stage logs hold only
    what it trained since, so the card says where the rest of the compute is recorded."""
    restored = json.loads((run / "recovered.json").read_text())
    model, version = restored["model"], restored["version"]
    kept = Path(__file__).resolve().parents[1] / "reports" / f"{model}-{version}-compute.md"
    where = f"kept in `model-shards/training/reports/{kept.name}`" if kept.exists() else f"in the history of `model-shards/{model}/MODEL_CARD.md`"
    return (f"This run was rebuilt from {model} {version}'s graphs and the rest beside them (`npm run recover -- restore`), so the table holds only the stages it ran since "
            f"(encode and refit-encoders refit the encoders that the graphs do not hold). The stages that trained the rest are in {version}'s card, {where}.")


def restored_card(run: Path) -> str | None:
    """For a run rebuilt from a shipped model (recover.py), whose card holds what its logs do not:
    "zoetrope-pro 0.6.1's card"; None for a run trained here."""
    if not (run / "recovered.json").exists():
        return None
    restored = json.loads((run / "recovered.json").read_text())
    return f"{restored['model']} {restored['version']}'s card"


def trained_only_text(run: Path) -> str:
    """The card's words on a generator trained in part (`--train-only`), from its training log."""
    log = run / "generator.log.jsonl"
    if not log.exists():
        card = restored_card(run)
        return f" What trained after growing, and for how long, is in {card}, whose graphs this run was restored from." if card else ""
    events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    only = next((e for e in events if e.get("event") == "train-only"), None)
    end = next((e for e in reversed(events) if e.get("event") == "end"), None)
    if only is None or end is None:
        return ""
    return f" Then only its `{'`, `'.join(only['prefixes'])}` ({only['params']:,} numbers) trained on these clips, {end['step']} steps; every other weight is as grown."


def base_chain(run: Path) -> list[Path]:
    """The runs a run builds on, nearest first (base.json after base.json)."""
    chain = []
    while (run / "base.json").exists():
        run = Path(json.loads((run / "base.json").read_text())["base"])
        chain.append(run)
    return chain


def chain_minutes(run: Path, name: str) -> dict[str, float]:
    """A run's stage minutes, each named by its config, after those of the runs it builds on (Pro on
    the cameo run on the Draft's base run: every stage that made the model, in order)."""
    runs = list(zip([run, *base_chain(run)], lineage(name)))
    return {f"{config} {k}": v for folder, config in reversed(runs) for k, v in stage_minutes(folder).items()}


def restored_minutes(run: Path, name: str) -> dict[str, float]:
    """A restored run's stage minutes, named by this config, except a shared stage taken in from the
    run of the config it builds on (Pro's refiners, trained in the draft-cameo run): that one is
    named by the config its log says trained it."""
    named = lambda k: (stage_event([run], k, "start") or {}).get("config", name) if k in SHARED_STAGES else name  # noqa: E731
    return {f"{named(k)} {k}": v for k, v in stage_minutes(run).items()}


def box_planner_text(cfg: Config, run: Path, denoiser: PlannedDenoiser) -> str:
    """The box slots and their planner, with its held-out scores from the stage log."""
    t = cfg.box_planner_train
    end = stage_end([run], "box-planner") or {}
    scores = (
        f" On {BOX_PLANNER_VAL} held-out clips' own tokens it gives the clip's number of boxes in {100 * end['val_count_right']:.0f}% of them, the first box's colour within 0.15 of the world's on every channel in {100 * end['val_colour_right']:.0f}% of those with boxes, and their centres a median {end['val_median_px']:.1f} px from the world's."
        if end.get("val_colour_right") is not None and end.get("val_median_px") is not None else ""
    )
    if not end and (card := restored_card(run)):
        # A run restored from a shipped model keeps the planner's weights, not its training log.
        scores = f" How many steps it trained and what it scored on held-out clips are in {card}, whose graphs this run was restored from."
    trained = f"trained for {end['step']} steps of {t.batch} clips" if "step" in end else f"trained in batches of {t.batch} clips"
    return (
        f"- **Boxes, planned**: {cfg.boxes} box slots after the head's (a stack from the bottom up, then loose boxes; the world's box tracks), painted by the video decoder as upright squares under the balls (`slots.composite_boxes`). "
        f"The generator does not draw them: a box planner ({sum(p.numel() for p in denoiser.planner.parameters()) / 1e6:.2f} M parameters; `zoetrope/box_planner.py`) reads the prompt (the denoiser's condition) and the frame tokens without box slots, each frame's latent through two convolutions, "
        f"then {t.layers} blocks of attention across frames and to the prompt (width {t.width}), and regresses where every frame's boxes are. "
        f"Their colour is read from the prompt alone: a branch of {t.layers} blocks of attention to the prompt scores the world's {len(BOX_COLOURS)} colour names for each slot (trained first, alone, on prompts the world samples without rendering), over a learnt palette, times a light read from the pooled prompt. It runs in the denoiser graph: at each step the box slots' velocity takes them to what the planner reads from the step's clean guess of the rest, so the last step ends on the plan for the clip as drawn. "
        f"The rest {trained} on the run's tokens (inputs mixed with up to {t.noise:g} noise), a squared error on the normalised numbers." + scores + bare_text(cfg, run)
    )


def bare_text(cfg: Config, run: Path) -> str:
    """The video decoder that leaves the latent's boxes out (Config.bare_decoder), with its held-out PSNR."""
    if not cfg.bare_decoder:
        return ""
    end, base = stage_end([run], "video-bare") or {}, stage_event([run], "video-bare", "baseline") or {}
    scores = (
        f" On held-out frames with boxes it paints the world's picture without them at {end['val_psnr_boxed']:.1f} dB PSNR (the shared decoder, which paints the boxes the latent holds: {base['val_psnr_boxed']:.1f} dB), and on frames without boxes at {end['val_psnr_plain']:.1f} dB ({base['val_psnr_plain']:.1f} dB)."
        if all(k in d for d, k in ((end, "val_psnr_boxed"), (base, "val_psnr_boxed"), (end, "val_psnr_plain"), (base, "val_psnr_plain"))) else ""
    )
    t = cfg.video_bare_train
    trained = f", for {end['step']} steps of {t.batch} frames," if "step" in end else ""
    return (
        f" The boxes are painted from their slots alone: the video decoder paints the background latent without the boxes it holds (the shared decoder taught{trained} the world's frames rendered without their boxes from the latents of the same frames with them; `train.train_video_bare`), "
        f"so a stack-coloured smear the student draws in the latent is not painted beside the planned stack." + scores
    )


def temperature_text(cfg: Config, manifest: dict) -> str:
    """The sampler's temperature in words, for the sampler line ("" for plain sampling)."""
    t = cfg.temperature
    if manifest["sampler"].get("temperature", {}).get("scale", 1.0) != t.scale:
        raise ValueError(f"the manifest's temperature is not config {cfg.name}'s ({t.scale}): export the model again")
    if t.scale == 1:
        return ""
    return (
        f" The background latent starts from {t.scale} of its noise, a lower sampling temperature, except around a figure:"
        f" a first draw of {t.first_steps} step{'s' if t.first_steps > 1 else ''} finds the head slot, and the cells around and under the head keep their full noise"
        f" (`configs.Temperature`; every generated row of the bench is drawn so, each first draw included)."
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run model-card --")
    p.add_argument("--config", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--model", required=True, help="the exported model folder (manifest.json)")
    p.add_argument("--evals", required=True, help="folder of evaluation folders, each judged (judgement.json) and described by its name")
    p.add_argument("--data", required=True, help="the dataset the run trained on (its index.json describes the data)")
    p.add_argument("--shipped", default=None, help="the evaluation folder of the shipped denoiser and sampler, for the sample frames (default: student-<steps> when the run has a student, else teacher-<steps>)")
    p.add_argument("--notes", default=None, help="a Markdown file with known failure modes and remarks, appended as is")
    p.add_argument("--denoiser", default="generator", choices=("generator", "student"), help="the denoiser the model ships (the teacher, or the distilled student)")
    p.add_argument("--cameo", default=None, help="the evaluate:cameo report (JSON) of the shipped model, for a run trained with --stage cameo")
    args = p.parse_args(argv)
    cfg: Config = get_config(args.config)
    run, model_dir, evals = Path(args.run), Path(args.model), Path(args.evals)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    model = Model(cfg, run, denoiser=args.denoiser)
    denoiser = model.generator
    if denoiser is None:
        raise SystemExit(f"error: {run} has no {args.denoiser} checkpoint")
    # With planned boxes the denoiser graph is the generator and the box planner (box_planner.PlannedDenoiser).
    g = generator_part(denoiser)
    T, D, L = cfg.frames, cfg.token_dim, cfg.generator.max_tokens
    ids = torch.zeros(1, L, dtype=torch.long)
    prompt_mask = torch.ones(1, L)
    side = g.cfg.appearance_side
    text, pooled, mask = g.encode_text(ids, prompt_mask, torch.zeros(1, side, side, 3) if side else None)
    # The text encoder graph: the prompt's transformer and, with cameos, the appearance encoder.
    text_modules = [g.text, *([g.appearance] if side else [])]
    text_params = sum(p.numel() for m in text_modules for p in m.parameters())
    params = {
        "text encoder": text_params,
        "denoiser": sum(p.numel() for p in denoiser.parameters()) - text_params,
        "video decoder": sum(p.numel() for m in (model.video.decoder, model.locator, model.refiner) if m is not None for p in m.parameters()),
        "audio decoder": sum(p.numel() for m in (model.audio.decoder, model.sound_refiner) if m is not None for p in m.parameters()),
    }
    latent = torch.zeros(1, cfg.video_ae.latent_channels, cfg.video_ae.latent_side, cfg.video_ae.latent_side)
    flops = {
        "text encoder": count_flops(g.text, ids, prompt_mask) + (count_flops(g.appearance, torch.zeros(1, side, side, 3)) if side else 0),
        "denoiser (one pass)": count_flops(DenoiserGraph(model), torch.zeros(1, T, D), torch.ones(1), text, pooled, mask),
        "video decoder (whole clip)": (flops_per_frame(model.video.decoder, latent) + (count_flops(model.locator, latent) if model.locator is not None else 0)) * T
        + (count_flops(model.refiner, torch.zeros(cfg.slots, T, 2), torch.ones(cfg.slots, T)) if model.refiner is not None else 0),
        "audio decoder (whole clip)": count_flops(model.audio.decoder, torch.zeros(1, cfg.audio_ae.latent_channels, T))
        + (count_flops(model.sound_refiner, torch.zeros(1, T, cfg.audio_ae.latent_channels), torch.zeros(1, T, cfg.slot_count, SLOT_NUMBERS), cfg.slots) if model.sound_refiner is not None else 0),
    }
    steps = manifest["sampler"]["steps"]
    passes = 2 if manifest["sampler"]["guidance"] != 1 else 1
    # At a temperature below 1, the first draw that finds the figure runs the denoiser first_steps times more.
    denoiser_runs = (steps + (cfg.temperature.first_steps if cfg.temperature.scale < 1 else 0)) * passes
    per_clip = flops["text encoder"] * 2 + flops["denoiser (one pass)"] * denoiser_runs + flops["video decoder (whole clip)"] + flops["audio decoder (whole clip)"]
    shard_bytes = sum(f["bytes"] for gr in manifest["graphs"].values() for f in [gr, *gr["externalData"]]) + manifest["tokenizer"]["bytes"]
    rows = []

    def order(folder: Path) -> tuple:
        # Real clips first, then the autoencoders' ceiling, then teacher and student by step count.
        name = folder.name
        kind = {"ground-truth": 0, "reconstruction": 1}.get(name, 2 if name.startswith("teacher") else 3)
        steps = int(name.rsplit("-", 1)[-1]) if name.rsplit("-", 1)[-1].isdigit() else 0
        return (kind, steps, name)

    folders = sorted((f for f in evals.iterdir() if (f / "judgement.json").exists()), key=order)
    for folder in folders:
        v = json.loads((folder / "judgement.json").read_text())
        rows.append((folder.name, v["clips"], v["passRate"]["adherence"], v["passRate"]["physics"], v["passRate"]["sync"], v["allAxesPassRate"]))
    # Sample frames: the shipped denoiser's clips (student if distilled, else the teacher at the shipped steps).
    shipped = args.shipped or f"{'student' if args.denoiser == 'student' else 'teacher'}-{manifest['sampler']['steps']}"
    sheet = None
    if (evals / shipped / "shard-00000.frames.npy").exists():
        frames = np.load(evals / shipped / "shard-00000.frames.npy")
        sheet = np.concatenate([np.concatenate(list(frames[k, ::4]), axis=1) for k in range(min(4, len(frames)))], axis=0)
    if sheet is not None:
        png(sheet, model_dir / "samples.png")
    minutes = stage_minutes(run)
    cameo_data = None
    base_data = None
    if cfg.shares:
        if (run / "base.json").exists():
            # Built on a trained run of another config (Pro on the Draft): that run's stages, then this one's.
            base = Path(json.loads((run / "base.json").read_text())["base"])
            minutes = chain_minutes(run, cfg.name)
            base_clips = json.loads((base / "clips.json").read_text())
            base_data = (len(base_clips["clips"]), base_clips["train"])
        elif (run / "recovered.json").exists():
            # Rebuilt from a shipped model (recover.py): its own stages alone (restored_text says where the rest are).
            minutes = restored_minutes(run, cfg.name)
        else:
            raise ValueError(f"{run} has no base.json: config {cfg.name} builds on a {cfg.shares} run (encode --base RUN), or on a model restored with npm run recover -- restore")
        own_clips = json.loads((run / "clips.json").read_text())
        run_data = (len(own_clips["clips"]), own_clips["train"])
        cameo_seeds_list = sorted(int(c["seed"]) for c in own_clips["clips"] if c.get("dataset") and Path(c["dataset"]).resolve() != Path(args.data).resolve())
        cameo_seeds = f"{cameo_seeds_list[0]}–{cameo_seeds_list[-1]}" if cameo_seeds_list else "none"
    elif (run / "base.json").exists():
        # A cameo run: the base run's stages first, then this run's (its encode and the cameo stage).
        base = Path(json.loads((run / "base.json").read_text())["base"])
        minutes = {**stage_minutes(base), **{f"cameo {k}" if not k.startswith("cameo") else k: v for k, v in minutes.items()}}
        clips = json.loads((run / "clips.json").read_text())
        cameo_data = (len(clips["clips"]), clips["train"])
    index = json.loads((Path(args.data) / "index.json").read_text())
    held_out = max(1, round(index["clips"] * 0.05))
    pct = lambda x: f"{100 * x:.0f}%"  # noqa: E731
    lines = [
        f"# {manifest['id']} {manifest['version']} — model card",
        "",
        f"A {manifest['tier']} text-to-video-with-sound model trained only on Zoetrope's simulated world (balls, boxes, hoops, ramps, pendulums, a figure). "
        f"It makes {T} frames of {cfg.size}×{cfg.size} at {cfg.fps} fps ({cfg.duration_s:g} s) with {cfg.sample_rate} Hz mono sound.",
        "",
        "## Architecture",
        "",
        f"- **Video latent**: a per-frame conv autoencoder, {cfg.video_ae.size}×{cfg.video_ae.size}×3 ↔ {cfg.video_ae.latent_side}×{cfg.video_ae.latent_side}×{cfg.video_ae.latent_channels}"
        + (f" (the {cfg.shares} model's, shared); the video decoder paints it at {cfg.size}×{cfg.size}: the {cfg.shares} decoder's picture upsampled bilinearly plus a correction from its finest features (`UpscaleDecoder`, trained on {cfg.size}² frames by the video-upscale stage)" if cfg.upscale > 1 else "")
        + (f", of each frame *without its balls*; the balls are {cfg.slots} object slots of {SLOT_NUMBERS} numbers per frame ({', '.join(SLOT_FIELDS)}), in the order the prompt names them, painted by the video decoder as anti-aliased discs over the decoded background along tracks smoothed where they barely bend (`zoetrope/slots.py`)." + refiner_text(cfg, run, model) + separation_text(cfg) if cfg.slots else "."),
        f"- **Audio latent**: a 1-D conv autoencoder, {cfg.audio_ae.latent_channels} numbers per video frame ({cfg.audio_ae.hop} samples), multi-resolution spectral loss." + sound_refiner_text(cfg, run, model),
        f"- **Text**: word tokenizer ({len(model.tokenizer.vocab)} words, built from the training prompts, unknown words reported), a {cfg.generator.text_layers}-layer transformer (width {cfg.generator.text_width}).",
        f"- **Denoiser**: rectified flow over {T} frame tokens of {D} numbers (video{' ‖ slots' if cfg.slots else ''} ‖ audio latent: sound rides in the frame's token, so it stays in sync), "
        f"a {cfg.generator.depth}-block transformer (width {cfg.generator.width}), cross-attention to the prompt, adaLN-single on flow time + pooled prompt."
        + (f" It started as the {cfg.shares} model's teacher, grown (`generator.grow`): each new block starts as the identity, and the frames past the {cfg.shares}'s {get_config(cfg.shares).frames} start with its frame embeddings in turn." + trained_only_text(run) if cfg.shares and not adds_head_slot(cfg) and not cfg.box_planner else "")
        + (f" It is the {cfg.shares} model's teacher and distilled student as they are; they draw every number of the frame token but the box slots'." if cfg.box_planner else "")
        + (f" It started as the {cfg.shares} model's teacher with one more slot token a frame (`generator.grow`), and its distilled student as the {cfg.shares} model's student, grown the same way." if adds_head_slot(cfg) else ""),
        *([box_planner_text(cfg, run, denoiser)] if isinstance(denoiser, PlannedDenoiser) else []),
        *([f"- **Cameos, as a slot**: the figure's head is a slot after the balls' (present, x, y, radius), from the head track the world writes for every clip with a figure. The generator learns where the head is and never sees a face: the video decoder paints the cameo's reference image ({APPEARANCE_SIDE}×{APPEARANCE_SIDE} RGB: the centred square of the photo, area-averaged; muted as the world mutes faces) over the head's disc with bilinear tent weights (`slots.paint_face`). Its graph takes `appearance` [{APPEARANCE_SIDE}, {APPEARANCE_SIDE}, 3] and `cameo` [1]; with `cameo` 0 the frames are exactly the faceless ones, so a clip with a cameo is the same clip with a face on the figure." + locator_text(cfg, run, model)] if cfg.head_slot else []),
        *([f"- **Cameos**: a reference appearance image ({side}×{side} RGB: the centred square of the photo, area-averaged) through two strided convolutions becomes one more condition token after the prompt's, and is added to the pooled prompt; the figure in the clip wears that face. Guidance compares against no prompt and no cameo."] if side else []),
        f"- **Sampler shipped**: {manifest['sampler']['method']}, {steps} steps, guidance {manifest['sampler']['guidance']}, timesteps {manifest['sampler']['timesteps']}, the {'teacher (EMA generator)' if args.denoiser == 'generator' else 'distilled student'}." + temperature_text(cfg, manifest),
        "",
        "| graph | parameters | GFLOP |",
        "|---|---|---|",
        *[f"| {k} | {params[k] / 1e6:.2f} M | {flops[f] / 1e9:.2f} |" for k, f in (("text encoder", "text encoder"), ("denoiser", "denoiser (one pass)"), ("video decoder", "video decoder (whole clip)"), ("audio decoder", "audio decoder (whole clip)"))],
        "",
        f"Per clip with the shipped sampler: **{per_clip / 1e9:.1f} GFLOP** (text ×2, denoiser ×{denoiser_runs}, decoders once). Download: **{shard_bytes / 1e6:.1f} MB** (float16 weights).",
        "",
        "## Data and training compute",
        "",
        f"{index['clips']} clips of the simulated world (`npm run world -- export --clips {index['clips']} --seed {index['seed']} --size {index['size']} --duration {index['durationS']:g} --fps {index['fps']} --sample-rate {index['sampleRate']}{' --background' if 'background' in index.get('layers', []) else ''}`), "
        f"seeds {index['seed']}–{index['seed'] + index['clips'] - 1}; the last {held_out} are held out and never trained on. "
        + (f"It builds on a {cfg.shares} run trained on {base_data[0]} clips of its own ({base_data[0] - base_data[1]} held out), whose stages are listed first. " if base_data and not adds_head_slot(cfg) and not cfg.box_planner else "")
        + (f"It builds on a {cfg.shares} run trained on these clips and {run_data[0] - index['clips']} clips whose figure wears a random face (seeds {cameo_seeds}), {run_data[0] - run_data[1]} held out in all, whose stages are listed first; the box planner trains on the same clips. " if cfg.box_planner else "")
        + (f"It builds on a {cfg.shares} run trained on these clips{', whose stages are listed first' if base_data else ''}; its own run adds {run_data[0] - index['clips']} clips whose figure wears a random face (`npm run world -- export --cameos --background`, seeds {cameo_seeds}) and trains on both, {run_data[0] - run_data[1]} held out in all. " if adds_head_slot(cfg) else "")
        + (f"Cameos: {cameo_data[0]} more clips whose figure wears a random face (`npm run world -- export --cameos --background`, the face stored beside each clip), the last {cameo_data[0] - cameo_data[1]} held out; the cameo stage fine-tunes the generator on them half and half with the clips above. " if cameo_data else "")
        + "Minutes per stage, from the stage logs (bf16 autocast throughout). Stages logged as `gpu<N>-…` ran on a lent GPU (`python3 -m zoetrope.gpu`, call N), the rest on 2 CPU cores:",
        "",
        "| stage | where | minutes |",
        "|---|---|---|",
        *[f"| {k} | {'GPU' if k.split(' ')[-1].startswith('gpu') else '2 CPU cores'} | {v} |" for k, v in minutes.items()],
        "",
        *([restored_text(run), ""] if (run / "recovered.json").exists() else []),
        # A run built on a restored one (draft-plan on the restored cameo run): its base's stages start at the restore too.
        *([restored_text(base_run), ""] if (base_run := based_on(run)) is not None and (base_run / "recovered.json").exists() else []),
        f"Training resumes from this model on any machine: `npm run recover -- restore --config {cfg.name} --model model-shards/{manifest['id']} --run RUN` "
        f"rebuilds its run from these graphs (read back, and checked to re-export byte for byte) and from what they do not hold, kept beside them in `model-shards/checkpoints/{manifest['id']}.npz` "
        f"({'the teacher and the encoders' if cfg.tier == 'draft' else 'the encoders'}, float16).",
        "",
        "## Physics bench on held-out prompts",
        "",
        "Each row generates the held-out prompts with the same seeds and scores them with the physics bench (`model-shards/world/BENCH.md`): "
        "prompt adherence, physics plausibility, audio–visual sync, and all three at once. `reconstruction` is the held-out clips passed through the autoencoders: the ceiling the decoders allow.",
        "",
        "| run | clips | adherence | physics | A/V sync | all three |",
        "|---|---|---|---|---|---|",
        *[f"| {name} | {n} | {pct(a)} | {pct(ph)} | {pct(s)} | {pct(al)} |" for name, n, a, ph, s, al in rows],
        "",
        f"![samples](samples.png) — `{shipped}` on the first four held-out prompts, every fourth frame." if sheet is not None else "",
        "",
    ]
    if args.cameo:
        c = json.loads(Path(args.cameo).read_text())
        lines += [
            "## Cameos on held-out clips",
            "",
            (f"`npm run evaluate:cameo` draws {c['clips']} held-out cameo prompts once, at {c['steps']} steps and guidance {c['guidance']}, and the video decoder paints the clip's own face on each, then the next clip's. " if cfg.head_slot else
             f"`npm run evaluate:cameo` draws {c['clips']} held-out cameo prompts twice with the same seed, once with the clip's own face and once with the next clip's, at {c['steps']} steps and guidance {c['guidance']}. ")
            + "The pixels where the two videos differ are what the face changed; the pair is told apart when each video's changed pixels are nearer "
            "in colour to its own face (muted as the world paints a face) than to the other. Chance is 50%."
            + (f" The head: in {pct(c['head']['shownAsInTheClip'])} of frames it is shown (or not) as in the held-out clip itself; where both show it, the head the face is painted on is a median {c['head']['medianDistancePx']} px from the clip's (an upper bound of the placement error: a generated clip may frame its shot otherwise)." if c.get("head") else "")
            + (f" The face is painted on the located head; the generated head slot is a median {c['head']['slotFromLocatedPx']} px from it, which is how far a face painted on the slot would have strayed." if c.get("head", {}).get("slotFromLocatedPx") is not None else ""),
            "",
            "| told apart | unchanged pairs | share of the picture a face changes (median, max) |",
            "|---|---|---|",
            f"| {pct(c['toldApart'])} | {c['unchanged']} | {100 * c['changedPixelShare']['median']:.2f}%, {100 * c['changedPixelShare']['max']:.2f}% |",
            "",
        ]
    if args.notes:
        lines += [Path(args.notes).read_text().strip(), ""]
    (model_dir / "MODEL_CARD.md").write_text("\n".join(lines))
    print(f"wrote {model_dir / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
