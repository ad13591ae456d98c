import unittest

import numpy as np
import torch

from zoetrope.box_planner import BOX_COLOURS, COLOUR_AT, PlannedDenoiser, box_numbers, planner_for, with_boxes, without_boxes
from zoetrope.configs import get_config
from zoetrope.generator import FlowGenerator, sample
from zoetrope.slots import SLOT_NUMBERS


class BoxPlanner(unittest.TestCase):
    """The box planner (box_planner.py, config tiny-plan here): where the boxes are from the clip and
    the prompt, what colour from the prompt alone, and the denoiser whose last step ends on its plan."""

    def setUp(self):
        torch.manual_seed(3)
        self.cfg = get_config("tiny-plan")
        self.planner = planner_for(self.cfg)
        with torch.no_grad():
            for p in self.planner.parameters():
                p.add_(torch.randn_like(p) * 0.1)  # every head starts at zero: give each something to say
        self.planner.eval()
        g = self.cfg.generator
        self.text, self.pooled, self.mask = torch.randn(2, 6, g.text_width), torch.randn(2, g.text_width), torch.ones(2, 6)

    def test_the_colours_come_from_the_prompt_alone(self):
        cfg, D = self.cfg, self.cfg.token_dim - self.cfg.boxes * SLOT_NUMBERS
        a, b = torch.randn(2, cfg.frames, D), torch.randn(2, cfg.frames, D)
        with torch.no_grad():
            pa = self.planner(a, self.text, self.pooled, self.mask).reshape(2, cfg.frames, cfg.boxes, SLOT_NUMBERS)
            pb = self.planner(b, self.text, self.pooled, self.mask).reshape(2, cfg.frames, cfg.boxes, SLOT_NUMBERS)
            other = self.planner(a, self.text + torch.randn_like(self.text), self.pooled, self.mask).reshape(2, cfg.frames, cfg.boxes, SLOT_NUMBERS)
        # Another clip moves the boxes, and leaves their colours as they were; another prompt changes them.
        self.assertFalse(torch.allclose(pa[..., :COLOUR_AT], pb[..., :COLOUR_AT]))
        torch.testing.assert_close(pa[..., COLOUR_AT:], pb[..., COLOUR_AT:])
        self.assertFalse(torch.allclose(pa[..., COLOUR_AT:], other[..., COLOUR_AT:]))
        # A box keeps its colour over the clip.
        torch.testing.assert_close(pa[:, :1, :, COLOUR_AT:].expand_as(pa[..., COLOUR_AT:]), pa[..., COLOUR_AT:])
        self.assertEqual(self.planner.colour_logits(self.text, self.pooled, self.mask).shape, (2, cfg.boxes, len(BOX_COLOURS)))

    def test_the_colours_are_mixed_in_the_frame_and_given_back_normalised(self):
        cfg = self.cfg
        b = box_numbers(cfg)
        mean, std = np.linspace(0.1, 0.3, cfg.boxes * SLOT_NUMBERS), np.linspace(0.5, 2.0, cfg.boxes * SLOT_NUMBERS)
        x = torch.randn(1, cfg.frames, cfg.token_dim - cfg.boxes * SLOT_NUMBERS)
        with torch.no_grad():
            plain = self.planner(x, self.text[:1], self.pooled[:1], self.mask[:1]).reshape(cfg.frames, cfg.boxes, SLOT_NUMBERS)
            self.planner.set_statistics(mean, std)
            scaled = self.planner(x, self.text[:1], self.pooled[:1], self.mask[:1]).reshape(cfg.frames, cfg.boxes, SLOT_NUMBERS)
        m, s = torch.tensor(mean, dtype=torch.float32).reshape(cfg.boxes, SLOT_NUMBERS), torch.tensor(std, dtype=torch.float32).reshape(cfg.boxes, SLOT_NUMBERS)
        torch.testing.assert_close(scaled[..., COLOUR_AT:] * s[:, COLOUR_AT:] + m[:, COLOUR_AT:], plain[..., COLOUR_AT:])
        torch.testing.assert_close(scaled[..., :COLOUR_AT], plain[..., :COLOUR_AT])
        self.assertEqual(b.stop - b.start, cfg.boxes * SLOT_NUMBERS)

    def test_the_last_step_of_any_schedule_ends_on_the_plan(self):
        cfg = self.cfg
        generator = FlowGenerator(cfg.generator, 20).eval()
        denoiser = PlannedDenoiser(cfg, generator, self.planner).eval()
        ids, mask = torch.tensor([[1, 4, 5, 6], [1, 7, 0, 0]]), torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0]])
        noise = torch.randn(2, cfg.frames, cfg.token_dim)
        for steps, schedule in ((1, None), (3, None), (2, [1.0, 0.3, 0.0])):
            x = sample(denoiser, ids, mask, noise, steps, 1.0, schedule=schedule)
            with torch.no_grad():
                text, pooled, text_mask = denoiser.encode_text(ids, mask)
                plan = self.planner(without_boxes(cfg, x), text, pooled, text_mask)
            torch.testing.assert_close(x[..., box_numbers(cfg)], plan, atol=1e-5, rtol=1e-5)
        # The layout helpers are each other's inverse.
        torch.testing.assert_close(with_boxes(cfg, without_boxes(cfg, noise), noise[..., box_numbers(cfg)]), noise)


if __name__ == "__main__":
    unittest.main()
