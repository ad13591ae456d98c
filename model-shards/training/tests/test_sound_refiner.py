"""The sound refiner (zoetrope/sound_refiner.py): the generated sound, refined in the audio decoder to
sound the impacts of the balls as they are painted."""
from __future__ import annotations

import unittest

import torch
import torch.nn.functional as F

from tests.test_track_refiner import bouncing_tracks
from zoetrope.configs import get_config
from zoetrope.slots import SLOT_NUMBERS
from zoetrope.sound_refiner import SoundRefiner, corrupt_sound, painted_training_slots, shift
from zoetrope.track_refiner import TrackRefiner, blur, painted_slots

SOUND = 4  # numbers of sound latent per frame here


def clips_with_knocks(n: int, frames: int, balls: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n clips of `balls` bouncing balls (slots [n, frames, 5, SLOT_NUMBERS], the rest not shown), a
    sound latent [n, frames, SOUND] of room tone with a knock (a loud frame and its decay) wherever a
    ball bounces, and where the knocks are [n, frames]."""
    tracks = bouncing_tracks(n * balls, frames, gen).reshape(n, balls, frames, SLOT_NUMBERS).transpose(1, 2)
    slots = torch.zeros(n, frames, 5, SLOT_NUMBERS)
    slots[:, :, :balls] = tracks
    step = tracks[..., 2][:, 1:] - tracks[..., 2][:, :-1]  # [n, frames - 1, balls]
    bounce = torch.zeros(n, frames)
    bounce[:, 1:-1] = ((step[:, :-1] > 0) & (step[:, 1:] < 0)).any(-1).float()
    sound = 0.1 * torch.randn(n, frames, SOUND, generator=gen)
    sound[..., 0] += 3 * bounce
    sound[:, 1:, 1] += 1.5 * bounce[:, :-1]
    return slots, sound, bounce


class SoundRefinerNet(unittest.TestCase):
    def test_it_starts_as_the_identity(self):
        gen = torch.Generator().manual_seed(1)
        slots, sound, _ = clips_with_knocks(3, 24, 2, gen)
        self.assertTrue(torch.equal(SoundRefiner(SOUND, width=16, ball_width=8)(sound, slots, 5), sound))

    def test_a_ball_not_shown_adds_nothing_and_the_balls_order_does_not_matter(self):
        gen = torch.Generator().manual_seed(2)
        slots, sound, _ = clips_with_knocks(2, 24, 3, gen)
        refiner = SoundRefiner(SOUND, width=16, ball_width=8)
        torch.nn.init.normal_(refiner.out.weight, std=0.5)
        heard = refiner(sound, slots, 5)
        self.assertFalse(torch.equal(heard, sound))
        # A slot whose ball is not shown, whatever else it holds, is silence to the refiner.
        hidden = slots.clone()
        hidden[:, :, 4, 1:] = torch.rand(2, 24, SLOT_NUMBERS - 1, generator=gen)
        self.assertTrue(torch.equal(refiner(sound, hidden, 5), heard))
        torch.testing.assert_close(refiner(sound, slots[:, :, [2, 0, 1, 3, 4]], 5), heard)
        # Only the balls' slots are heard: the head's (after them) is not.
        with_head = torch.cat([slots, torch.rand(2, 24, 1, SLOT_NUMBERS, generator=gen)], dim=2)
        self.assertTrue(torch.equal(refiner(sound, with_head, 5), heard))

    def test_the_damage_it_learns_from(self):
        gen = torch.Generator().manual_seed(3)
        _, sound, bounce = clips_with_knocks(64, 24, 2, gen)
        # Moving a sound later by a frame puts each frame's sound one frame on (the first held).
        moved = shift(sound, torch.ones(64, dtype=torch.long))
        self.assertTrue(torch.equal(moved[:, 1:], sound[:, :-1]))
        self.assertTrue(torch.equal(moved[:, 0], sound[:, 0]))
        damaged = corrupt_sound(sound, gen)
        self.assertEqual(damaged.shape, sound.shape)
        # Damaged as a few-step generator damages it, a knock is, on average, no longer all there.
        at = bounce.bool()
        self.assertLess((damaged[..., 0][at]).mean().item(), 0.8 * sound[..., 0][at].mean().item())

    def test_the_tracks_it_learns_from_are_painted_as_the_video_decoder_paints_them(self):
        cfg = get_config("tiny-cameo")
        gen = torch.Generator().manual_seed(4)
        slots, _, _ = clips_with_knocks(3, 24, 2, gen)
        refiner = TrackRefiner(width=8, dilations=(1, 2))
        torch.nn.init.normal_(refiner.out.weight, std=0.5)
        # Undamaged, each clip's balls come out as painted_slots paints that clip alone.
        painted = painted_training_slots(cfg, slots, refiner, None)
        for i in range(3):
            torch.testing.assert_close(painted[i], painted_slots(cfg, slots[i], refiner))
        # Damaged, the balls move and nothing else of a slot changes.
        damaged = painted_training_slots(cfg, slots, refiner, torch.Generator().manual_seed(5))
        self.assertFalse(torch.equal(damaged[..., 1:3], painted[..., 1:3]))
        self.assertTrue(torch.equal(damaged[..., 3:], slots[..., 3:]))

    def test_it_learns_to_put_a_knock_where_a_ball_lands(self):
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(6)
        slots, sound, _ = clips_with_knocks(256, 24, 2, gen)
        held_slots, held_sound, held_bounce = clips_with_knocks(32, 24, 2, gen)
        refiner = SoundRefiner(SOUND, width=32, ball_width=16, dilations=(1, 2, 1))
        opt = torch.optim.Adam(refiner.parameters(), 3e-3)
        for _ in range(200):
            pick = torch.randint(0, len(slots), (32,), generator=gen)
            loss = F.mse_loss(refiner(corrupt_sound(sound[pick], gen), slots[pick], 5), sound[pick])
            opt.zero_grad()
            loss.backward()
            opt.step()
        # Held-out clips whose knocks were smeared away get them back where their balls land.
        smeared = blur(held_sound, torch.full((32,), 2.0))
        with torch.no_grad():
            heard = refiner(smeared, held_slots, 5)
        at = held_bounce.bool()
        self.assertGreater(at.sum().item(), 10)
        before = (smeared[..., 0][at] - held_sound[..., 0][at]).pow(2).mean()
        after = (heard[..., 0][at] - held_sound[..., 0][at]).pow(2).mean()
        self.assertLess(after.item(), 0.5 * before.item())


if __name__ == "__main__":
    unittest.main()
