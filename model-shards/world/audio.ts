import { gaussianNoise } from '../../contracts/index.ts';
import { FLOORS, MATERIAL_SPECS, SURFACE_ACOUSTICS, type Acoustics, type Surface } from './materials.ts';
import type { Material, Scene, Setting, TimeOfDay } from './scene.ts';
import type { ContactEvent, Trace } from './trace.ts';

/**
 * The soundtrack of a world clip: modal impacts, rolling noise, net swishes and a stationary
 * ambient bed, mixed to mono PCM. Deterministic from the trace alone: every random draw comes from
 * `gaussianNoise` keyed by the scene seed. (Bit-identical between runs of one JS engine; filter
 * coefficients use Math.sin/cos/exp, so other engines may differ in the last ulp.)
 */

export interface AudioOptions {
  /** Samples per second, an integer 8000–48000. */
  readonly sampleRate: number;
}

/** Contacts below this impulse, N·s, are silent: resting and grazing contacts would only clutter. */
export const MIN_AUDIBLE_IMPULSE_NS = 0.01;
/**
 * Contacts approaching slower than this, m/s, are silent too. A resting heavy body re-touching the
 * floor carries m·g·dt of impulse (a bowling ball: ~0.25 N·s at 240 Hz), far above the impulse
 * floor, yet makes no real sound; its approach speed (≈ g·dt) gives it away.
 */
export const MIN_AUDIBLE_NORMAL_SPEED = 0.05;

// Noise streams of the scene seed, distinct from NOISE_STREAM's model streams ('ZA' + index).
const STREAM_SIGNAL = 0x5a41_0001;
const STREAM_CONTACT_JITTER = 0x5a41_0002;
const STREAM_BED_PARAMS = 0x5a41_0003;

/** Normals drawn per contact: four mode jitters for the body, four for what it hit. */
const JITTER_PER_CONTACT = 8;
/** ±3 % mode frequency spread: 1.5 % per standard deviation, clamped at 2 σ. */
const MODE_JITTER = 0.015;

/** Peak amplitude per unit of loudness × impulse^0.6 (the perceptual curve). */
const IMPACT_GAIN = 0.11;
const IMPULSE_EXPONENT = 0.6;
/** Cap on the summed loudness of one contact, so a dropped bowling ball cannot swamp the mix. */
const IMPACT_LEVEL_CAP = 14;
/** RMS of the attack noise relative to the modal peak: normal noise peaks near 3 σ. */
const BURST_GAIN = 0.6;
const BURST_DECAY_S = 0.004;
const BURST_LENGTH_S = 8 * BURST_DECAY_S;
/** Modes are cut once below this absolute amplitude (−100 dB): the tail is inaudible, the loop isn't free. */
const MODE_FLOOR = 1e-5;

const ROLLING_GAIN = 0.012;
const SWISH_GAIN = 0.08;
const SWISH_ATTACK_S = 0.06;

/** Soft limiter: linear below the knee, tanh above it, so impacts keep their shape and never clip. */
const LIMITER_KNEE = 0.6;

/**
 * Synthesises the clip's audio: `round(scene.durationS × sampleRate)` mono samples in [−1, 1].
 * Each audible contact starts exactly at sample `round(t × sampleRate)` (see `onsetSamples`).
 */
export function synthesizeAudio(trace: Trace, options: AudioOptions): Float32Array {
  const sr = checkSampleRate(options);
  checkTrace(trace);
  const { scene } = trace;
  const n = Math.round(scene.durationS * sr);
  // One tape of white noise serves every noisy part, read at different offsets: a single block draw
  // is the expensive step (Philox in JS), and distant offsets of white noise are uncorrelated.
  const tape = gaussianNoise(scene.seed, STREAM_SIGNAL, n);
  const mix = new Float64Array(n);
  const scratch = new Float64Array(n);

  addAmbientBed(scene, sr, tape, mix, scratch);
  addImpacts(trace, sr, tape, mix);
  addRolling(trace, sr, tape, mix, scratch);
  addSwishes(trace, sr, tape, mix, scratch);

  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = softLimit(mix[i] ?? 0);
  return out;
}

/** 16-bit PCM for WAV/MP4 muxing: clamps to [−1, 1] and rounds; NaN becomes silence. */
export function toInt16(pcm: Float32Array): Int16Array {
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const x = pcm[i] ?? 0;
    out[i] = x > 1 ? 32767 : x < -1 ? -32767 : Number.isNaN(x) ? 0 : Math.round(x * 32767);
  }
  return out;
}

/**
 * Sample index of every contact that makes a sound, ascending (one entry per contact, so two
 * bodies landing on the same sample give it twice). The judge's ground truth for impact onsets.
 */
export function onsetSamples(trace: Trace, sampleRate: number): number[] {
  const sr = checkSampleRate({ sampleRate });
  checkTrace(trace);
  const n = Math.round(trace.scene.durationS * sr);
  const onsets: number[] = [];
  for (const c of trace.contacts) {
    const start = onsetOf(c, sr, n);
    if (start >= 0) onsets.push(start);
  }
  return onsets.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Validation

function checkSampleRate(options: AudioOptions): number {
  const sr = options.sampleRate;
  if (!Number.isInteger(sr) || sr < 8000 || sr > 48000) {
    throw new RangeError(`audio options.sampleRate must be an integer 8000–48000 (got ${String(sr)})`);
  }
  return sr;
}

function checkTrace(trace: Trace): void {
  const finite = (value: number, field: string, min = -Infinity): void => {
    if (!Number.isFinite(value) || value < min) throw new RangeError(`trace.${field} must be a finite number${min === 0 ? ' ≥ 0' : ''} (got ${value})`);
  };
  const material = (value: Material, field: string): void => {
    if (!Object.hasOwn(MATERIAL_SPECS, value)) throw new RangeError(`trace.${field} must be a material (got ${String(value)})`);
  };
  trace.contacts.forEach((c, i) => {
    finite(c.t, `contacts[${i}].t`);
    finite(c.impulse, `contacts[${i}].impulse`, 0);
    finite(c.normalSpeed, `contacts[${i}].normalSpeed`);
    material(c.material, `contacts[${i}].material`);
    if (c.otherMaterial !== undefined) material(c.otherMaterial, `contacts[${i}].otherMaterial`);
  });
  trace.rolling.forEach((r, i) => {
    material(r.material, `rolling[${i}].material`);
    if (r.t.length !== r.speed.length) throw new RangeError(`trace.rolling[${i}] must have as many speeds as times (${r.speed.length} ≠ ${r.t.length})`);
  });
  trace.netPasses.forEach((p, i) => {
    finite(p.t, `netPasses[${i}].t`);
    finite(p.speed, `netPasses[${i}].speed`, 0);
  });
}

// ---------------------------------------------------------------------------------------------
// Impacts: modal synthesis

/** The contact's first sample, or −1 when it makes no sound. */
function onsetOf(c: ContactEvent, sr: number, n: number): number {
  if (c.impulse < MIN_AUDIBLE_IMPULSE_NS || Math.abs(c.normalSpeed) < MIN_AUDIBLE_NORMAL_SPEED) return -1;
  const start = Math.round(c.t * sr);
  return start >= 0 && start < n ? start : -1;
}

/** How the thing that was hit sounds; `other` names the other body of a body–body contact. */
function surfaceAcoustics(surface: Surface, other: Material | undefined, setting: Setting): Acoustics {
  switch (surface) {
    case 'floor':
      return FLOORS[setting].acoustics;
    // Body–body: the other body rings too. Without a named partner, assume the usual one.
    case 'box':
      return MATERIAL_SPECS[other ?? 'wooden box'].acoustics;
    case 'ball':
      return MATERIAL_SPECS[other ?? 'rubber ball'].acoustics;
    default:
      return SURFACE_ACOUSTICS[surface];
  }
}

function addImpacts(trace: Trace, sr: number, tape: Float32Array, mix: Float64Array): void {
  const { contacts, scene } = trace;
  if (contacts.length === 0) return;
  const n = mix.length;
  const jitter = gaussianNoise(scene.seed, STREAM_CONTACT_JITTER, contacts.length * JITTER_PER_CONTACT);
  const loudnessOf = (impulse: number) => Math.pow(impulse, IMPULSE_EXPONENT);
  contacts.forEach((c, index) => {
    const start = onsetOf(c, sr, n);
    if (start < 0) return;
    const body = MATERIAL_SPECS[c.material].acoustics;
    const struck = surfaceAcoustics(c.surface, c.otherMaterial, scene.setting);
    const perceived = loudnessOf(c.impulse);
    let bodyLevel = body.loudness * perceived;
    let struckLevel = struck.loudness * perceived;
    const total = bodyLevel + struckLevel;
    if (total > IMPACT_LEVEL_CAP) {
      bodyLevel *= IMPACT_LEVEL_CAP / total;
      struckLevel *= IMPACT_LEVEL_CAP / total;
    }
    bodyLevel *= IMPACT_GAIN;
    struckLevel *= IMPACT_GAIN;
    const jitterAt = index * JITTER_PER_CONTACT;
    addModes(body, bodyLevel, jitter, jitterAt, sr, mix, start);
    addModes(struck, struckLevel, jitter, jitterAt + JITTER_PER_CONTACT / 2, sr, mix, start);
    addBurst(body, bodyLevel, struck, struckLevel, sr, tape, tapeOffset(n, index, 0.7548776662466927), mix, start);
  });
}

/**
 * Adds the acoustics' modes as damped cosines from `start`. Cosine phase puts each mode's peak on
 * the contact's own sample, so the onset is a step there with nothing before it. Each mode is the
 * two-pole recurrence y[k] = 2r·cos ω·y[k−1] − r²·y[k−2], no per-sample exp or sin.
 */
function addModes(acoustics: Acoustics, level: number, jitter: Float32Array, jitterAt: number, sr: number, mix: Float64Array, start: number): void {
  const gainSum = acoustics.modes.reduce((s, m) => s + m.gain, 0);
  if (gainSum <= 0 || level <= 0) return;
  const tonal = level * (1 - acoustics.noise);
  acoustics.modes.forEach((mode, m) => {
    const amp = (tonal * mode.gain) / gainSum;
    if (amp <= MODE_FLOOR) return;
    const z = Math.max(-2, Math.min(2, jitter[jitterAt + (m % (JITTER_PER_CONTACT / 2))] ?? 0));
    const freq = mode.freqHz * (1 + MODE_JITTER * z);
    // Above ~0.45·sr a mode would alias; it is dropped (matters only at 8–11 kHz).
    if (freq >= 0.45 * sr) return;
    const w = (2 * Math.PI * freq) / sr;
    const r = Math.exp(-mode.decayPerS / sr);
    const c1 = 2 * r * Math.cos(w);
    const c2 = r * r;
    const length = Math.min(mix.length - start, Math.ceil((Math.log(amp / MODE_FLOOR) / mode.decayPerS) * sr));
    let y0 = amp;
    let y1 = amp * r * Math.cos(w);
    for (let k = start, end = start + length; k < end; k++) {
      mix[k] = (mix[k] ?? 0) + y0;
      const y2 = c1 * y1 - c2 * y0;
      y0 = y1;
      y1 = y2;
    }
  });
}

/** The click/thud of the attack: low-passed noise, coloured by the struck modes, decaying in ~4 ms. */
function addBurst(body: Acoustics, bodyLevel: number, struck: Acoustics, struckLevel: number, sr: number, tape: Float32Array, tapeAt: number, mix: Float64Array, start: number): void {
  const level = BURST_GAIN * (bodyLevel * body.noise + struckLevel * struck.noise);
  if (level <= 0) return;
  // Brightness follows the loudness-weighted mean mode frequency: a tennis ball ticks, a bowling ball thuds.
  let weighted = 0;
  let weights = 0;
  for (const [acoustics, lvl] of [[body, bodyLevel], [struck, struckLevel]] as const) {
    for (const m of acoustics.modes) {
      weighted += m.freqHz * m.gain * lvl;
      weights += m.gain * lvl;
    }
  }
  const cutoff = Math.min(0.45 * sr, weights > 0 ? Math.max(400, 1.5 * (weighted / weights)) : 5000);
  const p = Math.exp((-2 * Math.PI * cutoff) / sr);
  // A one-pole low-pass passes (1−p)/(1+p) of white noise power; undo that so level is the RMS.
  const norm = level * Math.sqrt((1 + p) / (1 - p));
  const decay = Math.exp(-1 / (BURST_DECAY_S * sr));
  const n = mix.length;
  const length = Math.min(n - start, Math.ceil(BURST_LENGTH_S * sr));
  let y = 0;
  let env = norm;
  let j = (start + tapeAt) % n;
  for (let k = start, end = start + length; k < end; k++) {
    y += (1 - p) * ((tape[j] ?? 0) - y);
    mix[k] = (mix[k] ?? 0) + env * y;
    env *= decay;
    if (++j === n) j = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Rolling and swishes

function addRolling(trace: Trace, sr: number, tape: Float32Array, mix: Float64Array, scratch: Float64Array): void {
  const n = mix.length;
  // Edges ramp over one sub-step so a track that starts at speed does not click.
  const ramp = Math.max(trace.dt, 1 / sr);
  trace.rolling.forEach((track, index) => {
    const count = track.t.length;
    if (count === 0 || !track.speed.some((v) => v > 0)) return;
    const spec = MATERIAL_SPECS[track.material];
    const surface = surfaceAcoustics(track.surface, undefined, trace.scene.setting);
    // Colour from the body's lowest mode: a bowling ball rumbles near 100 Hz, a tennis ball hisses
    // near 1 kHz; a sliding box scrapes, broader and higher. Heavier bodies and rougher surfaces are louder.
    const lowest = Math.min(...spec.acoustics.modes.map((m) => m.freqHz));
    const sliding = spec.shape === 'box';
    const filter = bandPass(sliding ? 2 * lowest : 1.2 * lowest, sliding ? 0.6 : 0.9, sr);
    const level = (ROLLING_GAIN * Math.pow(spec.massKg, 0.3) * (0.5 + surface.noise) * (sliding ? 1.6 : 1)) / Math.sqrt(noisePowerGain(filter));
    // Loudness ∝ speed^0.8 at each sub-step, silent before and after the track; linear in between.
    const times = [(track.t[0] ?? 0) - ramp, ...track.t, (track.t[count - 1] ?? 0) + ramp];
    const gains = [0, ...Array.from(track.speed, (v) => (v > 0 ? level * Math.pow(Math.min(v, 10), 0.8) : 0)), 0];
    const first = Math.max(0, Math.ceil((times[0] ?? 0) * sr));
    const last = Math.min(n - 1, Math.floor((times[times.length - 1] ?? 0) * sr));
    if (last < first) return;
    filterTape(tape, tapeOffset(n, index, 0.6180339887498949) + first, filter, scratch, first, last - first + 1);
    for (let j = 0; j + 1 < times.length; j++) {
      const t0 = times[j] ?? 0;
      const t1 = times[j + 1] ?? 0;
      const g0 = gains[j] ?? 0;
      const g1 = gains[j + 1] ?? 0;
      if ((g0 === 0 && g1 === 0) || t1 <= t0) continue;
      const slope = (g1 - g0) / (t1 - t0);
      // Samples in [t0, t1): each belongs to exactly one interval.
      const from = Math.max(first, Math.ceil(t0 * sr));
      const to = Math.min(last + 1, Math.ceil(t1 * sr));
      for (let k = from; k < to; k++) mix[k] = (mix[k] ?? 0) + (g0 + slope * (k / sr - t0)) * (scratch[k] ?? 0);
    }
  });
}

/** A ball through the net: 150–300 ms of high-passed noise, faster balls shorter and louder, soft attack. */
function addSwishes(trace: Trace, sr: number, tape: Float32Array, mix: Float64Array, scratch: Float64Array): void {
  if (trace.netPasses.length === 0) return;
  const n = mix.length;
  const filter = highPass(Math.min(2500, 0.3 * sr), 0.7, sr);
  const norm = 1 / Math.sqrt(noisePowerGain(filter));
  trace.netPasses.forEach((pass, index) => {
    const start = Math.round(pass.t * sr);
    if (start < 0 || start >= n) return;
    const duration = Math.max(0.15, Math.min(0.3, 0.3 - 0.025 * pass.speed));
    const length = Math.min(n - start, Math.round(duration * sr));
    const level = SWISH_GAIN * SURFACE_ACOUSTICS.net.loudness * Math.sqrt(Math.max(1, Math.min(10, pass.speed))) * norm;
    filterTape(tape, tapeOffset(n, index, 0.4142135623730951) + start, filter, scratch, start, length);
    const attack = SWISH_ATTACK_S * sr;
    const release = duration * sr - attack;
    for (let k = 0; k < length; k++) {
      // A sin² rise, gradual enough not to read as an impact onset, then a quadratic fall to zero.
      const env = k < attack ? Math.sin((Math.PI / 2) * (k / attack)) ** 2 : (1 - (k - attack) / release) ** 2;
      mix[start + k] = (mix[start + k] ?? 0) + level * env * (scratch[start + k] ?? 0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Ambient bed: stationary by construction (filtered noise, steady tones, slow sways)

type NoiseColour = { readonly kind: 'pink' } | { readonly kind: 'lowpass' | 'bandpass'; readonly hz: number; readonly q: number };

interface NoiseLayer {
  readonly colour: NoiseColour;
  readonly rms: number;
  /** Slow level sway (wind gusts, passing traffic), far too slow to read as an onset. */
  readonly swayHz?: number;
  readonly swayDepth?: number;
}

interface BedRecipe {
  readonly noise: readonly NoiseLayer[];
  /** Mains-locked tones: a multiple of the mains frequency and the harmonics' relative gains. */
  readonly tones?: { readonly mainsMultiple: number; readonly harmonics: readonly number[]; readonly rms: number };
  /** Crickets at night, quiet: a steady trill texture with smooth envelopes. */
  readonly cricketsRms?: number;
}

const PINK = { kind: 'pink' } as const;

const BEDS: Readonly<Record<Setting, BedRecipe>> = Object.freeze({
  // HVAC: mains hum and its harmonics over low air noise, in a pink room tone.
  gym: {
    noise: [{ colour: PINK, rms: 0.013 }, { colour: { kind: 'lowpass', hz: 220, q: 0.7 }, rms: 0.01 }],
    tones: { mainsMultiple: 1, harmonics: [1, 0.6, 0.25], rms: 0.011 },
  },
  // Traffic rumble and wind, both swaying slowly; rumble kept modest, as narrow low bands are lumpy.
  'street court': {
    noise: [
      { colour: { kind: 'lowpass', hz: 110, q: 0.7 }, rms: 0.014, swayHz: 0.09, swayDepth: 0.25 },
      { colour: { kind: 'bandpass', hz: 450, q: 0.6 }, rms: 0.011, swayHz: 0.23, swayDepth: 0.3 },
      { colour: PINK, rms: 0.009 },
    ],
  },
  // Low wind and high leaf rustle; crickets at night.
  park: {
    noise: [
      { colour: { kind: 'lowpass', hz: 180, q: 0.7 }, rms: 0.011, swayHz: 0.17, swayDepth: 0.25 },
      { colour: { kind: 'bandpass', hz: 2600, q: 0.7 }, rms: 0.01, swayHz: 0.31, swayDepth: 0.3 },
      { colour: PINK, rms: 0.005 },
    ],
    cricketsRms: 0.006,
  },
  // Fluorescent tubes buzz at twice the mains frequency, rich in harmonics; the room is reverberant.
  garage: {
    noise: [{ colour: PINK, rms: 0.015 }, { colour: { kind: 'lowpass', hz: 300, q: 0.7 }, rms: 0.0075 }],
    tones: { mainsMultiple: 2, harmonics: [1, 0.5, 0.7, 0.3, 0.4, 0.2, 0.25, 0.12], rms: 0.01 },
  },
});

const TIME_OF_DAY_LEVEL: Readonly<Record<TimeOfDay, number>> = Object.freeze({ morning: 0.85, noon: 1, sunset: 0.9, night: 0.65 });

/** Per-clip draws for the bed: level spread per layer, tone phases. */
const BED_PARAMS = 32;

function addAmbientBed(scene: Scene, sr: number, tape: Float32Array, mix: Float64Array, scratch: Float64Array): void {
  const n = mix.length;
  const recipe = BEDS[scene.setting];
  const timeLevel = TIME_OF_DAY_LEVEL[scene.lighting.timeOfDay];
  const params = gaussianNoise(scene.seed, STREAM_BED_PARAMS, BED_PARAMS);
  let draw = 0;
  const next = () => Math.max(-2, Math.min(2, params[draw++ % BED_PARAMS] ?? 0));
  // ±16 % per layer, so beds of one setting differ from clip to clip.
  const spread = () => 1 + 0.08 * next();
  // Filters start on a pre-roll of the tape, so the bed is already settled at sample 0.
  const preroll = Math.min(n, Math.round(0.1 * sr));

  recipe.noise.forEach((layer, index) => {
    const at = tapeOffset(n, index, 0.3819660112501051);
    if (layer.colour.kind === 'pink') pinkTape(tape, at, sr, scratch, preroll);
    else filterTape(tape, at, layer.colour.kind === 'lowpass' ? lowPass(layer.colour.hz, layer.colour.q, sr) : bandPass(layer.colour.hz, layer.colour.q, sr), scratch, 0, n, preroll);
    const swayPhase = Math.PI * next();
    addNormalised(scratch, mix, layer.rms * timeLevel * spread(), layer.swayHz ?? 0, layer.swayDepth ?? 0, swayPhase, sr);
  });

  const tones = recipe.tones;
  if (tones) {
    // Mains is 60 Hz or 50 Hz by the seed's parity: both occur in the world.
    const mainsHz = scene.seed % 2 === 0 ? 60 : 50;
    scratch.fill(0);
    tones.harmonics.forEach((gain, h) => {
      const freq = mainsHz * tones.mainsMultiple * (h + 1);
      if (freq < 0.45 * sr) addSine(scratch, freq, gain, Math.PI * next(), sr);
    });
    addNormalised(scratch, mix, tones.rms * timeLevel * spread(), 0, 0, 0, sr);
  }

  if (recipe.cricketsRms !== undefined && scene.lighting.timeOfDay === 'night') {
    scratch.fill(0);
    // Two crickets: a carrier near 4–4.6 kHz pulsed at ~40 Hz (the trill) and swelling at ~1.5 Hz;
    // every envelope is a raised sine, and the swell never closes, so nothing starts abruptly.
    for (const [carrier, trill, swell] of [[4200, 38, 1.3], [4650, 45, 1.7]] as const) {
      const carrierHz = Math.min(carrier, 0.42 * sr) * (1 + 0.02 * next());
      const c = new Phasor(carrierHz, Math.PI * next(), sr);
      const p = new Phasor(trill * (1 + 0.05 * next()), Math.PI * next(), sr);
      const s = new Phasor(swell * (1 + 0.1 * next()), Math.PI * next(), sr);
      for (let k = 0; k < n; k++) scratch[k] = (scratch[k] ?? 0) + c.next() * (0.5 + 0.5 * p.next()) * (0.65 + 0.35 * s.next());
    }
    addNormalised(scratch, mix, recipe.cricketsRms * spread(), 0, 0, 0, sr);
  }
}

/** Adds `src` scaled to RMS `rms` (over the clip), with an optional slow sinusoidal sway. */
function addNormalised(src: Float64Array, mix: Float64Array, rms: number, swayHz: number, swayDepth: number, swayPhase: number, sr: number): void {
  const n = mix.length;
  let power = 0;
  for (let k = 0; k < n; k++) power += (src[k] ?? 0) ** 2;
  if (power <= 0) return;
  // A sway of depth d raises the mean power by d²/2; take that back out so `rms` holds.
  const scale = rms / Math.sqrt((power / n) * (1 + (swayDepth * swayDepth) / 2));
  if (swayDepth === 0) {
    for (let k = 0; k < n; k++) mix[k] = (mix[k] ?? 0) + scale * (src[k] ?? 0);
    return;
  }
  const sway = new Phasor(swayHz, swayPhase, sr);
  for (let k = 0; k < n; k++) mix[k] = (mix[k] ?? 0) + scale * (1 + swayDepth * sway.next()) * (src[k] ?? 0);
}

function addSine(dst: Float64Array, freq: number, amp: number, phase: number, sr: number): void {
  const osc = new Phasor(freq, phase, sr);
  for (let k = 0; k < dst.length; k++) dst[k] = (dst[k] ?? 0) + amp * osc.next();
}

/** sin(2π·f·k/sr + φ) by the recurrence s[k+1] = 2cos ω·s[k] − s[k−1]: no Math.sin per sample. */
class Phasor {
  private s0: number;
  private s1: number;
  private readonly c: number;

  constructor(freq: number, phase: number, sr: number) {
    const w = (2 * Math.PI * freq) / sr;
    this.s0 = Math.sin(phase);
    this.s1 = Math.sin(phase + w);
    this.c = 2 * Math.cos(w);
  }

  next(): number {
    const out = this.s0;
    const s2 = this.c * this.s1 - this.s0;
    this.s0 = this.s1;
    this.s1 = s2;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Filters on the noise tape

interface Biquad {
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly a1: number;
  readonly a2: number;
}

/** RBJ Audio EQ Cookbook biquads; the corner is kept below 0.45·sr so low sample rates stay stable. */
function biquad(kind: 'lowpass' | 'highpass' | 'bandpass', hz: number, q: number, sr: number): Biquad {
  const w = (2 * Math.PI * Math.min(hz, 0.45 * sr)) / sr;
  const cos = Math.cos(w);
  const alpha = Math.sin(w) / (2 * q);
  const a0 = 1 + alpha;
  const [b0, b1, b2] =
    kind === 'lowpass' ? [(1 - cos) / 2, 1 - cos, (1 - cos) / 2] : kind === 'highpass' ? [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2] : [alpha, 0, -alpha];
  return { b0: b0 / a0, b1: b1 / a0, b2: b2 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}
const lowPass = (hz: number, q: number, sr: number) => biquad('lowpass', hz, q, sr);
const highPass = (hz: number, q: number, sr: number) => biquad('highpass', hz, q, sr);
/** Constant 0 dB peak gain band-pass. */
const bandPass = (hz: number, q: number, sr: number) => biquad('bandpass', hz, q, sr);

/** Output power of the filter for unit-variance white noise: Σh², from its impulse response. */
function noisePowerGain(f: Biquad): number {
  let z1 = 0;
  let z2 = 0;
  let power = 0;
  for (let k = 0; k < 16384; k++) {
    const x = k === 0 ? 1 : 0;
    const y = f.b0 * x + z1;
    z1 = f.b1 * x - f.a1 * y + z2;
    z2 = f.b2 * x - f.a2 * y;
    power += y * y;
  }
  return power;
}

/**
 * Writes `count` filtered tape samples into dst[from…], reading the tape circularly from `tapeAt`;
 * `preroll` samples before it are filtered first and dropped, so the output starts settled.
 */
function filterTape(tape: Float32Array, tapeAt: number, f: Biquad, dst: Float64Array, from: number, count: number, preroll = 0): void {
  const n = tape.length;
  const { b0, b1, b2, a1, a2 } = f;
  let z1 = 0;
  let z2 = 0;
  let j = (((tapeAt - preroll) % n) + n) % n;
  for (let k = -preroll; k < count; k++) {
    const x = tape[j] ?? 0;
    const y = b0 * x + z1;
    z1 = b1 * x - a1 * y + z2;
    z2 = b2 * x - a2 * y;
    if (k >= 0) dst[from + k] = y;
    if (++j === n) j = 0;
  }
}

/**
 * Pink-ish noise of the whole clip into dst: Paul Kellet's economy filter (three one-pole sections
 * plus the direct path), with its poles re-placed in Hz (16.5, 264, 3945) for any sample rate.
 */
function pinkTape(tape: Float32Array, tapeAt: number, sr: number, dst: Float64Array, preroll: number): void {
  const n = tape.length;
  const poles = [16.5, 264, 3945].map((hz) => Math.exp((-2 * Math.PI * hz) / sr));
  const [p0 = 0, p1 = 0, p2 = 0] = poles;
  // Kellet's DC gains per section (input gain ÷ (1 − pole) at 44.1 kHz), kept across sample rates.
  const g0 = 42.15 * (1 - p0);
  const g1 = 8.014 * (1 - p1);
  const g2 = 2.448 * (1 - p2);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let j = (((tapeAt - preroll) % n) + n) % n;
  for (let k = -preroll; k < n; k++) {
    const x = tape[j] ?? 0;
    s0 = p0 * s0 + g0 * x;
    s1 = p1 * s1 + g1 * x;
    s2 = p2 * s2 + g2 * x;
    if (k >= 0) dst[k] = s0 + s1 + s2 + 0.1848 * x;
    if (++j === n) j = 0;
  }
}

/** A far-apart start on the tape for the index-th user of a kind (golden-ratio-like spacing). */
function tapeOffset(n: number, index: number, ratio: number): number {
  const f = ((index + 1) * ratio) % 1;
  return Math.floor(f * n);
}

function softLimit(x: number): number {
  const a = Math.abs(x);
  if (a <= LIMITER_KNEE) return x;
  const over = LIMITER_KNEE + (1 - LIMITER_KNEE) * Math.tanh((a - LIMITER_KNEE) / (1 - LIMITER_KNEE));
  return x < 0 ? -over : over;
}
