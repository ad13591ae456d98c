"""A training run rebuilt from a shipped model folder, so training resumes on a machine that has only
the repository (`npm run recover -- <command> ...`):

    restore --config C --model DIR --run RUN [--rest FILE] [--teacher-from DIR] [--encoders-from RUN]
        RUN gets every stage checkpoint the model's graphs hold, read back from their ONNX weights:
        the denoiser shipped (the Draft's distilled student, Pro's teacher) with the text encoder,
        the video decoder with its head locator, the audio decoder, the token statistics (baked into
        the decoders) and the tokenizer. What the graphs do not hold comes from the model's rest
        (default checkpoints/<id>.npz beside the model folder, written by `pack`): the Draft's teacher, the
        two encoders and, for a decoder taught to paint without boxes (video-bare), the shared
        decoder it was taught from. Without a rest, --teacher-from takes the teacher from a Pro folder grown from
        it (Pro 0.2.0's denoiser is the Draft's teacher, grown by two identity blocks and frame
        embeddings that repeat), and the encoders stay untrained: `npm run train -- --stage
        refit-encoders` fits them to the recovered decoders, unless --encoders-from names a run
        whose encoders made the model's tokens (Pro's tokens are the Draft's). Each graph is
        re-exported from the recovered weights and compared, byte for byte, with the shipped file.
    pack --config C --model DIR --run RUN [--out FILE]
        The rest: what RUN holds that the model's graphs do not, in one .npz (no pickle; float16
        where the export would store a weight so),
        tied to the model's manifest by its sha256 so it is never restored beside another version.

How a graph's weights are found: the same graph is traced again from modules whose every weight is
filled with distinct random numbers, so each initializer of the trace is one weight (or its
transpose, where the export folded a MatMul's); the shipped file's initializer of the same name
holds that weight's value (float16 where the export stored it so, which is what the graph computes
with). Weights a graph does not use are not recovered from it; those no graph uses are listed.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .audio_ae import AudioAutoencoder
from .box_planner import PlannedDenoiser, generator_part, planner_for
from .configs import Config, get_config, lineage, root_config
from .export import EXTERNAL_MIN_BYTES, REACH_KEY, GraphExport, export_graph, graph_exports, trace_graph
from .generator import FlowGenerator
from .head_locator import LEGACY_REACH, locator_for
from .sound_refiner import sound_refiner_for
from .track_refiner import refiner_for
from .text import Tokenizer
from .train import DECODER_STAGES, encoder_state, load_stage, save_atomic, weights_checkpoint
from .video_ae import FrameAutoencoder, UpscaleDecoder

REST_FORMAT = 1
RECOVERED = "recovered.json"


class RecoveryError(ValueError):
    pass


def shipped_weights(path: Path) -> dict[str, np.ndarray]:
    """A graph's initializers by name, external data read from beside it; a float16-stored weight
    (export.to_float16_with_casts: NAME__f16 and a Cast to NAME) under its own name, as float32."""
    model = onnx.load(str(path))
    out = {}
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init)
        name = init.name[: -len("__f16")] if init.name.endswith("__f16") else init.name
        out[name] = array.astype(np.float32) if array.dtype == np.float16 else array
    return out


def _key(array: np.ndarray) -> tuple:
    return (array.dtype.str, array.shape, hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest())


def fingerprint(tensors: list[torch.Tensor], seed: int = 1234) -> None:
    """Fills every float tensor with its own random numbers, so a traced initializer names one of them."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in tensors:
            if t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=gen) * 0.05 + 0.01)


def initializer_map(ge: GraphExport, folder: Path) -> tuple[onnx.ModelProto, dict[str, tuple[str, bool]]]:
    """Traces `ge` (its module fingerprinted): the traced graph, and each of its initializers that is
    a weight, with the state-dict key it holds and whether it holds it transposed."""
    state = ge.module.state_dict(keep_vars=True)
    index: dict[tuple, tuple[str, bool]] = {}
    for key, t in state.items():
        if not t.is_floating_point():
            continue
        a = t.detach().numpy()
        index.setdefault(_key(a), (key, False))
        if a.ndim == 2:
            index.setdefault(_key(a.T), (key, True))
    path = folder / f"{ge.stem}.trace.onnx"
    trace_graph(ge.module, ge.example, ge.names_in, ge.names_out, ge.dynamic, path)
    traced = onnx.load(str(path))
    path.unlink()
    mapped = {}
    for init in traced.graph.initializer:
        array = numpy_helper.to_array(init)
        hit = index.get(_key(array)) if array.dtype == np.float32 else None
        if hit is not None:
            mapped[init.name] = hit
    return traced, mapped


def shipped_names(traced: onnx.ModelProto, shipped: onnx.ModelProto, file: str) -> dict[str, str]:
    """Each traced initializer's name in the shipped graph. The graphs match node for node (the
    shipped one also opens with the float16 Casts); where the export merged weights of equal value
    into one initializer (it deduplicates them), several traced names map to the one shipped."""
    ours = list(traced.graph.node)
    # Weights of equal value (a grown block's zeroed outputs) are one initializer in an exported graph,
    # each other name an Identity of it; a fingerprinted trace has none.
    stored = {i.name.removesuffix("__f16") for i in shipped.graph.initializer}
    alias: dict[str, str] = {}
    theirs = []
    for n in shipped.graph.node:
        if n.name.endswith("__cast"):
            continue
        if n.op_type == "Identity" and (n.input[0] in stored or n.input[0] in alias):
            alias[n.output[0]] = alias.get(n.input[0], n.input[0])
            continue
        theirs.append(n)
    if len(ours) != len(theirs) or any(a.op_type != b.op_type or len(a.input) != len(b.input) for a, b in zip(ours, theirs)):
        raise RecoveryError(f"{file} is not the graph this code exports for the config ({len(theirs)} nodes shipped, {len(ours)} traced): restore with the config and code it was exported with")
    inits = {i.name for i in traced.graph.initializer}
    names: dict[str, str] = {}
    for a, b in zip(ours, theirs):
        for x, y in zip(a.input, b.input):
            y = alias.get(y, y)
            if x in inits and names.setdefault(x, y) != y:
                raise RecoveryError(f"{file}: the traced initializer {x} is {names[x]} in one node and {y} in another")
    return names


def load_graph(ge: GraphExport, shipped: Path, folder: Path) -> set[str]:
    """Sets the weights `ge`'s graph uses to those of the shipped graph file; returns their keys."""
    traced, mapped = initializer_map(ge, folder)
    names = shipped_names(traced, onnx.load(str(shipped), load_external_data=False), shipped.name)
    weights = shipped_weights(shipped)
    for init in traced.graph.initializer:
        if init.name in mapped:
            continue
        # A constant the trace made (an index, a shape): the same in the shipped graph, or made from weights.
        value, theirs = numpy_helper.to_array(init), weights.get(names.get(init.name, ""))
        if theirs is None or value.shape != theirs.shape or not np.array_equal(value.astype(theirs.dtype), theirs):
            raise RecoveryError(f"{shipped.name}: initializer {init.name} is computed from weights when traced, so its weights cannot be read back")
    state = ge.module.state_dict(keep_vars=True)
    with torch.no_grad():
        for name, (key, transposed) in mapped.items():
            if names.get(name) not in weights:
                raise RecoveryError(f"{shipped.name} has no initializer for {key} (traced as {name})")
            array = weights[names[name]]
            value = torch.from_numpy(np.array(array.T if transposed else array))
            if tuple(value.shape) != tuple(state[key].shape):
                raise RecoveryError(f"{shipped.name}: {names[name]} is {tuple(value.shape)}, {key} is {tuple(state[key].shape)}")
            state[key].copy_(value)
    return {key for key, _ in mapped.values()}


def rest_path(model_dir: Path, manifest: dict) -> Path:
    """Where a model folder's rest lives: model-shards/checkpoints/zoetrope-draft.npz for model-shards/zoetrope-draft."""
    return model_dir.parent / "checkpoints" / f"{manifest['id']}.npz"


def shipped_manifest(model_dir: Path) -> tuple[dict, str]:
    """The model folder's manifest, and its sha256 (what ties a rest to it)."""
    path = model_dir / "manifest.json"
    if not path.exists():
        raise RecoveryError(f"{model_dir} has no manifest.json: pass a model folder written by npm run export")
    raw = path.read_bytes()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def modules_for(cfg: Config, vocab: int, reach: float = LEGACY_REACH) -> SimpleNamespace:
    """Fresh modules shaped as `cfg`'s model, in the form the export's graph wrappers read (`reach`:
    the head locator's, a constant of the video decoder graph: graph_reach)."""
    video = FrameAutoencoder(cfg.video_ae)
    if cfg.upscale > 1:
        video.decoder = UpscaleDecoder(video.decoder, cfg.upscale)  # type: ignore[assignment]
    return SimpleNamespace(
        cfg=cfg, generator=denoiser_for(cfg, vocab), video=video, audio=AudioAutoencoder(cfg.audio_ae),
        locator=locator_for(cfg, reach) if cfg.head_locator else None, refiner=refiner_for(cfg) if cfg.track_refiner else None,
        sound_refiner=sound_refiner_for(cfg) if cfg.sound_refiner else None, mean=torch.zeros(cfg.token_dim), std=torch.ones(cfg.token_dim), tokenizer=None,
    )


def denoiser_for(cfg: Config, vocab: int) -> FlowGenerator | PlannedDenoiser:
    """A fresh denoiser as the graphs hold it: the generator, with its box planner where the config plans boxes."""
    generator = FlowGenerator(cfg.generator, vocab)
    return PlannedDenoiser(cfg, generator, planner_for(cfg)) if cfg.box_planner else generator


ALL_GRAPHS = ("textEncoder", "denoiser", "videoDecoder", "audioDecoder")


def graph_reach(video_decoder: Path) -> float:
    """The head locator's reach a video decoder graph was exported with: written in its metadata
    (export.REACH_KEY) when it is not LEGACY_REACH, so graphs from before the reach stay byte for byte."""
    props = {p.key: p.value for p in onnx.load(str(video_decoder), load_external_data=False).metadata_props}
    return float(props.get(REACH_KEY, LEGACY_REACH))


def read_model(cfg: Config, model_dir: Path, roles: tuple[str, ...] = ALL_GRAPHS, reach: float = LEGACY_REACH) -> tuple[SimpleNamespace, dict]:
    """`cfg`'s modules with every weight the model folder's graphs (those of `roles`) use; the keys
    read, per graph. `reach` is the head locator's (graph_reach)."""
    manifest, _ = shipped_manifest(model_dir)
    tokens = manifest["tokens"]
    if (tokens["frames"], tokens["videoNumbers"], tokens["audioNumbers"]) != (cfg.frames, cfg.video_numbers, cfg.audio_ae.latent_channels):
        raise RecoveryError(f"{model_dir} makes {tokens['frames']} frames of {tokens['videoNumbers']} + {tokens['audioNumbers']} numbers; config {cfg.name} makes {cfg.frames} of {cfg.video_numbers} + {cfg.audio_ae.latent_channels}: pass the config it was trained with")
    tokenizer = Tokenizer.load(model_dir / manifest["tokenizer"]["file"])
    model = modules_for(cfg, len(tokenizer.vocab), reach)
    model.tokenizer = tokenizer
    graphs = graph_exports(model, cfg)  # type: ignore[arg-type]
    tensors = {id(t): t for ge in graphs for t in ge.module.state_dict(keep_vars=True).values()}
    fingerprint(list(tensors.values()))
    read = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ge in (ge for ge in graphs if ge.role in roles):
            entry = manifest["graphs"][ge.role]
            read[ge.role] = load_graph(ge, model_dir / entry["file"], Path(tmp))
    by_role = {ge.role: ge.module for ge in graphs}
    nv = cfg.video_numbers
    if "videoDecoder" in roles and "audioDecoder" in roles:
        model.mean[:nv], model.std[:nv] = by_role["videoDecoder"].mean, by_role["videoDecoder"].std
        model.mean[nv:], model.std[nv:] = by_role["audioDecoder"].mean, by_role["audioDecoder"].std
    return model, read


def verify_export(model: SimpleNamespace, cfg: Config, model_dir: Path) -> dict[str, bool]:
    """Re-exports each graph from `model` as the shipped folder's was (float16) and compares the files."""
    manifest, _ = shipped_manifest(model_dir)
    fp16 = any(name.endswith("__f16") for name in (i.name for i in onnx.load(str(model_dir / manifest["graphs"]["denoiser"]["file"]), load_external_data=False).graph.initializer))
    same = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ge in graph_exports(model, cfg):  # type: ignore[arg-type]
            path, shards = export_graph(ge.module, ge.example, ge.names_in, ge.names_out, ge.dynamic, Path(tmp), ge.stem, fp16, ge.metadata)
            entry = manifest["graphs"][ge.role]
            files = [(path, entry["file"])] + [(s, e["file"]) for s, e in zip(shards, entry["externalData"])]
            same[ge.role] = len(shards) == len(entry["externalData"]) and all(a.read_bytes() == (model_dir / b).read_bytes() for a, b in files)
    return same


def ungrow_teacher(pro: FlowGenerator, cfg: Config) -> dict:
    """The Draft teacher's weights from a generator grown from it by generator.grow with no training
    since (Pro 0.2.0): the blocks back from where grow placed them, the first frames' embeddings."""
    src, dst = cfg.generator, pro.cfg
    placed = [round(i * dst.depth / src.depth) for i in range(src.depth)]
    out = {}
    for key, value in pro.state_dict().items():
        if key.startswith("blocks."):
            _, i, rest = key.split(".", 2)
            if int(i) in placed:
                out[f"blocks.{placed.index(int(i))}.{rest}"] = value.clone()
        elif key == "pos":
            out[key] = value[:, : src.frames].clone()
            if not torch.equal(value[:, src.frames : 2 * src.frames], value[:, : src.frames]):
                raise RecoveryError("the teacher's folder has trained its later frames' embeddings (they no longer repeat the first): pass the Pro folder it was grown into untrained (Pro 0.2.0)")
        else:
            out[key] = value.clone()
    for i in sorted(set(range(dst.depth)) - set(placed)):
        if any(pro.state_dict()[f"blocks.{i}.{part}.weight"].abs().max() > 0 for part in ("att.o", "cross.o", "mlp.2")):
            raise RecoveryError(f"block {i} of the teacher's folder is no longer the identity grow made: it was trained after growing, so the teacher cannot be read from it")
    return out


def read_rest(path: Path, manifest_sha: str) -> tuple[dict, dict[str, dict[str, torch.Tensor]]]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(bytes(z["meta.json"]).decode())
        if meta.get("format") != REST_FORMAT:
            raise RecoveryError(f"{path} is not a rest this code reads (format {meta.get('format')!r}, wants {REST_FORMAT})")
        if meta["manifest_sha256"] != manifest_sha:
            raise RecoveryError(f"{path} belongs to {meta['model']} {meta['version']}, not to the model folder given (its manifest differs): restore the matching version")
        parts: dict[str, dict[str, torch.Tensor]] = {}
        for name in z.files:
            if name == "meta.json":
                continue
            part, key = name.split("/", 1)
            parts.setdefault(part, {})[key] = torch.from_numpy(z[name].astype(np.float32) if z[name].dtype == np.float16 else z[name])
    return meta, parts


def restore(cfg: Config, model_dir: Path, run: Path, rest: Path | None, teacher_from: Path | None, verify: bool = True, encoders_from: Path | None = None) -> dict:
    if run.exists() and any(run.iterdir()):
        raise RecoveryError(f"{run} is not empty: restore into a new --run folder")
    manifest, manifest_sha = shipped_manifest(model_dir)
    if rest is not None and teacher_from is not None:
        raise RecoveryError("pass --rest or --teacher-from, not both: a rest already holds the teacher")
    if rest is None and teacher_from is None:
        default = rest_path(model_dir, manifest)
        if default.exists():
            rest = default
    meta, parts = read_rest(rest, manifest_sha) if rest is not None else ({}, {})
    if encoders_from is not None:
        if "video-encoder" in parts:
            raise RecoveryError(f"the rest {rest} has the encoders already: pass --encoders-from only without one")
        for stage, part in (("video-ae", "video-encoder"), ("audio-ae", "audio-encoder")):
            ckpt = load_stage(encoders_from, stage, cfg)
            if encoder_state(ckpt) in ("untrained", "refitting"):
                raise RecoveryError(f"{encoders_from}/{stage}.pt has no fitted encoder: run --stage refit-encoders on it to the end first")
            parts[part] = {k.removeprefix("encoder."): v for k, v in ckpt["model"].items() if k.startswith("encoder.")}
            meta["encoders"] = encoder_state(ckpt)
    reach = graph_reach(model_dir / manifest["graphs"]["videoDecoder"]["file"])
    model, read = read_model(cfg, model_dir, reach=reach)
    same = verify_export(model, cfg, model_dir) if verify else {}
    if verify and not all(same.values()):
        raise RecoveryError(f"the weights read back from {model_dir} do not re-export to its files ({', '.join(r for r, ok in same.items() if not ok)} differ): the code has changed since it was exported")
    shipped_denoiser = "student" if cfg.tier == "draft" else "generator"
    # Written beside RUN and renamed at the end: a restore that stops half-way leaves no half a run.
    final, run = run, run.with_name(run.name + ".restoring")
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    (run / "tokenizer.json").write_bytes((model_dir / manifest["tokenizer"]["file"]).read_bytes())
    np.savez(run / "token-stats.npz", mean=model.mean.numpy(), std=model.std.numpy())
    root = root_config(cfg.name)
    encoders = "untrained"
    if "video-encoder" in parts:
        model.video.encoder.load_state_dict(parts["video-encoder"])
        model.audio.encoder.load_state_dict(parts["audio-encoder"])
        encoders = meta["encoders"]
    video = model.video
    shared_decoder = None
    if cfg.bare_decoder:
        # The graph paints without boxes (the video-bare stage); the decoder it was taught from, which
        # the run's other configs share, is the rest's.
        save_atomic(weights_checkpoint(cfg.name, "video-bare", video.decoder.state_dict(), 0), run / "video-bare.pt")
        video = FrameAutoencoder(cfg.video_ae)
        video.encoder = model.video.encoder
        if "video-decoder" in parts:
            video.decoder.load_state_dict(parts["video-decoder"])
            shared_decoder = "the rest"
        else:
            video.decoder = model.video.decoder
            shared_decoder = "the shipped graph's (no rest holds the one it was taught from)"
    if cfg.upscale > 1:
        save_atomic(weights_checkpoint(cfg.name, "video-upscale", video.decoder.state_dict(), 0), run / "video-upscale.pt")
        video = FrameAutoencoder(cfg.video_ae)
        video.decoder = model.video.decoder.base
        video.encoder = model.video.encoder
    save_atomic(weights_checkpoint(root, "video-ae", video.state_dict(), 0, extra={"encoder": encoders}), run / "video-ae.pt")
    save_atomic(weights_checkpoint(root, "audio-ae", model.audio.state_dict(), 0, extra={"encoder": encoders}), run / "audio-ae.pt")
    for stage, module in (("head-locator", model.locator), ("track-refiner", model.refiner), ("sound-refiner", model.sound_refiner)):
        if module is not None:
            # Saved under the config that trains it (draft-cameo; Pro shares it, train.SHARED_STAGES).
            trained_by = next(n for n in reversed(lineage(cfg.name)) if getattr(get_config(n), DECODER_STAGES[stage][0]))
            state = module.state_dict()
            save_atomic(weights_checkpoint(trained_by, stage, state, 0, state, extra={"reach": reach} if stage == "head-locator" else None), run / f"{stage}.pt")
    # The graphs hold the EMA weights (what is sampled); training goes on from them too.
    state = generator_part(model.generator).state_dict()
    save_atomic(weights_checkpoint(cfg.name, shipped_denoiser, state, 0, state), run / f"{shipped_denoiser}.pt")
    if isinstance(model.generator, PlannedDenoiser):
        state = model.generator.planner.state_dict()
        save_atomic(weights_checkpoint(cfg.name, "box-planner", state, 0, state), run / "box-planner.pt")
    teacher = "shipped" if shipped_denoiser == "generator" else None
    if "generator" in parts:
        save_atomic(weights_checkpoint(cfg.name, "generator", parts["generator"], int(meta.get("steps", {}).get("generator", 0)), parts["generator"]), run / "generator.pt")
        teacher = f"the rest {rest}"
    elif teacher_from is not None:
        pro_cfg = get_config(json.loads((teacher_from / "manifest.json").read_text())["id"].removeprefix("zoetrope-"))
        pro, _ = read_model(pro_cfg, teacher_from, ("textEncoder", "denoiser"))
        state = ungrow_teacher(pro.generator, cfg)
        save_atomic(weights_checkpoint(cfg.name, "generator", state, 0, state), run / "generator.pt")
        teacher = f"ungrown from {teacher_from}"
    unused = sorted(k for k in model.generator.state_dict() if not any(f"generator.{k}" in keys for keys in read.values()))
    result = {
        "model": manifest["id"], "version": manifest["version"], "config": cfg.name, "manifest_sha256": manifest_sha,
        "shipped_denoiser": shipped_denoiser, "teacher": teacher, "encoders": encoders,
        **({"shared_decoder": shared_decoder} if shared_decoder else {}),
        "re_exported_identical": same, "generator_weights_no_graph_uses": unused,
    }
    (run / RECOVERED).write_text(json.dumps(result, indent=2) + "\n")
    if final.exists():
        final.rmdir()  # empty (checked first)
    run.rename(final)
    return result


def pack(cfg: Config, model_dir: Path, run: Path, out: Path) -> dict:
    """What `run` holds beyond the model's graphs (the Draft's teacher; the encoders), for restore."""
    manifest, manifest_sha = shipped_manifest(model_dir)
    video = load_stage(run, "video-ae", cfg)
    audio = load_stage(run, "audio-ae", cfg)
    if any(encoder_state(ckpt) in ("untrained", "refitting") for ckpt in (video, audio)):
        raise RecoveryError(f"{run}'s encoders are not fitted yet (restored without a rest): train --stage refit-encoders to the end first")
    parts = {
        "video-encoder": {k.removeprefix("encoder."): v for k, v in video["model"].items() if k.startswith("encoder.")},
        "audio-encoder": {k.removeprefix("encoder."): v for k, v in audio["model"].items() if k.startswith("encoder.")},
    }
    if cfg.bare_decoder:
        # The graph holds the video-bare stage's decoder; the shared one it was taught from is kept here.
        parts["video-decoder"] = {k.removeprefix("decoder."): v for k, v in video["model"].items() if k.startswith("decoder.")}
    steps = {}
    if cfg.tier == "draft":
        gen = load_stage(run, "generator", cfg)
        parts["generator"] = gen["extra"]["ema"]
        steps["generator"] = gen["step"]
    # float16 where the export would store a weight so (export.EXTERNAL_MIN_BYTES), small tensors as they are.
    arrays = {f"{part}/{k}": (v.half() if v.is_floating_point() and v.numel() * 4 >= EXTERNAL_MIN_BYTES else v).numpy() for part, state in parts.items() for k, v in state.items()}
    encoders = encoder_state(video)  # "trained" with the decoders, or "refit" to them after
    meta = {"format": REST_FORMAT, "model": manifest["id"], "version": manifest["version"], "config": cfg.name, "manifest_sha256": manifest_sha, "parts": sorted(parts), "steps": steps, "encoders": encoders}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{"meta.json": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}, **arrays)
    tmp.replace(out)
    return {**meta, "bytes": out.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="npm run recover --", description="Rebuild a training run from a shipped model folder, or pack what its graphs do not hold.")
    p.add_argument("command", choices=("restore", "pack"))
    p.add_argument("--config", required=True)
    p.add_argument("--model", required=True, help="the shipped model folder (model-shards/zoetrope-draft)")
    p.add_argument("--run", required=True)
    p.add_argument("--rest", default=None, help="restore: the rest to read (default checkpoints/<id>.npz beside the model folder, when it exists)")
    p.add_argument("--teacher-from", default=None, help="restore without a rest: the Pro folder grown from the Draft's teacher, untrained since (Pro 0.2.0)")
    p.add_argument("--out", default=None, help="pack: where to write the rest (default checkpoints/<id>.npz beside the model folder)")
    p.add_argument("--encoders-from", default=None, help="restore without a rest: a run whose encoders made this model's tokens (Pro's are the Draft's, whose run is restored first)")
    p.add_argument("--no-verify", action="store_true", help="restore: skip re-exporting each graph to compare it with the shipped file")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    try:
        cfg = get_config(args.config)
        model_dir, run = Path(args.model), Path(args.run)
        if args.command == "restore":
            opt = lambda value: Path(value) if value else None  # noqa: E731
            result = restore(cfg, model_dir, run, opt(args.rest), opt(args.teacher_from), not args.no_verify, opt(args.encoders_from))
        else:
            out = Path(args.out) if args.out else rest_path(model_dir, shipped_manifest(model_dir)[0])
            result = pack(cfg, model_dir, run, out)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
