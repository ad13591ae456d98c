/**
 * Impact onsets from sound alone, in 4 ms hops: an onset wherever the signal's energy, or the energy
 * of its first difference (which favours the broadband attack of a knock over hum and room tone),
 * jumps well above its level over the preceding ~25 ms.
 */
export interface OnsetOptions {
  /** Energy jump over the recent background that counts as an onset. */
  readonly ratio?: number;
  /** Quietest onset, relative to the loudest hop of the clip. */
  readonly relativeFloor?: number;
}

export interface Onset {
  /** Start of the attack, s. */
  readonly t: number;
  /** Energy of the hop that triggered it, relative to the clip's loudest hop (0–1]. */
  readonly strength: number;
}

/** Onset times only. */
export function detectOnsets(pcm: Float32Array, sampleRate: number, options: OnsetOptions = {}): number[] {
  return detectOnsetEvents(pcm, sampleRate, options).map((o) => o.t);
}

/** Mean energy per hop of the signal (low thumps) or of its first difference (clicks, hiss-masked attacks). */
function hopEnergies(pcm: Float32Array, hop: number, differenced: boolean): Float64Array {
  const hops = Math.floor(pcm.length / hop);
  const energy = new Float64Array(hops);
  for (let h = 0; h < hops; h++) {
    let e = 0;
    for (let i = h * hop + 1; i < (h + 1) * hop; i++) {
      const v = differenced ? (pcm[i] ?? 0) - (pcm[i - 1] ?? 0) : (pcm[i] ?? 0);
      e += v * v;
    }
    energy[h] = e / hop;
  }
  return energy;
}

export function detectOnsetEvents(pcm: Float32Array, sampleRate: number, options: OnsetOptions = {}): Onset[] {
  if (!Number.isInteger(sampleRate) || sampleRate < 4000) throw new RangeError(`sampleRate must be an integer ≥ 4000 (got ${sampleRate})`);
  const ratio = options.ratio ?? 4;
  const relativeFloor = options.relativeFloor ?? 0.02;
  const hop = Math.max(16, Math.round(sampleRate * 0.004));
  // Two views of the same sound: a bowling ball's thump jumps in plain energy, a tennis ball's tick
  // in the energy of the first difference (which hides the hum and rumble of the room).
  const bands = [hopEnergies(pcm, hop, false), hopEnergies(pcm, hop, true)];
  const hops = bands[0]?.length ?? 0;
  // A short history: a quiet knock on the tail of a loud one still jumps above the last ~25 ms.
  const history = Math.round(0.028 / (hop / sampleRate));
  const refractory = Math.round(0.045 / (hop / sampleRate));
  const loudest = bands.map((energy) => energy.reduce((m, e) => Math.max(m, e), 0));
  const onsets: Onset[] = [];
  let last = -Infinity;
  for (let h = 2; h < hops; h++) {
    if (h - last <= refractory) continue;
    for (const [b, energy] of bands.entries()) {
      const floor = (loudest[b] ?? 0) * relativeFloor + 1e-9;
      let background = 0;
      let n = 0;
      for (let k = Math.max(0, h - 1 - history); k < h - 1; k++) {
        background += energy[k] ?? 0;
        n++;
      }
      background = n > 0 ? background / n : 0;
      const e = energy[h] ?? 0;
      if (e > floor && e > ratio * background + floor * 0.1) {
        // The attack starts in this hop or the one before it, whichever first rose clearly.
        const start = (energy[h - 1] ?? 0) > 2 * background + floor * 0.1 ? h - 1 : h;
        // Its strength is the peak of the attack, not the hop that tripped it: a faint tick can open a
        // loud knock a few ms later, which the refractory window would otherwise swallow.
        let peak = e;
        for (let k = h + 1; k <= Math.min(hops - 1, h + refractory); k++) peak = Math.max(peak, energy[k] ?? 0);
        onsets.push({ t: (start * hop) / sampleRate, strength: peak / (loudest[b] || 1) });
        last = h;
        break;
      }
    }
  }
  return onsets;
}
