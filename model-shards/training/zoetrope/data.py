"""Reads the world's dataset shards (see model-shards/world/dataset.ts) with numpy alone.

A dataset folder holds index.json and per shard a uint8 frames .npy [n, T, S, S, 3], an int16 audio
.npy [n, samples] and one JSON line of metadata per clip; exported with `--background`, also the
frames without their balls (background .npy, same shape), and with `--bare`, without their balls or
boxes (bare .npy). Arrays are memory-mapped, so a dataset far
larger than RAM trains fine; nothing is copied until a batch is drawn.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATASET_VERSION = 1
DATASET_GENERATOR = "zoetrope-world"


# The last 5% of a dataset's clips (by seed) are held out: never trained on.
HELD_OUT_SHARE = 0.05


def held_out_count(clips: int, share: float = HELD_OUT_SHARE) -> int:
    """How many of a dataset's clips WorldDataset.split holds out (at least one)."""
    return max(1, int(round(clips * share)))

class DatasetError(ValueError):
    """A dataset folder that is missing, incomplete or of another format; the message names the problem."""


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # uint8 [T, S, S, 3]
    audio: np.ndarray  # int16 [samples]
    meta: dict


# What writes the format besides the world: `npm run evaluate` (zoetrope.evaluate.write_dataset).
EVALUATION_GENERATORS = ("zoetrope-reconstruction", "zoetrope-model")


class WorldDataset:
    def __init__(self, root: str | Path, generators: tuple[str, ...] = (DATASET_GENERATOR,)):
        """The dataset at `root`; `generators` are the index generators it accepts (add
        EVALUATION_GENERATORS to read what `npm run evaluate` wrote)."""
        self.root = Path(root)
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise DatasetError(f"{self.root} holds no index.json: export one with `npm run world -- export --out {self.root} ...`")
        try:
            index = json.loads(index_path.read_text())
        except json.JSONDecodeError as e:
            raise DatasetError(f"{index_path} is not valid JSON ({e})") from e
        if index.get("generator") not in generators or index.get("version") != DATASET_VERSION:
            raise DatasetError(f"{index_path} is not a {' / '.join(generators)} v{DATASET_VERSION} index (generator={index.get('generator')!r}, version={index.get('version')!r})")
        self.index = index
        self.size: int = index["size"]
        self.fps: int = index["fps"]
        self.sample_rate: int = index["sampleRate"]
        self.frames_per_clip: int = index["framesPerClip"]
        self.samples_per_clip: int = index["samplesPerClip"]
        self.layers: tuple[str, ...] = tuple(index.get("layers", ()))
        self._frames: list[np.ndarray] = []
        self._background: list[np.ndarray] = []
        self._bare: list[np.ndarray] = []
        self._appearance: list[np.ndarray] = []
        self._audio: list[np.ndarray] = []
        self._meta: list[dict] = []
        self._where: list[tuple[int, int]] = []
        for k, shard in enumerate(index["shards"]):
            name = shard["name"]
            files = {f["file"]: f for f in shard["files"]}
            kinds = ("frames.npy", "audio.npy", "meta.jsonl") + tuple(f"{layer}.npy" for layer in ("background", "bare", "appearance") if layer in self.layers)
            paths = {kind: self.root / f"{name}.{kind}" for kind in kinds}
            for kind, path in paths.items():
                if not path.is_file():
                    raise DatasetError(f"shard {name} is missing {path.name}")
                expected = files.get(path.name, {}).get("bytes")
                if expected is not None and path.stat().st_size != expected:
                    raise DatasetError(f"{path.name} is {path.stat().st_size} bytes, index.json says {expected}: re-export the dataset")
            frames = np.load(paths["frames.npy"], mmap_mode="r")
            audio = np.load(paths["audio.npy"], mmap_mode="r")
            meta = [json.loads(line) for line in paths["meta.jsonl"].read_text().splitlines() if line.strip()]
            n = shard["clips"]
            if frames.shape != (n, self.frames_per_clip, self.size, self.size, 3) or frames.dtype != np.uint8:
                raise DatasetError(f"{name}.frames.npy has shape {frames.shape} {frames.dtype}, expected ({n}, {self.frames_per_clip}, {self.size}, {self.size}, 3) uint8")
            if audio.shape != (n, self.samples_per_clip) or audio.dtype != np.int16:
                raise DatasetError(f"{name}.audio.npy has shape {audio.shape} {audio.dtype}, expected ({n}, {self.samples_per_clip}) int16")
            if len(meta) != n:
                raise DatasetError(f"{name}.meta.jsonl has {len(meta)} lines for {n} clips")
            for layer, kept in (("background", self._background), ("bare", self._bare)):
                if layer in self.layers:
                    array = np.load(paths[f"{layer}.npy"], mmap_mode="r")
                    if array.shape != frames.shape or array.dtype != np.uint8:
                        raise DatasetError(f"{name}.{layer}.npy has shape {array.shape} {array.dtype}, expected {frames.shape} uint8")
                    kept.append(array)
            if "appearance" in self.layers:
                appearance = np.load(paths["appearance.npy"], mmap_mode="r")
                if appearance.ndim != 4 or appearance.shape[0] != n or appearance.shape[1] != appearance.shape[2] or appearance.shape[3] != 3 or appearance.dtype != np.uint8:
                    raise DatasetError(f"{name}.appearance.npy has shape {appearance.shape} {appearance.dtype}, expected ({n}, side, side, 3) uint8")
                self._appearance.append(appearance)
            self._frames.append(frames)
            self._audio.append(audio)
            self._meta.extend(meta)
            self._where.extend((k, i) for i in range(n))

    def __len__(self) -> int:
        return len(self._where)

    def clip(self, i: int) -> Clip:
        if not 0 <= i < len(self):
            raise IndexError(f"clip {i} is outside 0–{len(self) - 1}")
        k, j = self._where[i]
        return Clip(frames=np.array(self._frames[k][j]), audio=np.array(self._audio[k][j]), meta=self._meta[i])

    def audio(self, i: int) -> np.ndarray:
        """Clip i's PCM (int16 [samples]) without touching its frames."""
        k, j = self._where[i]
        return np.array(self._audio[k][j])

    def background(self, i: int) -> np.ndarray:
        """Clip i's frames without their balls (uint8 [T, S, S, 3]); the dataset must be exported with --background."""
        self.require("background")
        k, j = self._where[i]
        return np.array(self._background[k][j])

    def bare(self, i: int) -> np.ndarray:
        """Clip i's frames without their balls or boxes (uint8 [T, S, S, 3]); the dataset must be exported with --bare."""
        self.require("bare")
        k, j = self._where[i]
        return np.array(self._bare[k][j])

    def frame(self, i: int, f: int, layer: str = "frames") -> np.ndarray:
        """Frame f of clip i (uint8 [S, S, 3]), of the frames or a layer (background, bare), reading no other frame."""
        if layer != "frames":
            self.require(layer)
        k, j = self._where[i]
        return np.array({"frames": self._frames, "background": self._background, "bare": self._bare}[layer][k][j, f])

    def require(self, layer: str) -> None:
        """Refuses, by name, a dataset exported without `layer` (background, bare or appearance)."""
        if layer not in self.layers:
            flag = "--cameos" if layer == "appearance" else f"--{layer}"
            raise DatasetError(f"{self.root} has no {layer} layer: export it with `npm run world -- export {flag} ...`")

    def appearance(self, i: int) -> np.ndarray:
        """Clip i's cameo reference image (uint8 [side, side, 3]): the face its figure wears. The
        dataset must be exported with --cameos."""
        self.require("appearance")
        k, j = self._where[i]
        return np.array(self._appearance[k][j])

    def meta(self, i: int) -> dict:
        return self._meta[i]

    def split(self, held_out: float = HELD_OUT_SHARE) -> tuple[list[int], list[int]]:
        """Train and held-out clip indices: the last `held_out` share of clips (by seed) is never trained on."""
        n_val = held_out_count(len(self), held_out)
        return list(range(len(self) - n_val)), list(range(len(self) - n_val, len(self)))

    def frame_batch(self, rng: np.random.Generator, clips: list[int], n: int, layer: str = "frames") -> np.ndarray:
        """n random frames (uint8 [n, S, S, 3]) from the given clips, of the frames or a layer (background, bare)."""
        if layer != "frames":
            self.require(layer)
        source = {"frames": self._frames, "background": self._background, "bare": self._bare}[layer]
        picks = rng.choice(clips, size=n)
        frames = rng.integers(0, self.frames_per_clip, size=n)
        out = np.empty((n, self.size, self.size, 3), dtype=np.uint8)
        for b, (c, f) in enumerate(zip(picks, frames)):
            k, j = self._where[int(c)]
            out[b] = source[k][j, int(f)]
        return out
