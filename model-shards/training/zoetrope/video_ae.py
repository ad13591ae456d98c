"""The per-frame video autoencoder: a 128×128 RGB frame ↔ a compact latent grid.

The generator never sees pixels: it makes a short sequence of frame latents, and this decoder renders
each one (once per frame, in the browser). The encoder is only used to make training targets.
Plain convolutions and SiLU, no normalisation layers: every op exports to ONNX opset 14 and runs on
onnxruntime-web's WebGPU and WASM backends.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VideoAEConfig:
    size: int = 128
    latent_channels: int = 4
    latent_side: int = 8
    # Channels from the finest level (size) down to the latent level.
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)

    @property
    def levels(self) -> int:
        return len(self.channels) - 1

    @property
    def latent_numbers(self) -> int:
        return self.latent_channels * self.latent_side * self.latent_side

    def check(self) -> None:
        if self.size % self.latent_side or self.size // self.latent_side != 2**self.levels:
            raise ValueError(f"size {self.size} must be latent_side {self.latent_side} × 2^{self.levels} (one halving per channel step)")


class ResBlock(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.a = nn.Conv2d(ch, ch, 3, padding=1)
        self.b = nn.Conv2d(ch, ch, 3, padding=1)
        nn.init.zeros_(self.b.weight)
        nn.init.zeros_(self.b.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.silu(self.a(F.silu(x))))


class FrameEncoder(nn.Module):
    def __init__(self, cfg: VideoAEConfig):
        super().__init__()
        cfg.check()
        ch = cfg.channels
        self.stem = nn.Conv2d(3, ch[0], 3, padding=1)
        self.down = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 4, stride=2, padding=1) for i in range(cfg.levels))
        self.blocks = nn.ModuleList(ResBlock(ch[i + 1]) if i >= cfg.levels - 2 else nn.Identity() for i in range(cfg.levels))
        self.out = nn.Conv2d(ch[-1], cfg.latent_channels, 1)

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """rgb in [-1, 1], [B, 3, S, S] → latent [B, C, s, s]."""
        x = self.stem(rgb)
        for down, block in zip(self.down, self.blocks):
            x = block(down(F.silu(x)))
        return self.out(F.silu(x))


class FrameDecoder(nn.Module):
    def __init__(self, cfg: VideoAEConfig):
        super().__init__()
        cfg.check()
        ch = cfg.channels[::-1]
        self.cfg = cfg
        self.inp = nn.Conv2d(cfg.latent_channels, ch[0], 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(ch[i]) if i < 2 else nn.Identity() for i in range(cfg.levels))
        self.up = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 3, padding=1) for i in range(cfg.levels))
        self.refine = ResBlock(ch[-1])
        self.out = nn.Conv2d(ch[-1], 3, 3, padding=1)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, C, s, s] → the finest level's features [B, channels[0], S, S]."""
        x = self.inp(z)
        for block, up in zip(self.blocks, self.up):
            x = block(x)
            x = up(F.interpolate(F.silu(x), scale_factor=2.0, mode="nearest"))
        return self.refine(x)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, C, s, s] → rgb in [-1, 1] (tanh), [B, 3, S, S]."""
        return torch.tanh(self.out(F.silu(self.features(z))))


class UpscaleDecoder(nn.Module):
    """Paints a latent at `factor` times its autoencoder's side: Pro draws the Draft's latent at 256².
    It starts from a trained FrameDecoder: its picture, upsampled bilinearly, plus a correction made
    from its finest features at the new size. The correction's last layer starts at zero, so training
    starts from the plain upsampled picture and learns the sharper one (the world renders at 256²)."""

    def __init__(self, base: FrameDecoder, factor: int):
        super().__init__()
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"an upscaling decoder takes a power-of-two factor of 2 or more, not {factor}")
        self.base = base
        self.factor = factor
        ch = base.cfg.channels[0]
        self.up = nn.ModuleList(nn.Conv2d(ch, ch, 3, padding=1) for _ in range(factor.bit_length() - 1))
        self.refine = ResBlock(ch)
        self.out = nn.Conv2d(ch, 3, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, C, s, s] → rgb in [-1, 1] (clamped), [B, 3, factor·S, factor·S]."""
        x = self.base.features(z)
        rgb = torch.tanh(self.base.out(F.silu(x)))
        for up in self.up:
            x = up(F.interpolate(F.silu(x), scale_factor=2.0, mode="nearest"))
        x = self.refine(x)
        base = F.interpolate(rgb, scale_factor=float(self.factor), mode="bilinear", align_corners=False)
        return (base + self.out(F.silu(x))).clamp(-1.0, 1.0)


class FrameAutoencoder(nn.Module):
    def __init__(self, cfg: VideoAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = FrameEncoder(cfg)
        self.decoder = FrameDecoder(cfg)

    def forward(self, rgb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(rgb)
        return self.decoder(z), z


def to_unit(frames_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [B, S, S, 3] → float [B, 3, S, S] in [-1, 1]."""
    return frames_uint8.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def vivid_weight(rgb: torch.Tensor, boost: float) -> torch.Tensor:
    """Per-pixel loss weight [B, 1, S, S]: 1 on the muted stage, 1 + boost on vivid (saturated) pixels —
    the world's moving things are vivid and small, and they are what the physics bench judges."""
    x = (rgb + 1) / 2
    mx = x.amax(dim=1, keepdim=True)
    mn = x.amin(dim=1, keepdim=True)
    saturation = (mx - mn) / mx.clamp_min(1e-3)
    vivid = ((saturation > 0.45) & (mx > 0.25)).float()
    return 1.0 + boost * vivid


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [-1, 1] images."""
    mse = F.mse_loss((a + 1) / 2, (b + 1) / 2).item()
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()


def flops_per_frame(module: nn.Module, example: torch.Tensor) -> int:
    """Multiply-adds × 2 of the convolutions and linears for one input (hooks, no profiler)."""
    total = 0

    def hook(m: nn.Module, _inp, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total += 2 * out.numel() * k
        elif isinstance(m, nn.Linear):
            total += 2 * out.numel() * m.in_features

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        module(example)
    for h in handles:
        h.remove()
    return total // example.shape[0]
