"""Object slots (slots.py): which ball goes in which slot, what a slot holds, how it is painted; and
the carry round trip that moves a run's tokens to a GPU machine and its weights back."""

import contextlib
import io
import json
import lzma
import shutil
import tempfile
import unittest
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from zoetrope.carry import main as carry_main
from zoetrope.configs import get_config
from zoetrope.slots import SLOT_NUMBERS, TRACK_CONTEXT, ball_order, ball_pixels, box_order, box_slots, clip_slots, composite, composite_boxes, separate_balls, smooth_tracks
from zoetrope.track_refiner import painted_slots


def track(colour: str, material: str, px: float = 10.0, py: float = 12.0, visible: bool = True) -> dict:
    return {"id": f"{colour}-{material}", "material": material, "colour": colour, "px": px, "py": py, "radiusPx": 3.0, "visible": visible}


class BallOrder(unittest.TestCase):
    def test_slots_follow_the_prompt_not_the_scene(self):
        meta = {
            "prompt": "A fuzzy green tennis ball rolls down the ramp. A stack of two red crates. A blue basketball bounces and a bouncy orange ball falls.",
            "tracks": [[track("orange", "rubber ball"), track("blue", "basketball"), track("red", "wooden box"), track("green", "tennis ball")]],
        }
        self.assertEqual(ball_order(meta), [3, 1, 0])

    def test_a_default_colour_left_unsaid_is_found_by_its_material(self):
        meta = {"prompt": "A red basketball rolls, and a tennis ball bounces.", "tracks": [[track("yellow", "tennis ball"), track("red", "basketball")]]}
        self.assertEqual(ball_order(meta), [1, 0])

    def test_same_colour_different_material(self):
        meta = {"prompt": "A blue bowling ball drops. A blue tennis ball bounces.", "tracks": [[track("blue", "tennis ball"), track("blue", "bowling ball")]]}
        self.assertEqual(ball_order(meta), [1, 0])


class ClipSlots(unittest.TestCase):
    def scene(self):
        S, T = 32, 3
        background = np.full((T, S, S, 3), 40, dtype=np.uint8)
        frames = background.copy()
        yy, xx = np.mgrid[0:S, 0:S] + 0.5
        tracks = []
        for f in range(T):
            px, py = 8.0 + 4 * f, 20.0
            frames[f][(xx - px) ** 2 + (yy - py) ** 2 <= 9] = (200, 30, 10)
            tracks.append([track("red", "tennis ball", px, py, visible=f != 2), track("purple", "wooden box")])
        return frames, background, {"index": 0, "prompt": "a red tennis ball", "tracks": tracks}

    def test_position_radius_colour_and_presence(self):
        frames, background, meta = self.scene()
        slots = clip_slots(meta, frames, background, 2)
        self.assertEqual(slots.shape, (3, 2, SLOT_NUMBERS))
        np.testing.assert_allclose(slots[1, 0, :4], [1.0, 12 / 32, 20 / 32, 3 / 32])
        np.testing.assert_allclose(slots[0, 0, 4:], np.array([200, 30, 10]) / 255, atol=1e-6)
        self.assertEqual(slots[2, 0, 0], 0.0)  # out of sight
        self.assertTrue((slots[:, 1] == 0).all())  # an unused slot is all zeros

    def test_a_balls_window_holds_the_pixels_a_whole_frame_mask_would(self):
        # ball_pixels looks only at the window round the ball; the pixels it picks, and their order,
        # must be those of a mask over the whole frame, for balls inside, across the edges and beyond.
        side = 32
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) + 0.5
        values = np.arange(side * side).reshape(side, side)
        rng = np.random.default_rng(3)
        for px, py, radius in [(10.3, 12.7, 3.0), (0.2, 31.9, 4.5), (-2.0, 5.0, 2.6), (35.0, 16.0, 3.0), (16.0, -9.0, 2.0), (7.5, 7.5, 0.4), *rng.uniform([-6, -6, 0.2], [38, 38, 9], (200, 3))]:
            r = max(radius - 0.5, 1.0)
            whole = (xx - px) ** 2 + (yy - py) ** 2 <= r**2
            inside, window = ball_pixels(float(px), float(py), float(radius), side)
            np.testing.assert_array_equal(values[window][inside], values[whole], err_msg=f"ball at ({px}, {py}), radius {radius}")

    def test_more_balls_than_slots_is_refused(self):
        frames, background, meta = self.scene()
        with self.assertRaisesRegex(ValueError, "has 1 balls, the config has 0 slots"):
            clip_slots(meta, frames, background, 0)

    def test_composite_paints_present_discs_and_only_them(self):
        frames, background, meta = self.scene()
        slots = torch.from_numpy(clip_slots(meta, frames, background, 2))
        out = composite(torch.from_numpy(background).float() / 255, slots)
        truth = torch.from_numpy(frames).float() / 255
        # Frames 0 and 1: the disc where the world drew the ball (edges anti-aliased).
        self.assertLess((out[:2] - truth[:2]).abs().mean().item(), 0.01)
        self.assertGreater(out[0, 20, 8, 0].item(), 0.75)
        # Frame 2: the ball is out of sight, so nothing is painted.
        torch.testing.assert_close(out[2], torch.from_numpy(background[2]).float() / 255)


class BoxSlots(unittest.TestCase):
    """Box stacks as slots (Config.boxes): the stack's boxes bottom first, then loose boxes; each box's
    centre, half side, colour and presence; painted as squares."""

    def box(self, id_: str, colour: str, px: float, py: float, half: float = 3.0, visible: bool = True, material: str = "wooden box") -> dict:
        return {"id": id_, "material": material, "colour": colour, "px": px, "py": py, "radiusPx": half, "visible": visible}

    def scene(self):
        S, T = 32, 3
        frames = np.full((T, S, S, 3), 40, dtype=np.uint8)
        tracks = []
        for f in range(T):
            # A stack of two green boxes at x 10 (the lower at y 26, the upper at y 20), a loose red box
            # sliding right, a ball; the upper box falls out of sight in the last frame.
            boxes = [self.box("box-2", "green", 10.0, 20.0, visible=f != 2), self.box("ball-2", "red", 20.0 + f, 26.0), self.box("box-1", "green", 10.0, 26.0)]
            for b in boxes:
                if b["visible"]:
                    frames[f, int(b["py"] - 3) : int(b["py"] + 3), int(b["px"] - 3) : int(b["px"] + 3)] = (30, 200, 60) if b["colour"] == "green" else (210, 20, 20)
            tracks.append([track("blue", "tennis ball", 4.0, 4.0), *boxes])
        return frames, {"index": 7, "prompt": "a blue tennis ball, two green crates stacked up and a red wooden box", "tracks": tracks}

    def test_the_stack_bottom_up_then_loose_boxes(self):
        _, meta = self.scene()
        self.assertEqual(box_order(meta), [3, 1, 2])

    def test_position_half_side_colour_and_presence(self):
        frames, meta = self.scene()
        slots = box_slots(meta, frames, 4)
        self.assertEqual(slots.shape, (3, 4, SLOT_NUMBERS))
        np.testing.assert_allclose(slots[0, 0, :4], [1.0, 10 / 32, 26 / 32, 3 / 32])  # the bottom box first
        np.testing.assert_allclose(slots[1, 2, :4], [1.0, 21 / 32, 26 / 32, 3 / 32])  # the loose box, moving
        np.testing.assert_allclose(slots[0, 0, 4:], np.array([30, 200, 60]) / 255, atol=1e-6)
        np.testing.assert_allclose(slots[0, 2, 4:], np.array([210, 20, 20]) / 255, atol=1e-6)
        self.assertEqual(slots[2, 1, 0], 0.0)  # the upper box out of sight
        np.testing.assert_allclose(slots[2, 1, 4:], slots[0, 1, 4:])  # its colour still the box's
        self.assertTrue((slots[:, 3] == 0).all())  # an unused slot is all zeros
        # After the head's slot in a clip's slots, the balls' first.
        both = clip_slots(meta, frames, frames, 2, head=False, boxes=4)
        self.assertEqual(both.shape, (3, 6, SLOT_NUMBERS))
        np.testing.assert_array_equal(both[:, 2:], slots)

    def test_more_boxes_than_slots_is_refused(self):
        frames, meta = self.scene()
        with self.assertRaisesRegex(ValueError, "clip 7 has 3 boxes, the config has 2 box slots"):
            box_slots(meta, frames, 2)

    def test_composite_paints_shown_squares_the_upper_over_the_lower(self):
        S = 32
        background = torch.full((1, S, S, 3), 0.2)
        boxes = torch.zeros(1, 3, SLOT_NUMBERS)
        boxes[0, 0] = torch.tensor([1.0, 10 / S, 26 / S, 3 / S, 0.1, 0.8, 0.2])
        boxes[0, 1] = torch.tensor([1.0, 10 / S, 22 / S, 3 / S, 0.9, 0.1, 0.1])  # overlaps the lower by 2 px
        boxes[0, 2] = torch.tensor([0.1, 20 / S, 10 / S, 3 / S, 0.0, 0.0, 1.0])  # not shown
        out = composite_boxes(background, boxes)[0]
        torch.testing.assert_close(out[26, 10], torch.tensor([0.1, 0.8, 0.2]))  # inside the lower box
        torch.testing.assert_close(out[24, 10], torch.tensor([0.9, 0.1, 0.1]))  # where they overlap: the upper
        torch.testing.assert_close(out[28, 12], torch.tensor([0.1, 0.8, 0.2]))  # a corner is filled, as a disc's is not
        torch.testing.assert_close(out[10, 20], torch.tensor([0.2, 0.2, 0.2]))  # the hidden box paints nothing
        torch.testing.assert_close(out[26, 14], torch.tensor([0.2, 0.2, 0.2]))  # outside
        # Anti-aliased: a pixel centre on the edge is half covered.
        edge = composite_boxes(background, torch.tensor([[[1.0, 10.5 / S, 10.5 / S, 4.0 / S, 1.0, 1.0, 1.0]]]))[0]
        self.assertAlmostEqual(edge[10, 14, 0].item(), 0.6, places=5)


class SmoothTracks(unittest.TestCase):
    def track(self, ys, xs=None, present=None):
        T = len(ys)
        slots = torch.zeros(T, 1, SLOT_NUMBERS)
        slots[:, 0, 0] = torch.tensor(present if present is not None else [1.0] * T)
        slots[:, 0, 1] = torch.tensor(xs if xs is not None else [0.5] * T) / 1
        slots[:, 0, 2] = torch.tensor(ys) / 128
        return slots

    def test_a_fall_keeps_its_gravity_and_loses_its_jitter(self):
        t = torch.arange(14, dtype=torch.float32)
        fall = 20 + 0.6 * t * t  # px: gravity 1.2 px/frame²
        clean = smooth_tracks(self.track(fall.tolist()))[:, 0, 2] * 128
        torch.testing.assert_close(clean, fall, atol=1e-3, rtol=0)  # a parabola comes back as it was
        jitter = torch.tensor([0.5, -0.5, -0.3, 0.4, 0.1, -0.5, 0.3] * 2)
        out = smooth_tracks(self.track((fall + jitter).tolist()))[:, 0, 2] * 128
        d2 = out[2:] - 2 * out[1:-1] + out[:-2]
        raw_d2 = (fall + jitter)[2:] - 2 * (fall + jitter)[1:-1] + (fall + jitter)[:-2]
        self.assertGreater((raw_d2 - 1.2).abs().max().item(), 1.2)
        # Away from the ends (which keep their first and last two frames), gravity is even again.
        self.assertLess((d2[3:-3] - 1.2).abs().max().item(), 0.25)
        self.assertLess((d2[3:-3] - 1.2).abs().mean().item(), 0.15)

    def test_a_bounce_a_cut_and_an_absent_ball_are_left_alone(self):
        bounce = [20.0, 40.0, 60.0, 80.0, 100.0, 118.0, 100.0, 84.0, 70.0, 58.0]
        out = smooth_tracks(self.track(bounce))[:, 0, 2] * 128
        # The bounce and the frames either side of it stay; a fit two frames away feels it a little.
        torch.testing.assert_close(out[4:7], torch.tensor(bounce[4:7]), atol=1e-3, rtol=0)
        torch.testing.assert_close(out, torch.tensor(bounce), atol=0.5, rtol=0)
        cut = [50.0, 50.2, 50.0, 90.0, 90.2, 90.0]
        out = smooth_tracks(self.track(cut))[:, 0, 2] * 128
        self.assertAlmostEqual(out[2].item(), 50.0, places=3)
        self.assertAlmostEqual(out[3].item(), 90.0, places=3)
        gone = smooth_tracks(self.track([50.0, 51.0, 50.0, 51.0, 50.0], present=[1.0, 0.0, 0.0, 1.0, 1.0]))
        torch.testing.assert_close(gone[:4, 0, 2] * 128, torch.tensor([50.0, 51.0, 50.0, 51.0]))
        torch.testing.assert_close(gone[:, 0, 0], torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0]))

    def test_a_frame_needs_track_context_neighbours_either_side(self):
        # Jittery falls and resting balls that now and then are not seen, over 24 frames.
        g = torch.Generator().manual_seed(3)
        t = torch.arange(24, dtype=torch.float32)
        clips = []
        for _ in range(10):
            ys = torch.stack([(20 + 0.6 * t * t).clamp(max=118) + 0.4 * torch.randn(24, generator=g), 60 + 0.5 * torch.randn(24, generator=g)], dim=1)
            seen = (torch.rand(24, 2, generator=g) > 0.15).float()
            clips.append(torch.cat([self.track(ys[:, k].tolist(), present=seen[:, k].tolist()) for k in range(2)], dim=1))

        def windows_agree(context: int) -> bool:
            for slots in clips:
                whole = smooth_tracks(slots)
                for m in range(24):
                    lo = max(0, m - context)
                    if not torch.equal(smooth_tracks(slots[lo : m + context + 1])[m - lo], whole[m]):
                        return False
            return True

        self.assertTrue(windows_agree(TRACK_CONTEXT))
        self.assertFalse(windows_agree(TRACK_CONTEXT - 1))  # and no more context than it needs

    def test_a_one_frame_blink_is_mended(self):
        blink = smooth_tracks(self.track([50.0] * 5, present=[1.0, 1.0, 0.1, 1.0, 1.0]))
        torch.testing.assert_close(blink[:, 0, 0], torch.ones(5))
        ghost = smooth_tracks(self.track([50.0] * 5, present=[0.0, 0.0, 0.9, 0.0, 0.0]))
        torch.testing.assert_close(ghost[:, 0, 0], torch.zeros(5))


class SeparateBalls(unittest.TestCase):
    def balls(self, *specs):
        """One frame's balls, each (x px, y px, radius px, presence) of a 128² frame."""
        out = torch.zeros(len(specs), SLOT_NUMBERS)
        for k, (x, y, r, p) in enumerate(specs):
            out[k, :4] = torch.tensor([p, x / 128, y / 128, r / 128])
            out[k, 4:] = torch.tensor([0.2 * k, 0.5, 0.9])
        return out

    def test_overlapping_balls_end_touching_the_heavier_moving_less(self):
        frame = self.balls((60.0, 50.0, 4.0, 1.0), (63.0, 50.0, 2.0, 1.0), (100.0, 100.0, 3.0, 1.0))
        out = separate_balls(frame)
        (x0, y0), (x1, y1) = (out[0, 1:3] * 128).tolist(), (out[1, 1:3] * 128).tolist()
        self.assertAlmostEqual(x1 - x0, 6.0, places=3)  # the radii's sum: they touch
        self.assertAlmostEqual(y0, 50.0, places=4)  # along the line between their centres
        self.assertAlmostEqual(y1, 50.0, places=4)
        # The 4 px ball weighs 8 times the 2 px one: it takes 1/9 of the 3 px, the small one 8/9.
        self.assertAlmostEqual(60.0 - x0, 3.0 / 9, places=3)
        self.assertAlmostEqual(x1 - 63.0, 3.0 * 8 / 9, places=3)
        torch.testing.assert_close(out[2], frame[2])  # a ball far from both is not moved
        torch.testing.assert_close(out[:, [0, 3, 4, 5, 6]], frame[:, [0, 3, 4, 5, 6]])  # only x and y change

    def test_a_heap_settles_and_balls_apart_or_hidden_stay_as_they_are(self):
        heap = separate_balls(self.balls((64.0, 64.0, 3.0, 1.0), (66.0, 64.0, 3.0, 1.0), (65.0, 66.0, 3.0, 1.0)))
        xy = heap[:, 1:3] * 128
        gaps = [torch.dist(xy[i], xy[j]).item() for i, j in ((0, 1), (0, 2), (1, 2))]
        self.assertGreater(min(gaps), 6.0 - 0.1)  # three balls in one place end (nearly) touching
        apart = self.balls((20.0, 20.0, 3.0, 1.0), (26.0, 20.0, 3.0, 1.0), (90.0, 90.0, 4.0, 1.0))
        torch.testing.assert_close(separate_balls(apart), apart)  # touching is not overlapping
        hidden = self.balls((60.0, 50.0, 4.0, 1.0), (62.0, 50.0, 4.0, 0.0), (62.0, 50.0, 4.0, 0.2))
        torch.testing.assert_close(separate_balls(hidden), hidden)  # a ball not shown neither pushes nor is pushed
        same = self.balls((60.0, 50.0, 4.0, 1.0), (60.0, 50.0, 4.0, 1.0))
        torch.testing.assert_close(separate_balls(same), same)  # no direction to move in

    def test_a_half_shown_ball_moves_half_as_far_and_frames_are_separate(self):
        pair = self.balls((60.0, 50.0, 3.0, 1.0), (62.0, 50.0, 3.0, 0.5))  # presence 0.5: shown half
        full = self.balls((60.0, 50.0, 3.0, 1.0), (62.0, 50.0, 3.0, 1.0))
        one_pass = lambda b: separate_balls(b, passes=1)  # noqa: E731
        self.assertAlmostEqual((one_pass(pair)[1, 1] * 128).item() - 62.0, 0.5 * ((one_pass(full)[1, 1] * 128).item() - 62.0), places=4)
        clip = torch.stack([full, self.balls((20.0, 20.0, 3.0, 1.0), (80.0, 80.0, 3.0, 1.0))])  # [T, B, 7]
        out = separate_balls(clip)
        torch.testing.assert_close(out[0], separate_balls(full))
        torch.testing.assert_close(out[1], clip[1])

    def test_painted_slots_keep_each_clips_balls_apart_and_leave_the_head(self):
        cfg = get_config("tiny-cameo")
        self.assertTrue(cfg.separate_balls)
        self.assertTrue(get_config("pro").separate_balls)  # Pro 0.6.2: measured on its generator, physics 47% → 56%
        T, B = 6, cfg.slots
        clips = torch.zeros(2, T, B + 1, SLOT_NUMBERS)
        clips[0, :, 0] = torch.tensor([1.0, 60 / 128, 50 / 128, 3 / 128, 1, 0, 0])
        clips[0, :, 1] = torch.tensor([1.0, 62 / 128, 50 / 128, 3 / 128, 0, 1, 0])
        clips[1, :, 0] = torch.tensor([1.0, 61 / 128, 50 / 128, 3 / 128, 0, 0, 1])  # another clip's ball, at the same place
        clips[:, :, B] = torch.tensor([1.0, 61 / 128, 50 / 128, 10 / 128, 0, 0, 0])  # the head, over them all
        no_refiner = replace(cfg, track_refiner=False)
        alone = [painted_slots(no_refiner, c, None) for c in clips]
        x = alone[0][:, :2, 1] * 128
        torch.testing.assert_close(x[:, 1] - x[:, 0], torch.full((T,), 6.0), atol=1e-3, rtol=0)
        torch.testing.assert_close(alone[1][:, 0], clips[1, :, 0])  # alone in its clip, not moved
        torch.testing.assert_close(alone[0][:, B], clips[0, :, B])  # the head is not a ball
        # The sound refiner's training paints many clips' balls side by side: each clip's apart from the rest.
        side = clips[:, :, :B].transpose(0, 1).reshape(T, 2 * B, SLOT_NUMBERS)
        both = painted_slots(no_refiner, side, None, balls=2 * B).reshape(T, 2, B, SLOT_NUMBERS).transpose(0, 1)
        torch.testing.assert_close(both[0], alone[0][:, :B])
        torch.testing.assert_close(both[1], alone[1][:, :B])
        with self.assertRaisesRegex(ValueError, "not whole clips"):
            painted_slots(no_refiner, side, None, balls=B + 1)


class Carry(unittest.TestCase):
    def test_pack_unpack_send_back_receive(self):
        from zoetrope.configs import get_config
        from zoetrope.generator import FlowGenerator

        tmp = Path(tempfile.mkdtemp(prefix="zoetrope-carry-"))
        try:
            run, pack, gpu, back, home = tmp / "run", tmp / "pack", tmp / "gpu", tmp / "back", tmp / "home"
            run.mkdir()
            rng = np.random.default_rng(0)
            still = rng.standard_normal((4, 1, 50)).astype(np.float16)
            tokens = np.repeat(still, 12, axis=1)  # a still picture: the time differences are zero
            np.save(run / "tokens.npy", tokens)
            np.savez(run / "token-stats.npz", mean=np.zeros(50), std=np.ones(50))
            (run / "clips.json").write_text(json.dumps({"train": 3, "clips": [{"index": i, "seed": i, "prompt": "a ball"} for i in range(4)]}))
            (run / "tokenizer.json").write_text("{}")
            self.assertEqual(carry_main(["pack", str(run), str(pack)]), 0)
            self.assertLess((pack / "tokens.q8").stat().st_size, tokens.nbytes / 4)
            self.assertEqual(carry_main(["unpack", str(pack), str(gpu)]), 0)
            back_tokens = np.load(gpu / "tokens.npy").astype(np.float32)
            self.assertLessEqual(np.abs(back_tokens - tokens.astype(np.float32)).max(), 0.5 / 24 + 1e-3)
            self.assertEqual((gpu / "clips.json").read_text(), (run / "clips.json").read_text())
            # A pack made before xz (deflate, no codec in its header) still unpacks; an unknown codec is named.
            head, blob = (pack / "tokens.q8").read_bytes().split(b"\n", 1)
            meta = json.loads(head)
            self.assertEqual(meta.pop("codec"), "xz")
            old = tmp / "old-pack"
            shutil.copytree(pack, old)
            (old / "tokens.q8").write_bytes(json.dumps(meta).encode() + b"\n" + zlib.compress(lzma.decompress(blob)))
            self.assertEqual(carry_main(["unpack", str(old), str(tmp / "old-gpu")]), 0)
            np.testing.assert_array_equal(np.load(tmp / "old-gpu" / "tokens.npy"), np.load(gpu / "tokens.npy"))
            (old / "tokens.q8").write_bytes(json.dumps({**meta, "codec": "zstd"}).encode() + b"\n" + blob)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                self.assertEqual(carry_main(["unpack", str(old), str(tmp / "zstd-gpu")]), 2)
            self.assertIn("'zstd'", err.getvalue())

            cfg = get_config("tiny")
            model = FlowGenerator(cfg.generator, 20)
            ema = FlowGenerator(cfg.generator, 20)
            torch.save({"config": "tiny", "stage": "generator", "model": model.state_dict(), "optimizer": {}, "step": 7, "rng": None, "torch_rng": None, "extra": {"ema": ema.state_dict()}}, gpu / "generator.pt")
            (gpu / "generator.log.jsonl").write_text('{"event": "end"}\n')
            self.assertEqual(carry_main(["send-back", str(gpu), str(back)]), 0)
            home.mkdir()
            self.assertEqual(carry_main(["receive", str(back), str(home)]), 0)
            ckpt = torch.load(home / "generator.pt")
            self.assertEqual((ckpt["config"], ckpt["step"], ckpt["optimizer"]), ("tiny", 7, None))
            for k, v in ema.state_dict().items():
                torch.testing.assert_close(ckpt["extra"]["ema"][k], v.half().float())
            self.assertEqual((home / "gpu-generator.log.jsonl").read_text(), '{"event": "end"}\n')
            # Logs a resume point brought along are not sent back again (as gpu-gpu-…).
            (gpu / "gpu-encode.log.jsonl").write_text('{"event": "start"}\n')
            self.assertEqual(carry_main(["send-back", str(gpu), str(back)]), 0)
            self.assertEqual(set(json.loads((back / "logs.json").read_text())), {"generator.log.jsonl"})
            # A resume point to carry to the GPU: the EMA alone, about half the bytes; the raw weights start from it.
            slim, slim_home = tmp / "slim", tmp / "slim-home"
            self.assertEqual(carry_main(["send-back", str(gpu), str(slim), "--ema-only"]), 0)
            full_bytes = sum(p.stat().st_size for p in back.glob("generator.part*"))
            self.assertLess(sum(p.stat().st_size for p in slim.glob("generator.part*")), 0.6 * full_bytes)
            slim_home.mkdir()
            self.assertEqual(carry_main(["receive", str(slim), str(slim_home)]), 0)
            slim_ckpt = torch.load(slim_home / "generator.pt")
            for k, v in ema.state_dict().items():
                torch.testing.assert_close(slim_ckpt["model"][k], v.half().float())
            self.assertEqual(carry_main(["pack", str(run), str(pack), "--ema-only"]), 2)
            # The teacher alone, as the resume point of a run whose student is distilled again there.
            torch.save({"config": "tiny", "stage": "student", "model": model.state_dict(), "optimizer": {}, "step": 3, "rng": None, "torch_rng": None, "extra": {"ema": ema.state_dict()}}, gpu / "student.pt")
            teacher_only = tmp / "teacher-only"
            self.assertEqual(carry_main(["send-back", str(gpu), str(teacher_only), "--ema-only", "--stage", "generator"]), 0)
            self.assertTrue(list(teacher_only.glob("generator.part*")))
            self.assertFalse(list(teacher_only.glob("student.part*")))
            self.assertEqual(carry_main(["pack", str(run), str(pack), "--stage", "generator"]), 2)
            self.assertEqual(carry_main(["pack", str(tmp / "nowhere"), str(pack)]), 2)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class HeadLocatorReach(unittest.TestCase):
    def test_a_vote_moves_the_centre_as_far_as_its_reach_and_an_old_checkpoint_means_two(self):
        from zoetrope.head_locator import LEGACY_REACH, HeadLocator, checkpoint_reach

        near, far = HeadLocator(4, 8, width=8, layers=1, reach=2.0), HeadLocator(4, 8, width=8, layers=1, reach=4.0)
        far.load_state_dict(near.state_dict())  # the reach is no weight: the same state fits both
        z = torch.zeros(1, 4, 8, 8)
        with torch.no_grad():
            for locator in (near, far):
                # Every cell weighs the same and votes as far down as it may (its tanh at its limit).
                locator.cell.weight.zero_()
                locator.cell.bias.copy_(torch.tensor([0.0, 0.0, 50.0, 0.0]))
            (_, x2, y2, _, _), (_, x4, y4, _, _) = near.logits(z), far.logits(z)
        torch.testing.assert_close(torch.cat([x2, y2, x4, y4]), torch.tensor([0.5, 0.5 + 2 / 8, 0.5, 0.5 + 4 / 8]))
        self.assertEqual(checkpoint_reach({"extra": {"ema": {}}}), LEGACY_REACH)
        self.assertEqual(checkpoint_reach({"extra": {"ema": {}, "reach": 4.0}}), 4.0)


if __name__ == "__main__":
    unittest.main()
