"""The training code stays working: the dataset reader on a real (tiny) world export, and a few
steps of each stage with the tiny config — checkpoints, resume and determinism included."""

import contextlib
import io
import json
import shutil
import subprocess
import tempfile
import unittest
import unittest.mock
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from zoetrope import track_refiner
from zoetrope.data import DatasetError, WorldDataset
from zoetrope.evaluate import initial_noise, main as evaluate_main
from zoetrope.export import main as export_main
from zoetrope.configs import CONFIGS, get_config
from zoetrope.slots import SLOT_NUMBERS
from zoetrope.noise import gaussian_noise
from zoetrope.train import main as train_main

REPO = Path(__file__).resolve().parents[3]


def export_world(out: Path, clips: int, seed: int, size: int = 32, background: bool = False, cameos: bool = False, duration: float = 1, bare: bool = False) -> None:
    tsx = REPO / "node_modules" / ".bin" / "tsx"
    subprocess.run(
        [str(tsx), "model-shards/world/cli.ts", "export", "--clips", str(clips), "--seed", str(seed), "--size", str(size), "--duration", str(duration), "--sample-rate", "24000", "--workers", "0", "--out", str(out), *(["--background"] if background else []), *(["--bare"] if bare else []), *(["--cameos"] if cameos else [])],
        cwd=REPO,
        check=True,
        capture_output=True,
    )


class WithDataset(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoetrope-train-"))
        cls.data = cls.tmp / "data"
        export_world(cls.data, clips=6, seed=4242, background=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class TokenizerWords(unittest.TestCase):
    def test_words_unknowns_and_truncation(self):
        from zoetrope.text import Tokenizer

        t = Tokenizer.build(["A red ball bounces.", "a red ball bounces"], max_tokens=6)
        self.assertEqual(t.vocab[:3], ["[PAD]", "[UNK]", "[BOS]"])
        ids, unknown = t.encode("A purple ball doesn't bounce")
        self.assertEqual(unknown, ["purple", "doesn't", "bounce"])
        self.assertEqual(ids[0], 2)
        self.assertEqual(len(t.encode("a red ball bounces a red ball bounces")[0]), 6)


class PatchTokens(unittest.TestCase):
    """The generator's patch tokens cut the frame token where the video autoencoder laid it out."""

    def test_patches_round_trip_and_hold_their_own_square(self):
        from zoetrope.generator import FlowGenerator, GeneratorConfig

        g = GeneratorConfig(frames=3, token_dim=4 * 8 * 8 + 4, width=16, depth=1, heads=2, text_width=16, text_layers=1, text_heads=2, max_tokens=8, patch=2, latent_channels=4, latent_side=8)
        m = FlowGenerator(g, 10)
        with torch.no_grad():
            for p in (m.space, m.pos):
                p.zero_()
            for lin in (m.inp, m.inp_audio, m.out, m.out_audio):
                lin.bias.zero_()
                lin.weight.copy_(torch.eye(*lin.weight.shape))
        x = torch.randn(2, 3, g.token_dim)
        h = m.embed_patches(x)
        self.assertEqual(tuple(h.shape), (2, 3 * 17, 16))
        # Frame 1, patch (row 2, column 3), channel 1, pixel (1, 0): latent[1, 5, 6] of that frame.
        latent = x[..., : 4 * 64].reshape(2, 3, 4, 8, 8)
        self.assertEqual(h[0, 17 + 2 * 4 + 3, 1 * 4 + 1 * 2 + 0].item(), latent[0, 1, 1, 5, 6].item())
        # The 17th token of a frame is its sound.
        torch.testing.assert_close(h[1, 17 * 2 + 16, :4], x[1, 2, 256:])
        torch.testing.assert_close(m.unpatch(h, 2, 3), x)

    def test_slot_tokens_sit_between_the_patches_and_the_sound(self):
        from zoetrope.generator import FlowGenerator, GeneratorConfig

        g = GeneratorConfig(frames=2, token_dim=4 * 8 * 8 + 3 * 7 + 4, width=16, depth=1, heads=2, text_width=16, text_layers=1, text_heads=2, max_tokens=8, patch=2, latent_channels=4, latent_side=8, slots=3, slot_numbers=7)
        m = FlowGenerator(g, 10)
        with torch.no_grad():
            for p in (m.space, m.pos):
                p.zero_()
            for lin in (m.inp, m.inp_slot, m.inp_audio, m.out, m.out_slot, m.out_audio):
                lin.bias.zero_()
                lin.weight.copy_(torch.eye(*lin.weight.shape))
        x = torch.randn(2, 2, g.token_dim)
        h = m.embed_patches(x)
        self.assertEqual(tuple(h.shape), (2, 2 * (16 + 3 + 1), 16))
        # Frame 1's second slot is its 18th token (after 16 patches and the first slot).
        torch.testing.assert_close(h[0, 20 + 17, :7], x[0, 1, 256 + 7 : 256 + 14])
        torch.testing.assert_close(h[1, 20 + 19, :4], x[1, 1, 256 + 21 :])
        torch.testing.assert_close(m.unpatch(h, 2, 2), x)
        with torch.no_grad():
            v = m(x, torch.tensor([0.5, 0.9]), torch.ones(2, 8, dtype=torch.long), torch.ones(2, 8))
        self.assertEqual(v.shape, x.shape)

    def test_a_patch_that_does_not_fit_is_refused(self):
        from zoetrope.generator import FlowGenerator, GeneratorConfig

        g = GeneratorConfig(frames=3, token_dim=4 * 8 * 8 + 4, width=16, depth=1, heads=2, text_width=16, text_layers=1, text_heads=2, max_tokens=8, patch=3, latent_channels=4, latent_side=8)
        with self.assertRaisesRegex(ValueError, "does not cut into 3² patches"):
            FlowGenerator(g, 10)


class DatasetReader(WithDataset):
    def test_reads_the_export(self):
        ds = WorldDataset(self.data)
        self.assertEqual(len(ds), 6)
        clip = ds.clip(0)
        self.assertEqual(clip.frames.shape, (12, 32, 32, 3))
        self.assertEqual(clip.frames.dtype, np.uint8)
        self.assertEqual(clip.audio.shape, (24000,))
        self.assertIn("prompt", clip.meta)
        train, held_out = ds.split(0.2)
        self.assertEqual(len(train) + len(held_out), 6)
        self.assertTrue(set(train).isdisjoint(held_out))
        batch = ds.frame_batch(np.random.default_rng(0), train, 5)
        self.assertEqual(batch.shape, (5, 32, 32, 3))

    def test_background_layer(self):
        plain = self.tmp / "plain"
        export_world(plain, clips=2, seed=4242)
        with self.assertRaisesRegex(DatasetError, "has no background layer: export it with"):
            WorldDataset(plain).background(0)
        with self.assertRaisesRegex(DatasetError, r"has no bare layer: export it with `npm run world -- export --bare \.\.\.`"):
            WorldDataset(plain).frame(0, 0, "bare")
        # The tiny config paints balls from slots: encoding a dataset without backgrounds is refused.
        run = self.tmp / "run-plain"
        for stage in ("video-ae", "audio-ae"):
            self.assertEqual(train_main(["--config", "tiny", "--stage", stage, "--data", str(plain), "--run", str(run), "--steps", "1", "--threads", "1", "--quiet"]), 0)
        self.assertEqual(train_main(["--config", "tiny", "--stage", "encode", "--data", str(plain), "--run", str(run), "--threads", "1", "--quiet"]), 2)
        ds = WorldDataset(self.data)
        self.assertEqual(ds.layers, ("background",))
        frames, background = ds.clip(1).frames, ds.background(1)
        self.assertEqual(background.shape, frames.shape)
        # The same pictures, less the balls: most pixels agree, some (the balls) do not.
        same = (frames == background).all(axis=-1).mean()
        self.assertGreater(same, 0.9)
        self.assertLess(same, 1.0)
        np.testing.assert_array_equal(frames, WorldDataset(plain).clip(1).frames)

    def test_missing_index_is_named(self):
        with self.assertRaisesRegex(DatasetError, "holds no index.json"):
            WorldDataset(self.tmp / "nowhere")

    def test_truncated_shard_is_caught(self):
        broken = self.tmp / "broken"
        shutil.copytree(self.data, broken)
        frames = next(broken.glob("*.frames.npy"))
        with frames.open("r+b") as f:
            f.truncate(frames.stat().st_size - 100)
        with self.assertRaisesRegex(DatasetError, "re-export"):
            WorldDataset(broken)

    def test_clip_out_of_range(self):
        with self.assertRaisesRegex(IndexError, "outside"):
            WorldDataset(self.data).clip(6)


class TinyTraining(WithDataset):
    def run_stage(self, run: Path, stage: str, steps: int, seed: int = 0) -> int:
        return train_main(["--config", "tiny", "--stage", stage, "--data", str(self.data), "--run", str(run), "--steps", str(steps), "--seed", str(seed), "--threads", "1", "--quiet"])

    def test_video_ae_trains_resumes_and_is_deterministic(self):
        a, b = self.tmp / "run-a", self.tmp / "run-b"
        self.assertEqual(self.run_stage(a, "video-ae", 4), 0)
        self.assertEqual(self.run_stage(b, "video-ae", 4), 0)
        wa = torch.load(a / "video-ae.pt")["model"]
        wb = torch.load(b / "video-ae.pt")["model"]
        for k in wa:
            self.assertTrue(torch.equal(wa[k], wb[k]), k)
        # Resume: picks up at step 4 and goes on to 6.
        self.assertEqual(self.run_stage(a, "video-ae", 6), 0)
        events = [json.loads(line) for line in (a / "video-ae.log.jsonl").read_text().splitlines()]
        self.assertIn({"event": "resume", "stage": "video-ae", "step": 4}, [{k: e[k] for k in ("event", "stage", "step") if k in e} for e in events])
        self.assertEqual(torch.load(a / "video-ae.pt")["step"], 6)
        self.assertTrue(all(np.isfinite(e["loss"]) for e in events if e["event"] == "eval"))

    def test_every_stage_runs_in_order(self):
        run = self.tmp / "run-all"
        for stage, steps in (("video-ae", 3), ("audio-ae", 2), ("encode", 0), ("generator", 3), ("pairs", 0), ("student", 2)):
            args = ["--config", "tiny", "--stage", stage, "--data", str(self.data), "--run", str(run), "--threads", "1", "--quiet"]
            if steps:
                args += ["--steps", str(steps)]
            self.assertEqual(train_main(args), 0, stage)
        tokens = np.load(run / "tokens.npy")
        self.assertEqual(tokens.shape, (6, 12, 4 * 8 * 8 + 5 * 7 + 4))
        self.assertTrue(np.isfinite(tokens.astype(np.float32)).all())
        tokenizer = json.loads((run / "tokenizer.json").read_text())
        self.assertEqual(tokenizer["vocab"][:3], ["[PAD]", "[UNK]", "[BOS]"])
        ckpt = torch.load(run / "generator.pt")
        self.assertEqual(ckpt["step"], 3)
        self.assertIn("ema", ckpt["extra"])
        # The generator logs the physics bench on held-out prompts as it trains.
        logged = [json.loads(line) for line in (run / "generator.log.jsonl").read_text().splitlines()]
        benched = [e for e in logged if "bench_physics" in e]
        self.assertTrue(benched, "no bench scores in the generator log")
        self.assertTrue(all(0 <= e[f"bench_{a}"] <= 1 for e in benched for a in ("adherence", "physics", "sync")))
        pairs = np.load(run / "pairs.npz")
        self.assertEqual(int(pairs["done"]), 4)
        self.assertEqual(torch.load(run / "student.pt")["step"], 2)
        # Generate the held-out clip and have the physics bench (TypeScript) judge the folder.
        out = self.tmp / "generated"
        self.assertEqual(evaluate_main(["--config", "tiny", "--run", str(run), "--data", str(self.data), "--out", str(out), "--clips", "1", "--steps", "2", "--threads", "1"]), 0)
        frames = np.load(out / "shard-00000.frames.npy")
        self.assertEqual(frames.shape, (1, 12, 32, 32, 3))
        self.assertEqual(np.load(out / "shard-00000.audio.npy").shape, (1, 24000))
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        judged = subprocess.run([str(tsx), "model-shards/world/cli.ts", "judge", "--dataset", str(out)], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(judged.returncode, 0, judged.stderr)
        verdict = json.loads((out / "judgement.json").read_text())
        self.assertEqual(verdict["clips"], 1)
        self.assertEqual(set(verdict["passRate"]), {"adherence", "physics", "sync"})
        # Export, then onnxruntime-node must reproduce PyTorch on every graph.
        model_dir, parity = self.tmp / "model", self.tmp / "parity.json"
        self.assertEqual(export_main(["--config", "tiny", "--run", str(run), "--out", str(model_dir), "--version", "0.0.1", "--parity", str(parity)]), 0)
        manifest = json.loads((model_dir / "manifest.json").read_text())
        self.assertEqual(set(manifest["graphs"]), {"textEncoder", "denoiser", "videoDecoder", "audioDecoder"})
        self.assertEqual(manifest["tokens"], {"frames": 12, "videoNumbers": 256 + 35, "audioNumbers": 4})
        self.assertNotIn("temperature", manifest["sampler"])
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-4"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn("parity: every output within", checked.stdout)

    def test_cameo_stage_fine_tunes_the_base_generator_with_a_reference_face(self):
        from zoetrope.cameo_bench import main as cameo_bench_main

        base, run, cameos = self.tmp / "run-base", self.tmp / "run-cameo", self.tmp / "cameos"
        for stage, steps in (("video-ae", 1), ("audio-ae", 1), ("encode", 0), ("generator", 2)):
            args = ["--config", "tiny", "--stage", stage, "--data", str(self.data), "--run", str(base), "--threads", "1", "--quiet"]
            self.assertEqual(train_main(args + (["--steps", str(steps)] if steps else [])), 0, stage)
        export_world(cameos, clips=40, seed=777, background=True, cameos=True)
        cameo_args = ["--config", "tiny", "--run", str(run), "--threads", "1", "--quiet"]
        # The cameo stage needs a cameo run: encoded with --base from a dataset with faces.
        self.assertEqual(train_main(cameo_args + ["--stage", "cameo", "--steps", "1"]), 2)
        self.assertEqual(train_main(cameo_args + ["--stage", "encode", "--data", str(cameos), "--base", str(base)]), 0)
        for name in ("video-ae.pt", "audio-ae.pt", "tokenizer.json", "token-stats.npz"):
            self.assertEqual((run / name).read_bytes(), (base / name).read_bytes(), name)
        faces = np.load(run / "appearance.npy")
        self.assertEqual(faces.shape, (40, 16, 16, 3))
        np.testing.assert_array_equal(faces[2], WorldDataset(cameos).appearance(2))
        # Zero steps: the checkpoint is the base generator with a new appearance encoder beside it.
        self.assertEqual(train_main(cameo_args + ["--stage", "cameo", "--steps", "0"]), 0)
        start = torch.load(run / "generator.pt")["extra"]["ema"]
        base_ema = torch.load(base / "generator.pt")["extra"]["ema"]
        self.assertEqual(set(start) - set(base_ema), {k for k in start if k.startswith("appearance.")})
        self.assertTrue(set(start) - set(base_ema))
        for k, v in base_ema.items():
            self.assertTrue(torch.equal(start[k], v), k)
        self.assertEqual(train_main(cameo_args + ["--stage", "cameo", "--steps", "3"]), 0)
        logged = [json.loads(line) for line in (run / "cameo.log.jsonl").read_text().splitlines()]
        last = [e for e in logged if e["event"] == "end"][-1]
        self.assertEqual(last["step"], 3)
        for k in ("val_flow_loss", "val_other_face", "val_no_cameo"):
            self.assertTrue(np.isfinite(last[k]), k)
        # The bench swaps faces between held-out clips and says how often each video matches its own.
        report = self.tmp / "cameo-bench.json"
        sheet = self.tmp / "cameo-sheet.png"
        self.assertEqual(cameo_bench_main(["--config", "tiny", "--run", str(run), "--data", str(cameos), "--clips", "2", "--steps", "2", "--threads", "1", "--out", str(report), "--sheet", str(sheet)]), 0)
        self.assertEqual(sheet.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        bench = json.loads(report.read_text())
        self.assertEqual(bench["clips"], 2)
        self.assertTrue(0 <= bench["toldApart"] <= 1)
        self.assertEqual(cameo_bench_main(["--config", "tiny", "--run", str(run), "--data", str(self.data), "--clips", "2", "--threads", "1"]), 2)
        # Exported, the text encoder takes the face and says which condition tokens to attend to.
        model_dir, parity = self.tmp / "model-cameo", self.tmp / "parity-cameo.json"
        self.assertEqual(export_main(["--config", "tiny", "--run", str(run), "--out", str(model_dir), "--version", "0.0.1", "--denoiser", "generator", "--parity", str(parity)]), 0)
        graphs = json.loads((model_dir / "manifest.json").read_text())["graphs"]
        self.assertEqual([i["name"] for i in graphs["textEncoder"]["inputs"]], ["ids", "mask", "appearance", "cameo"])
        self.assertEqual([o["name"] for o in graphs["textEncoder"]["outputs"]], ["text", "pooled", "textMask"])
        self.assertEqual(graphs["denoiser"]["inputs"][4]["shape"], ["batch", get_config("tiny").generator.max_tokens + 1])
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-4"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        # The model card counts the appearance encoder with the text encoder, and reports the cameo bench.
        from zoetrope.model_card import main as model_card_main

        evals = self.tmp / "cameo-evals"
        self.assertEqual(evaluate_main(["--config", "tiny", "--run", str(run), "--data", str(self.data), "--out", str(evals / "teacher-4"), "--clips", "1", "--steps", "2", "--threads", "1"]), 0)
        judged = subprocess.run([str(tsx), "model-shards/world/cli.ts", "judge", "--dataset", str(evals / "teacher-4")], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(judged.returncode, 0, judged.stderr)
        self.assertEqual(model_card_main(["--config", "tiny", "--run", str(run), "--model", str(model_dir), "--evals", str(evals), "--data", str(self.data), "--cameo", str(report)]), 0)
        card = (model_dir / "MODEL_CARD.md").read_text()
        self.assertIn("## Cameos on held-out clips", card)
        # The base run's stages, then the cameo run's own: its encode and the cameo stage.
        for stage in ("video-ae", "generator", "cameo encode", "cameo"):
            self.assertIn(f"| {stage} | 2 CPU cores |", card)
        self.assertIn("**Cameos**", card)
        self.assertIn("| teacher-4 | 1 |", card)
        # On a lent GPU (here the CPU stands in): both runs packed, the teacher, the cameo stage and the
        # student in one call, the cameo generator sent back beside the teacher.
        from zoetrope.carry import main as carry_main
        from zoetrope.gpu import main as gpu_main

        packs, machine, out, home = self.tmp / "packs", self.tmp / "machine", self.tmp / "out", self.tmp / "home-cameo"
        self.assertEqual(carry_main(["pack", str(base), str(packs / "base")]), 0)
        self.assertEqual(carry_main(["pack", str(run), str(packs / "cameo")]), 0)
        self.assertTrue((packs / "cameo" / "appearance.npy").exists())
        self.assertEqual(gpu_main(["--config", "tiny", "--pack", str(packs / "base"), "--run", str(machine / "run"), "--out", str(out), "--device", "cpu", "--batch", "4", "--pair-batch", "2", "--generator-minutes", "0.01", "--cameo-minutes", "0.01", "--student-minutes", "0.01", "--cameo-pack", str(packs / "cameo"), "--teacher-steps", "8", "--teacher-guidance", "3"]), 0)
        self.assertEqual(set(json.loads((out / "timing.json").read_text())) - {"total"}, {"generator", "cameo", "pairs", "student"})
        drawn = np.load(machine / "run" / "pairs.npz")  # by the teacher's sampler given to the call
        self.assertEqual((int(drawn["teacher_steps"]), float(drawn["teacher_guidance"])), (8, 3.0))
        # One the student's grid cannot keep is refused before anything is unpacked or trained.
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit):
            gpu_main(["--config", "tiny", "--pack", str(packs / "base"), "--run", str(machine / "run-bad"), "--out", str(out), "--device", "cpu", "--teacher-steps", "3"])
        self.assertIn("give a multiple of 2", err.getvalue())
        self.assertFalse((machine / "run-bad").exists())
        home.mkdir()
        self.assertEqual(carry_main(["receive", str(out / "cameo"), str(home)]), 0)
        received = torch.load(home / "generator.pt")["extra"]["ema"]
        self.assertTrue(any(k.startswith("appearance.") for k in received))
        self.assertTrue(any(k.startswith("appearance.") for k in torch.load(machine / "run-cameo" / "generator.pt")["extra"]["ema"]))
        self.assertFalse(any(k.startswith("appearance.") for k in torch.load(machine / "run" / "generator.pt")["extra"]["ema"]))
        # A cameo run shares its base's decoders: encoding into it from another base is refused.
        other = self.tmp / "run-other-base"
        other.mkdir()
        for name in ("video-ae.pt", "audio-ae.pt", "token-stats.npz"):
            shutil.copy(base / name, other / name)
        (other / "tokenizer.json").write_text((base / "tokenizer.json").read_text().replace("[UNK]", "[UNKNOWN]"))
        self.assertEqual(train_main(cameo_args + ["--stage", "encode", "--data", str(cameos), "--base", str(other)]), 2)

    def test_distillation_pairs_keep_the_teachers_path_on_the_students_grid(self):
        from dataclasses import replace

        from zoetrope.distill import distill_student, load_teacher, make_pairs
        from zoetrope.generator import sample
        from zoetrope.text import Tokenizer
        from zoetrope.train import Logger, RunClips

        run = self.tmp / "run-distill"
        for stage, steps in (("video-ae", 1), ("audio-ae", 1), ("encode", 0), ("generator", 1)):
            args = ["--config", "tiny", "--stage", stage, "--data", str(self.data), "--run", str(run), "--threads", "1", "--quiet"]
            self.assertEqual(train_main(args + (["--steps", str(steps)] if steps else [])), 0, stage)
        # A teacher one step from its zero-initialised output barely moves; give it weights that do.
        ckpt = torch.load(run / "generator.pt")
        gen = torch.Generator().manual_seed(3)
        ckpt["extra"]["ema"] = {k: v + 0.3 * torch.randn(v.shape, generator=gen) if v.is_floating_point() else v for k, v in ckpt["extra"]["ema"].items()}
        torch.save(ckpt, run / "generator.pt")
        cfg = get_config("tiny")
        d = cfg.distill
        self.assertEqual((d.method, d.teacher_steps, d.student_steps), ("progressive", 4, 2))
        log = Logger(run / "distill-test.log.jsonl", True)
        make_pairs(cfg, run, 0, log, None)
        saved = np.load(run / "pairs.npz")
        states = saved["states"]
        self.assertEqual(states.shape, (d.pairs, 3, cfg.frames, cfg.token_dim))
        # Pair 0 again: its noise is the first draw of the seed's stream, then the teacher's guided path,
        # kept after teacher steps 2 and 4.
        noise = torch.randn(cfg.frames, cfg.token_dim, generator=torch.Generator().manual_seed(0))
        np.testing.assert_array_equal(states[0, 0], noise.numpy().astype(np.float16))
        tokenizer = Tokenizer.load(run / "tokenizer.json")
        teacher = load_teacher(cfg, run, len(tokenizer.vocab))
        ids, mask = tokenizer.batch([RunClips(run).meta(int(saved["clips"][0]))["prompt"]])
        for k, teacher_steps in ((1, 2), (2, 4)):
            with torch.no_grad():
                x = sample(teacher, ids, mask, noise[None], teacher_steps, d.teacher_guidance, schedule=[1 - i / 4 for i in range(teacher_steps + 1)])[0].numpy()
            error = np.abs(states[0, k].astype(np.float32) - x).max()
            moved = np.abs(states[0, k].astype(np.float32) - states[0, k - 1].astype(np.float32)).max()
            self.assertLess(error, 0.1 * moved, f"state {k}: {error} from the teacher's path, which moved {moved}")
        self.assertEqual(distill_student(cfg, run, 0, None, 2, log), {"stage": "student", "step": 2, "done": True, "val_step_loss": unittest.mock.ANY})
        self.assertEqual(torch.load(run / "student.pt")["step"], 2)  # the checkpoint is written at the end
        # Reflow trains on the ends of the same paths (the shipped student: reflow, then progressive,
        # one checkpoint carried on); the command line picks the objective.
        self.assertEqual(train_main(["--config", "tiny", "--stage", "student", "--run", str(run), "--threads", "1", "--quiet", "--steps", "4", "--method", "reflow"]), 0)
        logged = [json.loads(line) for line in (run / "student.log.jsonl").read_text().splitlines()]
        self.assertEqual([e["step"] for e in logged if e["event"] == "end"], [4])
        self.assertIn("val_straight_loss", logged[-1])
        self.assertEqual(train_main(["--config", "tiny", "--stage", "pairs", "--run", str(run), "--threads", "1", "--quiet", "--method", "reflow"]), 2)
        # Pairs that keep only the ends are refused by progressive distillation, and kept apart from
        # the pairs stage of another grid.
        reflow = replace(cfg, distill=replace(d, method="reflow"))
        with self.assertRaisesRegex(ValueError, "was made for other pairs"):
            make_pairs(reflow, run, 0, log, None)
        (run / "pairs.npz").unlink()
        make_pairs(reflow, run, 0, log, None)
        ends = np.load(run / "pairs.npz")["states"]
        self.assertEqual(ends.shape[1], 2)
        np.testing.assert_array_equal(ends[:, 0], states[:, 0])
        np.testing.assert_allclose(ends[:, 1].astype(np.float32), states[:, 2].astype(np.float32), atol=1e-2)
        with self.assertRaisesRegex(ValueError, "keeps 2 states of each path, progressive distillation to 2 steps needs 3"):
            distill_student(cfg, run, 0, None, 6, log)
        # The teacher's sampler for the pairs, from the command line: a longer, more guided path on the
        # same grid, kept every 4 of its 8 steps.
        (run / "pairs.npz").unlink()
        pairs = ["--config", "tiny", "--stage", "pairs", "--run", str(run), "--threads", "1", "--quiet"]
        self.assertEqual(train_main(pairs + ["--teacher-steps", "8", "--teacher-guidance", "3"]), 0)
        longer = np.load(run / "pairs.npz")
        self.assertEqual((int(longer["teacher_steps"]), float(longer["teacher_guidance"])), (8, 3.0))
        self.assertEqual(longer["states"].shape, states.shape)
        np.testing.assert_array_equal(longer["states"][:, 0], states[:, 0])
        with torch.no_grad():
            x = sample(teacher, ids, mask, noise[None], 8, 3.0)[0].numpy()
        np.testing.assert_allclose(longer["states"][0, 2].astype(np.float32), x, atol=0.1 * np.abs(x).max())
        self.assertGreater(np.abs(longer["states"][:, 2].astype(np.float32) - states[:, 2].astype(np.float32)).max(), 0.1)
        # The file is not resumed by another sampler (its paths would mix two teachers'), nor by the config's own.
        with self.assertRaisesRegex(ValueError, "drawn by the teacher at 8 steps and guidance 3, not 4 and 2"):
            make_pairs(cfg, run, 0, log, None)
        self.assertEqual(train_main(pairs + ["--teacher-steps", "8", "--teacher-guidance", "2"]), 2)
        self.assertEqual(np.load(run / "pairs.npz")["states"].tobytes(), longer["states"].tobytes())
        # A sampler the student's grid cannot keep, or an option for another stage, is refused by name.
        for bad, words in ((["--teacher-steps", "3"], "give a multiple of 2"), (["--teacher-steps", "0"], "at least 1"), (["--teacher-guidance", "0.5"], "at least 1"), (["--teacher-guidance", "nan"], "finite")):
            with self.subTest(bad=bad):
                err = io.StringIO()
                with contextlib.redirect_stderr(err):
                    self.assertEqual(train_main(pairs + bad), 2)
                self.assertIn(words, err.getvalue())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(train_main(["--config", "tiny", "--stage", "student", "--run", str(run), "--threads", "1", "--quiet", "--teacher-steps", "8"]), 2)
        self.assertIn("are for --stage pairs, not student", err.getvalue())

    def test_ctrl_c_stops_after_the_step_with_a_checkpoint(self):
        import os
        import signal
        import sys
        import time

        run = self.tmp / "run-interrupted"
        run.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO / "model-shards" / "training")}
        proc = subprocess.Popen([sys.executable, "-m", "zoetrope.train", "--config", "tiny", "--stage", "video-ae", "--data", str(self.data), "--run", str(run), "--steps", "1000000", "--threads", "1", "--quiet"], env=env)
        log = run / "video-ae.log.jsonl"
        deadline = time.time() + 120
        while not (log.exists() and '"start"' in log.read_text()):
            self.assertLess(time.time(), deadline, "training never started")
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=120), 0)
        events = [json.loads(line) for line in log.read_text().splitlines()]
        stopped = [e for e in events if e["event"] == "stopped"]
        self.assertEqual(len(stopped), 1)
        self.assertEqual(stopped[0]["signal"], "SIGINT")
        self.assertEqual(torch.load(run / "video-ae.pt")["step"], stopped[0]["step"])

    def test_generator_needs_the_encode_stage(self):
        run = self.tmp / "run-no-encode"
        code = train_main(["--config", "tiny", "--stage", "generator", "--data", str(self.data), "--run", str(run), "--steps", "1", "--quiet"])
        self.assertEqual(code, 2)

    def test_initial_noise_is_the_shared_generator(self):
        cfg = get_config("tiny")
        noise = initial_noise(cfg, 7)
        self.assertEqual(tuple(noise.shape), (12, 295))
        self.assertEqual(noise[1, :3].tolist(), gaussian_noise(7, 0, 3, offset=291))
        self.assertEqual(noise[2, 291:].tolist(), gaussian_noise(7, 1, 4, offset=8))

    def test_a_bad_temperature_is_named(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = evaluate_main(["--config", "tiny", "--run", str(self.tmp / "nothing"), "--data", str(self.data), "--out", str(self.tmp / "never"), "--temperature", "0.8"])
        self.assertEqual(code, 2)
        self.assertIn("a temperature below 1 keeps the figure where its head slot is, and config tiny has no head slot", err.getvalue())
        with contextlib.redirect_stderr(err):
            self.assertEqual(evaluate_main(["--config", "tiny-cameo", "--run", str(self.tmp / "nothing"), "--data", str(self.data), "--out", str(self.tmp / "never"), "--temperature", "1.2"]), 2)
        self.assertIn("the background latent's temperature scale must be above 0 and at most 1, got 1.2", err.getvalue())
        self.assertFalse((self.tmp / "never").exists())

    def test_wrong_frame_size_is_refused(self):
        big = self.tmp / "big"
        export_world(big, clips=1, seed=1, size=48)
        code = train_main(["--config", "tiny", "--stage", "video-ae", "--data", str(big), "--run", str(self.tmp / "run-big"), "--steps", "1", "--quiet"])
        self.assertEqual(code, 2)


if __name__ == "__main__":
    unittest.main()


class ProOnTheDraft(unittest.TestCase):
    """Pro is built on the Draft's trained cameo run (configs.Config.shares): encode --base, the
    decoder at the larger size (video-upscale), and a generator grown from the cameo run's teacher,
    head slot and all. tiny-pro is the same construction on tiny-cameo: 64² frames from the 32²
    latent, 2 s, one block deeper."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoetrope-pro-"))
        export_world(cls.tmp / "base-data", clips=6, seed=4242, background=True)
        export_world(cls.tmp / "cameo-data", clips=6, seed=6161, background=True, cameos=True)
        export_world(cls.tmp / "pro-data", clips=6, seed=5151, background=True, duration=2)
        export_world(cls.tmp / "pro-data-64", clips=4, seed=5151, size=64, background=True, duration=2)
        export_world(cls.tmp / "pro-cameos-64", clips=3, seed=6170, size=64, background=True, duration=2, cameos=True)
        cls.draft = cls.tmp / "draft"
        for stage, steps in (("video-ae", 3), ("audio-ae", 2), ("encode", 0), ("generator", 3)):
            assert cls.train("tiny", stage, cls.draft, cls.tmp / "base-data", steps) == 0, stage
        cls.base = cls.tmp / "base"
        assert cls.train("tiny-cameo", "encode", cls.base, cls.tmp / "base-data", 0, "--data", str(cls.tmp / "cameo-data"), "--base", str(cls.draft)) == 0
        assert cls.train("tiny-cameo", "generator", cls.base, cls.tmp / "base-data", 3) == 0
        cls.unlocated = cls.tmp / "base-without-locator"
        shutil.copytree(cls.base, cls.unlocated)
        assert cls.train("tiny-cameo", "head-locator", cls.base, cls.tmp / "base-data", 4) == 0
        cls.unrefined = cls.tmp / "base-without-refiners"
        shutil.copytree(cls.base, cls.unrefined)
        for stage in ("track-refiner", "sound-refiner"):
            assert cls.train("tiny-cameo", stage, cls.base, cls.tmp / "base-data", 4) == 0, stage

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def train(config: str, stage: str, run: Path, data: Path, steps: int = 0, *extra: str) -> int:
        args = ["--config", config, "--stage", stage, "--data", str(data), "--run", str(run), "--threads", "1", "--quiet", *extra]
        return train_main(args + (["--steps", str(steps)] if steps else []))

    def errors(self, *args, **kwargs) -> str:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train(*args, **kwargs), 2)
        return err.getvalue()

    def test_the_grown_generator_draws_what_the_drafts_teacher_drew(self):
        from zoetrope.generator import generator_for, grow
        from zoetrope.text import Tokenizer

        tiny, pro = get_config("tiny-cameo").generator, get_config("tiny-pro").generator
        vocab = len(Tokenizer.load(self.base / "tokenizer.json").vocab)
        state = torch.load(self.base / "generator.pt")["extra"]["ema"]
        source = generator_for(tiny, vocab, state).eval()
        grown = generator_for(pro, vocab, grow(state, tiny, pro, vocab)).eval()
        self.assertEqual(len(grown.blocks), 3)
        ids, mask = torch.tensor([[2, 5, 6, 7]]), torch.ones(1, 4)
        x, t = torch.randn(1, 12, tiny.token_dim), torch.tensor([0.6])
        with torch.no_grad():
            self.assertTrue(torch.equal(source(x, t, ids, mask), grown(x, t, ids, mask)))
            # The second second starts with the first's frame embeddings, and trains its own.
            self.assertTrue(torch.equal(grown.pos[:, 12:], grown.pos[:, :12]))
        with self.assertRaisesRegex(ValueError, "cannot grow into a generator with other width, heads"):
            grow(state, tiny, get_config("draft").generator, vocab)

    def test_training_only_the_frame_embeddings_leaves_every_other_weight_as_grown(self):
        run = self.tmp / "pro-pos"
        self.assertEqual(self.train("tiny-pro", "encode", run, self.tmp / "pro-data", 0, "--base", str(self.base)), 0)
        self.assertIn("--train-only blocks.9: the generator has no weight of that name (its weights: ", self.errors("tiny-pro", "generator", run, self.tmp / "pro-data", 2, "--train-only", "blocks.9"))
        self.assertIn("--train-only is for --stage generator, not head-locator", self.errors("tiny-pro", "head-locator", run, self.tmp / "pro-data", 2, "--train-only", "pos"))
        # As train:pro leaves it: grown, not trained (--steps 0 writes the checkpoint at step 0).
        self.assertEqual(self.train("tiny-pro", "generator", run, self.tmp / "pro-data", 0, "--steps", "0"), 0)
        grown = torch.load(run / "generator.pt")["model"]
        self.assertEqual(self.train("tiny-pro", "generator", run, self.tmp / "pro-data", 3, "--train-only", "pos"), 0)
        ckpt = torch.load(run / "generator.pt")
        self.assertEqual(ckpt["step"], 3)
        for weights in (ckpt["model"], ckpt["extra"]["ema"]):
            self.assertEqual(sorted(k for k in grown if not torch.equal(weights[k], grown[k])), ["pos"])
        # The second second's embeddings now differ from the first's.
        self.assertFalse(torch.equal(ckpt["extra"]["ema"]["pos"][:, 12:], ckpt["extra"]["ema"]["pos"][:, :12]))
        logged = [json.loads(line) for line in (run / "generator.log.jsonl").read_text().splitlines()]
        only = next(e for e in logged if e["event"] == "train-only")
        self.assertEqual((only["prefixes"], only["tensors"], only["params"]), (["pos"], 1, 24 * get_config("tiny-pro").generator.width))
        # The model card says so.
        from zoetrope.model_card import trained_only_text

        self.assertEqual(trained_only_text(run), " Then only its `pos` (768 numbers) trained on these clips, 3 steps; every other weight is as grown.")
        self.assertEqual(trained_only_text(self.base), "")
        # Resumed, it trains the same weights or none.
        self.assertIn("was trained with 1 weight tensors, this run trains ", self.errors("tiny-pro", "generator", run, self.tmp / "pro-data", 4))
        self.assertEqual(self.train("tiny-pro", "generator", run, self.tmp / "pro-data", 4, "--train-only", "pos"), 0)
        self.assertEqual(torch.load(run / "generator.pt")["step"], 4)
        # The base's teacher trains on: regrown from it, the generator keeps its trained frame
        # embeddings and takes every other weight from the new teacher, as grown.
        from zoetrope.generator import generator_for, grow
        from zoetrope.regrow import main as regrow_main

        base2 = self.tmp / "base-trained-on"
        shutil.copytree(self.base, base2)
        teacher = torch.load(base2 / "generator.pt")
        with torch.no_grad():
            for v in teacher["extra"]["ema"].values():
                if v.is_floating_point():
                    v.add_(0.01 * torch.randn_like(v))
        torch.save(teacher, base2 / "generator.pt")
        before = torch.load(run / "generator.pt")["extra"]["ema"]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(regrow_main(["--config", "tiny-pro", "--run", str(run), "--base", str(base2)]), 0)
        self.assertEqual(json.loads(out.getvalue())["kept"], ["pos"])
        after = torch.load(run / "generator.pt")["extra"]["ema"]
        vocab = len(json.loads((run / "tokenizer.json").read_text())["vocab"])
        want = grow(teacher["extra"]["ema"], get_config("tiny-cameo").generator, get_config("tiny-pro").generator, vocab)
        self.assertTrue(torch.equal(after["pos"], before["pos"]))
        # Grown blocks start as identities whose inner weights are drawn at random: the same function.
        want["pos"] = before["pos"]
        pro = get_config("tiny-pro").generator
        ids, mask = torch.tensor([[2, 5, 6, 7]]), torch.ones(1, 4)
        x, t = torch.randn(1, pro.frames, pro.token_dim), torch.tensor([0.6])
        with torch.no_grad():
            regrown, expected, old_one = (generator_for(pro, vocab, w).eval() for w in (after, want, before))
            self.assertTrue(torch.equal(regrown(x, t, ids, mask), expected(x, t, ids, mask)))
            self.assertFalse(torch.allclose(regrown(x, t, ids, mask), old_one(x, t, ids, mask)))
        self.assertTrue((run / "generator.before-regrow.pt").exists())
        self.assertEqual(json.loads((run / "generator.log.jsonl").read_text().splitlines()[-1])["event"], "regrow")
        # Refused by name: a config grown from nothing, a base of another tokenizer.
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(regrow_main(["--config", "tiny-cameo", "--run", str(self.base), "--base", str(base2)]), 2)
            other = self.tmp / "base-other-words"
            shutil.copytree(base2, other)
            (other / "tokenizer.json").write_text((other / "tokenizer.json").read_text().replace("[UNK]", "[UNKNOWN]"))
            self.assertEqual(regrow_main(["--config", "tiny-pro", "--run", str(run), "--base", str(other)]), 2)
        self.assertIn("config tiny-cameo does not grow its base's generator to more frames", err.getvalue())
        self.assertIn("has another tokenizer than", err.getvalue())

    def test_pro_builds_on_the_draft_run_and_exports_at_its_own_size(self):
        from zoetrope.train import upscale_decoder
        from zoetrope.video_ae import FrameAutoencoder

        run = self.tmp / "pro"
        # Pro trains no autoencoders of its own, and needs the Draft run to build on.
        self.assertIn("trains no video-ae of its own", self.errors("tiny-pro", "video-ae", run, self.tmp / "pro-data", 2))
        self.assertIn("pass it with --base RUN", self.errors("tiny-pro", "encode", run, self.tmp / "pro-data"))
        # Tokens come from frames at the shared autoencoder's side; the upscaling decoder learns from frames at Pro's.
        self.assertIn("has 64×64 frames (export with --size 32)", self.errors("tiny-pro", "encode", run, self.tmp / "pro-data-64", 0, "--base", str(self.base)))
        self.assertIn("has 32×32 frames (export with --size 64)", self.errors("tiny-pro", "video-upscale", run, self.tmp / "pro-data", 2))
        # It builds on the cameo run, whose tokens carry the head: not on the plain Draft run.
        self.assertIn(f"--base {self.draft} makes frame tokens of {get_config('tiny').token_dim} numbers; config tiny-pro builds on a tiny-cameo run", self.errors("tiny-pro", "encode", self.tmp / "pro-on-draft", self.tmp / "pro-data", 0, "--base", str(self.draft)))
        self.assertIn("has no head-locator checkpoint: train --stage head-locator on it first", self.errors("tiny-pro", "encode", self.tmp / "pro-unlocated", self.tmp / "pro-data", 0, "--base", str(self.unlocated)))
        self.assertIn("has no track-refiner checkpoint: train --stage track-refiner on it first (config tiny-pro refines the generated ball tracks)", self.errors("tiny-pro", "encode", self.tmp / "pro-unrefined", self.tmp / "pro-data", 0, "--base", str(self.unrefined)))
        self.assertEqual(self.train("tiny-pro", "encode", run, self.tmp / "pro-data", 0, "--base", str(self.base)), 0)
        self.assertEqual(np.load(run / "tokens.npy").shape, (6, 24, get_config("tiny-cameo").token_dim))
        # The cameo run's head locator and refiners, as they are: the latent, slots and sound are the same.
        for stage in ("head-locator", "track-refiner", "sound-refiner"):
            self.assertEqual((run / f"{stage}.pt").read_bytes(), (self.base / f"{stage}.pt").read_bytes(), stage)
        # The cameo run's statistics as they are, the head's included.
        for k in ("mean", "std"):
            np.testing.assert_array_equal(np.load(run / "token-stats.npz")[k], np.load(self.base / "token-stats.npz")[k])
        # The upscaling decoder starts as the shared decoder's picture, upsampled; then it trains.
        shared = FrameAutoencoder(get_config("tiny").video_ae)
        shared.load_state_dict(torch.load(self.base / "video-ae.pt")["model"])
        z = torch.randn(2, 4, 8, 8)
        with torch.no_grad():
            expected = torch.nn.functional.interpolate(shared.decoder(z), scale_factor=2.0, mode="bilinear", align_corners=False)
            self.assertTrue(torch.allclose(upscale_decoder(get_config("tiny-pro"), run)(z), expected, atol=1e-6))
        self.assertEqual(self.train("tiny-pro", "video-upscale", run, self.tmp / "pro-data-64", 4), 0)
        upscaled = [json.loads(line) for line in (run / "video-upscale.log.jsonl").read_text().splitlines()]
        self.assertEqual([e["step"] for e in upscaled if e["event"] in ("baseline", "eval")], [0, 2, 4])
        self.assertEqual(torch.load(run / "video-upscale.pt")["step"], 4)
        self.assertEqual(self.train("tiny-pro", "generator", run, self.tmp / "pro-data", 2), 0)
        logged = [json.loads(line) for line in (run / "generator.log.jsonl").read_text().splitlines()]
        init = next(e for e in logged if e["event"] == "init")
        self.assertEqual((init["base_step"], init["blocks"], init["frames"], init["slots"]), (3, [2, 3], [12, 24], [6, 6]))
        # Judged at its own size and length.
        out = self.tmp / "pro-generated"
        self.assertEqual(evaluate_main(["--config", "tiny-pro", "--run", str(run), "--data", str(self.tmp / "pro-data"), "--out", str(out), "--clips", "1", "--steps", "2", "--threads", "1"]), 0)
        self.assertEqual(np.load(out / "shard-00000.frames.npy").shape, (1, 24, 64, 64, 3))
        self.assertEqual(np.load(out / "shard-00000.audio.npy").shape, (1, 48000))
        recon = self.tmp / "pro-recon"
        self.assertEqual(evaluate_main(["--config", "tiny-pro", "--run", str(run), "--data", str(self.tmp / "pro-data-64"), "--out", str(recon), "--clips", "2", "--all-clips", "--reconstruct", "--threads", "1"]), 0)
        self.assertEqual(np.load(recon / "shard-00000.frames.npy").shape, (2, 24, 64, 64, 3))
        model_dir, parity = self.tmp / "pro-model", self.tmp / "pro-parity.json"
        self.assertEqual(export_main(["--config", "tiny-pro", "--run", str(run), "--out", str(model_dir), "--version", "0.0.1", "--denoiser", "generator", "--steps", "8", "--parity", str(parity)]), 0)
        manifest = json.loads((model_dir / "manifest.json").read_text())
        self.assertEqual((manifest["tier"], manifest["output"]["width"], manifest["output"]["maxDurationS"], manifest["tokens"]["frames"]), ("pro", 64, 2.0, 24))
        # Pro paints a cameo's face on the head, at its own size.
        self.assertEqual([i["name"] for i in manifest["graphs"]["videoDecoder"]["inputs"]], ["tokens", "appearance", "cameo"])
        from zoetrope.cameo_bench import main as cameo_bench_main

        report = self.tmp / "pro-cameo.json"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(cameo_bench_main(["--config", "tiny-pro", "--run", str(run), "--data", str(self.tmp / "pro-cameos-64"), "--all-clips", "--clips", "3", "--reconstruct", "--threads", "1", "--out", str(report)]), 0)
        ceiling = json.loads(report.read_text())
        self.assertEqual((ceiling["clips"], ceiling["toldApart"]), (3, 1.0))
        self.assertTrue(ceiling["head"]["located"])
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-4"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        # Restored from its folder (Pro ships its teacher), with the encoders of the run it built on.
        from zoetrope.recover import main as recover_main

        restored = self.tmp / "pro-restored"
        with contextlib.redirect_stdout(io.StringIO()) as out:
            self.assertEqual(recover_main(["restore", "--config", "tiny-pro", "--model", str(model_dir), "--run", str(restored), "--encoders-from", str(self.base)]), 0)
        result = json.loads(out.getvalue())
        self.assertEqual((result["teacher"], result["encoders"], all(result["re_exported_identical"].values())), ("shipped", "trained", True))
        rounded = lambda state: {k: v.half().float() if v.numel() * 4 >= 4096 else v for k, v in state.items()}  # noqa: E731
        weights = lambda path, stage: torch.load(path / f"{stage}.pt")["extra"]["ema"] if stage == "generator" else torch.load(path / f"{stage}.pt")["model"]  # noqa: E731
        for stage in ("generator", "video-upscale"):
            got = weights(restored, stage)
            for k, v in rounded(weights(run, stage)).items():
                self.assertTrue(torch.equal(got[k], v), f"{stage} {k}")
        # The refiners come back under the config that trained them, as the run holds them.
        for stage in ("track-refiner", "sound-refiner"):
            got = torch.load(restored / f"{stage}.pt")
            self.assertEqual(got["config"], "tiny-cameo")
            for k, v in rounded(torch.load(run / f"{stage}.pt")["extra"]["ema"]).items():
                self.assertTrue(torch.equal(got["extra"]["ema"][k], v), f"{stage} {k}")
        encoders = {k: v for k, v in torch.load(self.base / "video-ae.pt")["model"].items() if k.startswith("encoder.")}
        mine = torch.load(restored / "video-ae.pt")["model"]
        self.assertTrue(all(torch.equal(mine[k], v) for k, v in encoders.items()))


    # Box stacks as slots (draft-boxes; tiny-boxes here) build on the cameo run as Pro does, with five
    # more slots a frame: encode --base keeps the base run's tokens and puts the boxes' numbers in, the
    # teacher grows by five slot tokens, and the video decoder paints the boxes.
    def test_box_slots_keep_the_base_tokens_and_the_decoder_paints_the_boxes(self):
        from zoetrope.evaluate import Model
        from zoetrope.slots import box_order, box_slots

        cfg, base_cfg = get_config("tiny-boxes"), get_config("tiny-cameo")
        run = self.tmp / "boxes"
        data = [self.tmp / "base-data", self.tmp / "cameo-data"]
        self.assertEqual(self.train("tiny-boxes", "encode", run, data[0], 0, "--data", str(data[1]), "--base", str(self.base)), 0)
        tokens, base_tokens = np.load(run / "tokens.npy"), np.load(self.base / "tokens.npy")
        self.assertEqual(tokens.shape, (12, 12, base_cfg.token_dim + 5 * SLOT_NUMBERS))
        new = slice(cfg.boxes_at, cfg.boxes_at + 5 * SLOT_NUMBERS)
        # Everything the base run has, as it has it: its latents, balls, head and sound, and its statistics.
        np.testing.assert_array_equal(np.delete(tokens, np.r_[new], axis=2), base_tokens)
        stats, base_stats = np.load(run / "token-stats.npz"), np.load(self.base / "token-stats.npz")
        for k in ("mean", "std"):
            np.testing.assert_array_equal(np.delete(stats[k], np.r_[new]), base_stats[k])
        # The boxes' numbers are the clips' own (slots.box_slots), in the run's order.
        clips = json.loads((run / "clips.json").read_text())["clips"]
        datasets = {str(d): WorldDataset(d) for d in data}
        with_boxes = 0
        for k, c in enumerate(clips):
            d = datasets[c["dataset"]]
            i = next(j for j in range(len(d)) if d.meta(j)["seed"] == c["seed"])
            want = box_slots(d.meta(i), d.clip(i).frames, 5).reshape(cfg.frames, -1)
            np.testing.assert_allclose(tokens[k, :, new].astype(np.float32) * stats["std"][new] + stats["mean"][new], want, atol=2e-3)
            with_boxes += bool(box_order(d.meta(i)))
        self.assertGreater(with_boxes, 0)
        # A run on other clips than the base's encodes them whole, boxes and all.
        other = self.tmp / "boxes-other"
        self.assertEqual(self.train("tiny-boxes", "encode", other, data[1], 0, "--base", str(self.base)), 0)
        self.assertEqual(np.load(other / "tokens.npy").shape, (6, 12, cfg.token_dim))
        # The teacher grows from the cameo run's by five slot tokens a frame, then trains.
        self.assertEqual(self.train("tiny-boxes", "generator", run, data[0], 2), 0)
        init = next(e for e in map(json.loads, (run / "generator.log.jsonl").read_text().splitlines()) if e["event"] == "init")
        self.assertEqual(init["slots"], [6, 11])
        # The decoder paints the clip's boxes under its balls: its own tokens decode nearer its frames with them.
        model = Model(cfg, run, "")
        d = datasets[str(data[0])]
        i = next(j for j in range(len(d)) if box_order(d.meta(j)))
        clip = d.clip(i)
        x = model.encode(clip.frames, clip.audio, d.background(i), clip.meta)
        painted, _ = model.decode(x)
        bare = x.clone()
        bare[:, new] = ((torch.zeros(len(x), 5 * SLOT_NUMBERS) - model.mean[new]) / model.std[new])
        unpainted, _ = model.decode(bare)
        self.assertGreater(np.abs(painted.astype(float) - unpainted.astype(float)).sum(), 0)
        # Each shown box's centre moves toward the box's colour (at 32² a box is under 2 px across, so
        # its centre pixel is only partly covered; a ball may pass in front).
        boxes = box_slots(d.meta(i), clip.frames, 5)
        S = clip.frames.shape[1]
        centres = [(t, min(S - 1, int(b[2] * S)), min(S - 1, int(b[1] * S)), b[4:7]) for t in range(cfg.frames) for b in boxes[t] if b[0] > 0.5 and 0 <= b[1] < 1 and 0 <= b[2] < 1]
        self.assertGreater(len(centres), 0)
        miss = lambda f: np.array([np.abs(f[t, y, x] / 255 - c).sum() for t, y, x, c in centres])  # noqa: E731
        self.assertGreater(float(np.mean(miss(painted) < miss(unpainted))), 0.9)
        # Exported, the graphs agree with PyTorch in onnxruntime.
        model_dir, parity = self.tmp / "boxes-model", self.tmp / "boxes-parity.json"
        self.assertEqual(export_main(["--config", "tiny-boxes", "--run", str(run), "--out", str(model_dir), "--version", "0.0.1", "--denoiser", "generator", "--steps", "2", "--parity", str(parity)]), 0)
        manifest = json.loads((model_dir / "manifest.json").read_text())
        self.assertEqual(manifest["tokens"]["videoNumbers"], cfg.video_numbers)
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-4"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)

    def test_box_slots_need_a_base_with_the_head_slot(self):
        self.assertIn(f"--base {self.draft} makes frame tokens of {get_config('tiny').token_dim} numbers; config tiny-boxes builds on a tiny-cameo run", self.errors("tiny-boxes", "encode", self.tmp / "boxes-on-draft", self.tmp / "base-data", 0, "--base", str(self.draft)))


class CameoSlot(unittest.TestCase):
    """Cameos as a slot (draft-cameo; tiny-cameo here): the figure's head is one more slot after the
    balls', the video decoder paints the cameo's reference face on it, and the generator starts as
    the base run's teacher with one more slot token a frame."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoetrope-head-"))
        cls.plain, cls.cameos = cls.tmp / "plain", cls.tmp / "cameos"
        export_world(cls.plain, clips=6, seed=4242, background=True)
        export_world(cls.cameos, clips=30, seed=6161, background=True, cameos=True)
        cls.base = cls.tmp / "base"
        for stage, steps in (("video-ae", 3), ("audio-ae", 2), ("encode", 0), ("generator", 3), ("pairs", 3), ("student", 3)):
            args = ["--config", "tiny", "--stage", stage, "--data", str(cls.plain), "--run", str(cls.base), "--threads", "1", "--quiet"]
            assert train_main(args + (["--steps", str(steps)] if steps else [])) == 0, stage

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_a_face_is_painted_on_the_head_alone_and_only_for_a_cameo(self):
        from zoetrope.slots import FACE_SATURATION, paint_face

        S = 64
        frames = torch.rand(2, S, S, 3, generator=torch.Generator().manual_seed(1))
        # A head of radius 8 px at (24, 40) px, then one not shown.
        head = torch.tensor([[1.0, 24 / S, 40 / S, 8 / S, 0, 0, 0], [0.0, 24 / S, 40 / S, 8 / S, 0, 0, 0]])
        face = torch.zeros(16, 16, 3)
        face[:, :8] = torch.tensor([1.0, 0.0, 0.0])  # the image's left half red, its right half blue
        face[:, 8:] = torch.tensor([0.0, 0.0, 1.0])
        self.assertTrue(torch.equal(paint_face(frames, head, face, torch.zeros(1)), frames))
        out = paint_face(frames, head, face, torch.ones(1))
        self.assertTrue(torch.equal(out[1], frames[1]))
        yy, xx = torch.meshgrid(torch.arange(S) + 0.5, torch.arange(S) + 0.5, indexing="ij")
        dist = torch.sqrt((xx - 24) ** 2 + (yy - 40) ** 2)
        changed = (out[0] != frames[0]).any(-1)
        self.assertFalse(changed[dist > 9].any())
        self.assertTrue(changed[dist < 7].all())
        # Muted as the world mutes a face: red's luma plus a third of its saturation.
        red = 0.299 + (1 - 0.299) * FACE_SATURATION
        np.testing.assert_allclose(out[0, 40, 19].numpy(), [red, 0.299 * (1 - FACE_SATURATION), 0.299 * (1 - FACE_SATURATION)], atol=1e-5)
        self.assertGreater(out[0, 40, 29, 2], out[0, 40, 29, 0])  # blue on the image's right
        # Lit: the head's colour fields are the scene's light, and the face is multiplied by it.
        lit_head = head.clone()
        lit_head[:, 4:7] = torch.tensor([0.5, 0.8, 1.0])
        lit = paint_face(frames, lit_head, face, torch.ones(1), lit=True)
        np.testing.assert_allclose(lit[0, 40, 19].numpy(), out[0, 40, 19].numpy() * [0.5, 0.8, 1.0], atol=1e-6)
        self.assertTrue(torch.equal(lit[0][dist > 9], frames[0][dist > 9]))
        self.assertTrue(torch.equal(paint_face(frames, lit_head, face, torch.zeros(1), lit=True), frames))

    def test_a_figure_without_a_head_track_is_named(self):
        from zoetrope.slots import head_slot

        meta = WorldDataset(self.cameos).meta(0)
        self.assertEqual(head_slot(meta, 12, 32).shape, (12, 7))
        self.assertEqual(head_slot({"scene": {}}, 12, 32).sum(), 0)
        with self.assertRaisesRegex(ValueError, "has a figure but no head track: export the dataset again"):
            head_slot({k: v for k, v in meta.items() if k != "head"}, 12, 32)

    def test_the_head_locator_is_asked_for_by_name(self):
        from zoetrope.evaluate import Model

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            # A config without a head slot has no head to locate.
            self.assertEqual(train_main(["--config", "tiny", "--stage", "head-locator", "--run", str(self.base), "--threads", "1", "--quiet"]), 2)
        self.assertIn("config tiny has no head slot: there is no head to locate", err.getvalue())
        with contextlib.redirect_stderr(err):
            # Nor has it a track refiner (the Draft's cameo config has).
            self.assertEqual(train_main(["--config", "tiny", "--stage", "track-refiner", "--run", str(self.base), "--threads", "1", "--quiet"]), 2)
        self.assertIn("config tiny paints the generated ball tracks as they come: it has no track refiner to train", err.getvalue())
        with contextlib.redirect_stderr(err):
            # Nor a sound refiner.
            self.assertEqual(train_main(["--config", "tiny", "--stage", "sound-refiner", "--run", str(self.base), "--threads", "1", "--quiet"]), 2)
        self.assertIn("config tiny decodes the generated sound as it comes: it has no sound refiner to train", err.getvalue())
        # A cameo run without its locator cannot paint a face, and says which stage makes it.
        run = self.tmp / "unlocated"
        self.assertEqual(train_main(["--config", "tiny-cameo", "--stage", "encode", "--data", str(self.cameos), "--base", str(self.base), "--run", str(run), "--threads", "1", "--quiet"]), 0)
        with self.assertRaisesRegex(ValueError, "has no head-locator checkpoint: config tiny-cameo paints a cameo where the latent draws the head \\(train --stage head-locator\\)"):
            Model(get_config("tiny-cameo"), run, "")
        # The light it learns is each clip's, from the dataset clips.json names for it.
        from zoetrope.head_locator import clip_lights

        with self.assertRaisesRegex(ValueError, "clips.json does not say which dataset clip 0 is from"):
            clip_lights(run, json.loads((run / "clips.json").read_text())["clips"])
        meta = WorldDataset(self.cameos).meta(3)
        np.testing.assert_allclose(clip_lights(run, [{"dataset": str(self.cameos), "index": 3}])[0], meta["light"], atol=1e-7)
        stale = self.tmp / "stale-data"
        shutil.copytree(self.cameos, stale)
        lines = (stale / "shard-00000.meta.jsonl").read_text().splitlines()
        (stale / "shard-00000.meta.jsonl").write_text("".join(json.dumps({k: v for k, v in json.loads(line).items() if k != "light"}) + "\n" for line in lines))
        index = json.loads((stale / "index.json").read_text())
        import hashlib

        for f in index["shards"][0]["files"]:
            if f["file"].endswith(".meta.jsonl"):
                body = (stale / f["file"]).read_bytes()
                f["bytes"], f["sha256"] = len(body), hashlib.sha256(body).hexdigest()
        (stale / "index.json").write_text(json.dumps(index))
        with self.assertRaisesRegex(ValueError, "has no light in its clips' meta: export it again"):
            clip_lights(run, [{"dataset": str(stale), "index": 0}])

    def check_temperature(self, run: Path, tsx: Path) -> None:
        """At a temperature below 1 the manifest carries what the engine needs (the head slot's place and
        statistics), and the engine (flow.ts) tempers a clip's noise as evaluate.temper does, to the bit."""
        from zoetrope.evaluate import Model, temper

        base = get_config("tiny-cameo")
        cfg = replace(base, temperature=replace(base.temperature, scale=0.8))
        out = self.tmp / "model-temperature"
        with unittest.mock.patch.dict(CONFIGS, {"tiny-cameo": cfg}):
            self.assertEqual(export_main(["--config", "tiny-cameo", "--run", str(run), "--out", str(out), "--version", "0.0.1", "--denoiser", "generator"]), 0)
        manifest = json.loads((out / "manifest.json").read_text())
        t = manifest["sampler"]["temperature"]
        model = Model(cfg, run, "generator")
        at = cfg.video_numbers - SLOT_NUMBERS
        self.assertEqual((t["scale"], t["firstSteps"], t["latent"], t["head"]["at"]), (0.8, 1, {"channels": 4, "side": 8}, at))
        self.assertEqual(t["head"]["mean"], model.mean[at : at + 3].tolist())
        self.assertEqual(t["head"]["std"], model.std[at : at + 3].tolist())
        # A first draw that shows the head in frames 3 to 5, at (0.4, 0.3) of the frame.
        noise = initial_noise(cfg, 5)
        first = torch.randn(cfg.frames, cfg.token_dim, generator=torch.Generator().manual_seed(1))
        first[:, at] = (0.0 - model.mean[at]) / model.std[at]
        first[3:6, at : at + 3] = (torch.tensor([1.0, 0.4, 0.3]) - model.mean[at : at + 3]) / model.std[at : at + 3]
        ours = temper(cfg, noise, first, model.mean, model.std).numpy()
        (self.tmp / "noise.f32").write_bytes(noise.numpy().tobytes())
        (self.tmp / "first.f32").write_bytes(first.numpy().tobytes())
        script = (
            "import { readFileSync, writeFileSync } from 'node:fs'; import { temperedNoise } from './workers/src/engine/flow.ts';"
            f"const m = JSON.parse(readFileSync({json.dumps(str(out / 'manifest.json'))}, 'utf8'));"
            f"const f32 = (p) => new Float32Array(readFileSync(p).buffer.slice(0));"
            f"const out = temperedNoise(f32({json.dumps(str(self.tmp / 'noise.f32'))}), f32({json.dumps(str(self.tmp / 'first.f32'))}), m.tokens, m.sampler.temperature);"
            f"writeFileSync({json.dumps(str(self.tmp / 'engine.f32'))}, Buffer.from(out.buffer));"
        )
        ran = subprocess.run([str(tsx), "-e", script], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(ran.returncode, 0, ran.stderr)
        engine = np.frombuffer((self.tmp / "engine.f32").read_bytes(), dtype=np.float32).reshape(ours.shape)
        np.testing.assert_array_equal(engine, ours)
        latent = ours[:, : cfg.video_ae.latent_numbers]
        plain = noise.numpy()[:, : cfg.video_ae.latent_numbers]
        kept = latent == plain
        # Kept around the head on frames 2 to 6 only; the rest of the latent scaled, the slots and sound never.
        self.assertTrue(kept[2:7].any(axis=1).all() and not kept[[0, 1, 7, 8, 9, 10, 11]].any())
        self.assertTrue(0 < kept[4].mean() < 0.5)
        np.testing.assert_array_equal(ours[:, cfg.video_ae.latent_numbers :], noise.numpy()[:, cfg.video_ae.latent_numbers :])

    def test_the_cameo_run_builds_on_the_base_and_its_decoder_paints_the_reference(self):
        from zoetrope.cameo_bench import main as cameo_bench_main
        from zoetrope.evaluate import Model

        run = self.tmp / "run"
        args = ["--config", "tiny-cameo", "--run", str(run), "--threads", "1", "--quiet"]
        # One run of both datasets: every training clip first, then every held-out one.
        self.assertEqual(train_main(args + ["--stage", "encode", "--data", str(self.plain), "--data", str(self.cameos), "--base", str(self.base)]), 0)
        cfg, base_cfg = get_config("tiny-cameo"), get_config("tiny")
        tokens = np.load(run / "tokens.npy")
        self.assertEqual(tokens.shape, (36, 12, base_cfg.token_dim + 7))
        clips = json.loads((run / "clips.json").read_text())
        self.assertEqual(clips["train"], 5 + 28)
        self.assertEqual([c["seed"] for c in clips["clips"]], [*range(4242, 4247), *range(6161, 6189), 4247, 6189, 6190])
        # The base's statistics for what the base has, the head's own beside them.
        mine, theirs = np.load(run / "token-stats.npz"), np.load(self.base / "token-stats.npz")
        head = slice(cfg.video_ae.latent_numbers + 5 * 7, cfg.video_numbers)
        for k in ("mean", "std"):
            np.testing.assert_array_equal(np.delete(mine[k], np.arange(head.start, head.stop)), theirs[k])
        self.assertGreater(mine["mean"][head.start], 0.5)  # most of these clips show a figure
        raw = tokens.astype(np.float32) * mine["std"] + mine["mean"]
        self.assertTrue((raw[5:33, :, head.start] > 0.5).any(axis=1).all())  # every cameo clip shows its head
        # The head locator learns where the latent draws the head, from these tokens.
        self.assertEqual(train_main(args + ["--stage", "head-locator", "--steps", "60"]), 0)
        located = [json.loads(line) for line in (run / "head-locator.log.jsonl").read_text().splitlines()]
        first, last = next(e for e in located if e["event"] == "eval"), located[-1]
        self.assertEqual((last["event"], last["step"]), ("end", 60))
        self.assertLess(last["val_median_px"], first["val_median_px"])
        # A new locator votes with the config's reach, and its checkpoint says so.
        self.assertEqual(torch.load(run / "head-locator.pt")["extra"]["reach"], cfg.head_locator_train.reach)
        # and the light each clip is lit by (it starts as none: 1 on every channel).
        self.assertLess(last["val_light_levels"], first["val_light_levels"])
        # A locator trained before faces were lit is refused by name; trained on, it gains the light
        # and keeps where it finds the head, bit for bit.
        old = self.tmp / "old-locator"
        shutil.copytree(run, old)
        ckpt = torch.load(old / "head-locator.pt")
        for key in ("model", "ema"):
            states = ckpt[key] if key == "model" else ckpt["extra"]["ema"]
            for k in [k for k in states if k.startswith("light.")]:
                del states[k]
        torch.save(ckpt, old / "head-locator.pt")
        (old / "head-locator.log.jsonl").unlink()
        from zoetrope.head_locator import load_head_locator

        with self.assertRaisesRegex(ValueError, "head-locator.pt reads no light \\(it was trained before faces were lit\\): train --stage head-locator on, with more --steps, to add it"):
            load_head_locator(cfg, old)
        old_args = ["--config", "tiny-cameo", "--run", str(old), "--threads", "1", "--quiet", "--stage", "head-locator"]
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(train_main(old_args + ["--steps", "60"]), 2)
        self.assertIn("has trained 60 steps without the light: pass --steps above 60", err.getvalue())
        self.assertEqual(train_main(old_args + ["--steps", "90"]), 0)
        lit = torch.load(old / "head-locator.pt")
        self.assertEqual((lit["step"], lit["extra"]["light_only"]), (90, True))
        self.assertEqual(lit["extra"]["reach"], cfg.head_locator_train.reach)
        for k, v in ckpt["extra"]["ema"].items():
            self.assertTrue(torch.equal(lit["extra"]["ema"][k], v), k)
        relit = [json.loads(line) for line in (old / "head-locator.log.jsonl").read_text().splitlines()]
        self.assertEqual(next(e for e in relit if e["event"] == "light-added")["step"], 60)
        self.assertFalse(torch.equal(lit["extra"]["ema"]["light.out.weight"], torch.zeros_like(lit["extra"]["ema"]["light.out.weight"])))
        self.assertEqual(relit[-1]["val_median_px"], last["val_median_px"])
        self.assertEqual(load_head_locator(cfg, old)(torch.zeros(1, 4, 8, 8)).shape, (1, 7))
        # A locator saved before the reach was a field means 2 cells, is loaded so, and trains on so
        # (the config's 4 is for new locators).
        legacy = self.tmp / "legacy-reach"
        shutil.copytree(run, legacy)
        saved = torch.load(legacy / "head-locator.pt")
        del saved["extra"]["reach"]
        torch.save(saved, legacy / "head-locator.pt")
        self.assertEqual((load_head_locator(cfg, legacy).reach, load_head_locator(cfg, run).reach), (2.0, 4.0))
        self.assertEqual(train_main(["--config", "tiny-cameo", "--run", str(legacy), "--threads", "1", "--quiet", "--stage", "head-locator", "--steps", "70"]), 0)
        self.assertEqual(torch.load(legacy / "head-locator.pt")["extra"]["reach"], 2.0)
        # The ball tracks go through the track refiner: a run without it is refused by name, and its
        # stage learns from the same tokens.
        with self.assertRaisesRegex(ValueError, "has no track-refiner checkpoint: config tiny-cameo refines the generated ball tracks \\(train --stage track-refiner\\)"):
            Model(cfg, run, "")
        self.assertEqual(train_main(args + ["--stage", "track-refiner", "--steps", "20"]), 0)
        refined = [json.loads(line) for line in (run / "track-refiner.log.jsonl").read_text().splitlines()]
        self.assertEqual((refined[-1]["event"], refined[-1]["step"]), ("end", 20))
        self.assertGreater(next(e for e in refined if e["event"] == "tracks")["train"], 0)
        # The sound goes through the sound refiner, which hears the balls as painted: the same.
        with self.assertRaisesRegex(ValueError, "has no sound-refiner checkpoint: config tiny-cameo refines the generated sound to the painted balls \\(train --stage sound-refiner\\)"):
            Model(cfg, run, "")
        self.assertEqual(train_main(args + ["--stage", "sound-refiner", "--steps", "6"]), 0)
        heard = [json.loads(line) for line in (run / "sound-refiner.log.jsonl").read_text().splitlines()]
        self.assertEqual((heard[-1]["event"], heard[-1]["step"]), ("end", 6))
        self.assertGreater(next(e for e in heard if e["event"] == "clips")["train"], 0)
        self.assertLess(next(e for e in reversed(heard) if "val_mse" in e)["val_mse"], 10)
        # The generator starts as the base teacher with a sixth slot.
        self.assertEqual(train_main(args + ["--stage", "generator", "--steps", "2"]), 0)
        init = next(e for e in map(json.loads, (run / "generator.log.jsonl").read_text().splitlines()) if e["event"] == "init")
        self.assertEqual(init["slots"], [5, 6])
        # The student starts as the base's student with the head's slot, not as this run's teacher.
        from zoetrope.generator import grow

        self.assertEqual(train_main(args + ["--stage", "pairs"]), 0)
        self.assertEqual(train_main(args + ["--stage", "student", "--steps", "0"]), 0)
        init = next(e for e in map(json.loads, (run / "student.log.jsonl").read_text().splitlines()) if e["event"] == "init")
        self.assertEqual((init["base"], init["slots"]), (str(self.base), [5, 6]))
        vocab = len(json.loads((self.base / "tokenizer.json").read_text())["vocab"])
        expected = grow(torch.load(self.base / "student.pt")["extra"]["ema"], base_cfg.generator, cfg.generator, vocab)
        started = torch.load(run / "student.pt")["extra"]["ema"]
        for k, v in expected.items():
            if k != "space":  # the new slot's place embedding is drawn afresh
                self.assertTrue(torch.equal(started[k], v), k)
        # With a student, the track refiner also learns from the student's own damage: training clips
        # noised halfway and drawn back, kept beside the world's tracks and reused while they hold.
        (run / "track-refiner.pt").unlink()
        self.assertEqual(train_main(args + ["--stage", "track-refiner", "--steps", "4"]), 0)
        events = [json.loads(line) for line in (run / "track-refiner.log.jsonl").read_text().splitlines()]
        self.assertEqual(next(e for e in events if e["event"] == "pairs")["drawn"], cfg.track_refiner_train.pair_clips)
        kinds = [e["event"] for e in events]
        self.assertLess(kinds.index("drawing"), kinds.index("pairs"))  # the stage's minutes count the drawing
        counted = [e for e in events if e["event"] == "tracks"][-1]
        self.assertGreater(counted["student_pairs"], 0)
        self.assertGreater(counted["held_out_pairs"], 0)
        self.assertEqual((counted["undamaged"], counted["exit_weight"]), (track_refiner.UNDAMAGED, track_refiner.EXIT_WEIGHT))
        self.assertIn("pairs_acc_px", events[-1])
        saved = np.load(run / "track-pairs.npz")
        self.assertEqual(saved["world"].shape, (cfg.track_refiner_train.pair_clips, cfg.frames, cfg.slots, 7))
        self.assertEqual(saved["drawn"].shape, saved["world"].shape)
        self.assertEqual(saved["times"].tolist(), [0.5, 0.0])  # tiny's student takes 2 steps: halfway is one
        self.assertFalse(np.array_equal(saved["drawn"], saved["world"]))
        (run / "track-refiner.pt").unlink()
        self.assertEqual(train_main(args + ["--stage", "track-refiner", "--steps", "4"]), 0)
        events = [json.loads(line) for line in (run / "track-refiner.log.jsonl").read_text().splitlines()]
        self.assertEqual([e for e in events if e["event"] == "pairs"][-1]["reused"], str(run / "track-pairs.npz"))
        # A student with other weights (trained on, or restored from another model) draws them again.
        kept = (run / "student.pt").read_bytes()
        other = torch.load(run / "student.pt")
        name = next(iter(other["extra"]["ema"]))
        other["extra"]["ema"][name] = other["extra"]["ema"][name] + 1e-3
        torch.save(other, run / "student.pt")
        (run / "track-refiner.pt").unlink()
        self.assertEqual(train_main(args + ["--stage", "track-refiner", "--steps", "4"]), 0)
        events = [json.loads(line) for line in (run / "track-refiner.log.jsonl").read_text().splitlines()]
        self.assertEqual([e for e in events if e["event"] == "pairs"][-1]["drawn"], cfg.track_refiner_train.pair_clips)
        (run / "student.pt").write_bytes(kept)
        # Decoded with a face, the frames differ from the faceless decoding on the head alone.
        model = Model(cfg, run)
        # The card says what the refiner learnt from, its exits weighed more among it.
        from zoetrope.model_card import refiner_text

        self.assertIn(f"the frames by a ball's exit or entry weigh {1 + track_refiner.EXIT_WEIGHT:g} times as much in its loss", refiner_text(cfg, run, model))
        data = WorldDataset(self.cameos)
        own = model.encode(data.clip(29).frames, data.clip(29).audio, data.background(29), data.meta(29))
        # The slot says the head is in the top-left corner; the face goes where the locator reads it.
        at = slice(cfg.video_numbers - 7, cfg.video_numbers)
        corner = torch.tensor([1.0, 0.05, 0.05, 0.04, 0.0, 0.0, 0.0])
        own[:, at] = (corner - model.mean[at]) / model.std[at]
        plain_frames, _ = model.decode(own)
        faced, _ = model.decode(own, appearance=data.appearance(29))
        self.assertTrue((faced != plain_frames).any())
        heads = model.head(own)
        yy, xx = np.mgrid[0:32, 0:32] + 0.5
        for f in range(cfg.frames):
            changed = (faced[f] != plain_frames[f]).any(-1)
            disc = np.hypot(xx - heads[f, 1] * 32, yy - heads[f, 2] * 32) <= heads[f, 3] * 32 + 1
            self.assertFalse((changed & ~disc).any(), f"frame {f}: the face is painted off the located head")
        with self.assertRaisesRegex(ValueError, "has no head slot to paint a cameo's face on"):
            Model(base_cfg, self.base).decode(torch.zeros(12, base_cfg.token_dim), appearance=data.appearance(0))
        # The bench: on the clips' own tokens (the ceiling) each face comes through; then generated.
        report = self.tmp / "ceiling.json"
        self.assertEqual(cameo_bench_main(["--config", "tiny-cameo", "--run", str(run), "--data", str(self.cameos), "--clips", "2", "--reconstruct", "--threads", "1", "--out", str(report)]), 0)
        ceiling = json.loads(report.read_text())
        self.assertEqual((ceiling["clips"], ceiling["toldApart"], ceiling["tokens"]), (2, 1.0, "the clips' own"))
        # On the clips' own tokens the located head is the clip's, within what 60 steps teach (4.3 px of 32).
        self.assertTrue(ceiling["head"]["located"])
        self.assertLess(ceiling["head"]["medianDistancePx"], 8)
        self.assertEqual(cameo_bench_main(["--config", "tiny-cameo", "--run", str(run), "--data", str(self.cameos), "--clips", "2", "--steps", "2", "--threads", "1", "--out", str(report)]), 0)
        drawn = json.loads(report.read_text())
        self.assertEqual((drawn["clips"], drawn["tokens"]), (2, "generator"))
        self.assertTrue(0 <= drawn["head"]["shownAsInTheClip"] <= 1)
        # Exported, the video decoder takes the face; onnxruntime paints it as PyTorch does.
        model_dir, parity = self.tmp / "model", self.tmp / "parity.json"
        self.assertEqual(export_main(["--config", "tiny-cameo", "--run", str(run), "--out", str(model_dir), "--version", "0.0.1", "--denoiser", "generator", "--parity", str(parity)]), 0)
        graphs = json.loads((model_dir / "manifest.json").read_text())["graphs"]
        self.assertEqual([i["name"] for i in graphs["videoDecoder"]["inputs"]], ["tokens", "appearance", "cameo"])
        self.assertEqual([i["name"] for i in graphs["textEncoder"]["inputs"]], ["ids", "mask"])
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-4"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertNotIn("temperature", json.loads((model_dir / "manifest.json").read_text())["sampler"])
        # Its case has two balls over each other, which the decoders move apart (slots.separate_balls).
        case = json.loads(parity.read_text())["videoDecoder"]["inputs"]["tokens"]
        raw = torch.tensor(case["data"]).reshape(case["shape"]) * model.std + model.mean
        drawn = raw[:, cfg.video_ae.latent_numbers : cfg.video_numbers].reshape(2, cfg.slot_count, SLOT_NUMBERS)
        apart = track_refiner.painted_slots(cfg, drawn, model.refiner)
        kept = track_refiner.painted_slots(replace(cfg, separate_balls=False), drawn, model.refiner)
        gap = lambda s: (s[:, 0, 1:3] - s[:, 1, 1:3]).norm(dim=-1)  # noqa: E731
        self.assertTrue((gap(kept) < kept[:, 0, 3] + kept[:, 1, 3] - 0.005).all())
        torch.testing.assert_close(gap(apart), apart[:, 0, 3] + apart[:, 1, 3], atol=1e-4, rtol=0)
        self.check_temperature(run, tsx)
        # The card says how cameos work here, where the data came from, and where the head lands.
        from zoetrope.model_card import main as model_card_main

        evals = self.tmp / "evals"
        evals.mkdir()
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(model_card_main(["--config", "tiny-cameo", "--run", str(run), "--model", str(model_dir), "--evals", str(evals), "--data", str(self.plain), "--denoiser", "generator", "--cameo", str(report)]), 0)
        card = (model_dir / "MODEL_CARD.md").read_text()
        self.assertIn("**Cameos, as a slot**", card)
        self.assertIn("adds 30 clips whose figure wears a random face (`npm run world -- export --cameos --background`, seeds 6161–6190)", card)
        self.assertIn("The head: in ", card)
        self.assertIn("The face goes where the frame's own latent draws the head", card)
        self.assertIn("The face is painted on the located head; the generated head slot is a median", card)
        self.assertNotIn("each new block starts as the identity", card)


class Recovery(unittest.TestCase):
    """A run rebuilt from a shipped model folder (recover.py): every weight its graphs hold, read back
    so that they re-export to the same bytes; the encoders refit to the decoders, or brought back with
    the teacher from the model's rest. tiny-cameo here, shipped as the Draft ships: its student."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="zoetrope-recover-"))
        cls.plain, cls.cameos = cls.tmp / "plain", cls.tmp / "cameos"
        export_world(cls.plain, clips=6, seed=4242, background=True, bare=True)
        export_world(cls.cameos, clips=6, seed=6161, background=True, cameos=True, bare=True)
        cls.base, cls.trained = cls.tmp / "base", cls.tmp / "trained"
        for stage, steps in (("video-ae", 3), ("audio-ae", 2), ("encode", 0), ("generator", 3), ("pairs", 0), ("student", 2)):
            assert cls.train("tiny", stage, cls.base, steps, "--data", str(cls.plain)) == 0, stage
        assert cls.train("tiny-cameo", "encode", cls.trained, 0, "--data", str(cls.plain), "--data", str(cls.cameos), "--base", str(cls.base)) == 0
        for stage, steps in (("head-locator", 4), ("track-refiner", 4), ("sound-refiner", 4), ("generator", 2), ("pairs", 0), ("student", 2)):
            assert cls.train("tiny-cameo", stage, cls.trained, steps) == 0, stage
        cls.model = cls.tmp / "model"
        assert export_main(["--config", "tiny-cameo", "--run", str(cls.trained), "--out", str(cls.model), "--id", "zoetrope-tiny", "--version", "0.0.1", "--denoiser", "student", "--steps", "2", "--guidance", "1"]) == 0

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @staticmethod
    def train(config: str, stage: str, run: Path, steps: int = 0, *extra: str) -> int:
        args = ["--config", config, "--stage", stage, "--run", str(run), "--threads", "1", "--quiet", *extra]
        return train_main(args + (["--steps", str(steps)] if steps else []))

    @staticmethod
    def recover(*args: str) -> tuple[int, str]:
        from zoetrope.recover import main as recover_main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = recover_main(list(args))
        return code, out.getvalue() + err.getvalue()

    @staticmethod
    def rounded(state: dict) -> dict:
        """A state dict as the float16 export stores it (export.round_weights_to_float16)."""
        return {k: v.half().float() if v.is_floating_point() and v.numel() * 4 >= 4096 else v for k, v in state.items()}

    def assert_states_equal(self, got: dict, want: dict) -> None:
        self.assertEqual(sorted(got), sorted(want))
        for k, v in want.items():
            self.assertTrue(torch.equal(got[k], v), k)

    def test_the_shipped_graphs_restore_a_run_whose_encoders_are_refit(self):
        run = self.tmp / "restored"
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(run))
        self.assertEqual(code, 0, out)
        result = json.loads(out)
        self.assertEqual(result["re_exported_identical"], {"textEncoder": True, "denoiser": True, "videoDecoder": True, "audioDecoder": True})
        self.assertEqual((result["shipped_denoiser"], result["teacher"], result["encoders"]), ("student", None, "untrained"))
        self.assertFalse((run / "generator.pt").exists())
        # The student, the decoders and the locator are the trained ones, as float16 stores them.
        self.assert_states_equal(torch.load(run / "student.pt")["extra"]["ema"], self.rounded(torch.load(self.trained / "student.pt")["extra"]["ema"]))
        self.assert_states_equal(torch.load(run / "head-locator.pt")["extra"]["ema"], self.rounded(torch.load(self.trained / "head-locator.pt")["extra"]["ema"]))
        self.assert_states_equal(torch.load(run / "track-refiner.pt")["extra"]["ema"], self.rounded(torch.load(self.trained / "track-refiner.pt")["extra"]["ema"]))
        self.assert_states_equal(torch.load(run / "sound-refiner.pt")["extra"]["ema"], self.rounded(torch.load(self.trained / "sound-refiner.pt")["extra"]["ema"]))
        # The locator's reach is no weight: the video decoder graph carries it, and the restored checkpoint has it.
        from zoetrope.recover import graph_reach

        self.assertEqual(graph_reach(self.model / "video-decoder.onnx"), 4.0)
        self.assertEqual(torch.load(run / "head-locator.pt")["extra"]["reach"], 4.0)
        # A model card made from this run says its stage logs start at the restore, and where the rest is.
        from zoetrope.model_card import restored_text

        self.assertIn("rebuilt from zoetrope-tiny 0.0.1's graphs", restored_text(run))
        self.assertIn("in the history of `model-shards/zoetrope-tiny/MODEL_CARD.md`", restored_text(run))
        for stage in ("video-ae", "audio-ae"):
            decoder = lambda state: {k: v for k, v in state.items() if k.startswith("decoder.")}  # noqa: E731
            self.assert_states_equal(decoder(torch.load(run / f"{stage}.pt")["model"]), self.rounded(decoder(torch.load(self.base / f"{stage}.pt")["model"])))
        for k in ("mean", "std"):
            np.testing.assert_array_equal(np.load(run / "token-stats.npz")[k], np.load(self.trained / "token-stats.npz")[k])
        self.assertEqual((run / "tokenizer.json").read_bytes(), (self.trained / "tokenizer.json").read_bytes())
        # Until the encoders are fitted, nothing encodes with them, and there is no rest to pack.
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-cameo", "encode", run, 0, "--data", str(self.plain)), 2)
        self.assertIn("was restored from a shipped model without its encoders: fit them first with --stage refit-encoders", err.getvalue())
        code, out = self.recover("pack", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(run), "--out", str(self.tmp / "never.npz"))
        self.assertEqual(code, 2)
        self.assertIn("encoders are not fitted yet", out)
        # Refit: the encoders learn, the decoders stay bit for bit.
        decoders = {s: torch.load(run / f"{s}.pt")["model"] for s in ("video-ae", "audio-ae")}
        self.assertEqual(self.train("tiny-cameo", "refit-encoders", run, 6, "--data", str(self.plain), "--data", str(self.cameos)), 0)
        for stage in ("video-ae", "audio-ae"):
            ckpt = torch.load(run / f"{stage}.pt")
            self.assertEqual((ckpt["config"], ckpt["extra"]["encoder"], ckpt["step"]), ("tiny", "refit", 6 if stage == "video-ae" else 2))
            for k, v in decoders[stage].items():
                if k.startswith("decoder."):
                    self.assertTrue(torch.equal(ckpt["model"][k], v), k)
        events = [json.loads(line) for line in (run / "refit-encoders.log.jsonl").read_text().splitlines()]
        self.assertLessEqual({"val_psnr", "val_anchor"}, set(next(e for e in events if e["event"] == "end" and e["stage"] == "video-ae")))
        self.assertLessEqual({"val_snr_db", "val_anchor"}, set(next(e for e in events if e["event"] == "end" and e["stage"] == "audio-ae")))
        # The latents the encoders learn to give back: what the shipped student draws for training prompts.
        self.assertEqual(next(e for e in events if e["event"] == "anchors")["clips"], 5 + 5)
        # Encoded, the run keeps the statistics and tokenizer the shipped graphs were made with.
        stats = (run / "token-stats.npz").read_bytes()
        self.assertEqual(self.train("tiny-cameo", "encode", run, 0, "--data", str(self.plain), "--data", str(self.cameos)), 0)
        self.assertEqual((run / "token-stats.npz").read_bytes(), stats)
        self.assertEqual(np.load(run / "tokens.npy").shape, np.load(self.trained / "tokens.npy").shape)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-cameo", "refit-encoders", self.trained, 6, "--data", str(self.plain)), 2)
        self.assertIn("has the encoder its decoder was trained with: there is nothing to refit", err.getvalue())

    def test_the_rest_brings_back_the_teacher_and_the_encoders(self):
        rest = self.tmp / "rest.npz"
        code, out = self.recover("pack", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(self.trained), "--out", str(rest))
        self.assertEqual(code, 0, out)
        self.assertEqual((json.loads(out)["parts"], json.loads(out)["encoders"]), (["audio-encoder", "generator", "video-encoder"], "trained"))
        run = self.tmp / "from-rest"
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(run), "--rest", str(rest))
        self.assertEqual(code, 0, out)
        self.assertEqual(json.loads(out)["encoders"], "trained")
        teacher = torch.load(self.trained / "generator.pt")
        restored = torch.load(run / "generator.pt")
        self.assertEqual(restored["step"], teacher["step"])
        self.assert_states_equal(restored["extra"]["ema"], self.rounded(teacher["extra"]["ema"]))
        for stage in ("video-ae", "audio-ae"):
            encoder = lambda state: {k: v for k, v in state.items() if k.startswith("encoder.")}  # noqa: E731
            self.assert_states_equal(encoder(torch.load(run / f"{stage}.pt")["model"]), self.rounded(encoder(torch.load(self.base / f"{stage}.pt")["model"])))
        # The teacher trains on from the restored checkpoint (a fresh optimiser).
        self.assertEqual(self.train("tiny-cameo", "encode", run, 0, "--data", str(self.plain), "--data", str(self.cameos)), 0)
        self.assertEqual(self.train("tiny-cameo", "generator", run, teacher["step"] + 1), 0)
        self.assertEqual(torch.load(run / "generator.pt")["step"], teacher["step"] + 1)
        # Without a rest, the encoders can come from a run whose encoders made the model's tokens
        # (Pro's are the Draft's): as they are there, not rounded.
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(self.tmp / "encoders-from"), "--encoders-from", str(self.trained))
        self.assertEqual(code, 0, out)
        self.assertEqual(json.loads(out)["encoders"], "trained")
        for stage in ("video-ae", "audio-ae"):
            self.assert_states_equal(torch.load(self.tmp / "encoders-from" / f"{stage}.pt")["model"], {**torch.load(run / f"{stage}.pt")["model"], **encoder(torch.load(self.base / f"{stage}.pt")["model"])})
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(self.tmp / "both"), "--rest", str(rest), "--encoders-from", str(self.trained))
        self.assertEqual(code, 2)
        self.assertIn("has the encoders already: pass --encoders-from only without one", out)
        # A rest restores beside its own model only; a run folder is never restored over.
        other = self.tmp / "other-model"
        shutil.copytree(self.model, other)
        manifest = json.loads((other / "manifest.json").read_text())
        (other / "manifest.json").write_text(json.dumps({**manifest, "version": "0.0.2"}, indent=2) + "\n")
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(other), "--run", str(self.tmp / "mismatch"), "--rest", str(rest))
        self.assertEqual(code, 2)
        self.assertIn("belongs to zoetrope-tiny 0.0.1, not to the model folder given", out)
        code, out = self.recover("restore", "--config", "tiny-cameo", "--model", str(self.model), "--run", str(run), "--rest", str(rest))
        self.assertEqual(code, 2)
        self.assertIn("is not empty: restore into a new --run folder", out)
        code, out = self.recover("restore", "--config", "tiny", "--model", str(self.model), "--run", str(self.tmp / "wrong-config"))
        self.assertEqual(code, 2)
        self.assertIn("pass the config it was trained with", out)

    # Boxes planned (draft-plan; tiny-plan here): the cameo run's teacher and student as they are, and a
    # planner that sets the box slots from the prompt and the clip the student draws.
    def test_planned_boxes_sample_export_and_restore(self):
        from zoetrope.box_planner import PlannedDenoiser, box_numbers, without_boxes
        from zoetrope.evaluate import Model
        from zoetrope.generator import sample

        cfg = get_config("tiny-plan")
        run = self.tmp / "plan"
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-plan", "encode", run, 0, "--data", str(self.plain), "--data", str(self.cameos), "--base", str(self.base)), 2)
        self.assertIn(f"--base {self.base} makes frame tokens of {get_config('tiny').token_dim} numbers; config tiny-plan builds on a tiny-cameo run", err.getvalue())
        self.assertEqual(self.train("tiny-plan", "encode", run, 0, "--data", str(self.plain), "--data", str(self.cameos), "--base", str(self.trained)), 0)
        # The teacher and student are the base run's, byte for byte; the tokens are the base's with the boxes put in.
        for stage in ("generator", "student"):
            self.assertEqual((run / f"{stage}.pt").read_bytes(), (self.trained / f"{stage}.pt").read_bytes())
        tokens = torch.from_numpy(np.load(run / "tokens.npy").astype(np.float32))
        self.assertTrue(torch.equal(without_boxes(cfg, tokens), torch.from_numpy(np.load(self.trained / "tokens.npy").astype(np.float32))))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-cameo", "box-planner", self.trained, 2), 2)
        self.assertIn("config tiny-cameo does not plan its boxes", err.getvalue())
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-plan", "student", run, 2), 2)
        self.assertIn("config tiny-plan samples with its base run's teacher and student as they are", err.getvalue())
        self.assertEqual(self.train("tiny-plan", "box-planner", run, 6), 0)
        # Until the video-bare stage has run, the planned config's decoder is missing, by name.
        with self.assertRaisesRegex(ValueError, "has no video-bare checkpoint: config tiny-plan paints its background without boxes"):
            Model(cfg, run, "student")
        self.video_bare(run)
        events = [json.loads(line) for line in (run / "box-planner.log.jsonl").read_text().splitlines()]
        self.assertLessEqual({"val_mse", "val_count_right", "val_median_px"}, set(next(e for e in events if e["event"] == "end")))
        # Its colour branch learnt first, alone, from prompts the world sampled without rendering; then kept as it learnt.
        colours = next(e for e in events if e["event"] == "colours")
        self.assertGreater(colours["prompts"], 0)
        self.assertFalse((run / "planner-prompts-0.jsonl").exists())
        first = torch.load(run / "box-planner.pt")["model"]
        self.assertEqual(self.train("tiny-plan", "box-planner", run, 8), 0)
        then = torch.load(run / "box-planner.pt")["model"]
        self.assertTrue(all(torch.equal(first[k], then[k]) for k in first if k.startswith(("queries", "colour_"))))
        self.assertFalse(all(torch.equal(first[k], then[k]) for k in first if k.startswith("blocks.")))
        # Sampled, the last step ends on the planner's boxes for the clip the student drew.
        model = Model(cfg, run, "student")
        self.assertIsInstance(model.generator, PlannedDenoiser)
        ids, mask = model.tokenizer.batch(["a stack of three red crates stands nearby and a blue ball bounces", "a green ball falls"])
        noise = torch.stack([initial_noise(cfg, s) for s in (3, 4)])
        x = sample(model.generator, ids, mask, noise, 2, 1.0)
        self.assertEqual(x.shape, (2, cfg.frames, cfg.token_dim))
        rest = without_boxes(cfg, x)
        with torch.no_grad():
            text, pooled, text_mask = model.generator.encode_text(ids, mask)
            plan = model.generator.planner(rest, text, pooled, text_mask)
            alone = sample(model.generator.generator, ids, mask, torch.cat([noise[..., : cfg.boxes_at], noise[..., box_numbers(cfg).stop :]], dim=-1), 2, 1.0)
        torch.testing.assert_close(x[..., box_numbers(cfg)], plan, atol=1e-4, rtol=1e-4)
        # The rest is what the student draws alone from the same noise.
        torch.testing.assert_close(rest, alone, atol=1e-5, rtol=1e-5)
        # Exported with its student, the denoiser graph plans the boxes; onnxruntime agrees with PyTorch.
        # The box slots' velocity is (x − plan) / t in normalised numbers, and the tiny run's few boxes
        # give their colours a small spread: it reaches about 10⁴, where float32 alone rounds by 10⁻³.
        model_dir, parity = self.tmp / "plan-model", self.tmp / "plan-parity.json"
        self.assertEqual(export_main(["--config", "tiny-plan", "--run", str(run), "--out", str(model_dir), "--id", "zoetrope-tiny-plan", "--version", "0.0.1", "--denoiser", "student", "--steps", "2", "--guidance", "1", "--parity", str(parity)]), 0)
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        checked = subprocess.run([str(tsx), "scripts/onnx-parity.ts", "--model", str(model_dir), "--parity", str(parity), "--tolerance", "1e-2"], cwd=REPO, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        # Restored from its graphs and rest: the student and the planner come back, and re-export byte for byte.
        rest_file = self.tmp / "plan-rest.npz"
        code, out = self.recover("pack", "--config", "tiny-plan", "--model", str(model_dir), "--run", str(run), "--out", str(rest_file))
        self.assertEqual(code, 0, out)
        restored = self.tmp / "plan-restored"
        code, out = self.recover("restore", "--config", "tiny-plan", "--model", str(model_dir), "--run", str(restored), "--rest", str(rest_file))
        self.assertEqual(code, 0, out)
        result = json.loads(out)
        self.assertEqual(set(result["re_exported_identical"].values()), {True})
        self.assertEqual(result["generator_weights_no_graph_uses"], [])
        self.assert_states_equal(torch.load(restored / "student.pt")["extra"]["ema"], self.rounded(torch.load(run / "student.pt")["extra"]["ema"]))
        self.assert_states_equal(torch.load(restored / "box-planner.pt")["extra"]["ema"], self.rounded(torch.load(run / "box-planner.pt")["extra"]["ema"]))
        self.assert_states_equal(torch.load(restored / "generator.pt")["extra"]["ema"], self.rounded(torch.load(run / "generator.pt")["extra"]["ema"]))
        # A restored run holds no tokens for the parity case's head: exporting it with --parity is
        # refused by name before a file is written, and the model folder keeps what it holds.
        before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(export_main(["--config", "tiny-plan", "--run", str(restored), "--out", str(model_dir), "--id", "zoetrope-tiny-plan", "--version", "0.0.2", "--parity", str(self.tmp / "restored-parity.json")]), 2)
        self.assertIn(f"{restored} has no tokens.npy: the parity case paints a face on a head from the run's own clips", err.getvalue())
        self.assertEqual({p.name: p.read_bytes() for p in model_dir.iterdir()}, before)
        # The graph's decoder is the video-bare stage's; the shared one it was taught from comes back from the rest.
        self.assertEqual(result["shared_decoder"], "the rest")
        self.assert_states_equal(torch.load(restored / "video-bare.pt")["model"], self.rounded(torch.load(run / "video-bare.pt")["model"]))
        shared = lambda r: {k: v for k, v in torch.load(r / "video-ae.pt")["model"].items() if k.startswith("decoder.")}  # noqa: E731
        self.assert_states_equal(shared(restored), self.rounded(shared(run)))

    def video_bare(self, run: Path) -> None:
        """The video-bare stage on the planned run: refused where it does not belong, then trained."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(self.train("tiny-cameo", "video-bare", self.trained, 2, "--data", str(self.plain)), 2)
            self.assertEqual(self.train("tiny-plan", "video-bare", run, 2), 2)
        self.assertIn("config tiny-cameo paints its background as the latent draws it: it has no video-bare stage", err.getvalue())
        self.assertIn("--stage video-bare needs --data", err.getvalue())
        shared_before = (run / "video-ae.pt").read_bytes()
        self.assertEqual(self.train("tiny-plan", "video-bare", run, 30, "--data", str(self.plain), "--data", str(self.cameos)), 0)
        events = [json.loads(line) for line in (run / "video-bare.log.jsonl").read_text().splitlines()]
        baseline, end = next(e for e in events if e["event"] == "baseline"), next(e for e in events if e["event"] == "end")
        # It learns to leave the boxes out: frames with boxes come closer to the bare layer.
        self.assertGreater(end["val_psnr_boxed"], baseline["val_psnr_boxed"])
        # The shared decoder stays as it was; the stage's own is another.
        self.assertEqual((run / "video-ae.pt").read_bytes(), shared_before)
        bare = torch.load(run / "video-bare.pt")["model"]
        shared = torch.load(run / "video-ae.pt")["model"]
        self.assertFalse(all(torch.equal(v, shared[f"decoder.{k}"]) for k, v in bare.items()))

    def test_the_teacher_is_read_back_from_the_generator_grown_from_it(self):
        from zoetrope.generator import FlowGenerator, grow
        from zoetrope.recover import RecoveryError, ungrow_teacher

        cfg, pro_cfg = get_config("tiny-cameo"), get_config("tiny-pro")
        vocab = len(json.loads((self.trained / "tokenizer.json").read_text())["vocab"])
        teacher = torch.load(self.trained / "generator.pt")["extra"]["ema"]
        pro = FlowGenerator(pro_cfg.generator, vocab)
        pro.load_state_dict(grow(teacher, cfg.generator, pro_cfg.generator, vocab))
        self.assert_states_equal(ungrow_teacher(pro, cfg), teacher)
        with torch.no_grad():
            pro.pos[:, cfg.frames :] += 0.01  # its later frames trained (Pro 0.3.0)
        with self.assertRaisesRegex(RecoveryError, "has trained its later frames' embeddings"):
            ungrow_teacher(pro, cfg)


class RestoredRunMinutes(unittest.TestCase):
    def test_a_stage_taken_in_from_the_base_config_is_named_by_it(self):
        from zoetrope.model_card import restored_minutes

        run = Path(tempfile.mkdtemp(prefix="zoetrope-restored-"))
        self.addCleanup(shutil.rmtree, run)
        log = lambda stage, config, seconds: (run / f"{stage}.log.jsonl").write_text(  # noqa: E731
            json.dumps({"time": 1000.0, "event": "start", "stage": stage, "config": config}) + "\n" + json.dumps({"time": 1000.0 + seconds, "event": "end", "stage": stage}) + "\n"
        )
        # Pro's run, restored, with the Draft's track refiner (and its log) beside it, and stages of its own.
        log("track-refiner", "draft-cameo", 42)
        log("generator", "pro", 600)
        log("refit-encoders", "draft", 60)  # its own stage, though it runs the root config's autoencoder loops
        (run / "encode.log.jsonl").write_text(json.dumps({"time": 5.0, "event": "end", "stage": "encode", "elapsed_s": 30}) + "\n")
        self.assertEqual(restored_minutes(run, "pro"), {"pro encode": 0.5, "pro generator": 10.0, "pro refit-encoders": 1.0, "draft-cameo track-refiner": 0.7})

    def test_what_a_restored_run_has_no_log_of_is_pointed_to_not_guessed(self):
        from zoetrope.model_card import restored_card, trained_only_text

        run = Path(tempfile.mkdtemp(prefix="zoetrope-restored-"))
        self.addCleanup(shutil.rmtree, run)
        self.assertIsNone(restored_card(run))
        self.assertEqual(trained_only_text(run), "")  # a run trained here, with no such log: nothing to say
        (run / "recovered.json").write_text(json.dumps({"model": "zoetrope-pro", "version": "0.6.1"}))
        self.assertEqual(restored_card(run), "zoetrope-pro 0.6.1's card")
        self.assertIn("is in zoetrope-pro 0.6.1's card, whose graphs this run was restored from", trained_only_text(run))


class ShippedModelsRestore(unittest.TestCase):
    """The shipped Draft and Pro rebuild their training runs from their graphs and the rests committed
    beside them (model-shards/checkpoints): a change to a graph's code that no longer exports the
    shipped files, or a rest that no longer fits its model, fails here rather than on the next
    machine that needs the run."""

    def test_each_shipped_model_restores_byte_for_byte_with_its_rest(self):
        from zoetrope.recover import main as recover_main

        tmp = Path(tempfile.mkdtemp(prefix="zoetrope-shipped-"))
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        for config, name, teacher in (("draft-plan", "zoetrope-draft", "the rest"), ("pro", "zoetrope-pro", "shipped")):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(recover_main(["restore", "--config", config, "--model", str(REPO / "model-shards" / name), "--run", str(tmp / name)]), 0)
            result = json.loads(out.getvalue())
            self.assertEqual(result["re_exported_identical"], {"textEncoder": True, "denoiser": True, "videoDecoder": True, "audioDecoder": True}, name)
            self.assertTrue(result["teacher"].startswith(teacher), result["teacher"])
            self.assertEqual(result["encoders"], "refit")
            self.assertEqual(result["generator_weights_no_graph_uses"], [])
            self.assertEqual(sorted(p.name for p in (tmp / name).glob("*.pt")), sorted(["audio-ae.pt", "video-ae.pt", "head-locator.pt", "generator.pt"] + ["track-refiner.pt", "sound-refiner.pt"] + (["student.pt", "box-planner.pt", "video-bare.pt"] if name == "zoetrope-draft" else ["video-upscale.pt"])))
            # The Draft's graph paints without boxes; the shared decoder it was taught from is the rest's.
            self.assertEqual(result.get("shared_decoder"), "the rest" if name == "zoetrope-draft" else None)


class Seam(unittest.TestCase):
    """zoetrope.seam: a clip that replays its first half, told from one that goes on."""

    def test_a_replayed_half_and_its_jump_are_found(self):
        from zoetrope.evaluate import write_dataset
        from zoetrope.seam import clip_seam, folder_seam, main as seam_main

        folder = Path(tempfile.mkdtemp(prefix="zoetrope-seam-"))
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)

        cfg = get_config("tiny")
        T, S = cfg.frames, cfg.size
        xx = np.arange(S, dtype=np.float32)
        # A bright bar that slides right a pixel a frame, all clip long; then the same with its second half replaying the first.
        going = np.stack([np.broadcast_to(((np.abs(xx - 4 - t) < 3) * 200)[None, :, None], (S, S, 3)) for t in range(T)]).astype(np.uint8)
        replaying = np.concatenate([going[: T // 2], going[: T // 2]])
        silence = np.zeros(int(cfg.sample_rate * cfg.duration_s), dtype=np.int16)
        write_dataset(folder, cfg, [(going, silence, {"index": 0}), (replaying, silence, {"index": 1})], "zoetrope-model")
        go_ratio, go_jump = clip_seam(going, T // 2)
        re_ratio, re_jump = clip_seam(replaying, T // 2)
        self.assertGreater(go_ratio, 1.0)
        self.assertEqual(re_ratio, 0.0)
        self.assertAlmostEqual(go_jump, 1.0, places=2)
        self.assertGreater(re_jump, 4)  # back 5 pixels at once (10 columns change), where every other frame moves 1 (2 change)
        report = folder_seam(folder)
        self.assertEqual((report["clips"], report["half"], report["replayingShare"], report["seamJumpOver3Share"]), (2, T // 2, 0.5, 0.5))
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            self.assertEqual(seam_main([str(folder), "--half", str(T // 2 + 1)]), 2)
            self.assertEqual(seam_main([str(folder / "missing")]), 2)
        self.assertIn(f"--half {T // 2 + 1}: ", err.getvalue())
        self.assertIn(f"so half must be 2–{T // 2}", err.getvalue())
        self.assertIn("holds no index.json", err.getvalue())


class DraftPipeline(unittest.TestCase):
    """`npm run train:draft` orchestrates three hours of stages; each stage is tested above, so here
    the commands are recorded instead of run: their order, what ships, and a rerun after a stop."""

    def test_students_run_reflow_then_progressive_and_a_rerun_skips_what_was_done(self):
        from zoetrope import pipeline

        work = Path(tempfile.mkdtemp(prefix="zoetrope-pipeline-"))
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        for name in ("data", "cameo-data"):
            (work / name).mkdir()
            (work / name / "index.json").write_text("{}")
        calls: list[list[str]] = []
        stop_at: list[str] = []

        def record(cmd: list[str], **env: str) -> None:
            if stop_at and stop_at[0] in " ".join(cmd):
                raise SystemExit("stopped")
            calls.append(cmd)
            if "--out" in cmd and ("zoetrope.evaluate" in cmd or "zoetrope.cameo_bench" in cmd):
                out = Path(cmd[cmd.index("--out") + 1])
                report = out / "judgement.json" if "zoetrope.evaluate" in cmd else out
                report.parent.mkdir(parents=True, exist_ok=True)
                report.write_text(json.dumps({"passRate": {}}))

        def stages() -> list[str]:
            return [" ".join([c[c.index("--stage") + 1], *c[c.index("--method") : c.index("--method") + 2]] if "--method" in c else [c[c.index("--stage") + 1]]) for c in calls if "zoetrope.train" in c]

        stop_at.append("--method progressive")
        with unittest.mock.patch.object(pipeline, "run", record), self.assertRaises(SystemExit):
            pipeline.main(["--work", str(work), "--out", str(work / "model")])
        self.assertEqual(stages(), ["video-ae", "audio-ae", "encode", "generator", "pairs", "student --method reflow"])
        ledger = json.loads((work / "pipeline-done.json").read_text())
        self.assertEqual(list(ledger), ["base video-ae", "base audio-ae", "base encode", "base generator", "base pairs", "base student --method reflow"])
        # Run again: only the interrupted stage and what follows it.
        calls.clear()
        stop_at.clear()
        printed = io.StringIO()
        with unittest.mock.patch.object(pipeline, "run", record), contextlib.redirect_stdout(printed):
            self.assertEqual(pipeline.main(["--work", str(work), "--out", str(work / "model")]), 0)
        self.assertEqual(stages(), ["student --method progressive", "encode", "head-locator", "generator", "pairs", "student --method progressive", "track-refiner", "sound-refiner", "encode", "box-planner", "video-bare"])
        # The minutes of both invocations add up: every step of the first is still in the ledger.
        ledger = json.loads((work / "pipeline-done.json").read_text())
        self.assertEqual(len(ledger), 6 + 1 + 7 + 3 + 3 + 2 * 7 + 1 + 1)
        self.assertTrue(all(isinstance(m, float) and m >= 0 for m in ledger.values()))
        report = json.loads(printed.getvalue())
        self.assertEqual((report["minutes"], sorted(report["steps"])), (round(sum(ledger.values()), 1), sorted(ledger)))
        # The cameo run is one run of both datasets built on the base run.
        cameo = [c for c in calls if "zoetrope.train" in c and c[c.index("--run") + 1] == str(work / "cameo-run")]
        self.assertEqual(len(cameo), 7)
        self.assertTrue(all(c[c.index("--config") + 1] == "draft-cameo" for c in cameo))
        encode = cameo[0]
        self.assertEqual([encode[i + 1] for i, a in enumerate(encode) if a == "--data"], [str(work / "data"), str(work / "cameo-data")])
        self.assertEqual(encode[encode.index("--base") + 1], str(work / "run"))
        # The planned run builds on the cameo run (its teacher and student as they are), and it is what ships.
        planned = [c for c in calls if "zoetrope.train" in c and c[c.index("--run") + 1] == str(work / "plan-run")]
        self.assertEqual([(c[c.index("--config") + 1], c[c.index("--stage") + 1]) for c in planned], [("draft-plan", "encode"), ("draft-plan", "box-planner"), ("draft-plan", "video-bare")])
        self.assertEqual(planned[0][planned[0].index("--base") + 1], str(work / "cameo-run"))
        # Its decoder learns the bare layer of both datasets, which the data export writes.
        self.assertEqual([planned[2][i + 1] for i, a in enumerate(planned[2]) if a == "--data"], [str(work / "data"), str(work / "cameo-data")])
        self.assertNotIn("--base", planned[2])
        # The cameo bench draws every held-out cameo clip (it takes at most the held-out share).
        cameo_bench = next(c for c in calls if "zoetrope.cameo_bench" in c)
        self.assertEqual(cameo_bench[cameo_bench.index("--clips") + 1], "3000")
        self.assertEqual(cameo_bench[cameo_bench.index("--run") + 1], str(work / "plan-run"))
        export = next(c for c in calls if "zoetrope.export" in c)
        self.assertEqual((export[export.index("--config") + 1], export[export.index("--run") + 1], export[export.index("--id") + 1]), ("draft-plan", str(work / "plan-run"), "zoetrope-draft"))
        self.assertEqual(export[export.index("--denoiser") :][:6], ["--denoiser", "student", "--steps", "4", "--guidance", "1.0"])
        # Beside the model, what its graphs do not hold (the teacher, the encoders): training resumes from it.
        rest = next(c for c in calls if "zoetrope.recover" in c)
        self.assertEqual(rest[rest.index("zoetrope.recover") + 1 :], ["pack", "--config", "draft-plan", "--model", str(work / "model"), "--run", str(work / "plan-run")])
        benches = [c for c in calls if "zoetrope.evaluate" in c or "zoetrope.cameo_bench" in c]
        self.assertTrue(all(c[c.index("--run") + 1] == str(work / "plan-run") for c in benches))
        # The model card's rows: the real clips, the ceiling, the teacher, the student at 1, 2, 4 and 8 steps.
        arg = lambda c, name: c[c.index(name) + 1]  # noqa: E731
        benched = [Path(arg(c, "--out")).name for c in calls if "zoetrope.evaluate" in c]
        self.assertEqual(sorted(benched), sorted(["teacher-8", "student-4", "ground-truth", "reconstruction", "student-1", "student-2", "student-8"]))
        card = next(c for c in calls if "zoetrope.model_card" in c)
        self.assertEqual((arg(card, "--run"), arg(card, "--denoiser"), arg(card, "--cameo"), arg(card, "--evals")), (str(work / "plan-run"), "student", str(work / "eval" / "cameo.json"), str(work / "eval")))
        # Run once more after it finished: nothing trains and nothing is benched again; the export,
        # its parity check, its rest and the card are written again (the export goes to --out).
        calls.clear()
        with unittest.mock.patch.object(pipeline, "run", record), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(pipeline.main(["--work", str(work), "--out", str(work / "model")]), 0)
        self.assertEqual([next(m for m in ("zoetrope.export", "onnx-parity.ts", "zoetrope.recover", "zoetrope.model_card") if any(m in a for a in c)) for c in calls], ["zoetrope.export", "onnx-parity.ts", "zoetrope.recover", "zoetrope.model_card"])
        # A stage that trains again makes every bench stale.
        del ledger["cameo student --method progressive"]
        (work / "pipeline-done.json").write_text(json.dumps(ledger))
        calls.clear()
        with unittest.mock.patch.object(pipeline, "run", record), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(pipeline.main(["--work", str(work), "--out", str(work / "model")]), 0)
        self.assertEqual(stages(), ["student --method progressive"])
        self.assertEqual(len([c for c in calls if "zoetrope.evaluate" in c]), 7)
        with self.assertRaisesRegex(SystemExit, "--notes .* is not a file"):
            pipeline.main(["--work", str(work), "--notes", str(work / "missing.md")])

    def test_pro_builds_on_the_draft_run_and_is_judged_on_held_out_seeds_at_its_size(self):
        from zoetrope import pipeline

        work = Path(tempfile.mkdtemp(prefix="zoetrope-pipeline-"))
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        with self.assertRaisesRegex(SystemExit, "Pro builds on the Draft's trained cameo run"):
            pipeline.main(["--config", "pro", "--work", str(work)])
        (work / "cameo-run").mkdir()
        for name in ("generator.pt", "video-ae.pt"):
            (work / "cameo-run" / name).write_bytes(b"")
        calls: list[list[str]] = []

        def record(cmd: list[str], **env: str) -> None:
            calls.append(cmd)
            if "model-shards/world/cli.ts" in cmd and "export" in cmd:
                out = Path(cmd[cmd.index("--out") + 1])
                out.mkdir(parents=True)
                (out / "index.json").write_text("{}")
            if "zoetrope.evaluate" in cmd or "zoetrope.cameo_bench" in cmd:
                out = Path(cmd[cmd.index("--out") + 1])
                report = out / "judgement.json" if "zoetrope.evaluate" in cmd else out
                report.parent.mkdir(parents=True, exist_ok=True)
                report.write_text(json.dumps({"passRate": {}}))

        notes = work / "notes.md"
        notes.write_text("## Known failure modes\n")
        with unittest.mock.patch.object(pipeline, "run", record), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(pipeline.main(["--config", "pro", "--work", str(work), "--out", str(work / "model"), "--notes", str(notes)]), 0)
        arg = lambda c, name: c[c.index(name) + 1]  # noqa: E731
        exports = [c for c in calls if "export" in c and "model-shards/world/cli.ts" in c]
        self.assertEqual([(arg(c, "--size"), arg(c, "--duration"), arg(c, "--seed"), "--cameos" in c) for c in exports], [("128", "4", "500000", False), ("256", "4", "500000", False), ("256", "4", "503040", False), ("256", "4", "302850", True)])
        train = [c for c in calls if "zoetrope.train" in c]
        self.assertEqual([arg(c, "--stage") for c in train], ["encode", "video-upscale", "generator"])
        self.assertEqual((arg(train[0], "--base"), arg(train[0], "--data")), (str(work / "cameo-run"), str(work / "pro-data")))
        self.assertEqual(arg(train[1], "--data"), str(work / "pro-data-256"))
        # The grown generator learns its new frames' embeddings alone.
        self.assertEqual((arg(train[2], "--train-only"), arg(train[2], "--lr"), arg(train[2], "--minutes")), ("pos", "1e-3", "40"))
        # Every bench row is the same 100 held-out seeds at 256²: the real clips, the decoders' ceiling, the model.
        benched = [c for c in calls if "zoetrope.evaluate" in c]
        self.assertEqual([Path(arg(c, "--out")).name for c in benched], ["ground-truth", "reconstruction", "teacher-16"])
        self.assertTrue(all(arg(c, "--data") == str(work / "pro-eval-256") and "--all-clips" in c for c in benched))
        export = next(c for c in calls if "zoetrope.export" in c)
        self.assertEqual(export[export.index("--denoiser") :][:6], ["--denoiser", "generator", "--steps", "16", "--guidance", "1.5"])
        # Unless told otherwise, it writes the version that ships.
        self.assertEqual(arg(export, "--version"), json.loads((REPO / "model-shards" / "zoetrope-pro" / "manifest.json").read_text())["version"])
        # The cameo bench: held-out cameo seeds at 256², drawn with the shipped sampler; its report goes on the card.
        cameo = next(c for c in calls if "zoetrope.cameo_bench" in c)
        self.assertEqual((arg(cameo, "--config"), arg(cameo, "--data"), arg(cameo, "--steps"), "--all-clips" in cameo), ("pro", str(work / "pro-cameo-256"), "16", True))
        card = next(c for c in calls if "zoetrope.model_card" in c)
        self.assertEqual((arg(card, "--cameo"), arg(card, "--notes")), (str(work / "pro-eval" / "cameo.json"), str(notes.resolve())))
        # A rerun after it finished trains nothing again.
        calls.clear()
        with unittest.mock.patch.object(pipeline, "run", record), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(pipeline.main(["--config", "pro", "--work", str(work), "--out", str(work / "model")]), 0)
        self.assertFalse([c for c in calls if "zoetrope.train" in c])
