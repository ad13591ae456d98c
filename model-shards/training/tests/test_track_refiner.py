"""The track refiner (zoetrope/track_refiner.py): a learnt prior of the world's ball motion in the
video decoder, between the generated tracks and the painter."""
from __future__ import annotations

import dataclasses
import re
import unittest
from unittest import mock
from pathlib import Path

import torch

from zoetrope import track_refiner
from zoetrope.configs import get_config
from zoetrope.slots import SLOT_NUMBERS
from zoetrope.track_refiner import DECODER_CONTEXT, EXIT_FRAMES, JITTER_PX, LOSS_SIDE, UNDAMAGED, TrackRefiner, blur, corrupt, damage, near_exit, pair_times, pair_tracks, refine_loss, refine_tracks, refiner_for, smooth_noise, time_warp

REPO = Path(__file__).resolve().parents[3]


def bouncing_tracks(n: int, frames: int, gen: torch.Generator) -> torch.Tensor:
    """n balls [n, frames, SLOT_NUMBERS] as the world moves them: dropped from rest at a random frame
    and height, falling under one gravity, bouncing off a floor with a restitution, drifting sideways."""
    out = torch.zeros(n, frames, SLOT_NUMBERS)
    for k in range(n):
        g = 0.004 + 0.004 * torch.rand(1, generator=gen).item()  # share of the side per frame²
        y, vy = 0.2 + 0.4 * torch.rand(1, generator=gen).item(), 0.0
        x, vx = 0.2 + 0.6 * torch.rand(1, generator=gen).item(), 0.006 * (torch.rand(1, generator=gen).item() - 0.5)
        start = int(torch.randint(0, frames // 3, (1,), generator=gen))
        for f in range(frames):
            if f > start:
                vy += g
                y += vy
                if y > 0.9:
                    y, vy = 0.9 - (y - 0.9) * 0.6, -vy * 0.6
                x += vx
            out[k, f, :4] = torch.tensor([1.0, x, y, 0.03])
        out[k, :, 4:] = torch.rand(3, generator=gen)
    return out


class TrackRefinerNet(unittest.TestCase):
    def test_it_starts_as_the_identity_and_never_moves_a_ball_that_is_not_shown(self):
        gen = torch.Generator().manual_seed(3)
        tracks = bouncing_tracks(4, 24, gen)
        refiner = TrackRefiner(width=16, dilations=(1, 2))
        shown = torch.ones(4, 24)
        self.assertTrue(torch.equal(refiner(tracks[..., 1:3], shown), tracks[..., 1:3]))
        # Trained or not, a frame that does not show its ball keeps where it was.
        torch.nn.init.normal_(refiner.out.weight, std=0.5)
        shown[:, 5:9] = 0
        moved = refiner(tracks[..., 1:3], shown)
        self.assertTrue(torch.equal(moved[:, 5:9], tracks[:, 5:9, 1:3]))
        self.assertFalse(torch.equal(moved[:, 10:], tracks[:, 10:, 1:3]))

    def test_it_moves_only_the_balls_x_and_y(self):
        gen = torch.Generator().manual_seed(4)
        slots = torch.rand(24, 6, SLOT_NUMBERS, generator=gen)  # five balls and a head
        refiner = TrackRefiner(width=16, dilations=(1, 2))
        torch.nn.init.normal_(refiner.out.weight, std=0.5)
        out = refine_tracks(refiner, slots, 5)
        self.assertEqual(out.shape, slots.shape)
        self.assertTrue(torch.equal(out[:, 5], slots[:, 5]))  # the head's slot
        for field in (0, 3, 4, 5, 6):  # presence, radius, colour
            self.assertTrue(torch.equal(out[..., field], slots[..., field]))
        self.assertFalse(torch.equal(out[:, :5, 1:3], slots[:, :5, 1:3]))

    def test_its_receptive_field_is_what_it_says(self):
        refiner = TrackRefiner(width=16, dilations=(1, 2, 4))
        torch.nn.init.normal_(refiner.out.weight, std=0.5)
        gen = torch.Generator().manual_seed(5)
        xy, shown = torch.rand(1, 40, 2, generator=gen), torch.ones(1, 40)
        poked = xy.clone()
        poked[0, 20] += 0.1
        changed = (refiner(poked, shown) != refiner(xy, shown)).any(-1)[0].nonzero()[:, 0]
        rf = refiner.receptive_field
        self.assertGreaterEqual(changed.min().item(), 20 - rf)
        self.assertLessEqual(changed.max().item(), 20 + rf)

    def test_the_engine_decodes_a_preview_frame_with_the_context_the_decoder_needs(self):
        # The Draft's refiner sees its receptive field either way, the smoothing after it TRACK_CONTEXT.
        self.assertEqual(refiner_for(get_config("draft-cameo")).receptive_field + 7, DECODER_CONTEXT)
        source = (REPO / "workers" / "src" / "engine" / "generate.ts").read_text()
        self.assertEqual(int(re.search(r"const PREVIEW_CONTEXT = (\d+);", source).group(1)), DECODER_CONTEXT)

    def test_a_blur_of_no_width_leaves_a_track_as_it_is(self):
        gen = torch.Generator().manual_seed(6)
        xy = torch.rand(3, 24, 2, generator=gen)
        torch.testing.assert_close(blur(xy, torch.zeros(3)), xy)
        blurred = blur(xy, torch.full((3,), 2.0))
        self.assertLess((blurred[:, 1:] - blurred[:, :-1]).abs().mean(), (xy[:, 1:] - xy[:, :-1]).abs().mean())

    def test_a_time_warp_reads_the_track_at_the_times_it_is_given(self):
        gen = torch.Generator().manual_seed(9)
        xy = torch.rand(2, 24, 2, generator=gen)
        torch.testing.assert_close(time_warp(xy, torch.zeros(2, 24)), xy)
        # A frame later throughout: the next frame's place, the last frame held past the end.
        later = time_warp(xy, torch.ones(2, 24))
        torch.testing.assert_close(later[:, :-1], xy[:, 1:])
        torch.testing.assert_close(later[:, -1], xy[:, -1])
        # Half a frame earlier: halfway to the frame before, the first frame held.
        earlier = time_warp(xy, torch.full((2, 24), -0.5))
        torch.testing.assert_close(earlier[:, 1:], (xy[:, 1:] + xy[:, :-1]) / 2)
        torch.testing.assert_close(earlier[:, 0], xy[:, 0])

    def test_smooth_noise_is_of_unit_size_and_smooth_along_time(self):
        noise = smooth_noise(4000, 24, 3.0, torch.Generator().manual_seed(10))
        self.assertEqual(noise.shape, (4000, 24))
        self.assertAlmostEqual(noise.std().item(), 1.0, delta=0.05)
        step = (noise[:, 1:] - noise[:, :-1]).std().item()
        self.assertLess(step, 0.5)  # white noise would step by √2

    def test_damage_spares_a_share_of_the_tracks_and_moves_the_rest(self):
        gen = torch.Generator().manual_seed(11)
        tracks = bouncing_tracks(600, 24, gen)
        xy = tracks[..., 1:3]
        off = (damage(xy, gen) - xy).abs().amax(dim=(1, 2)) * LOSS_SIDE
        spared = (off <= 4 * JITTER_PX).float().mean().item()  # only jittered, by under 4 standard deviations
        self.assertAlmostEqual(spared, UNDAMAGED, delta=0.05)
        self.assertGreater(off.median().item(), 2.0)

    def test_the_student_draws_its_pairs_back_on_its_own_grid(self):
        cfg = get_config("draft-cameo")
        self.assertEqual(pair_times(cfg), [0.5, 0.25, 0.0])
        off_grid = dataclasses.replace(cfg, track_refiner_train=dataclasses.replace(cfg.track_refiner_train, pair_time=0.6))
        with self.assertRaisesRegex(ValueError, "pair_time 0.6 is not on its student's grid of 4 steps \\(1, 0.75, 0.5, 0.25, 0\\)"):
            pair_times(off_grid)

    def test_only_a_drawn_track_near_the_worlds_is_a_pair(self):
        cfg = get_config("draft-cameo")
        gen = torch.Generator().manual_seed(12)
        world = bouncing_tracks(3 * cfg.slots, 24, gen).reshape(3, cfg.slots, 24, SLOT_NUMBERS).transpose(1, 2)
        drawn = world.clone()
        drawn[0, :, 0, 1:3] += 4 / 128  # 4 px off along each axis: 5.7 px, a damaged copy
        drawn[0, :, 1, 1] += 9 / 128  # 9 px off: another path
        world[1, 6:, 2, 0] = 0.0  # shown together in 6 frames: kept
        world[2, 3:, 3, 0] = 0.0  # in 3: too few
        drawn[2, 10:, 4, 0] = 0.0  # the drawn ball gone after 10 frames: the frames both show it
        drawn_xy, drawn_shown, world_xy, both = pair_tracks(cfg, {"world": world.numpy(), "drawn": drawn.numpy()})
        self.assertEqual(len(drawn_xy), 3 * cfg.slots - 2)
        self.assertEqual(int((both.sum(1) == 6).sum()), 1)
        self.assertEqual(int((both.sum(1) == 10).sum()), 1)
        self.assertTrue(torch.equal(both, both * drawn_shown))
        apart = ((drawn_xy - world_xy).norm(dim=-1) * both).sum(1) / both.sum(1) * 128
        self.assertEqual(int((apart > 0.01).sum()), 1)  # only the copy 4 px off each way
        self.assertAlmostEqual(apart.max().item(), 32**0.5, places=3)

    def test_the_frames_by_a_balls_exit_and_entry_are_near_an_exit(self):
        shown = torch.zeros(3, 16)
        shown[0, :10] = 1  # leaves after frame 9
        shown[1, 5:] = 1  # comes in at frame 5
        shown[2] = 1  # shown throughout: the clip's own ends are no exit
        near = near_exit(shown)
        self.assertEqual(near[0].nonzero()[:, 0].tolist(), list(range(10 - EXIT_FRAMES, 10)))
        self.assertEqual(near[1].nonzero()[:, 0].tolist(), list(range(5, 5 + EXIT_FRAMES)))
        self.assertEqual(near[2].sum().item(), 0)

    def test_the_loss_weighs_a_miss_by_the_exit_more_and_reports_every_frame_alike(self):
        shown = torch.zeros(1, 16)
        shown[0, :10] = 1
        world = torch.zeros(1, 16, 2)
        by_exit, mid = world.clone(), world.clone()
        by_exit[0, 9, 0] = mid[0, 3, 0] = 1 / 128
        with mock.patch.object(track_refiner, "EXIT_WEIGHT", 4.0):
            loss_exit, dist_exit, acc_exit = refine_loss(by_exit, world, shown)
            loss_mid, dist_mid, acc_mid = refine_loss(mid, world, shown)
        torch.testing.assert_close(dist_exit, dist_mid)  # what it reports: one pixel off in 10 shown frames
        self.assertAlmostEqual(dist_exit.item(), 1 / 20, places=6)
        # What it learns from: 7 frames of weight 1 and 3 of weight 5 (22 in all, for x and y: 44).
        self.assertAlmostEqual((loss_exit - acc_exit).item(), 5 / 44, places=6)
        self.assertAlmostEqual((loss_mid - acc_mid).item(), 1 / 44, places=6)

    def test_it_learns_to_give_back_the_worlds_falls_and_bounces(self):
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(7)
        train, held_out = bouncing_tracks(512, 24, gen), bouncing_tracks(64, 24, gen)
        refiner = TrackRefiner(width=32, dilations=(1, 2, 4, 1))
        opt = torch.optim.Adam(refiner.parameters(), 3e-3)
        for _ in range(300):
            given, shown, world = corrupt(train[torch.randint(0, len(train), (64,), generator=gen)], gen)
            loss = refine_loss(refiner(given, shown), world, shown)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        # Held out, every track damaged (none spared: the share spared is what it learns to leave alone).
        with mock.patch.object(track_refiner, "UNDAMAGED", 0.0):
            given, shown, world = corrupt(held_out, torch.Generator().manual_seed(8))
        with torch.no_grad():
            _, px, acc = refine_loss(refiner(given, shown), world, shown)
        _, px_in, acc_in = refine_loss(given, world, shown)
        # Held-out tracks come back nearer the world's: in acceleration by far (it reaches 0.59 of the
        # damaged input's), in place less (0.82: a slow drift leaves no trace of where the path was).
        self.assertLess(acc.item(), 0.7 * acc_in.item())
        self.assertLess(px.item(), 0.9 * px_in.item())


if __name__ == "__main__":
    unittest.main()
