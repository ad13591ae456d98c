"""A run's clips rendered again by the world kit where it trains, and more of them (regenerate.py),
as a lent GPU machine does it (gpu.py), here on the CPU with the tiny config."""

import contextlib
import io
import json
import lzma
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch

from zoetrope import gpu
from zoetrope.carry import main as carry_main
from zoetrope.carry import unpack, unpack_world_kit
from zoetrope.configs import get_config
from zoetrope.regenerate import DatasetSpec, parse_more, read_stream_chunk, regenerate, rows, stream_more, write_stream_chunk
from zoetrope.train import main as train_main

from .test_training import REPO, export_world


class Regenerate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoetrope-regenerate-"))
        cls.plain, cls.cameos = cls.tmp / "plain", cls.tmp / "cameos"
        export_world(cls.plain, clips=6, seed=4242, background=True)
        export_world(cls.cameos, clips=6, seed=6161, background=True, cameos=True)
        cls.source = cls.tmp / "run"
        for stage, steps in (("video-ae", 2), ("audio-ae", 2), ("encode", 0)):
            data = ["--data", str(cls.plain)] + (["--data", str(cls.cameos)] if stage == "encode" else [])
            args = ["--config", "tiny", "--stage", stage, *data, "--run", str(cls.source), "--threads", "1", "--quiet"]
            assert train_main(args + (["--steps", str(steps)] if steps else [])) == 0, stage
        cls.pack = cls.tmp / "pack"
        with contextlib.redirect_stdout(io.StringIO()):
            assert carry_main(["pack", str(cls.source), str(cls.pack), "--regenerate", "--config", "tiny", "--data", str(cls.plain), "--data", str(cls.cameos)]) == 0
        # The kit as npm run world:kit builds it (carry world-kit only compresses it, which is slow).
        cls.kit_dir = cls.tmp / "kit"
        subprocess.run([str(REPO / "node_modules" / ".bin" / "tsx"), "model-shards/world/kit.ts", "--out", str(cls.kit_dir)], cwd=REPO, check=True, capture_output=True)
        cls.kit = [str(cls.kit_dir / "node"), str(cls.kit_dir / "world.mjs")]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def fresh_run(self, name: str) -> Path:
        run = self.tmp / name
        self.assertEqual(unpack(self.pack, run), {"clips": 0, "regenerate": 12})
        return run

    def test_the_pack_names_the_datasets_and_carries_the_encoders_not_the_tokens(self):
        world = json.loads((self.pack / "world.json").read_text())
        self.assertEqual([(d["seed"], d["clips"], d["cameos"], d["background"]) for d in world["datasets"]], [(4242, 6, False, True), (6161, 6, True, True)])
        self.assertFalse((self.pack / "tokens.q8").exists())
        self.assertTrue((self.pack / "encoders.pt").exists())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            # The datasets in another order than the run was encoded from.
            self.assertEqual(carry_main(["pack", str(self.source), str(self.tmp / "pack-bad"), "--regenerate", "--config", "tiny", "--data", str(self.cameos), "--data", str(self.plain)]), 2)
            self.assertEqual(carry_main(["pack", str(self.source), str(self.tmp / "pack-bad"), "--regenerate", "--data", str(self.plain)]), 2)
        self.assertIn("give the run's datasets, in the order it was encoded from them", err.getvalue())
        self.assertIn("pack --regenerate needs --config", err.getvalue())
        # One folder packed both ways in turn: the last pack is the one unpacked.
        both = self.tmp / "pack-both"
        regenerate_args = ["--regenerate", "--config", "tiny", "--data", str(self.plain), "--data", str(self.cameos)]
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(carry_main(["pack", str(self.source), str(both), *regenerate_args]), 0)
            self.assertEqual(carry_main(["pack", str(self.source), str(both)]), 0)
            self.assertEqual(unpack(both, self.tmp / "both-a")["clips"], 12)
            self.assertEqual(carry_main(["pack", str(self.source), str(both), *regenerate_args]), 0)
            self.assertEqual(unpack(both, self.tmp / "both-b"), {"clips": 0, "regenerate": 12})

    def test_the_run_is_rendered_again_with_more_clips_beside_it(self):
        run = self.fresh_run("again")
        events = []
        result = regenerate(get_config("tiny"), run, self.pack, self.kit, ["plain:1000000:5"], torch.device("cpu"), self.tmp / "work-again", 2, 4, lambda **e: events.append(e))
        self.assertEqual((result["clips"], result["train"], result["more"], result["chunks"]), (17, 14, 5, 6))
        self.assertEqual([e["clips"] for e in events if e["event"] == "progress"], [4, 6, 10, 12, 16, 17])
        self.assertEqual(list((self.tmp / "work-again").glob("chunk-*/")), [])  # each chunk's frames deleted once encoded
        was = json.loads((self.source / "clips.json").read_text())
        now = json.loads((run / "clips.json").read_text())
        self.assertEqual(now["train"], 14)
        # The run's training clips first, then the new ones, then every dataset's held-out clips.
        strip = lambda c: {k: c[k] for k in ("seed", "prompt", "dataset")}  # noqa: E731
        self.assertEqual([strip(c) for c in now["clips"][:10]], [strip(c) for c in was["clips"][:10]])
        self.assertEqual([c["seed"] for c in now["clips"][10:14]], [1000000, 1000001, 1000002, 1000003])
        self.assertEqual([strip(c) for c in now["clips"][14:16]], [strip(c) for c in was["clips"][10:12]])
        self.assertEqual(now["clips"][16]["seed"], 1000004)
        # The same tokens the encode stage made here, wherever the clip now sits.
        old, new = np.load(self.source / "tokens.npy").astype(np.float32), np.load(run / "tokens.npy").astype(np.float32)
        self.assertEqual(new.shape, (17, *old.shape[1:]))
        same = np.r_[0:10, 14:16]
        cfg, stats = get_config("tiny"), np.load(run / "token-stats.npz")
        raw = lambda t: t * stats["std"] + stats["mean"]  # noqa: E731
        nl, nv = cfg.video_ae.latent_numbers, cfg.video_numbers
        # The slots are exact arithmetic; the latents come from the encoders under bfloat16, whose
        # rounding depends on how many clips go through at once (one here, 64 there).
        np.testing.assert_allclose(raw(new[same])[..., nl:nv], raw(old)[..., nl:nv], atol=1e-3)
        np.testing.assert_allclose(raw(new[same]), raw(old), atol=0.02)
        self.assertTrue(np.isfinite(new).all())
        self.assertGreater(np.abs(new[10:14] - new[:4]).mean(), 0.05)  # other clips, not copies

    def test_more_clips_stop_at_their_time_budget_and_the_runs_own_do_not(self):
        run = self.fresh_run("cut")
        events = []
        result = regenerate(get_config("tiny"), run, self.pack, self.kit, ["plain:1000000:5"], torch.device("cpu"), self.tmp / "work-cut", 1, 4, lambda **e: events.append(e), more_seconds=0)
        self.assertEqual((result["clips"], result["more"], result["more_asked"]), (12, 0, 5))
        self.assertEqual([(e["dataset"], e["at_clip"]) for e in events if e["event"] == "cut"], [("world-kit:plain:1000000+5", 0)])
        was, now = json.loads((self.source / "clips.json").read_text()), json.loads((run / "clips.json").read_text())
        self.assertEqual((now["train"], [c["seed"] for c in now["clips"]]), (was["train"], [c["seed"] for c in was["clips"]]))
        self.assertEqual(np.load(run / "tokens.npy").shape[0], 12)

    def test_a_world_that_renders_other_clips_is_caught(self):
        run = self.fresh_run("changed")
        moved = self.tmp / "pack-moved"
        shutil.copytree(self.pack, moved)
        world = json.loads((moved / "world.json").read_text())
        world["datasets"][1]["seed"] += 1
        (moved / "world.json").write_text(json.dumps(world))
        with self.assertRaisesRegex(ValueError, "clip 5 of the run was encoded from seed 6161 .* the world kit rendered seed 6162 .* the world has changed since"):
            regenerate(get_config("tiny"), run, moved, self.kit, [], torch.device("cpu"), self.tmp / "work-changed", 1, 8, lambda **e: None)

    def test_encoding_into_a_hard_linked_copy_leaves_the_original_alone(self):
        # The GPU recipe copies runs with cp -al; the encode stage must replace files, not write into them.
        copy = self.tmp / "linked"
        subprocess.run(["cp", "-al", str(self.source), str(copy)], check=True)
        before = {p.name: p.read_bytes() for p in self.source.iterdir() if p.is_file()}
        args = ["--config", "tiny", "--stage", "encode", "--data", str(self.plain), "--run", str(copy), "--threads", "1", "--quiet"]
        self.assertEqual(train_main(args), 0)
        self.assertEqual(np.load(copy / "tokens.npy").shape[0], 6)
        self.assertEqual({p.name: p.read_bytes() for p in self.source.iterdir() if p.is_file()}, before)

    def test_more_clips_are_named_plainly(self):
        like = DatasetSpec(100000, 6000, 128, 2.0, 12, 24000, True, False, "/data/world")
        more = parse_more("cameos:1100000:3000", like)
        self.assertEqual((more.seed, more.clips, more.cameos, more.size, more.sample_rate), (1100000, 3000, True, 128, 24000))
        self.assertEqual(more.split(), (2850, 150))
        for bad, message in (("cameo:1000000:5", "write plain:SEED:CLIPS"), ("plain:1e6:5", "whole numbers"), ("plain:300000:5", "seeds below 1000000"), ("plain:1000000:0", "1 to 1000000 clips")):
            with self.assertRaisesRegex(ValueError, message):
                parse_more(bad, like)
        a, b = DatasetSpec(0, 6, 32, 1.0, 12, 24000, True, False, "a"), DatasetSpec(10, 21, 32, 1.0, 12, 24000, True, False, "b")
        self.assertEqual([r.tolist() for r in rows([a, b])], [[0, 1, 2, 3, 4, 25], list(range(5, 25)) + [26]])

    def test_a_damaged_kit_is_refused(self):
        kit = self.tmp / "kit-xz"
        shutil.copytree(self.kit_dir, kit)
        data = (kit / "world.mjs").read_bytes()
        (kit / "world.mjs.xz").write_bytes(lzma.compress(data))
        (kit / "world.mjs").unlink()
        cmd = unpack_world_kit(kit, self.tmp / "kit-xz-out")  # a compressed file is read through
        self.assertEqual(cmd, [str(self.tmp / "kit-xz-out" / "node"), str(self.tmp / "kit-xz-out" / "world.mjs")])
        self.assertEqual((self.tmp / "kit-xz-out" / "world.mjs").read_bytes(), data)
        (kit / "world.mjs.xz").write_bytes(lzma.compress(data[:-1] + b" "))
        with self.assertRaisesRegex(ValueError, "holds a damaged world.mjs: its bytes do not match kit.json's sha256"):
            unpack_world_kit(kit, self.tmp / "kit-xz-out2")

    def test_the_gpu_call_renders_then_trains_on_what_it_rendered(self):
        out = self.tmp / "gpu-out"
        with contextlib.redirect_stdout(io.StringIO()) as said:
            code = gpu.main(["--config", "tiny", "--pack", str(self.pack), "--run", str(self.tmp / "gpu-run"), "--out", str(out), "--world-kit", str(self.kit_dir), "--more", "cameos:1200000:3", "--workers", "1", "--device", "cpu", "--batch", "4", "--generator-minutes", "0.02", "--student-minutes", "0"])
        self.assertEqual(code, 0, said.getvalue()[-2000:])
        timing = json.loads((out / "timing.json").read_text())
        self.assertIn("world", timing)
        self.assertEqual(np.load(self.tmp / "gpu-run" / "tokens.npy").shape[0], 15)
        logs = json.loads((out / "logs.json").read_text())
        self.assertIn("world.log.jsonl", logs)
        self.assertTrue((out / "generator.part0").exists())
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            gpu.main(["--config", "tiny", "--pack", str(self.pack), "--run", str(self.tmp / "gpu-run2"), "--out", str(out)])
        self.assertIn("was packed with --regenerate: give the world kit with --world-kit DIR", err.getvalue())

    def test_streamed_clips_arrive_a_chunk_at_a_time_in_the_mix_asked_for(self):
        cfg = get_config("tiny")
        run = self.fresh_run("stream")
        sink, events = self.tmp / "sink", []
        result = stream_more(cfg, run, self.pack, self.kit, ["plain:1000000:4", "cameos:1100000:2"], torch.device("cpu"), self.tmp / "work-stream", 1, 2, sink, lambda **e: events.append(e))
        self.assertEqual((result["clips"], result["asked"]), (6, 6))
        # Each dataset's share of what is done stays its share of the whole: plain, cameos, plain.
        self.assertEqual([e["dataset"] for e in events if e["event"] == "progress"], ["world-kit:plain:1000000+4", "world-kit:cameos:1100000+2", "world-kit:plain:1000000+4"])
        got = [read_stream_chunk(p, cfg.frames, cfg.token_dim) for p in sorted(sink.glob("chunk-*.npz"))]
        self.assertEqual([len(prompts) for _, prompts in got], [2, 2, 2])
        seeds = []
        for k in range(3):
            with np.load(sink / f"chunk-{k:04d}.npz") as z:
                seeds.append(z["seeds"].tolist())
        self.assertEqual(seeds, [[1000000, 1000001], [1100000, 1100001], [1000002, 1000003]])
        self.assertEqual(len({p for _, prompts in got for p in prompts}), 6)
        self.assertTrue(all(np.isfinite(t.astype(np.float32)).all() for t, _ in got))
        self.assertEqual(list(sink.glob(".*")), [])  # no half-written chunk left behind
        # Stopped after the first chunk: the render ahead is stopped, and nothing more is written.
        stopped = self.tmp / "sink-stopped"
        result = stream_more(cfg, run, self.pack, self.kit, ["plain:1000000:4"], torch.device("cpu"), self.tmp / "work-stopped", 1, 2, stopped, lambda **e: None, should_stop=lambda: (stopped / "chunk-0000.npz").exists())
        self.assertEqual(result["clips"], 2)
        self.assertEqual([p.name for p in stopped.iterdir()], ["chunk-0000.npz"])
        self.assertEqual(sorted(p.name for p in (self.tmp / "work-stopped").iterdir() if p.is_dir()), [])  # no chunk's frames left
        with self.assertRaisesRegex(ValueError, "streaming needs clips to make"):
            stream_more(cfg, run, self.pack, self.kit, [], torch.device("cpu"), self.tmp / "work-none", 1, 2, stopped, lambda **e: None)

    def test_the_teacher_takes_streamed_chunks_into_its_training_clips(self):
        run, bad_run = self.tmp / "grow-run", self.tmp / "grow-bad-run"
        shutil.copytree(self.source, run)
        shutil.copytree(self.source, bad_run)
        tokens = np.load(run / "tokens.npy")
        sink, bad = self.tmp / "grow-sink", self.tmp / "grow-bad"
        sink.mkdir()
        bad.mkdir()
        write_stream_chunk(sink, 0, tokens[:3], ["a red rubber ball falls and bounces"] * 3, [1000000, 1000001, 1000002])
        write_stream_chunk(bad, 0, tokens[:2, :, :5], ["a", "b"], [1, 2])
        args = ["--config", "tiny", "--stage", "generator", "--steps", "2", "--threads", "1", "--quiet"]
        self.assertEqual(train_main([*args, "--run", str(run), "--grow", str(sink)]), 0)
        grown = [json.loads(line) for line in (run / "generator.log.jsonl").read_text().splitlines() if '"grow"' in line]
        n_train = json.loads((run / "clips.json").read_text())["train"]
        self.assertEqual([(g["step"], g["chunks"], g["clips"], g["train_clips"]) for g in grown], [(0, 1, 3, n_train + 3)])
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(train_main([*args, "--run", str(bad_run), "--grow", str(bad)]), 2)
            self.assertEqual(train_main([*args, "--run", str(bad_run), "--grow", str(self.tmp / "no-such-folder")]), 2)
            self.assertEqual(train_main([*args[:3], "student", *args[4:], "--run", str(bad_run), "--grow", str(sink)]), 2)
        cfg = get_config("tiny")
        self.assertIn(f"chunk-0000.npz holds tokens (2, {cfg.frames}, 5) and 2 prompts; this run's clips are [n, {cfg.frames}, {cfg.token_dim}], one prompt each", err.getvalue())
        self.assertIn("no-such-folder is not a folder: give the folder the streaming process writes its chunks into", err.getvalue())
        self.assertIn("--grow is for --stage generator, not student", err.getvalue())

    def test_the_gpu_call_streams_more_clips_while_the_teacher_trains(self):
        out, run = self.tmp / "gpu-stream-out", self.tmp / "gpu-stream-run"
        common = ["--config", "tiny", "--pack", str(self.pack), "--run", str(run), "--out", str(out), "--world-kit", str(self.kit_dir), "--workers", "1", "--device", "cpu", "--batch", "4", "--student-minutes", "0"]
        with contextlib.redirect_stdout(io.StringIO()) as said:
            code = gpu.main([*common, "--more", "plain:1300000:2", "--stream", "--generator-minutes", "0.02"])
        self.assertEqual(code, 0, said.getvalue()[-2000:])
        stream = [json.loads(line)["stream"] for line in said.getvalue().splitlines() if line.startswith('{"stream"')]
        self.assertEqual(len(stream), 1)
        self.assertIsNotNone(stream[0]["exit"])  # stopped when the teacher ended
        self.assertEqual(json.loads((out / "timing.json").read_text())["streamed_clips"], stream[0]["clips"])
        # The run's own clips were made before the teacher; the streamed ones stay beside it.
        self.assertEqual(np.load(run / "tokens.npy").shape[0], 12)
        self.assertTrue((out / "generator.part0").exists())
        for extra, message in ((["--stream", "--generator-minutes", "1"], "--stream makes the --more clips while the teacher trains"), (["--stream", "--more", "plain:1300000:2", "--more-minutes", "1", "--generator-minutes", "1"], "--more-minutes times the clips made before the teacher"), (["--stream", "--more", "plain:1300000:2", "--generator-minutes", "0"], "--stream feeds the teacher")):
            err = io.StringIO()
            with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
                gpu.main([*common, *extra])
            self.assertIn(message, err.getvalue())
