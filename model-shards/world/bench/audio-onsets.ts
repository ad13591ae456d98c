/**
 * Impact onsets from sound alone: the energy of the signal's first difference (which favours the
 * broadband attack of a knock over hum and room tone) in 4 ms hops, and an onset wherever it jumps
 * well above the level of the preceding ~25 ms.
 */
export interface OnsetOptions {
  /** Energy jump over the recent background that counts as an onset. */
  readonly ratio?: number;
  /** Quietest onset, relative to the loudest hop of the clip. */
  readonly relativeFloor?: number;
}

export function detectOnsets(pcm: Float32Array, sampleRate: number, options: OnsetOptions = {}): number[] {
  if (!Number.isInteger(sampleRate) || sampleRate < 4000) throw new RangeError(`sampleRate must be an integer ≥ 4000 (got ${sampleRate})`);
  const ratio = options.ratio ?? 4;
  const relativeFloor = options.relativeFloor ?? 0.01;
  const hop = Math.max(16, Math.round(sampleRate * 0.004));
  const hops = Math.floor(pcm.length / hop);
  const energy = new Float64Array(hops);
  for (let h = 0; h < hops; h++) {
    let e = 0;
    for (let i = h * hop + 1; i < (h + 1) * hop; i++) {
      const d = (pcm[i] ?? 0) - (pcm[i - 1] ?? 0);
      e += d * d;
    }
    energy[h] = e / hop;
  }
  const loudest = energy.reduce((m, e) => Math.max(m, e), 0);
  const floor = loudest * relativeFloor + 1e-9;
  // A short history: a quiet knock on the tail of a loud one still jumps above the last ~25 ms.
  const history = Math.round(0.028 / (hop / sampleRate));
  const refractory = Math.round(0.045 / (hop / sampleRate));
  const onsets: number[] = [];
  let last = -Infinity;
  for (let h = 2; h < hops; h++) {
    let background = 0;
    let n = 0;
    for (let k = Math.max(0, h - 1 - history); k < h - 1; k++) {
      background += energy[k] ?? 0;
      n++;
    }
    background = n > 0 ? background / n : 0;
    const e = energy[h] ?? 0;
    if (e > floor && e > ratio * background + floor * 0.1 && h - last > refractory) {
      // The attack starts in this hop or the one before it, whichever first rose clearly.
      const start = (energy[h - 1] ?? 0) > 2 * background + floor * 0.1 ? h - 1 : h;
      onsets.push((start * hop) / sampleRate);
      last = h;
    }
  }
  return onsets;
}
