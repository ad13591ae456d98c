"""Named training configurations: `tiny` keeps the training code tested in seconds, `draft` is the
model the browser tab runs, `pro` the larger one for server GPUs."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from .audio_ae import AudioAEConfig
from .generator import GeneratorConfig
from .slots import SLOT_NUMBERS
from .video_ae import VideoAEConfig


@dataclass(frozen=True)
class VideoAETrain:
    batch: int = 32
    lr: float = 2e-3
    warmup_steps: int = 200
    steps: int = 20_000
    vivid_boost: float = 6.0
    # A small penalty on latent magnitude keeps the latent scale stable for the generator.
    latent_l2: float = 1e-4
    eval_every: int = 250
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class AudioAETrain:
    batch: int = 8
    lr: float = 1e-3
    warmup_steps: int = 100
    steps: int = 3_000
    waveform_l1: float = 0.5
    latent_l2: float = 1e-4
    eval_every: int = 200
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class GeneratorTrain:
    batch: int = 32
    lr: float = 5e-4
    warmup_steps: int = 200
    steps: int = 6_000
    prompt_dropout: float = 0.1
    ema: float = 0.999
    # Loss weight of each slot number and sound number against a latent number's 1. The 35 slot
    # numbers are 3% of a Draft token; unweighted, the loss let positions jitter by ~0.5 px a frame.
    slot_weight: float = 1.0
    audio_weight: float = 1.0
    eval_every: int = 250
    checkpoint_minutes: float = 5.0
    # Every this many steps, the physics bench on `bench_clips` held-out prompts (0: never).
    bench_every: int = 1000
    bench_clips: int = 20


@dataclass(frozen=True)
class DistillTrain:
    # "reflow": the student learns the straight line from each noise to the teacher's result, at any t
    # (one network for 1-8 steps). "progressive": it learns to take, in one step of a `student_steps`
    # grid, the teacher's `teacher_steps // student_steps` guided steps from the same state (see distill.py).
    method: str = "reflow"
    student_steps: int = 4
    pairs: int = 3_000
    pair_batch: int = 32
    teacher_steps: int = 24
    teacher_guidance: float = 2.0
    batch: int = 32
    lr: float = 2e-4
    warmup_steps: int = 50
    steps: int = 2_000
    ema: float = 0.995
    eval_every: int = 100
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class HeadLocatorTrain:
    batch: int = 256
    lr: float = 2e-3
    warmup_steps: int = 100
    steps: int = 3_000
    ema: float = 0.999
    width: int = 48
    layers: int = 4
    # How far (in cells of the latent grid) a cell may move the centre it votes for. With 2, three of
    # five runs from scratch stalled near 1.1 px: the vote comes from the figure's body, two rows
    # below the head, and a tanh pinned at its limit passes no gradient (reports/experiments.md,
    # "Why the head locator stalls from scratch"). Saved in the checkpoint; one saved without it means 2.
    reach: float = 4.0
    eval_every: int = 250
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class TrackRefinerTrain:
    batch: int = 256
    lr: float = 2e-3
    warmup_steps: int = 200
    # With the student's own damage (pair_share of each batch) it learns in 1500 steps; by 2000 it
    # had begun to fit those few hundred tracks (their held-out acceleration error rose again).
    steps: int = 1_500
    # The sampler's own damage (track_refiner.draw_track_pairs): this many training clips' tokens
    # noised to pair_time and sampled back to 0 by the run's student on its own grid (of
    # distill.student_steps). A drawn ball track at most pair_max_px (mean over the frames both show
    # it) from the world's is a damaged copy of it; further off, it is another path, not learnt from.
    pair_clips: int = 1_000
    pair_time: float = 0.5
    pair_max_px: float = 8.0
    pair_share: float = 0.5
    ema: float = 0.999
    width: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1)
    eval_every: int = 500
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class SoundRefinerTrain:
    batch: int = 64
    lr: float = 1e-3
    warmup_steps: int = 200
    steps: int = 6_000
    ema: float = 0.999
    width: int = 96
    ball_width: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 1)
    # How much more a frame with a knock counts in the loss (sound_refiner.sound_loss).
    knock_weight: float = 4.0
    eval_every: int = 500
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class BoxPlannerTrain:
    batch: int = 64
    lr: float = 1e-3
    warmup_steps: int = 100
    steps: int = 3_000
    ema: float = 0.999
    width: int = 128
    layers: int = 3
    heads: int = 4
    # The input tokens are mixed with noise up to this share ((1 − s)·x + s·noise, s uniform), as a
    # generated clip is the world's with damage: where the clip is unsure the planner leans on the words.
    noise: float = 0.4
    # The colour branch's prompts: this many scenes the world samples from prompt_seed (a third more
    # with a figure), far from every dataset's seeds, without rendering; those with boxes are kept.
    # Its held-out box colours were as right after 2500 steps as after 8000 (79.9% and 79.3%).
    prompts: int = 45_000
    prompt_seed: int = 2_000_000
    colour_steps: int = 2_500
    eval_every: int = 250
    checkpoint_minutes: float = 5.0


@dataclass(frozen=True)
class Temperature:
    """How a clip's background latent is sampled: its starting noise times `scale`, a lower sampling
    temperature that leaves out the soft objects the generator is unsure of (they appear and vanish),
    except around a figure, which it would leave out too. Where the figure is comes from a first draw
    of `first_steps` from the same noise at full scale: its head slot (present, x, y). The latent cells
    kept at full scale have their centre within `across` of the head's x, and from `above` over it to
    `below` under it (shares of the side), on each frame that shows the head and one frame either side.
    The slots and the sound are never scaled, nor training's noise. `scale` 1 is plain sampling.
    Implemented twice, bit for bit where the tokens agree: evaluate.temper and workers/src/engine/flow.ts."""

    scale: float = 1.0
    first_steps: int = 1
    across: float = 0.11
    above: float = 0.09
    below: float = 0.38


@dataclass(frozen=True)
class Config:
    name: str
    size: int
    fps: int
    sample_rate: int
    duration_s: float
    video_ae: VideoAEConfig
    audio_ae: AudioAEConfig
    generator: GeneratorConfig
    video_ae_train: VideoAETrain = field(default_factory=VideoAETrain)
    audio_ae_train: AudioAETrain = field(default_factory=AudioAETrain)
    generator_train: GeneratorTrain = field(default_factory=GeneratorTrain)
    distill: DistillTrain = field(default_factory=DistillTrain)
    # Object slots (see slots.py): the video autoencoder encodes frames without their balls and each
    # ball is SLOT_NUMBERS numbers per frame beside the latent. 0: balls stay in the latent.
    slots: int = 0
    # The frames are `upscale` times the video autoencoder's side: an UpscaleDecoder (video_ae.py),
    # trained by the video-upscale stage on frames of `size`, paints the latent at that size.
    upscale: int = 1
    video_upscale_train: VideoAETrain = field(default_factory=VideoAETrain)
    # A config that builds on another's trained run (encode --base RUN): it shares that run's
    # autoencoders, tokenizer and token statistics, and its generator starts as that run's teacher,
    # grown (generator.grow) to this config's depth and frames. "" for a config trained from scratch.
    shares: str = ""
    # What the manifest calls it: "draft" runs in the tab, "pro" on the render nodes.
    tier: str = "draft"
    # The figure's head as one more slot after the balls' (slots.head_slot): the video decoder paints
    # a cameo's reference face there (slots.paint_face), so the generator needs no face of its own.
    head_slot: bool = False
    # Box slots after the head's (slots.box_slots): a stack's boxes, bottom first, as the balls are
    # slots, painted by the video decoder as squares under the balls (slots.composite_boxes). The
    # background latent alone drew no stack the bench could count in any of the 99 held-out prompts
    # that ask for one (reports/experiments.md, "Box stacks"). 0: boxes stay in the latent.
    boxes: int = 0
    # The box slots planned from the prompt and the rest of the clip (box_planner.py) rather than
    # generated: the generator (teacher and student) is the base config's, without box slots, and the
    # planner, inside the denoiser graph, sets the boxes the last step ends on.
    box_planner: bool = False
    box_planner_train: BoxPlannerTrain = field(default_factory=BoxPlannerTrain)
    # With box slots, the video decoder paints the background without its boxes (the video-bare
    # stage: the shared decoder taught, on the world's frames rendered without their boxes, to leave
    # out the boxes the latent holds). The boxes come from their slots alone, and a stack-coloured
    # smear the student draws in the latent is not painted beside them.
    bare_decoder: bool = False
    video_bare_train: VideoAETrain = field(default_factory=lambda: VideoAETrain(batch=16, lr=2e-4, warmup_steps=50, steps=3_000, eval_every=250))
    # The cameo's face goes where the frame's latent draws the head (head_locator.py), read by a small
    # net trained on the run's tokens, rather than on the generated head slot, which can drift off
    # the figure the latent draws. Shared by a config built on this one (Pro on draft-cameo).
    head_locator: bool = False
    head_locator_train: HeadLocatorTrain = field(default_factory=HeadLocatorTrain)
    # The generated ball tracks go through a learnt prior of the world's motion before they are
    # smoothed and painted (track_refiner.py): rounded landings become falls that meet the floor.
    track_refiner: bool = False
    track_refiner_train: TrackRefinerTrain = field(default_factory=TrackRefinerTrain)
    # The generated sound refined, in the audio decoder, to sound the impacts of the balls as they are
    # painted (sound_refiner.py): a knock where a ball lands, not a frame or two before or after it.
    sound_refiner: bool = False
    sound_refiner_train: SoundRefinerTrain = field(default_factory=SoundRefinerTrain)
    # The painted balls kept from passing through each other (slots.separate_balls, in
    # track_refiner.painted_slots: after the track refiner, before the smoothing and after it), as
    # the world's solid balls never do.
    separate_balls: bool = False
    # The background latent drawn at a lower temperature, except around a figure (Temperature).
    temperature: Temperature = field(default_factory=Temperature)

    @property
    def slot_count(self) -> int:
        """Slots in a frame token: the balls', then the head's, then the boxes'."""
        return self.slots + int(self.head_slot) + self.boxes

    @property
    def head_at(self) -> int:
        """Where the head's slot starts in a frame token (after the latent and the balls' slots)."""
        if not self.head_slot:
            raise ValueError(f"config {self.name} has no head slot")
        return self.video_ae.latent_numbers + self.slots * SLOT_NUMBERS

    @property
    def boxes_at(self) -> int:
        """Where the boxes' slots start in a frame token (after the balls' and the head's)."""
        return self.video_ae.latent_numbers + (self.slots + int(self.head_slot)) * SLOT_NUMBERS

    @property
    def frames(self) -> int:
        return round(self.fps * self.duration_s)

    @property
    def generated_dim(self) -> int:
        """The numbers of a frame token the generator draws: all but planned box slots (box_planner)."""
        return self.token_dim - (self.boxes * SLOT_NUMBERS if self.box_planner else 0)

    @property
    def generated_slots(self) -> int:
        """The slots the generator draws: all but planned box slots (box_planner)."""
        return self.slot_count - (self.boxes if self.box_planner else 0)

    def loss_weights(self) -> torch.Tensor:
        """Per-number weights [D] of the flow loss, mean 1 (see GeneratorTrain.slot_weight)."""
        w = torch.ones(self.token_dim)
        w[self.video_ae.latent_numbers : self.video_numbers] = self.generator_train.slot_weight
        w[self.video_numbers :] = self.generator_train.audio_weight
        return w / w.mean()

    @property
    def video_numbers(self) -> int:
        """The video part of a frame token: the latent, then the slots."""
        return self.video_ae.latent_numbers + self.slot_count * SLOT_NUMBERS

    @property
    def token_dim(self) -> int:
        return self.video_numbers + self.audio_ae.latent_channels


CONFIGS: dict[str, Config] = {
    "tiny": Config(
        name="tiny",
        size=32,
        fps=12,
        sample_rate=24_000,
        duration_s=1.0,
        video_ae=VideoAEConfig(size=32, latent_channels=4, latent_side=8, channels=(8, 16, 16)),
        audio_ae=AudioAEConfig(sample_rate=24_000, fps=12, latent_channels=4, strides=(5, 5, 5, 4, 4), channels=(4, 8, 8, 16, 16)),
        generator=GeneratorConfig(frames=12, token_dim=4 * 8 * 8 + 5 * SLOT_NUMBERS + 4, width=32, depth=2, heads=2, text_width=32, text_layers=1, text_heads=2, max_tokens=96, patch=4, latent_channels=4, latent_side=8, slots=5, slot_numbers=SLOT_NUMBERS, appearance_side=16),
        video_ae_train=VideoAETrain(batch=8, lr=2e-3, warmup_steps=2, steps=6, eval_every=3, checkpoint_minutes=0.0),
        audio_ae_train=AudioAETrain(batch=2, warmup_steps=2, steps=4, eval_every=2, checkpoint_minutes=0.0),
        generator_train=GeneratorTrain(batch=4, warmup_steps=2, steps=6, eval_every=3, checkpoint_minutes=0.0, bench_every=3, bench_clips=1),
        distill=DistillTrain(method="progressive", student_steps=2, pairs=4, pair_batch=2, teacher_steps=4, batch=4, warmup_steps=1, steps=3, eval_every=2, checkpoint_minutes=0.0),
        slots=5,
    ),
    "draft": Config(
        name="draft",
        size=128,
        fps=12,
        sample_rate=24_000,
        duration_s=2.0,
        # A 16×16 grid (one cell per 8×8 pixels): an 8×8 grid blurred the world's small balls past what the bench can track.
        video_ae=VideoAEConfig(size=128, latent_channels=4, latent_side=16, channels=(16, 32, 64, 128)),
        audio_ae=AudioAEConfig(sample_rate=24_000, fps=12, latent_channels=8),
        # 4×4 patches of the 16×16 background latent, one token per ball slot (up to 5 balls) and one for
        # the sound: 22 tokens a frame, 528 in all. Balls in the latent (0.1.0-dev: one token per frame;
        # then patch tokens) came out as scattered spots: the latent's 8-px cells blur 3-px balls away.
        generator=GeneratorConfig(frames=24, token_dim=4 * 16 * 16 + 5 * SLOT_NUMBERS + 8, width=256, depth=6, heads=4, text_width=256, text_layers=2, text_heads=4, max_tokens=128, patch=4, latent_channels=4, latent_side=16, slots=5, slot_numbers=SLOT_NUMBERS, appearance_side=16),
        generator_train=GeneratorTrain(batch=16, lr=4e-4, steps=7_000, slot_weight=8.0, audio_weight=4.0),
        # The student learns the shipped teacher sampler (8 steps, guidance 1.5) two steps at a time.
        distill=DistillTrain(method="progressive", teacher_steps=8, teacher_guidance=1.5, student_steps=4, pairs=5_700),
        slots=5,
    ),
}

# Cameos as a slot: the Draft with the figure's head as a sixth slot, whose face the video decoder
# paints from the cameo's reference image (Draft 0.4.0). It builds on a trained Draft run (encode
# --base): the same autoencoders and tokenizer, the Draft's statistics with the head's added, and a
# generator that starts as the Draft's teacher with one more slot token a frame (generator.grow).
# Conditioning the generator on the face instead (the cameo stage) told two faces apart 42% of the
# time (chance 50%, reports/experiments.md). tiny-cameo is the same construction for the tests.
def with_head_slot(base: str, **train) -> Config:
    b = CONFIGS[base]
    generator = replace(b.generator, token_dim=b.token_dim + SLOT_NUMBERS, slots=b.slots + 1, appearance_side=0)
    return replace(b, name=f"{base}-cameo", shares=base, head_slot=True, head_locator=True, generator=generator, generator_train=replace(b.generator_train, bench_every=0, **train))


# Its background latent is drawn at 0.8 of its noise, the figure kept at full where a first draw of
# 2 steps puts it (Draft 0.8.1; reports/experiments.md, "A lower temperature for the background latent").
# Its painted balls are kept from passing through each other (Draft 0.8.2; reports/experiments.md,
# "Where the student's points go, part by part, and balls that do not pass through each other").
CONFIGS["draft-cameo"] = replace(with_head_slot("draft", lr=2e-4, warmup_steps=50), track_refiner=True, sound_refiner=True, separate_balls=True, temperature=Temperature(scale=0.8, first_steps=2))
CONFIGS["tiny-cameo"] = replace(
    with_head_slot("tiny"),
    head_locator_train=HeadLocatorTrain(batch=32, warmup_steps=2, steps=4, width=8, layers=2, eval_every=2, checkpoint_minutes=0.0),
    track_refiner=True,
    separate_balls=True,
    # Its student is a few steps old: every track it draws counts as a damaged copy (pair_max_px).
    track_refiner_train=TrackRefinerTrain(batch=32, warmup_steps=2, steps=4, width=8, dilations=(1, 2), eval_every=2, checkpoint_minutes=0.0, pair_clips=8, pair_max_px=1e3),
    sound_refiner=True,
    sound_refiner_train=SoundRefinerTrain(batch=8, warmup_steps=2, steps=4, width=8, ball_width=8, dilations=(1, 2), eval_every=2, checkpoint_minutes=0.0),
)


# Box stacks as slots: the cameo Draft with five box slots after the head's (the world's clips hold a
# stack of up to four boxes and loose boxes, five at most), painted by the video decoder as squares
# under the balls. It builds on a trained draft-cameo run (encode --base): that run's tokens with the
# boxes' numbers put in, its decoders and statistics (the boxes' added), and a teacher and student
# that start as that run's, grown by five slot tokens a frame (generator.grow). tiny-boxes is the same
# construction for the tests.
def with_box_slots(base: str, boxes: int, **train) -> Config:
    b = CONFIGS[base]
    generator = replace(b.generator, token_dim=b.token_dim + boxes * SLOT_NUMBERS, slots=b.generator.slots + boxes)
    return replace(b, name=f"{base.split('-')[0]}-boxes", shares=base, boxes=boxes, generator=generator, generator_train=replace(b.generator_train, bench_every=0, **train))


CONFIGS["draft-boxes"] = with_box_slots("draft-cameo", 5)
CONFIGS["tiny-boxes"] = with_box_slots("tiny-cameo", 5)


# Box slots planned (box_planner.py): the cameo Draft's teacher and student as they are, and five box
# slots (as draft-boxes has them) that a planner sets from the prompt and the clip the student draws.
# It builds on a trained draft-cameo run (encode --base): that run's tokens with the boxes' numbers
# put in, its decoders, statistics, teacher and student; the box-planner stage trains the planner.
def with_box_planner(base: str, boxes: int, **train) -> Config:
    b = CONFIGS[base]
    return replace(b, name=f"{base.split('-')[0]}-plan", shares=base, boxes=boxes, box_planner=True, **train)


CONFIGS["draft-plan"] = with_box_planner("draft-cameo", 5, bare_decoder=True)
CONFIGS["tiny-plan"] = with_box_planner(
    "tiny-cameo", 5,
    box_planner_train=BoxPlannerTrain(batch=4, warmup_steps=2, steps=6, width=16, layers=1, heads=2, eval_every=3, checkpoint_minutes=0.0, prompts=60, colour_steps=3),
    bare_decoder=True,
    video_bare_train=VideoAETrain(batch=4, lr=1e-3, warmup_steps=2, steps=4, eval_every=2, checkpoint_minutes=0.0),
)


# Pro, for server GPUs: 256² frames, 4 s, a deeper generator sampled with more steps. It builds on the
# trained run the Draft ships (draft-cameo, encode --base): its latent, slots (the head's included)
# and sound tokens, autoencoders, tokenizer and statistics; a decoder that paints the Draft's latent
# at 256² (video-upscale stage) and a cameo's face on the head there, as the Draft's does at 128²;
# and a generator that starts as the Draft's teacher, 2 blocks deeper (each starting as the
# identity) and twice as long. Trained from scratch, a 38M-parameter Pro (the earlier plan: width
# 512 × 12, its own 256² autoencoder) needs GPU days; grown from the Draft, it starts from a model
# that already draws the world. (75 CPU minutes on 3200 clips then overfitted: Pro ships it grown,
# untrained; reports/zoetrope-pro-0.1.0-notes.md.) Pro 0.1.0 grew from the Draft without a head slot.
CONFIGS["pro"] = replace(
    CONFIGS["draft-cameo"],
    name="pro",
    tier="pro",
    size=256,
    duration_s=4.0,
    upscale=2,
    shares="draft-cameo",
    generator=replace(CONFIGS["draft-cameo"].generator, frames=48, depth=8),
    generator_train=GeneratorTrain(batch=8, lr=2e-4, warmup_steps=50, steps=20_000, slot_weight=8.0, audio_weight=4.0, eval_every=100, bench_every=0),
    video_upscale_train=VideoAETrain(batch=8, lr=5e-4, warmup_steps=50, steps=6_000, eval_every=100),
    # Pro's decoders refine the tracks and the sound with the Draft's refiners (read from the base
    # run, train.SHARED_STAGES), since Pro 0.4.0.
    # Pro samples at full temperature: the Draft's lower temperature was not measured on Pro's
    # generator. Its painted balls are kept from passing through each other, as the Draft's are (Pro
    # 0.6.2: on its 100 held-out prompts, physics 47% → 56%, +9 / −0 clips; reports/experiments.md).
    temperature=Temperature(),
    separate_balls=True,
)
# The same construction on the tiny config, so the tests build a Pro the way Pro is built.
CONFIGS["tiny-pro"] = replace(
    CONFIGS["tiny-cameo"],
    name="tiny-pro",
    tier="pro",
    size=64,
    duration_s=2.0,
    upscale=2,
    shares="tiny-cameo",
    generator=replace(CONFIGS["tiny-cameo"].generator, frames=24, depth=3),
    generator_train=replace(CONFIGS["tiny-cameo"].generator_train, bench_every=0),
    video_upscale_train=VideoAETrain(batch=4, lr=1e-3, warmup_steps=2, steps=4, eval_every=2, checkpoint_minutes=0.0),
)


def adds_head_slot(cfg: Config) -> bool:
    """Whether a config puts the head's slot on a base run without one (draft-cameo on draft): its
    statistics widen the base's (train.widen_stats), and its student grows from the base's."""
    return cfg.head_slot and not (cfg.shares and CONFIGS[cfg.shares].head_slot)


def adds_box_slots(cfg: Config) -> bool:
    """Whether a config puts box slots on a base run with fewer (draft-boxes on draft-cameo): its
    statistics widen the base's, its tokens are the base's with the boxes' numbers put in (train.
    encode_dataset), and its teacher and student grow from the base's by those slots."""
    return bool(cfg.boxes) and bool(cfg.shares) and CONFIGS[cfg.shares].boxes < cfg.boxes


def added_numbers(cfg: Config) -> slice | None:
    """Where in a frame token the numbers a config adds to its base run's sit (adds_head_slot,
    adds_box_slots): the base's tokens with these taken out. None for a config that adds none."""
    if adds_head_slot(cfg):
        return slice(cfg.head_at, cfg.head_at + SLOT_NUMBERS)
    if adds_box_slots(cfg):
        start = cfg.boxes_at + CONFIGS[cfg.shares].boxes * SLOT_NUMBERS
        return slice(start, cfg.boxes_at + cfg.boxes * SLOT_NUMBERS)
    return None


def lineage(name: str) -> list[str]:
    """A config and those it builds on, in turn (pro, draft-cameo, draft)."""
    chain = [name]
    while CONFIGS[chain[-1]].shares:
        chain.append(CONFIGS[chain[-1]].shares)
    return chain


def root_config(name: str) -> str:
    """The config that trained a config's autoencoders: follow `shares` to one trained from scratch."""
    return lineage(name)[-1]


def get_config(name: str) -> Config:
    if name not in CONFIGS:
        raise ValueError(f"unknown config {name!r}: choose one of {', '.join(CONFIGS)}")
    cfg = CONFIGS[name]
    if cfg.generator.frames != cfg.frames or cfg.generator.token_dim != cfg.generated_dim:
        raise ValueError(f"config {name}: the generator expects {cfg.generator.frames} frames of {cfg.generator.token_dim} numbers, the autoencoders make {cfg.frames} of {cfg.generated_dim} for it")
    if cfg.size != cfg.video_ae.size * cfg.upscale:
        raise ValueError(f"config {name}: {cfg.size}² frames are not the video autoencoder's {cfg.video_ae.size}² × {cfg.upscale}")
    if cfg.shares and cfg.shares not in CONFIGS:
        raise ValueError(f"config {name} builds on config {cfg.shares!r}, which does not exist")
    g = cfg.generator
    if (g.slots, g.slot_numbers if g.slots else SLOT_NUMBERS) != (cfg.generated_slots, SLOT_NUMBERS):
        raise ValueError(f"config {name}: the generator has {g.slots} slots of {g.slot_numbers} numbers, the config {cfg.generated_slots} of {SLOT_NUMBERS}")
    if cfg.box_planner and not cfg.boxes:
        raise ValueError(f"config {name} plans box slots and has none")
    if cfg.bare_decoder and not cfg.boxes:
        raise ValueError(f"config {name} paints its background without boxes and has no box slots to paint them from")
    if cfg.bare_decoder and cfg.upscale > 1:
        raise ValueError(f"config {name}: the video-bare stage teaches the autoencoder's own decoder, and this config paints at {cfg.upscale}× its size")
    if cfg.head_slot and not cfg.slots:
        raise ValueError(f"config {name}: a head slot comes after the balls' slots, and the config has none")
    if cfg.boxes and not cfg.slots:
        raise ValueError(f"config {name}: box slots come after the balls' slots, and the config has none")
    if g.patch and (g.latent_channels, g.latent_side) != (cfg.video_ae.latent_channels, cfg.video_ae.latent_side):
        raise ValueError(f"config {name}: the generator cuts a {g.latent_channels}×{g.latent_side}² latent into patches, the video autoencoder makes {cfg.video_ae.latent_channels}×{cfg.video_ae.latent_side}²")
    check_temperature(cfg, f"config {name}")
    return cfg


def check_temperature(cfg: Config, what: str) -> None:
    """A scale in (0, 1], and below 1 only with a head slot (where the figure is kept)."""
    t = cfg.temperature
    if not 0 < t.scale <= 1:
        raise ValueError(f"{what}: the background latent's temperature scale must be above 0 and at most 1, got {t.scale}")
    if t.scale < 1 and not cfg.head_slot:
        raise ValueError(f"{what}: a temperature below 1 keeps the figure where its head slot is, and config {cfg.name} has no head slot")
    if t.first_steps < 1 or min(t.across, t.above, t.below) < 0:
        raise ValueError(f"{what}: the figure's first draw takes at least 1 step and its surroundings are not negative, got {t}")
