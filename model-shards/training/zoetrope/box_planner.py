"""The boxes of a clip, planned from its prompt and the rest of its tokens.

Neither the background latent nor a generator drawing box slots beside the balls drew the stacks the
prompts ask for: the shipped student drew a countable stack in none of the 99 held-out prompts that
ask for one, and a box teacher trained for 95 CPU minutes drew the right count in half of them and
the right colour in a fifth (reports/experiments.md, "Box stacks"). How many boxes and what colour
are in the words; where they stand and how they move with the camera is in the clip the generator
draws. The planner reads both: the prompt as the denoiser's condition (text tokens, mask, pooled
vector) and the clip's frame tokens without box slots (background latent, ball and head slots,
sound), and regresses the box slots of every frame. Trained on the run's own tokens, the world's
box tracks as targets; the input tokens are mixed with noise up to `noise` (as the flow's x_t is),
so that it leans on the words where the generated clip is unsure.

It runs inside the denoiser graph (PlannedDenoiser): at each step the box slots' velocity takes them
to what the planner reads from the step's clean guess of the rest of the clip, so after the last
step they are the plan for the clip as drawn, with no change to the engine's sampler.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .configs import Config
from .generator import Block, FlowGenerator
from .slots import SLOT_NUMBERS

# A slot's colour fields start here (slots.SLOT_FIELDS: presence, x, y, radius, then r, g, b).
COLOUR_AT = 4
# The world's colour names (COLOURS in model-shards/world/scene.ts), which the planner reads a box's from.
BOX_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink")
# The weights of the colour branch (BoxPlanner.colour_logits), trained first and alone.
COLOUR_BRANCH = ("queries", "colour_")
# The run's held-out clips the planner's stage log scores it on (the first this many).
BOX_PLANNER_VAL = 256


def box_numbers(cfg: Config) -> slice:
    """The box slots' numbers in a frame token of a config with box slots."""
    return slice(cfg.boxes_at, cfg.boxes_at + cfg.boxes * SLOT_NUMBERS)


def without_boxes(cfg: Config, x: torch.Tensor) -> torch.Tensor:
    """Frame tokens [..., D] without the box slots' numbers: the base config's layout."""
    b = box_numbers(cfg)
    return torch.cat([x[..., : b.start], x[..., b.stop :]], dim=-1)


def with_boxes(cfg: Config, x: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """The inverse of without_boxes: base-layout tokens [..., D - 7·boxes] and box numbers [..., 7·boxes]."""
    at = cfg.boxes_at
    return torch.cat([x[..., :at], boxes, x[..., at:]], dim=-1)


class BoxPlanner(nn.Module):
    """Normalised frame tokens without box slots [B, T, D'] and the denoiser's condition → normalised
    box slots [B, T, boxes·SLOT_NUMBERS].

    Where the boxes are: each frame is one token, its latent through two convolutions (where a box
    stands is a place on the grid), its slots and sound through a linear layer, then blocks of
    attention across the frames and to the prompt's tokens (generator.Block, modulated by the pooled
    prompt), and a linear head per frame for each slot's presence, position and size.

    What colour they are: from the prompt alone. One query per slot, through blocks of attention
    among the slots and to the prompt's tokens, scores the world's colour names (BOX_COLOURS); the
    slot's colour is the scores' softmax over a learnt palette, times the light the pooled prompt
    gives (the time of day is in the words; per channel, 1 + what it adds, starting at 1). Nothing
    of the colour is read from the clip: trained on the world's clips, whose latent draws the stack
    in its colour, a planner that could read it there (from the latent, or through a light read from
    the latent) painted a green stack pink beside the pink smear a generated latent drew
    (reports/experiments.md)."""

    def __init__(self, cfg: Config, width: int, layers: int, heads: int):
        super().__init__()
        g = cfg.generator
        self.boxes = cfg.boxes
        self.channels, self.side = cfg.video_ae.latent_channels, cfg.video_ae.latent_side
        self.latent_numbers = cfg.video_ae.latent_numbers
        self.other_numbers = cfg.token_dim - cfg.boxes * SLOT_NUMBERS - self.latent_numbers
        self.width = width
        conv = 32
        self.conv = nn.Sequential(nn.Conv2d(self.channels, conv, 3, padding=1), nn.SiLU(), nn.Conv2d(conv, conv, 3, padding=1), nn.SiLU())
        self.latent_in = nn.Linear(conv * self.side * self.side, width)
        self.other_in = nn.Linear(self.other_numbers, width)
        self.pos = nn.Parameter(torch.zeros(1, cfg.frames, width))
        nn.init.normal_(self.pos, std=0.02)
        self.pooled = nn.Sequential(nn.Linear(g.text_width, width), nn.SiLU(), nn.Linear(width, 9 * width))
        self.blocks = nn.ModuleList(Block(width, heads, g.text_width) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, cfg.boxes * COLOUR_AT)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.light = nn.Sequential(nn.Linear(g.text_width, width), nn.SiLU(), nn.Linear(width, 3))
        nn.init.zeros_(self.light[2].weight)
        nn.init.zeros_(self.light[2].bias)
        self.queries = nn.Parameter(torch.zeros(1, cfg.boxes, width))
        nn.init.normal_(self.queries, std=0.02)
        self.colour_pooled = nn.Sequential(nn.Linear(g.text_width, width), nn.SiLU(), nn.Linear(width, 9 * width))
        self.colour_blocks = nn.ModuleList(Block(width, heads, g.text_width) for _ in range(layers))
        self.colour_norm = nn.LayerNorm(width)
        self.colour_out = nn.Linear(width, len(BOX_COLOURS))
        self.palette = nn.Parameter(torch.full((len(BOX_COLOURS), 3), 0.5))
        # The box slots' token statistics, so the colours are mixed in [0, 1] and given back normalised.
        self.register_buffer("colour_mean", torch.zeros(cfg.boxes, 3))
        self.register_buffer("colour_std", torch.ones(cfg.boxes, 3))

    def set_statistics(self, mean: np.ndarray, std: np.ndarray) -> None:
        """The run's token statistics of the box slots' numbers (box_numbers)."""
        f = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32)).reshape(self.boxes, SLOT_NUMBERS)[:, COLOUR_AT:]  # noqa: E731
        self.colour_mean.copy_(f(mean))
        self.colour_std.copy_(f(std))

    def colour_logits(self, text: torch.Tensor, pooled: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """The prompt → each slot's scores over BOX_COLOURS [B, boxes, colours]."""
        q = self.queries.expand(text.shape[0], -1, -1)
        mod = self.colour_pooled(pooled).reshape(-1, 9, self.width)
        for block in self.colour_blocks:
            q = block(q, mod, text, text_mask)
        return self.colour_out(self.colour_norm(q))

    def forward(self, x: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        z = x[..., : self.latent_numbers].reshape(B * T, self.channels, self.side, self.side)
        h = self.latent_in(self.conv(z).reshape(B, T, -1)) + self.other_in(x[..., self.latent_numbers :]) + self.pos[:, :T]
        mod = self.pooled(pooled).reshape(B, 9, self.width)
        for block in self.blocks:
            h = block(h, mod, text, text_mask)
        h = self.norm(h)
        where = self.out(h).reshape(B, T, self.boxes, COLOUR_AT)
        light = 1 + self.light(pooled)  # [B, 3]
        colour = torch.softmax(self.colour_logits(text, pooled, text_mask), dim=-1) @ self.palette * light[:, None]
        colour = (colour - self.colour_mean) / self.colour_std  # [B, boxes, 3]
        return torch.cat([where, colour[:, None].expand(B, T, -1, -1)], dim=-1).reshape(B, T, self.boxes * SLOT_NUMBERS)


def planner_for(cfg: Config) -> BoxPlanner:
    t = cfg.box_planner_train
    return BoxPlanner(cfg, t.width, t.layers, t.heads)


def load_box_planner(cfg: Config, run: Path) -> BoxPlanner:
    from .train import decoder_stage

    ckpt = decoder_stage(cfg, run, "box-planner")
    planner = planner_for(cfg)
    planner.load_state_dict(ckpt["extra"]["ema"])
    return planner.eval()


class PlannedDenoiser(nn.Module):
    """A base-layout generator (teacher or student) with the box slots planned: the same interface as
    FlowGenerator over the planned config's tokens. The generator's velocity for the rest; for the
    boxes, (x_t − plan) / t, the velocity that reaches the plan at t = 0 (x_t = t·noise + (1 − t)·x₀),
    where the plan is read from the step's clean guess of the rest, x_t − t·v. The last step of any
    schedule ends on it. Under guidance the plan is guided as the rest of the token is."""

    def __init__(self, cfg: Config, generator: FlowGenerator, planner: BoxPlanner):
        super().__init__()
        # The generator's own config, as a FlowGenerator's `cfg` (what the export and benches read);
        # the model's (where the box slots sit) as `tokens`.
        self.cfg = generator.cfg
        self.tokens = cfg
        self.generator = generator
        self.planner = planner

    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.generator.encode_text(ids, mask, appearance, cameo)

    def velocity(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        rest = without_boxes(self.tokens, x)
        v = self.generator.velocity(rest, t, text, pooled, text_mask)
        tt = t[:, None, None]
        plan = self.planner(rest - tt * v, text, pooled, text_mask)
        return with_boxes(self.tokens, v, (x[..., box_numbers(self.tokens)] - plan) / tt)

    def forward(self, x: torch.Tensor, t: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None) -> torch.Tensor:
        text, pooled, text_mask = self.encode_text(ids, mask, appearance, cameo)
        return self.velocity(x, t, text, pooled, text_mask)


def generator_part(denoiser: FlowGenerator | PlannedDenoiser) -> FlowGenerator:
    """The generator of a denoiser, without its box planner where it has one."""
    return denoiser.generator if isinstance(denoiser, PlannedDenoiser) else denoiser


@torch.no_grad()
def prompt_conditions(generator: FlowGenerator, ids: torch.Tensor, mask: torch.Tensor, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The denoiser's condition for every prompt (no cameo), cut to the longest prompt: text [N, L, W]
    (float16, to halve the memory), pooled [N, W] and mask [N, L]."""
    texts, pooleds, masks = [], [], []
    for k in range(0, len(ids), batch):
        text, pooled, m = generator.encode_text(ids[k : k + batch], mask[k : k + batch])
        texts.append(text.half())
        pooleds.append(pooled)
        masks.append(m)
    text, mask = torch.cat(texts), torch.cat(masks)
    # The cameo's token stays last where the generator has one, masked out: cut the prompt's padding.
    used = int(mask[:, : ids.shape[1]].sum(0).nonzero().max()) + 1
    keep = torch.cat([torch.arange(used), torch.arange(ids.shape[1], text.shape[1])])
    return text[:, keep], torch.cat(pooleds), mask[:, keep]


def box_metrics(cfg: Config, plan: torch.Tensor, want: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> dict:
    """Raw-space checks of planned box slots [N, T, boxes·7] against the world's (both normalised):
    the clip's box count right (the median over frames of the boxes shown), the first box's colour
    right (within 0.15 on every channel, where the world shows one), and the median centre error in
    pixels where both show a box."""
    b = box_numbers(cfg)
    rp = (plan * std[b] + mean[b]).reshape(*plan.shape[:2], cfg.boxes, SLOT_NUMBERS)
    rw = (want * std[b] + mean[b]).reshape(*want.shape[:2], cfg.boxes, SLOT_NUMBERS)
    count_p = (rp[..., 0] > 0.5).sum(-1).median(dim=1).values
    count_w = (rw[..., 0] > 0.5).sum(-1).median(dim=1).values
    has = count_w > 0
    colour_ok = ((rp[:, 0, 0, 4:7] - rw[:, 0, 0, 4:7]).abs() < 0.15).all(-1)
    both = (rp[..., 0] > 0.5) & (rw[..., 0] > 0.5)
    dist = torch.hypot(rp[..., 1] - rw[..., 1], rp[..., 2] - rw[..., 2])[both] * cfg.size
    return {
        "val_count_right": round((count_p == count_w).float().mean().item(), 4),
        "val_count_right_with_boxes": round((count_p == count_w)[has].float().mean().item(), 4) if has.any() else None,
        "val_colour_right": round(colour_ok[has].float().mean().item(), 4) if has.any() else None,
        "val_median_px": round(dist.median().item(), 3) if len(dist) else None,
    }


def prompt_colours(cfg: Config, run: Path, clips: int, seed: int) -> tuple[list[str], torch.Tensor]:
    """Prompts of scenes with boxes, sampled by the world without rendering (`npm run world -- prompts`:
    `clips` scenes from `seed`, a third more with a figure, as the cameo clips have), and each box
    slot's colour as an index into BOX_COLOURS [N, boxes] (-100 past the scene's boxes)."""
    import subprocess

    repo = Path(__file__).resolve().parents[3]
    lines: list[dict] = []
    for k, (count, start, extra) in enumerate(((clips, seed, []), (clips // 3, seed + clips, ["--cameos"]))):
        out = run / f"planner-prompts-{k}.jsonl"
        done = subprocess.run([str(repo / "node_modules" / ".bin" / "tsx"), "model-shards/world/cli.ts", "prompts", "--clips", str(count), "--seed", str(start), "--out", str(out), *extra], cwd=repo, capture_output=True, text=True)
        if done.returncode != 0:
            raise ValueError(f"the world's prompts could not be sampled: {done.stderr.strip()}")
        lines += [json.loads(line) for line in out.read_text().splitlines()]
        out.unlink()
    lines = [x for x in lines if x["boxes"]]
    labels = torch.full((len(lines), cfg.boxes), -100, dtype=torch.long)
    for i, x in enumerate(lines):
        for k, colour in enumerate(x["boxes"][: cfg.boxes]):
            if colour not in BOX_COLOURS:
                raise ValueError(f"scene {x['seed']} has a {colour} box, a colour the planner does not know ({', '.join(BOX_COLOURS)})")
            labels[i, k] = BOX_COLOURS.index(colour)
    return [x["prompt"] for x in lines], labels


def train_colours(planner: BoxPlanner, text: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, steps: int, batch: int, lr: float, seed: int, log) -> dict:
    """The planner's colour branch alone, a cross-entropy over the colour names of each scene's boxes;
    a tenth of the prompts held out to measure it."""
    gen = torch.Generator().manual_seed(seed)
    n = len(labels)
    held = max(1, n // 10)
    params = [p for name, p in planner.named_parameters() if name.startswith(COLOUR_BRANCH)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr * min(1.0, (step + 1) / 50) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / steps)))
        pick = torch.randint(held, n, (batch,), generator=gen)
        logits = planner.colour_logits(text[pick].float(), pooled[pick], mask[pick])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[pick].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = torch.cat([planner.colour_logits(text[k : min(k + 256, held)].float(), pooled[k : min(k + 256, held)], mask[k : min(k + 256, held)]) for k in range(0, held, 256)])
    named = labels[:held] >= 0
    right = (logits.argmax(-1) == labels[:held])[named]
    result = {"prompts": n, "held_out": held, "steps": steps, "loss": round(loss.item(), 4), "held_out_box_colours_right": round(right.float().mean().item(), 4)}
    log(event="colours", stage="box-planner", **result)
    return result


def train_box_planner(cfg: Config, run: Path, seed: int, minutes: float | None, steps: int | None, log) -> dict:
    """Trains the planner in two parts. Its colour branch first, on many prompts the world samples
    without rendering (prompt_colours, train_colours). Then the rest, on the run's frame tokens: the
    tokens without box slots (mixed with noise) and the prompt's condition from the run's student
    (what its denoiser graph receives) as inputs, the world's box slots as targets, a mean squared
    error over the normalised numbers (the colour's only where the world shows the box), the colour
    branch kept as it learnt."""
    from .generator import generator_for
    from .text import Tokenizer
    from .train import Loop, RunClips, ema_update, load_stage, restrict_training

    if not cfg.box_planner:
        raise ValueError(f"config {cfg.name} does not plan its boxes: it has no box planner to train")
    torch.manual_seed(seed)
    clips = RunClips(run)
    if not (run / "tokens.npy").exists():
        raise ValueError(f"{run} has no tokens.npy: run --stage encode first")
    tokenizer = Tokenizer.load(run / "tokenizer.json")
    # The prompt as the student's text encoder gives it: what the denoiser graph receives.
    student = generator_for(cfg.generator, len(tokenizer.vocab), load_stage(run, "student", cfg)["extra"]["ema"]).eval()
    stats = np.load(run / "token-stats.npz")
    mean, std = torch.from_numpy(stats["mean"]), torch.from_numpy(stats["std"])
    tokens = torch.from_numpy(np.load(run / "tokens.npy").astype(np.float32))
    if tokens.shape[-1] != cfg.token_dim:
        raise ValueError(f"{run}/tokens.npy has {tokens.shape[-1]} numbers a frame, config {cfg.name} {cfg.token_dim}: encode it with this config (--stage encode --base RUN)")
    b = box_numbers(cfg)
    boxes = tokens[..., b].clone()
    rest = without_boxes(cfg, tokens)
    del tokens
    shown = ((boxes * std[b] + mean[b]).reshape(*boxes.shape[:2], cfg.boxes, SLOT_NUMBERS)[..., 0] > 0.5).any(dim=1)  # [N, boxes]
    ids, mask = tokenizer.batch([m["prompt"] for m in clips.metas])
    text, pooled, text_mask = prompt_conditions(student, ids, mask)
    train_clips, val_clips = clips.split()
    val = torch.from_numpy(np.asarray(val_clips[:BOX_PLANNER_VAL]))
    t = cfg.box_planner_train
    planner = planner_for(cfg)
    planner.set_statistics(stats["mean"][b], stats["std"][b])
    if not (run / "box-planner.pt").exists():
        prompts, labels = prompt_colours(cfg, run, t.prompts, t.prompt_seed)
        pids, pmask = tokenizer.batch(prompts)
        ptext, ppooled, pmask = prompt_conditions(student, pids, pmask)
        train_colours(planner, ptext, ppooled, pmask, labels, t.colour_steps, t.batch, t.lr, seed, log)
        del ptext
    del student
    restrict_training(planner, [n for n in dict.fromkeys(name.split(".")[0] for name, _ in planner.named_parameters()) if not n.startswith(COLOUR_BRANCH)])
    ema = copy.deepcopy(planner).requires_grad_(False)
    loop = Loop("box-planner", cfg, planner, t.lr, t.warmup_steps, steps if steps is not None else t.steps, run, seed, log, extra={"ema": ema})
    train_idx = np.asarray(train_clips)

    def train_step() -> torch.Tensor:
        pick = torch.from_numpy(loop.rng.choice(train_idx, size=t.batch))
        x = rest[pick]
        s = torch.rand(len(pick), 1, 1) * t.noise
        x = (1 - s) * x + s * torch.randn_like(x)
        plan = planner(x, text[pick].float(), pooled[pick], text_mask[pick])
        # The colour fields count where the world shows the box: an absent slot's colour is never painted.
        w = torch.ones(len(pick), cfg.boxes, SLOT_NUMBERS)
        w[..., COLOUR_AT:] *= shown[pick][..., None]
        err = ((plan - boxes[pick]) ** 2).reshape(len(pick), -1, cfg.boxes, SLOT_NUMBERS) * w[:, None]
        return err.mean()

    def after_step() -> None:
        with torch.no_grad():
            ema_update(ema, planner, min(t.ema, (1 + loop.step) / (10 + loop.step)))

    def evaluate() -> dict:
        with torch.no_grad():
            plan = torch.cat([ema(rest[val[k : k + 64]], text[val[k : k + 64]].float(), pooled[val[k : k + 64]], text_mask[val[k : k + 64]]) for k in range(0, len(val), 64)])
            return {"val_mse": round(((plan - boxes[val]) ** 2).mean().item(), 5), **box_metrics(cfg, plan, boxes[val], mean, std)}

    started = time.time()
    result = loop.run(train_step, evaluate, t.eval_every, t.checkpoint_minutes, minutes, after_step)
    result["elapsed_s"] = round(time.time() - started, 1)
    return result
