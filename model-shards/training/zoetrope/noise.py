"""Deterministic noise, bit-identical to contracts/noise.ts.

Philox4x32-10 feeding Box-Muller, using only correctly rounded IEEE-754 operations in the same order
as the TypeScript twin (no libm log/sin/cos, which differ across platforms in the last ulp). Both
implementations are tested against contracts/noise-vectors.json. Read the TypeScript file for the
layout; this one mirrors it line by line.
"""

from __future__ import annotations

import math
import struct
from typing import List, Sequence, Tuple

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
MASK32 = 0xFFFFFFFF
UINT32_LIMIT = 1 << 32

NOISE_STREAM = {"videoLatent": 0, "audioLatent": 1, "sampler": 2}

SQRT_HALF = 0.7071067811865476
LN2 = 0.6931471805599453
HALF_PI = 1.5707963267948966
TWO_POW_MINUS_32 = 2.3283064365386963e-10
TWO_POW_MINUS_30 = 9.313225746154785e-10
LN_COEFFS = (
    0.043478260869565216, 0.047619047619047616, 0.05263157894736842, 0.058823529411764705,
    0.06666666666666667, 0.07692307692307693, 0.09090909090909091, 0.1111111111111111,
    0.14285714285714285, 0.2, 0.3333333333333333, 1.0,
)
SIN_COEFFS = (
    -8.22063524662433e-18, 2.8114572543455206e-15, -7.647163731819816e-13, 1.6059043836821613e-10,
    -2.505210838544172e-8, 2.7557319223985893e-6, -1.984126984126984e-4, 8.333333333333333e-3,
    -0.16666666666666666,
)
COS_COEFFS = (
    -1.5619206968586225e-16, 4.779477332387385e-14, -1.1470745597729725e-11, 2.08767569878681e-9,
    -2.755731922398589e-7, 2.48015873015873e-5, -1.388888888888889e-3, 0.041666666666666664, -0.5,
)


def philox4x32(counter: Sequence[int], key: Sequence[int]) -> Tuple[int, int, int, int]:
    c0, c1, c2, c3 = (int(c) & MASK32 for c in counter)
    k0, k1 = (int(k) & MASK32 for k in key)
    for rnd in range(10):
        if rnd > 0:
            k0 = (k0 + PHILOX_W0) & MASK32
            k1 = (k1 + PHILOX_W1) & MASK32
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0), p1 & MASK32, ((p0 >> 32) ^ c3 ^ k1), p0 & MASK32
    return c0, c1, c2, c3


def _horner(coeffs: Sequence[float], x: float) -> float:
    acc = 0.0
    for c in coeffs:
        acc = acc * x + c
    return acc


def _ln_unit(u: float) -> float:
    m = u
    e = 0
    while m < SQRT_HALF:
        m *= 2.0
        e -= 1
    s = (m - 1.0) / (m + 1.0)
    p = _horner(LN_COEFFS, s * s)
    return e * LN2 + 2.0 * s * p


def _to_float32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def box_muller(xr: int, xa: int) -> Tuple[float, float]:
    """The two float32 normals of one uniform pair (xr -> radius, xa -> angle)."""
    r = math.sqrt(-2.0 * _ln_unit((xr + 0.5) * TWO_POW_MINUS_32))
    t = xa * TWO_POW_MINUS_30
    q = math.floor(t + 0.5)
    a = (t - q) * HALF_PI
    a2 = a * a
    sin_a = a + a * a2 * _horner(SIN_COEFFS, a2)
    cos_a = 1.0 + a2 * _horner(COS_COEFFS, a2)
    quadrant = q & 3
    if quadrant == 0:
        cos, sin = cos_a, sin_a
    elif quadrant == 1:
        cos, sin = -sin_a, cos_a
    elif quadrant == 2:
        cos, sin = -cos_a, -sin_a
    else:
        cos, sin = sin_a, -cos_a
    return _to_float32(r * cos), _to_float32(r * sin)


def gaussian_noise(seed: int, stream: int, count: int, offset: int = 0) -> List[float]:
    """`count` standard-normal float32 values of (seed, stream) starting at element `offset`."""
    for name, value in (("seed", seed), ("stream", stream)):
        if not isinstance(value, int) or not 0 <= value < UINT32_LIMIT:
            raise ValueError(f"noise {name} must be an integer 0-4294967295 (got {value!r})")
    if not isinstance(count, int) or count < 0:
        raise ValueError(f"noise count must be a non-negative integer (got {count!r})")
    if not isinstance(offset, int) or offset < 0:
        raise ValueError(f"noise offset must be a non-negative integer (got {offset!r})")
    end = offset + count
    out: List[float] = []
    block = offset // 4
    while block * 4 < end:
        x0, x1, x2, x3 = philox4x32((block % UINT32_LIMIT, block // UINT32_LIMIT, 0, 0), (seed, stream))
        values = box_muller(x0, x1) + box_muller(x2, x3)
        for lane, v in enumerate(values):
            index = block * 4 + lane
            if offset <= index < end:
                out.append(v)
        block += 1
    return out


def float32_bits(x: float) -> str:
    """The float32 bit pattern as 8 lowercase hex digits (how the test vectors store values)."""
    return struct.pack(">f", x).hex()
