"""`npm run export -- --config draft --run DIR --out model-shards/zoetrope-draft --version 0.1.0 [--steps 4 --guidance 2]`

Writes a model folder the engine can verify: four ONNX graphs (text encoder, denoiser, video decoder,
audio decoder) with their weights in external-data shards of at most 32 MiB, stored as float16 with a
Cast to float32 in the graph (half the download; the math stays float32), the tokenizer, and
manifest.json with bytes and sha256 for every file (schema: contracts/manifest.ts).

The decoders take the denoiser's normalised frame tokens directly: the token statistics are baked
into them, so the engine hands one tensor to both.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from .configs import Config, get_config
from .evaluate import Model, decode_audio, decode_video
from .head_locator import LEGACY_REACH
from .slots import APPEARANCE_SIDE, SLOT_NUMBERS

OPSET = 17
MAX_SHARD_BYTES = 32 * 1024 * 1024
# Tensors smaller than this stay inside the graph file (biases, norms): not worth a Cast each.
EXTERNAL_MIN_BYTES = 4096
# The video decoder graph's metadata key for its head locator's reach (head_locator.LEGACY_REACH when absent).
REACH_KEY = "zoetrope.head_locator.reach"
# The decoders' token statistics (VideoDecoderGraph / AudioDecoderGraph buffers), kept float32.
TOKEN_STATISTICS = ("mean", "std")


class TextEncoderGraph(nn.Module):
    """ids, mask → text, pooled; with cameos also (appearance [batch, side, side, 3] in [0, 1], cameo
    [batch]: 1 where the clip has one) → text and textMask one token longer, the denoiser's condition."""

    def __init__(self, model: Model):
        super().__init__()
        assert model.generator is not None
        self.generator = model.generator

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None):
        text, pooled, text_mask = self.generator.encode_text(ids, mask, appearance, cameo)
        return (text, pooled, text_mask) if self.generator.cfg.appearance_side else (text, pooled)


class DenoiserGraph(nn.Module):
    def __init__(self, model: Model):
        super().__init__()
        assert model.generator is not None
        self.generator = model.generator

    def forward(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor):
        return self.generator.velocity(x, t, text, pooled, mask)


class VideoDecoderGraph(nn.Module):
    """Normalised frame tokens [frames, D] → RGB frames [frames, S, S, 3] in [0, 1]; with a head slot
    also (appearance [side, side, 3] in [0, 1], cameo [1]): the cameo's face painted on the head
    where cameo is 1, the frames untouched where it is 0."""

    def __init__(self, model: Model):
        super().__init__()
        self.cfg = model.cfg
        self.video = model.video
        self.nv = self.cfg.video_numbers
        self.register_buffer("mean", model.mean[: self.nv].clone())
        self.register_buffer("std", model.std[: self.nv].clone())
        self.locator = model.locator
        self.refiner = model.refiner

    def forward(self, tokens: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None) -> torch.Tensor:
        return decode_video(self.cfg, self.video, tokens[:, : self.nv] * self.std + self.mean, appearance, cameo, self.locator, self.refiner)


class AudioDecoderGraph(nn.Module):
    """Normalised frame tokens [frames, D] → mono waveform [frames × hop] in [-1, 1]; with a sound
    refiner, the sound first refined to the balls as the video decoder paints them (decode_audio)."""

    def __init__(self, model: Model):
        super().__init__()
        self.cfg = model.cfg
        self.decoder = model.audio.decoder
        self.nv = model.cfg.video_numbers
        self.register_buffer("mean", model.mean[self.nv :].clone())
        self.register_buffer("std", model.std[self.nv :].clone())
        self.sound_refiner = model.sound_refiner if self.cfg.sound_refiner else None
        if self.sound_refiner is not None:
            self.nl = self.cfg.video_ae.latent_numbers
            self.refiner = model.refiner
            self.register_buffer("slot_mean", model.mean[self.nl : self.nv].clone())
            self.register_buffer("slot_std", model.std[self.nl : self.nv].clone())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.sound_refiner is None:
            return decode_audio(self.cfg, self.decoder, tokens[:, self.nv :], self.mean, self.std)
        slots = (tokens[:, self.nl : self.nv] * self.slot_std + self.slot_mean).reshape(-1, self.cfg.slot_count, SLOT_NUMBERS)
        return decode_audio(self.cfg, self.decoder, tokens[:, self.nv :], self.mean, self.std, slots, self.refiner, self.sound_refiner)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_float16_with_casts(model: onnx.ModelProto) -> None:
    """Stores large float32 initializers as float16, each followed by a Cast back to float32."""
    graph = model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != TensorProto.FLOAT:
            continue
        array = numpy_helper.to_array(init)
        # The token statistics stay float32: a slot's position is token·std + mean, and mean rounded
        # to float16 moves a ball by ~0.01 px — visible at a disc's edge, and a parity failure.
        if array.nbytes < EXTERNAL_MIN_BYTES or init.name in TOKEN_STATISTICS:
            continue
        half = numpy_helper.from_array(array.astype(np.float16), name=f"{init.name}__f16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}__cast"))
    for node in reversed(casts):
        graph.node.insert(0, node)


def externalise(model: onnx.ModelProto, folder: Path, stem: str) -> list[Path]:
    """Moves large initializers into `<stem>.data-K` shards of at most 32 MiB; returns the shard paths."""
    shards: list[Path] = []
    handle = None
    written = 0
    for init in model.graph.initializer:
        raw = init.raw_data if init.HasField("raw_data") else numpy_helper.to_array(init).tobytes()
        if len(raw) < EXTERNAL_MIN_BYTES:
            continue
        if len(raw) > MAX_SHARD_BYTES:
            raise ValueError(f"{init.name} alone is {len(raw)} bytes, more than one 32 MiB shard")
        if handle is None or written + len(raw) > MAX_SHARD_BYTES:
            if handle:
                handle.close()
            shards.append(folder / f"{stem}.data-{len(shards)}")
            handle = shards[-1].open("wb")
            written = 0
        pad = (-written) % 64
        handle.write(b"\0" * pad)
        written += pad
        offset = written
        handle.write(raw)
        written += len(raw)
        dims = list(init.dims)
        data_type = init.data_type
        name = init.name
        init.Clear()
        init.name, init.data_type = name, data_type
        init.dims.extend(dims)
        init.data_location = TensorProto.EXTERNAL
        for k, v in (("location", shards[-1].name), ("offset", str(offset)), ("length", str(len(raw)))):
            entry = init.external_data.add()
            entry.key, entry.value = k, v
    if handle:
        handle.close()
    return shards


def trace_graph(module: nn.Module, example: tuple, names_in: list[str], names_out: list[str], dynamic: dict, path: Path) -> None:
    """The graph as torch.onnx traces it, float32 weights inside the file."""
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, example, str(path), input_names=names_in, output_names=names_out, dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)


def export_graph(module: nn.Module, example: tuple, names_in: list[str], names_out: list[str], dynamic: dict, folder: Path, stem: str, fp16: bool, metadata: dict[str, str] | None = None) -> tuple[Path, list[Path]]:
    path = folder / f"{stem}.onnx"
    tmp = folder / f"{stem}.tmp.onnx"
    trace_graph(module, example, names_in, names_out, dynamic, tmp)
    model = onnx.load(str(tmp))
    tmp.unlink()
    for key, value in (metadata or {}).items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    if fp16:
        to_float16_with_casts(model)
    shards = externalise(model, folder, stem)
    onnx.save_model(model, str(path))
    onnx.checker.check_model(str(path))
    return path, shards


def round_weights_to_float16(module: nn.Module) -> None:
    """What the exported graph computes with: every weight the export stores as float16, rounded so."""
    with torch.no_grad():
        for p in list(module.parameters()) + list(module.buffers()):
            if p.dtype == torch.float32 and p.numel() * 4 >= EXTERNAL_MIN_BYTES:
                p.copy_(p.half().float())


def shown_head_latent(model: Model, cfg: Config, run: Path) -> torch.Tensor:
    """The normalised latents [2, latent numbers] of the first two frames of the run's clips where the
    locator is surest of a head, so the parity case paints a face."""
    tokens = np.load(run / "tokens.npy", mmap_mode="r")
    nl, c, s = cfg.video_ae.latent_numbers, cfg.video_ae.latent_channels, cfg.video_ae.latent_side
    latent = torch.from_numpy(np.ascontiguousarray(tokens[: min(len(tokens), 64), :2, :nl]).astype(np.float32))
    assert model.locator is not None
    present = model.locator((latent * model.std[:nl] + model.mean[:nl]).reshape(-1, c, s, s))[:, 0].reshape(-1, 2).amin(dim=1)
    return latent[int(present.argmax())]


# The parity case's two overlapping balls (raw slots: present, x, y, radius, colour), so onnxruntime
# is held to PyTorch on moving them apart (slots.separate_balls) as well.
PARITY_OVERLAP = ((1.0, 0.30, 0.7, 0.03, 0.9, 0.1, 0.1), (1.0, 0.33, 0.71, 0.025, 0.1, 0.2, 0.9))


def overlapping_balls(model: Model, cfg: Config, tokens: torch.Tensor) -> None:
    """Sets the first two ball slots of the first two frames of normalised `tokens` to PARITY_OVERLAP."""
    nl = cfg.video_ae.latent_numbers
    for k, ball in enumerate(PARITY_OVERLAP):
        at = slice(nl + k * SLOT_NUMBERS, nl + (k + 1) * SLOT_NUMBERS)
        tokens[:2, at] = (torch.tensor(ball) - model.mean[at]) / model.std[at]


# A stack of two boxes the parity case shows on its first two frames (raw box slots: present, x, y, half
# side, colour), so the check covers the painting of boxes and balls over them.
PARITY_BOXES = ((1.0, 0.3, 0.8, 0.05, 0.2, 0.7, 0.3), (1.0, 0.3, 0.7, 0.05, 0.2, 0.7, 0.3))


def shown_boxes(model: Model, cfg: Config, tokens: torch.Tensor) -> None:
    """Sets the first box slots of the first two frames of normalised `tokens` to PARITY_BOXES."""
    for k, box in enumerate(PARITY_BOXES[: cfg.boxes]):
        at = slice(cfg.boxes_at + k * SLOT_NUMBERS, cfg.boxes_at + (k + 1) * SLOT_NUMBERS)
        tokens[:2, at] = (torch.tensor(box) - model.mean[at]) / model.std[at]


def parity_cases(model: Model, cfg: Config, run: Path) -> dict:
    """Small inputs and the PyTorch outputs for each graph, for onnxruntime to reproduce."""
    g = cfg.generator
    gen = torch.Generator().manual_seed(2024)
    ids = torch.zeros(2, g.max_tokens, dtype=torch.long)
    mask = torch.zeros(2, g.max_tokens)
    for b, prompt in enumerate(["a red ball bounces on the floor in a gym", ""]):
        tokens, _ = model.tokenizer.encode(prompt)
        ids[b, : len(tokens)] = torch.tensor(tokens)
        mask[b, : len(tokens)] = 1
    cases: dict = {}
    with torch.no_grad():
        side = model.generator.cfg.appearance_side if model.generator is not None else 0
        if side:
            # A cameo for the first prompt, none for the empty one (guidance's unconditional case).
            appearance = torch.rand(2, side, side, 3, generator=gen)
            cameo = torch.tensor([1.0, 0.0])
            text, pooled, mask = TextEncoderGraph(model)(ids, mask, appearance, cameo)
            cases["textEncoder"] = {"inputs": {"ids": ids, "mask": mask[:, : g.max_tokens], "appearance": appearance, "cameo": cameo}, "outputs": {"text": text, "pooled": pooled, "textMask": mask}}
        else:
            text, pooled = TextEncoderGraph(model)(ids, mask)
            cases["textEncoder"] = {"inputs": {"ids": ids, "mask": mask}, "outputs": {"text": text, "pooled": pooled}}
        x = torch.randn(2, cfg.frames, cfg.token_dim, generator=gen)
        t = torch.tensor([0.9, 0.3])
        v = DenoiserGraph(model)(x, t, text, pooled, mask)
        cases["denoiser"] = {"inputs": {"x": x, "t": t, "text": text, "pooled": pooled, "mask": mask}, "outputs": {"velocity": v}}
        tokens = torch.randn(cfg.frames, cfg.token_dim, generator=gen)
        if cfg.separate_balls:
            overlapping_balls(model, cfg, tokens)
        if cfg.boxes:
            shown_boxes(model, cfg, tokens)
        if cfg.head_slot:
            # A head well inside the frame on both frames, so the face shows and parity checks the painting.
            head = slice(cfg.head_at, cfg.head_at + SLOT_NUMBERS)
            raw = torch.tensor([1.0, 0.45, 0.4, 0.06, 0.0, 0.0, 0.0])
            tokens[:2, head] = (raw - model.mean[head]) / model.std[head]
            if cfg.head_locator:
                # The head is read from the latent: two frames of a clip that shows one (noise shows none).
                tokens[:2, : cfg.video_ae.latent_numbers] = shown_head_latent(model, cfg, run)
            face = torch.rand(APPEARANCE_SIDE, APPEARANCE_SIDE, 3, generator=gen)
            cases["videoDecoder"] = {"inputs": {"tokens": tokens[:2], "appearance": face, "cameo": torch.ones(1)}, "outputs": {"rgb": VideoDecoderGraph(model)(tokens[:2], face, torch.ones(1))}}
        else:
            cases["videoDecoder"] = {"inputs": {"tokens": tokens[:2]}, "outputs": {"rgb": VideoDecoderGraph(model)(tokens[:2])}}
        cases["audioDecoder"] = {"inputs": {"tokens": tokens}, "outputs": {"wave": AudioDecoderGraph(model)(tokens)}}
    as_json = lambda tensor: {"dtype": "int64" if tensor.dtype == torch.long else "float32", "shape": list(tensor.shape), "data": tensor.flatten().tolist()}  # noqa: E731
    return {role: {kind: {name: as_json(value) for name, value in tensors.items()} for kind, tensors in case.items()} for role, case in cases.items()}


def spec(name: str, dtype: str, shape: list) -> dict:
    return {"name": name, "dtype": dtype, "shape": shape}


@dataclass
class GraphExport:
    """One graph of a model folder: its role in the manifest, file stem, the module traced, an example
    input, input and output names with their dynamic axes, and the manifest's specs of both."""

    role: str
    stem: str
    module: nn.Module
    example: tuple
    names_in: list[str]
    names_out: list[str]
    dynamic: dict
    inputs: list[dict]
    outputs: list[dict]
    # Written into the graph file (ModelProto.metadata_props): what the weights alone do not say.
    metadata: dict[str, str] = field(default_factory=dict)


def graph_exports(model: Model, cfg: Config) -> list[GraphExport]:
    """The four graphs a model folder holds, as export_model writes them (and recover.py reads them back)."""
    assert model.generator is not None
    g = cfg.generator
    L, W, T, D = g.max_tokens, g.text_width, cfg.frames, cfg.token_dim
    ids = torch.zeros(1, L, dtype=torch.long)
    ids[0, :5] = torch.tensor([2, 10, 11, 12, 13]).clamp(max=len(model.tokenizer.vocab) - 1)
    mask = torch.zeros(1, L)
    mask[0, :5] = 1
    graphs = []
    side = model.generator.cfg.appearance_side
    with torch.no_grad():
        if side:
            # Cameos: the reference appearance rides into the text encoder, whose condition is one token longer.
            appearance, cameo = torch.rand(1, side, side, 3), torch.ones(1)
            text, pooled, text_mask = TextEncoderGraph(model)(ids, mask, appearance, cameo)
            Lc = L + 1
            graphs.append(GraphExport(
                "textEncoder", "text-encoder", TextEncoderGraph(model), (ids, mask, appearance, cameo), ["ids", "mask", "appearance", "cameo"], ["text", "pooled", "textMask"],
                {k: {0: "batch"} for k in ("ids", "mask", "appearance", "cameo", "text", "pooled", "textMask")},
                [spec("ids", "int64", ["batch", L]), spec("mask", "float32", ["batch", L]), spec("appearance", "float32", ["batch", side, side, 3]), spec("cameo", "float32", ["batch"])],
                [spec("text", "float32", ["batch", Lc, W]), spec("pooled", "float32", ["batch", W]), spec("textMask", "float32", ["batch", Lc])],
            ))
            mask = text_mask
        else:
            text, pooled = TextEncoderGraph(model)(ids, mask)
            Lc = L
            graphs.append(GraphExport(
                "textEncoder", "text-encoder", TextEncoderGraph(model), (ids, mask), ["ids", "mask"], ["text", "pooled"], {"ids": {0: "batch"}, "mask": {0: "batch"}, "text": {0: "batch"}, "pooled": {0: "batch"}},
                [spec("ids", "int64", ["batch", L]), spec("mask", "float32", ["batch", L])], [spec("text", "float32", ["batch", L, W]), spec("pooled", "float32", ["batch", W])],
            ))
    x = torch.randn(2, T, D)
    t = torch.tensor([1.0, 0.5])
    graphs.append(GraphExport(
        "denoiser", "denoiser", DenoiserGraph(model), (x, t, text.repeat(2, 1, 1), pooled.repeat(2, 1), mask.repeat(2, 1)), ["x", "t", "text", "pooled", "mask"], ["velocity"],
        {k: {0: "batch"} for k in ("x", "t", "text", "pooled", "mask", "velocity")},
        [spec("x", "float32", ["batch", T, D]), spec("t", "float32", ["batch"]), spec("text", "float32", ["batch", Lc, W]), spec("pooled", "float32", ["batch", W]), spec("mask", "float32", ["batch", Lc])], [spec("velocity", "float32", ["batch", T, D])],
    ))
    tokens = torch.randn(T, D)
    rgb = [spec("rgb", "float32", ["frames", cfg.size, cfg.size, 3])]
    if cfg.head_slot:
        # Cameos as a slot: the video decoder paints the reference face on the head (evaluate.head_track).
        side = APPEARANCE_SIDE
        graphs.append(GraphExport(
            "videoDecoder", "video-decoder", VideoDecoderGraph(model), (tokens, torch.rand(side, side, 3), torch.ones(1)), ["tokens", "appearance", "cameo"], ["rgb"], {"tokens": {0: "frames"}, "rgb": {0: "frames"}},
            [spec("tokens", "float32", ["frames", D]), spec("appearance", "float32", [side, side, 3]), spec("cameo", "float32", [1])], rgb,
            # The locator's reach is a constant of this graph: restore reads it back from here (recover.graph_reach).
            {REACH_KEY: repr(model.locator.reach)} if model.locator is not None and model.locator.reach != LEGACY_REACH else {},
        ))
    else:
        graphs.append(GraphExport("videoDecoder", "video-decoder", VideoDecoderGraph(model), (tokens,), ["tokens"], ["rgb"], {"tokens": {0: "frames"}, "rgb": {0: "frames"}}, [spec("tokens", "float32", ["frames", D])], rgb))
    graphs.append(GraphExport("audioDecoder", "audio-decoder", AudioDecoderGraph(model), (tokens,), ["tokens"], ["wave"], {"tokens": {0: "frames"}, "wave": {0: "samples"}}, [spec("tokens", "float32", ["frames", D])], [spec("wave", "float32", ["samples"])]))
    return graphs


def temperature_entry(cfg: Config, model: Model) -> dict:
    """The manifest's sampler.temperature: what the engine needs to draw as evaluate.Model.draw does."""
    t, at = cfg.temperature, cfg.head_at
    return {
        "scale": t.scale,
        "firstSteps": t.first_steps,
        "latent": {"channels": cfg.video_ae.latent_channels, "side": cfg.video_ae.latent_side},
        "head": {"at": at, "mean": [float(v) for v in model.mean[at : at + 3]], "std": [float(v) for v in model.std[at : at + 3]]},
        "across": t.across,
        "above": t.above,
        "below": t.below,
    }


def export_model(cfg: Config, run: Path, out: Path, model_id: str, version: str, steps: int, guidance: float, timesteps: list[float] | None, fp16: bool, parity: Path | None = None, denoiser: str = "generator") -> dict:
    if parity is not None and cfg.head_locator and not (run / "tokens.npy").exists():
        # Refused before a file is written: the folder keeps the model it holds.
        raise ValueError(f"{run} has no tokens.npy: the parity case paints a face on a head from the run's own clips (a run restored from a shipped model has none): run --stage encode on it first")
    model = Model(cfg, run, denoiser)
    if model.generator is None:
        raise ValueError(f"{run} has no {denoiser} checkpoint: train --stage {denoiser} first")
    if fp16:
        for module in (model.generator, model.video, model.audio, model.locator, model.refiner, model.sound_refiner):
            if module is not None:
                round_weights_to_float16(module)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.onnx"):
        old.unlink()
    for old in out.glob("*.data-*"):
        old.unlink()
    graphs = {}
    for ge in graph_exports(model, cfg):
        path, shards = export_graph(ge.module, ge.example, ge.names_in, ge.names_out, ge.dynamic, out, ge.stem, fp16, ge.metadata)
        graphs[ge.role] = (path, shards, ge.inputs, ge.outputs)
    tokenizer_path = out / "tokenizer.json"
    model.tokenizer.save(tokenizer_path)
    ref = lambda p: {"file": p.name, "bytes": p.stat().st_size, "sha256": sha256(p)}  # noqa: E731
    times = timesteps if timesteps is not None else [round(1.0 - i / steps, 6) for i in range(steps + 1)]
    manifest = {
        "manifestVersion": 1,
        "id": model_id,
        "version": version,
        "license": "Apache-2.0",
        "tier": cfg.tier,
        "graphs": {role: {**ref(p), "externalData": [ref(s) for s in shards], "inputs": ins, "outputs": outs} for role, (p, shards, ins, outs) in graphs.items()},
        "tokenizer": {**ref(tokenizer_path), "kind": "word"},
        "sampler": {"method": "flow-euler", "steps": steps, "guidance": guidance, "timesteps": times, **({"temperature": temperature_entry(cfg, model)} if cfg.temperature.scale < 1 else {})},
        "tokens": {"frames": cfg.frames, "videoNumbers": cfg.video_numbers, "audioNumbers": cfg.audio_ae.latent_channels},
        "output": {"fps": cfg.fps, "width": cfg.size, "height": cfg.size, "sampleRate": cfg.sample_rate, "audioChannels": 1, "maxDurationS": cfg.duration_s},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if parity is not None:
        parity.write_text(json.dumps(parity_cases(model, cfg, run)) + "\n")
    total = sum(f["bytes"] for g in manifest["graphs"].values() for f in [g, *g["externalData"]]) + manifest["tokenizer"]["bytes"]
    return {"out": str(out), "bytes": total, "graphs": {k: len(v[1]) for k, v in graphs.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run export --", description="Export a trained run as a verified model folder (ONNX + shards + manifest).")
    p.add_argument("--config", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--id", default=None, help="model id (default zoetrope-<config>)")
    p.add_argument("--version", required=True, help="semver, e.g. 0.1.0")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--fp32", action="store_true", help="keep float32 weights")
    p.add_argument("--denoiser", default="student", choices=("generator", "student"), help="ship the distilled student (default) or the teacher")
    p.add_argument("--parity", default=None, help="also write PyTorch reference inputs/outputs (JSON) for `npm run parity`")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    try:
        cfg = get_config(args.config)
        result = export_model(cfg, Path(args.run), Path(args.out), args.id or f"zoetrope-{cfg.name}", args.version, args.steps, args.guidance, None, not args.fp32, Path(args.parity) if args.parity else None, args.denoiser)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
