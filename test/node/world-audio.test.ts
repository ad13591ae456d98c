import { describe, expect, it } from 'vitest';
import { onsetSamples, synthesizeAudio, toInt16 } from '../../model-shards/world/audio.ts';
import type { Surface } from '../../model-shards/world/materials.ts';
import { parseScene, SETTINGS, type Material, type Scene, type Setting, type TimeOfDay } from '../../model-shards/world/scene.ts';
import type { ContactEvent, NetPass, RollingTrack, Trace } from '../../model-shards/world/trace.ts';

const SR = 16_000;

function scene(setting: Setting = 'gym', timeOfDay: TimeOfDay = 'noon', seed = 3): Scene {
  return parseScene({
    version: 1,
    seed,
    durationS: 2,
    fps: 12,
    setting,
    lighting: { timeOfDay, azimuthDeg: 0, colourTempK: 5500 },
    objects: [{ id: 'ball', material: 'rubber ball', colour: 'red', x: 0, y: 1 }],
    shots: [{ durationS: 2, framing: 'wide', motion: 'static' }],
  });
}

function contact(t: number, material: Material, impulse: number, surface: Surface = 'floor', normalSpeed = 3): ContactEvent {
  return { t, bodyId: 'ball', material, surface, impulse, normalSpeed, x: 0, y: 0 };
}

/** A track at constant speed over [from, to), sampled at 240 Hz. */
function rollingTrack(material: Material, speed: number, from = 0.6, to = 1.4): RollingTrack {
  const count = Math.round((to - from) * 240);
  return {
    bodyId: 'ball',
    material,
    surface: 'floor',
    t: Float64Array.from({ length: count }, (_, i) => from + i / 240),
    speed: new Float64Array(count).fill(speed),
  };
}

function trace(parts: { contacts?: ContactEvent[]; rolling?: RollingTrack[]; netPasses?: NetPass[]; scene?: Scene } = {}): Trace {
  return { scene: parts.scene ?? scene(), dt: 1 / 240, frames: [], contacts: parts.contacts ?? [], rolling: parts.rolling ?? [], netPasses: parts.netPasses ?? [] };
}

const render = (t: Trace, sampleRate = SR) => synthesizeAudio(t, { sampleRate });

/** The clip minus the same clip without its events: exact below the limiter's knee. */
function eventsOnly(parts: Parameters<typeof trace>[0]): Float32Array {
  const withEvents = render(trace(parts));
  const bed = render(trace({ scene: parts?.scene }));
  return withEvents.map((v, i) => v - (bed[i] ?? 0));
}

function rms(a: ArrayLike<number>, from = 0, to = a.length): number {
  let power = 0;
  for (let i = from; i < to; i++) power += (a[i] ?? 0) ** 2;
  return Math.sqrt(power / (to - from));
}

/** Power-weighted mean frequency of a Hann-windowed stretch, by a plain DFT. */
function spectralCentroid(a: Float32Array, from: number, size = 1024): number {
  let weighted = 0;
  let total = 0;
  for (let bin = 1; bin < size / 2; bin++) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < size; i++) {
      const x = (a[from + i] ?? 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / size));
      const phase = (2 * Math.PI * bin * i) / size;
      re += x * Math.cos(phase);
      im -= x * Math.sin(phase);
    }
    const power = re * re + im * im;
    weighted += power * ((bin * SR) / size);
    total += power;
  }
  return weighted / total;
}

/** Mean power between two frequencies over consecutive 1024-sample windows, by a plain DFT. */
function bandPower(a: Float32Array, loHz: number, hiHz: number, size = 1024): number {
  let total = 0;
  let windows = 0;
  for (let from = 0; from + size <= a.length; from += 4 * size, windows++) {
    for (let bin = Math.ceil((loHz * size) / SR); bin <= Math.floor((hiHz * size) / SR); bin++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < size; i++) {
        const phase = (2 * Math.PI * bin * i) / size;
        re += (a[from + i] ?? 0) * Math.cos(phase);
        im -= (a[from + i] ?? 0) * Math.sin(phase);
      }
      total += re * re + im * im;
    }
  }
  return total / windows;
}

/** Power at one frequency (Goertzel) over the whole clip, normalised by length. */
function toneMagnitude(a: Float32Array, hz: number): number {
  const c = 2 * Math.cos((2 * Math.PI * hz) / SR);
  let s1 = 0;
  let s2 = 0;
  for (const x of a) {
    const s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return Math.sqrt(s1 * s1 + s2 * s2 - c * s1 * s2) / a.length;
}

/** Largest rise of a 16 ms window's energy over the mean of the four windows before it: an onset detector. */
function maxOnsetRatio(a: Float32Array, window = 256): number {
  const energies: number[] = [];
  for (let i = 0; i + window <= a.length; i += window) energies.push(rms(a, i, i + window) ** 2);
  let worst = 0;
  for (let w = 4; w < energies.length; w++) {
    const before = ((energies[w - 1] ?? 0) + (energies[w - 2] ?? 0) + (energies[w - 3] ?? 0) + (energies[w - 4] ?? 0)) / 4;
    worst = Math.max(worst, (energies[w] ?? 0) / before);
  }
  return worst;
}

describe('world audio: the clip', () => {
  it('is deterministic, the right length and seeded by the scene', () => {
    const t = trace({ contacts: [contact(0.3, 'basketball', 3), contact(1.1, 'tennis ball', 0.4, 'wall')], rolling: [rollingTrack('basketball', 2)], netPasses: [{ t: 0.8, bodyId: 'ball', speed: 4 }] });
    const a = render(t);
    const b = render(t);
    expect(a.length).toBe(2 * SR);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(render(t, 22_050).length).toBe(44_100);
    const otherSeed = render({ ...t, scene: scene('gym', 'noon', 4) });
    expect(Buffer.from(a.buffer).equals(Buffer.from(otherSeed.buffer))).toBe(false);
  });

  it('rejects a bad sample rate with a RangeError naming sampleRate', () => {
    for (const sampleRate of [7999, 48_001, 16_000.5, Number.NaN, 0]) {
      expect(() => synthesizeAudio(trace(), { sampleRate })).toThrow(RangeError);
      expect(() => synthesizeAudio(trace(), { sampleRate })).toThrow(/sampleRate/);
      expect(() => onsetSamples(trace(), sampleRate)).toThrow(/sampleRate/);
    }
    expect(synthesizeAudio(trace(), { sampleRate: 8000 }).length).toBe(16_000);
    expect(synthesizeAudio(trace(), { sampleRate: 48_000 }).length).toBe(96_000);
  });

  it('rejects a malformed trace, naming the field', () => {
    expect(() => render(trace({ contacts: [contact(Number.NaN, 'basketball', 1)] }))).toThrow(/contacts\[0\]\.t/);
    expect(() => render(trace({ contacts: [contact(0.5, 'basketball', -1)] }))).toThrow(/contacts\[0\]\.impulse/);
    const track = rollingTrack('basketball', 1);
    expect(() => render(trace({ rolling: [{ ...track, speed: track.speed.subarray(1) }] }))).toThrow(/rolling\[0\]/);
  });

  it('never leaves [−1, 1], even with 20 simultaneous heavy impacts', () => {
    const contacts = Array.from({ length: 20 }, (_, i) => contact(1, i % 2 ? 'bowling ball' : 'wooden box', 60, i % 3 ? 'floor' : 'rim', 8));
    const a = render(trace({ contacts }));
    let peak = 0;
    for (const x of a) peak = Math.max(peak, Math.abs(x));
    expect(peak).toBeLessThanOrEqual(1);
    expect(peak).toBeGreaterThan(0.9);
    const pcm = toInt16(a);
    expect(pcm.length).toBe(a.length);
    expect(Math.max(...pcm.map((v) => Math.abs(v)))).toBeLessThanOrEqual(32767);
    expect(Array.from(toInt16(Float32Array.of(0, 1, -1, 2, -2, 0.5, Number.NaN)))).toEqual([0, 32767, -32767, 32767, -32767, 16384, 0]);
  });
});

describe('world audio: impacts', () => {
  it('start exactly on the contact sample, sharply, with only the bed before', () => {
    const impact = eventsOnly({ contacts: [contact(0.5, 'rubber ball', 2)] });
    let first = -1;
    for (let i = 0; i < impact.length && first < 0; i++) if (impact[i] !== 0) first = i;
    expect(first).toBe(8000);
    expect(onsetSamples(trace({ contacts: [contact(0.5, 'rubber ball', 2)] }), SR)).toEqual([8000]);
    // Peak within 2 ms of the onset.
    let peakAt = 8000;
    for (let i = 8000; i < 8000 + 0.1 * SR; i++) if (Math.abs(impact[i] ?? 0) > Math.abs(impact[peakAt] ?? 0)) peakAt = i;
    expect(peakAt - 8000).toBeLessThanOrEqual(0.002 * SR);
    // The onset detector sees it, far above the bed.
    expect(maxOnsetRatio(render(trace({ contacts: [contact(0.5, 'rubber ball', 2)] })))).toBeGreaterThan(10);
  });

  it('round sub-step times to the nearest sample', () => {
    const t = trace({ contacts: [contact(0.5 + 0.4 / SR, 'tennis ball', 0.3), contact(1 + 0.6 / SR, 'tennis ball', 0.3), contact(0.25, 'basketball', 1)] });
    expect(onsetSamples(t, SR)).toEqual([4000, 8000, 16_001]);
  });

  it('are louder for bigger impulses, and silent for tiny or resting contacts', () => {
    const level = (impulse: number) => rms(eventsOnly({ contacts: [contact(0.5, 'basketball', impulse)] }), 8000, 8800);
    expect(level(2)).toBeGreaterThan(2 * level(0.2));
    expect(level(0.2)).toBeGreaterThan(1.5 * level(0.02));
    // Under 0.01 N·s, or approaching at under 5 cm/s (a heavy body at rest), nothing sounds.
    const quiet = [contact(0.5, 'tennis ball', 0.005), contact(0.7, 'bowling ball', 0.25, 'floor', 0.04)];
    expect(eventsOnly({ contacts: quiet }).every((v) => v === 0)).toBe(true);
    expect(onsetSamples(trace({ contacts: quiet }), SR)).toEqual([]);
  });

  it('sound like their materials: a tennis ball is brighter than a bowling ball', () => {
    const centroid = (c: ContactEvent) => spectralCentroid(eventsOnly({ contacts: [c] }), 8000);
    const tennis = centroid(contact(0.5, 'tennis ball', 0.5));
    const bowling = centroid(contact(0.5, 'bowling ball', 20));
    expect(tennis).toBeGreaterThan(2 * bowling);
    // What it hits counts too: the same ball rings brighter on the rim than on the floor.
    expect(centroid(contact(0.5, 'basketball', 3, 'rim'))).toBeGreaterThan(1.5 * centroid(contact(0.5, 'basketball', 3, 'floor')));
  });

  it('vary slightly from contact to contact', () => {
    const a = eventsOnly({ contacts: [contact(0.5, 'wooden box', 3)] });
    const b = eventsOnly({ contacts: [contact(0.1, 'rubber ball', 0.001), contact(0.5, 'wooden box', 3)] });
    expect(rms(a, 8000, 9000)).toBeGreaterThan(0);
    expect(a.subarray(8000, 9000)).not.toEqual(b.subarray(8000, 9000));
  });
});

describe('world audio: rolling and the net', () => {
  it('rolls louder with speed, silent at rest, coloured by the material', () => {
    const level = (speed: number) => rms(eventsOnly({ rolling: [rollingTrack('basketball', speed)] }), 0.7 * SR, 1.3 * SR);
    expect(level(0)).toBe(0);
    expect(level(1)).toBeGreaterThan(0.003);
    expect(level(4)).toBeGreaterThan(2 * level(1));
    // Nothing before the track starts or after it ends.
    const rolled = eventsOnly({ rolling: [rollingTrack('basketball', 2)] });
    expect(rms(rolled, 0, 0.58 * SR)).toBe(0);
    expect(rms(rolled, 1.42 * SR, 2 * SR)).toBe(0);
    const bowling = spectralCentroid(eventsOnly({ rolling: [rollingTrack('bowling ball', 3)] }), 0.8 * SR);
    const tennis = spectralCentroid(eventsOnly({ rolling: [rollingTrack('tennis ball', 3)] }), 0.8 * SR);
    expect(tennis).toBeGreaterThan(3 * bowling);
  });

  it('swishes through the net: high, soft-edged, a quarter second or so', () => {
    const swish = eventsOnly({ netPasses: [{ t: 1, bodyId: 'ball', speed: 4 }] });
    expect(rms(swish, 0, SR)).toBe(0);
    const body = rms(swish, 1.04 * SR, 1.1 * SR);
    expect(body).toBeGreaterThan(0.02);
    expect(rms(swish, SR, 1.005 * SR)).toBeLessThan(0.2 * body);
    expect(rms(swish, 1.3 * SR, 2 * SR)).toBe(0);
    expect(spectralCentroid(swish, 1.02 * SR)).toBeGreaterThan(2500);
    // Its rise is far gentler than even a light impact's.
    expect(maxOnsetRatio(render(trace({ netPasses: [{ t: 1, bodyId: 'ball', speed: 4 }] })))).toBeLessThan(0.5 * maxOnsetRatio(render(trace({ contacts: [contact(1, 'tennis ball', 0.5)] }))));
  });
});

describe('world audio: ambient beds', () => {
  it('are quiet, stationary and free of onsets in every setting and time of day', () => {
    for (const setting of SETTINGS) {
      for (const timeOfDay of ['morning', 'noon', 'sunset', 'night'] as const) {
        const bed = render(trace({ scene: scene(setting, timeOfDay) }));
        const level = rms(bed);
        expect(level, `${setting} ${timeOfDay}`).toBeGreaterThan(0.007);
        expect(level, `${setting} ${timeOfDay}`).toBeLessThan(0.035);
        expect(maxOnsetRatio(bed), `${setting} ${timeOfDay}`).toBeLessThan(4);
        // Already settled at the first sample: no fade-in.
        expect(rms(bed, 0, 0.1 * SR), `${setting} ${timeOfDay}`).toBeGreaterThan(0.4 * level);
      }
    }
  });

  it('differ between settings and are quieter at night', () => {
    const beds = SETTINGS.map((setting) => render(trace({ scene: scene(setting) })));
    beds.forEach((a, i) => beds.slice(i + 1).forEach((b) => expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false)));
    const [gym, street, park, garage] = beds as [Float32Array, Float32Array, Float32Array, Float32Array];
    // Seed 3 is odd: 50 Hz mains. The gym hums at 50 Hz; the garage's tubes buzz at 100 Hz.
    expect(toneMagnitude(gym, 50)).toBeGreaterThan(5 * toneMagnitude(street, 50));
    expect(toneMagnitude(garage, 100)).toBeGreaterThan(5 * toneMagnitude(park, 100));
    // Leaves rustle higher than traffic rumbles.
    expect(spectralCentroid(park, SR, 2048)).toBeGreaterThan(spectralCentroid(street, SR, 2048));
    for (const setting of ['gym', 'street court', 'garage'] as const) {
      expect(rms(render(trace({ scene: scene(setting, 'night') })))).toBeLessThan(rms(render(trace({ scene: scene(setting, 'noon') }))));
    }
    // Crickets at night in the park, near 4–4.7 kHz, though the night is otherwise quieter.
    expect(bandPower(render(trace({ scene: scene('park', 'night') })), 3900, 4900)).toBeGreaterThan(2 * bandPower(park, 3900, 4900));
  });
});
