"""The audio autoencoder: a clip's waveform ↔ a few numbers per video frame.

The encoder's strides multiply to exactly one video frame of samples (2000 at 24 kHz and 12 fps), so
latent step i is the sound of frame i: the generator makes picture and sound in the same token, and
they stay in sync by construction. The decoder sees the whole latent sequence (transposed
convolutions overlap neighbouring frames), so a ringing impact carries across frame boundaries
without clicks. Trained on log-magnitude spectra at several resolutions (phase is free), plus a
little waveform L1 to anchor onsets in time.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AudioAEConfig:
    sample_rate: int = 24_000
    fps: int = 12
    latent_channels: int = 8
    strides: tuple[int, ...] = (5, 5, 5, 4, 4)
    channels: tuple[int, ...] = (16, 32, 64, 96, 128)
    # The world's mixes sit around 0.03 RMS: the networks see them ×gain, near unit scale.
    gain: float = 10.0

    @property
    def hop(self) -> int:
        h = 1
        for s in self.strides:
            h *= s
        return h

    def check(self) -> None:
        if self.sample_rate % self.fps or self.sample_rate // self.fps != self.hop:
            raise ValueError(f"strides {self.strides} make {self.hop} samples per latent step; one frame at {self.sample_rate} Hz and {self.fps} fps is {self.sample_rate / self.fps:g}")
        if len(self.channels) != len(self.strides):
            raise ValueError("audio AE needs one channel count per stride")


class Res1d(nn.Module):
    def __init__(self, ch: int, dilation: int):
        super().__init__()
        self.a = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation)
        self.b = nn.Conv1d(ch, ch, 1)
        nn.init.zeros_(self.b.weight)
        nn.init.zeros_(self.b.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(F.silu(self.a(F.silu(x))))


class AudioEncoder(nn.Module):
    def __init__(self, cfg: AudioAEConfig):
        super().__init__()
        cfg.check()
        ch = (1,) + cfg.channels
        self.layers = nn.ModuleList()
        for i, s in enumerate(cfg.strides):
            self.layers.append(nn.Sequential(Res1d(ch[i], 1) if i > 0 else nn.Identity(), nn.Conv1d(ch[i], ch[i + 1], 2 * s, stride=s, padding=s // 2)))
        self.out = nn.Conv1d(ch[-1], cfg.latent_channels, 3, padding=1)
        self.hop = cfg.hop
        self.gain = cfg.gain

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """wave [B, samples] (samples a multiple of the hop) → latent [B, C, samples / hop]."""
        steps = wave.shape[-1] // self.hop
        x = wave.unsqueeze(1) * self.gain
        for layer in self.layers:
            x = layer(x)
        x = F.interpolate(x, size=steps, mode="linear", align_corners=False) if x.shape[-1] != steps else x
        return self.out(F.silu(x))


class AudioDecoder(nn.Module):
    def __init__(self, cfg: AudioAEConfig):
        super().__init__()
        cfg.check()
        ch = cfg.channels[::-1]
        strides = cfg.strides[::-1]
        self.inp = nn.Conv1d(cfg.latent_channels, ch[0], 3, padding=1)
        self.ups = nn.ModuleList()
        for i, s in enumerate(strides):
            out = ch[i + 1] if i + 1 < len(ch) else 16
            self.ups.append(nn.ModuleDict({"res": Res1d(ch[i], 1 + 2 * (i % 2)), "up": nn.ConvTranspose1d(ch[i], out, 2 * s, stride=s, padding=s // 2)}))
        self.out = nn.Conv1d(16, 1, 7, padding=3)
        self.hop = cfg.hop
        self.gain = cfg.gain

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """latent [B, C, steps] → wave [B, steps × hop], in [-1, 1]."""
        samples = z.shape[-1] * self.hop
        x = self.inp(z)
        for layer in self.ups:
            x = layer["up"](F.silu(layer["res"](x)))
        # Each transposed conv makes L·s + s − 2⌊s/2⌋ ≥ L·s samples: never short, so only a crop.
        x = self.out(F.silu(x))[:, 0]
        return (x[:, :samples] / self.gain).clamp(-1.0, 1.0)


class AudioAutoencoder(nn.Module):
    def __init__(self, cfg: AudioAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = AudioEncoder(cfg)
        self.decoder = AudioDecoder(cfg)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(wave)
        return self.decoder(z), z


def stft_loss(pred: torch.Tensor, target: torch.Tensor, ffts: tuple[int, ...] = (128, 512, 2048), gain: float = 10.0) -> torch.Tensor:
    """Multi-resolution spectral loss on the ×gain signals: L1 of log magnitudes plus spectral convergence, per resolution."""
    total = pred.new_zeros(())
    for n in ffts:
        window = torch.hann_window(n, device=pred.device)
        p = torch.stft(pred.float() * gain, n, hop_length=n // 4, window=window, return_complex=True).abs()
        t = torch.stft(target.float() * gain, n, hop_length=n // 4, window=window, return_complex=True).abs()
        total = total + (torch.log(p + 1e-3) - torch.log(t + 1e-3)).abs().mean() + torch.linalg.norm(p - t) / torch.linalg.norm(t).clamp_min(1e-5)
    return total / len(ffts)


def envelope_loss(pred: torch.Tensor, target: torch.Tensor, hop: int = 48, gain: float = 10.0) -> torch.Tensor:
    """L1 of log RMS envelopes in 2 ms hops: where the sound starts and how loud it is, to the hop."""
    def env(x: torch.Tensor) -> torch.Tensor:
        e = F.avg_pool1d((x.float() * gain).pow(2).unsqueeze(1), hop, hop)[:, 0]
        return torch.log(e + 1e-4)

    return (env(pred) - env(target)).abs().mean()


def pcm_to_unit(pcm_int16: torch.Tensor) -> torch.Tensor:
    return pcm_int16.float() / 32768.0
