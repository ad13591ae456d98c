"""The generator: rectified flow over a clip's sequence of frame tokens, conditioned on the prompt.

A frame token is that frame's video latent (flattened) and audio latent side by side, normalised per
channel. Velocity v = noise − data is predicted by a transformer over the frame tokens (each frame
attends to every other, and to the prompt's tokens), with adaLN-Zero modulation from the flow time
and the pooled prompt. Training drops the prompt 10% of the time so sampling can use classifier-free
guidance.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from .text import Attention, TextEncoder


@dataclass(frozen=True)
class GeneratorConfig:
    frames: int = 24
    token_dim: int = 264
    width: int = 256
    depth: int = 6
    heads: int = 4
    text_width: int = 256
    text_layers: int = 2
    text_heads: int = 4
    max_tokens: int = 128
    # Spatial patch tokens: 0 gives one token per frame (the whole frame token through one Linear).
    # p > 0 cuts each frame's video latent [latent_channels, latent_side, latent_side] into
    # (latent_side / p)² tokens of latent_channels·p² numbers, plus one token for the frame's sound,
    # so every token attends to every other over space and time. Patch tokens share their weights
    # across the frame, which is what lets a ball learnt in one place be drawn in another.
    patch: int = 0
    latent_channels: int = 0
    latent_side: int = 0
    # Object slots (slots.py), with patch tokens only: after the latent, `slots` groups of
    # `slot_numbers`, one token each per frame, each with its own place embedding (slot k is the
    # prompt's k-th ball).
    slots: int = 0
    slot_numbers: int = 0
    # Cameos: the side of the reference appearance image (RGB, side × side) that conditions the clip,
    # or 0 for a generator without cameo conditioning.
    appearance_side: int = 0

    @property
    def patches_per_frame(self) -> int:
        return (self.latent_side // self.patch) ** 2 if self.patch else 0

    @property
    def patch_numbers(self) -> int:
        return self.latent_channels * self.patch * self.patch

    @property
    def latent_numbers(self) -> int:
        return self.latent_channels * self.latent_side * self.latent_side

    @property
    def audio_numbers(self) -> int:
        return self.token_dim - self.latent_numbers - self.slots * self.slot_numbers

    @property
    def tokens_per_frame(self) -> int:
        return self.patches_per_frame + self.slots + 1


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal features of flow time t ∈ [0, 1] ([B] → [B, dim])."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = (t.float() * 1000.0)[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class AppearanceEncoder(nn.Module):
    """A cameo's reference appearance image [B, side, side, 3] in [0, 1] → one conditioning token
    [B, text_width], placed after the prompt's tokens, and a vector added to the pooled prompt. At the
    Draft's size a face is ~40 pixels on the figure's head, so what can carry over is its layout of
    colours (skin, hair, backdrop), which two strided convolutions keep."""

    def __init__(self, side: int, text_width: int):
        super().__init__()
        if side % 4:
            raise ValueError(f"generator: an appearance image of side {side} does not halve twice into whole cells")
        self.conv = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.SiLU(), nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.SiLU())
        self.token = nn.Linear(64 * (side // 4) ** 2, text_width)
        self.place = nn.Parameter(torch.zeros(1, text_width))
        nn.init.normal_(self.place, std=0.02)
        # Zero at the start: fine-tuning a trained generator starts from exactly what it drew before.
        self.pooled = nn.Linear(text_width, text_width)
        nn.init.zeros_(self.pooled.weight)
        nn.init.zeros_(self.pooled.bias)

    def forward(self, appearance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.conv(appearance.permute(0, 3, 1, 2) * 2 - 1).flatten(1)
        token = self.token(h) + self.place
        return token, self.pooled(token)


class Block(nn.Module):
    def __init__(self, width: int, heads: int, text_width: int):
        super().__init__()
        self.n1 = nn.LayerNorm(width)
        self.att = Attention(width, heads)
        self.n2 = nn.LayerNorm(width)
        self.cross = Attention(width, heads, kv_width=text_width)
        self.n3 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        # adaLN-single (PixArt-α): the modulation is computed once for all blocks; each block adds its
        # own learned table. Shift, scale and gate for self-attention, cross-attention and MLP; zero at
        # the start, so every block starts as the identity (adaLN-Zero).
        self.table = nn.Parameter(torch.zeros(9, width))

    def forward(self, x: torch.Tensor, mod: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """mod: the shared modulation [B, 9, W]."""
        s1, k1, g1, s2, k2, g2, s3, k3, g3 = (mod + self.table)[:, :, None].unbind(dim=1)
        x = x + g1 * self.att(self.n1(x) * (1 + k1) + s1)
        x = x + g2 * self.cross(self.n2(x) * (1 + k2) + s2, ctx=text, mask=text_mask)
        x = x + g3 * self.mlp(self.n3(x) * (1 + k3) + s3)
        return x


class FlowGenerator(nn.Module):
    def __init__(self, cfg: GeneratorConfig, vocab_size: int):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.text = TextEncoder(vocab_size, cfg.max_tokens, cfg.text_width, cfg.text_layers, cfg.text_heads)
        if cfg.appearance_side:
            self.appearance = AppearanceEncoder(cfg.appearance_side, cfg.text_width)
        if cfg.patch:
            if cfg.latent_side % cfg.patch or cfg.audio_numbers <= 0:
                raise ValueError(f"generator: a {cfg.latent_side}² latent does not cut into {cfg.patch}² patches with sound beside it in {cfg.token_dim} numbers")
            self.inp = nn.Linear(cfg.patch_numbers, w)
            self.inp_audio = nn.Linear(cfg.audio_numbers, w)
            if cfg.slots:
                self.inp_slot = nn.Linear(cfg.slot_numbers, w)
            self.space = nn.Parameter(torch.zeros(1, 1, cfg.tokens_per_frame, w))
            nn.init.normal_(self.space, std=0.02)
        else:
            self.inp = nn.Linear(cfg.token_dim, w)
        self.pos = nn.Parameter(torch.zeros(1, cfg.frames, w))
        nn.init.normal_(self.pos, std=0.02)
        self.time = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.pooled = nn.Linear(cfg.text_width, w)
        self.blocks = nn.ModuleList(Block(w, cfg.heads, cfg.text_width) for _ in range(cfg.depth))
        self.mod = nn.Linear(w, 9 * w)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)
        self.norm = nn.LayerNorm(w)
        self.final_mod = nn.Linear(w, 2 * w)
        nn.init.zeros_(self.final_mod.weight)
        nn.init.zeros_(self.final_mod.bias)
        self.out = nn.Linear(w, cfg.patch_numbers if cfg.patch else cfg.token_dim)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        if cfg.patch:
            self.out_audio = nn.Linear(w, cfg.audio_numbers)
            nn.init.zeros_(self.out_audio.weight)
            nn.init.zeros_(self.out_audio.bias)
            if cfg.slots:
                self.out_slot = nn.Linear(w, cfg.slot_numbers)
                nn.init.zeros_(self.out_slot.weight)
                nn.init.zeros_(self.out_slot.bias)
        # A per-channel scale of x_t, set by (time, prompt): the head above can only reach a width-sized
        # subspace of the token, while the velocity's noise part lives in all of it (v ≈ (x_t − x̂₀) / t).
        self.skip = nn.Linear(w, cfg.token_dim)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    def encode_text(self, ids: torch.Tensor, mask: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The condition the denoiser attends to: the prompt's tokens [B, L, W] (and, with cameos, one
        more for the reference appearance, masked out where `cameo` [B] is 0), the pooled vector
        [B, W], and the attention mask over those tokens."""
        text, pooled = self.text(ids, mask)
        if not self.cfg.appearance_side:
            if appearance is not None:
                raise ValueError("this generator has no cameo conditioning (appearance_side = 0)")
            return text, pooled, mask
        B, side = ids.shape[0], self.cfg.appearance_side
        if appearance is None:
            appearance = torch.zeros(B, side, side, 3, device=ids.device)
            cameo = torch.zeros(B, device=ids.device)
        elif cameo is None:
            cameo = torch.ones(B, device=ids.device)
        token, extra = self.appearance(appearance.to(text.dtype))
        cameo = cameo.to(text.dtype)
        text = torch.cat([text, token[:, None]], dim=1)
        return text, pooled + cameo[:, None] * extra, torch.cat([mask, cameo[:, None]], dim=1)

    def velocity(self, x: torch.Tensor, t: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """x_t [B, T, D], t [B], encoded prompt → velocity [B, T, D]."""
        c = self.time(timestep_embedding(t, self.cfg.width)) + self.pooled(pooled)
        act = torch.nn.functional.silu(c)
        mod = self.mod(act).reshape(-1, 9, self.cfg.width)
        B, T, _ = x.shape
        if self.cfg.patch:
            h = self.embed_patches(x)
        else:
            h = self.inp(x) + self.pos[:, :T]
        for block in self.blocks:
            h = block(h, mod, text, text_mask)
        shift, scale = self.final_mod(act)[:, None].chunk(2, dim=-1)
        h = self.norm(h) * (1 + scale) + shift
        v = self.unpatch(h, B, T) if self.cfg.patch else self.out(h)
        return v + self.skip(act)[:, None] * x

    def embed_patches(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] frame tokens → [B, T·(N+K+1), W]: N video patches, K slots, then the sound, frame by frame."""
        c, p, n = self.cfg, self.cfg.patch, self.cfg.latent_side // self.cfg.patch
        B, T, _ = x.shape
        nl, ns = c.latent_numbers, c.slots * c.slot_numbers
        video = x[..., :nl].reshape(B, T, c.latent_channels, n, p, n, p)
        video = video.permute(0, 1, 3, 5, 2, 4, 6).reshape(B, T, n * n, c.patch_numbers)
        parts = [self.inp(video)]
        if c.slots:
            parts.append(self.inp_slot(x[..., nl : nl + ns].reshape(B, T, c.slots, c.slot_numbers)))
        parts.append(self.inp_audio(x[..., nl + ns :])[:, :, None])
        h = torch.cat(parts, dim=2) + self.space + self.pos[:, :T, None]
        return h.reshape(B, T * c.tokens_per_frame, -1)

    def unpatch(self, h: torch.Tensor, B: int, T: int) -> torch.Tensor:
        """The inverse of embed_patches, through the output heads: [B, T·(N+K+1), W] → [B, T, D]."""
        c, p, n = self.cfg, self.cfg.patch, self.cfg.latent_side // self.cfg.patch
        h = h.reshape(B, T, c.tokens_per_frame, -1)
        video = self.out(h[:, :, : n * n]).reshape(B, T, n, n, c.latent_channels, p, p)
        parts = [video.permute(0, 1, 4, 2, 5, 3, 6).reshape(B, T, c.latent_numbers)]
        if c.slots:
            parts.append(self.out_slot(h[:, :, n * n : n * n + c.slots]).reshape(B, T, c.slots * c.slot_numbers))
        parts.append(self.out_audio(h[:, :, -1]))
        return torch.cat(parts, dim=-1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None) -> torch.Tensor:
        text, pooled, text_mask = self.encode_text(ids, mask, appearance, cameo)
        return self.velocity(x, t, text, pooled, text_mask)


def generator_for(cfg: GeneratorConfig, vocab_size: int, state: dict | None = None) -> FlowGenerator:
    """A generator shaped for a saved state dict (or, without one, for training from scratch, which
    sees no cameos): one trained before cameos has no appearance weights and loads without them."""
    if cfg.appearance_side and (state is None or not any(k.startswith("appearance.") for k in state)):
        cfg = dataclasses.replace(cfg, appearance_side=0)
    model = FlowGenerator(cfg, vocab_size)
    if state is not None:
        model.load_state_dict(state)
    return model


def grow(state: dict, src: GeneratorConfig, dst: GeneratorConfig, vocab_size: int) -> dict:
    """A trained generator's weights (`state`, shaped for `src`) for a deeper, longer or wider-slotted
    `dst`, drawing what `src` drew. Old block i goes to place round(i · dst.depth / src.depth); each
    new block starts as the identity (its attention, cross-attention and MLP outputs zeroed: with
    adaLN-single the gates are shared, so zero gates are not enough). Frames past src's keep src's
    frame embeddings in turn (frame t takes t mod src.frames): the clip first repeats its opening and
    training teaches it to go on. New slots (after src's, before the sound) share the slot heads and
    get a fresh place embedding; the per-number skip starts at zero for their numbers. Everything
    else must match in shape."""
    same = ("width", "heads", "text_width", "text_layers", "text_heads", "max_tokens", "patch", "latent_channels", "latent_side", "slot_numbers")
    differ = [f for f in same if getattr(src, f) != getattr(dst, f)]
    if differ:
        raise ValueError(f"generator: cannot grow into a generator with other {', '.join(differ)}")
    if dst.depth < src.depth or dst.frames < src.frames or dst.slots < src.slots:
        raise ValueError(f"generator: grows deeper, longer and by more slots only, not from {src.depth} blocks × {src.frames} frames × {src.slots} slots to {dst.depth} × {dst.frames} × {dst.slots}")
    added = dst.slots - src.slots
    if dst.token_dim != src.token_dim + added * src.slot_numbers:
        raise ValueError(f"generator: {added} more slot(s) make a token of {src.token_dim + added * src.slot_numbers} numbers, not {dst.token_dim}")
    model = FlowGenerator(dataclasses.replace(dst, appearance_side=src.appearance_side if any(k.startswith("appearance.") for k in state) else 0), vocab_size)
    out = model.state_dict()
    placed = [round(i * dst.depth / src.depth) for i in range(src.depth)]
    first_new = src.patches_per_frame + src.slots  # the new slots' place among a frame's tokens
    new_numbers = src.latent_numbers + src.slots * src.slot_numbers  # … and among a token's numbers
    for key, value in state.items():
        if key.startswith("blocks."):
            _, i, rest = key.split(".", 2)
            out[f"blocks.{placed[int(i)]}.{rest}"] = value.clone()
        elif key == "pos":
            index = torch.arange(dst.frames) % src.frames
            out[key] = value[:, index].clone()
        elif key == "space" and added:
            out[key] = torch.cat([value[:, :, :first_new], out[key][:, :, first_new : first_new + added], value[:, :, first_new:]], dim=2)
        elif key in ("skip.weight", "skip.bias") and added:
            zeros = torch.zeros((added * src.slot_numbers, *value.shape[1:]), dtype=value.dtype)
            out[key] = torch.cat([value[:new_numbers], zeros, value[new_numbers:]], dim=0)
        else:
            if out[key].shape != value.shape:
                raise ValueError(f"generator: {key} is {tuple(value.shape)} in the trained model and {tuple(out[key].shape)} in the grown one")
            out[key] = value.clone()
    for i in sorted(set(range(dst.depth)) - set(placed)):
        for part in ("att.o", "cross.o", "mlp.2"):
            out[f"blocks.{i}.{part}.weight"].zero_()
            out[f"blocks.{i}.{part}.bias"].zero_()
    return out


def drop_prompt(ids: torch.Tensor, mask: torch.Tensor, drop: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The unconditional prompt (just [BOS]) where `drop` is true: what guidance compares against."""
    ids = ids.clone()
    mask = mask.clone()
    ids[drop, 1:] = 0
    mask[drop, 1:] = 0
    return ids, mask


@torch.no_grad()
def sample(model: FlowGenerator, ids: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor, steps: int, guidance: float, schedule: list[float] | None = None, appearance: torch.Tensor | None = None, cameo: torch.Tensor | None = None, visited: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Euler integration of the flow from noise (t = 1) to data (t = 0), with classifier-free guidance
    against the empty prompt without a cameo. `schedule` lists the times visited (default: `steps`
    equal steps from 1 to 0); `visited`, when given, receives the state after each step."""
    times = schedule if schedule is not None else [1.0 - i / steps for i in range(steps + 1)]
    B = noise.shape[0]
    text, pooled, mask = model.encode_text(ids, mask, appearance, cameo)
    uids, umask = drop_prompt(ids, mask[:, : ids.shape[1]], torch.ones(B, dtype=torch.bool))
    utext, upooled, umask = model.encode_text(uids, umask)
    x = noise
    for t0, t1 in zip(times[:-1], times[1:]):
        t = torch.full((B,), t0, device=noise.device)
        v = model.velocity(x, t, text, pooled, mask)
        if guidance != 1.0:
            vu = model.velocity(x, t, utext, upooled, umask)
            v = vu + guidance * (v - vu)
        x = x + (t1 - t0) * v
        if visited is not None:
            visited.append(x)
    return x
