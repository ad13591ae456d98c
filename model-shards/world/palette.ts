import type { Colour, Lighting, Setting, TimeOfDay } from './scene.ts';

/**
 * Colours of the world. Objects are vivid (HSV saturation ≥ 0.75) and everything else is muted
 * (≤ 0.35 after lighting), so "which pixels belong to a thing that moves" is a property of colour.
 * The physics bench relies on that; keep new stage colours muted.
 */
export type Rgb = readonly [number, number, number];

export const OBJECT_RGB: Readonly<Record<Colour, Rgb>> = Object.freeze({
  red: [222, 38, 43],
  orange: [245, 124, 10],
  yellow: [236, 206, 18],
  green: [34, 170, 64],
  blue: [36, 96, 222],
  purple: [150, 50, 210],
  pink: [238, 60, 160],
});

export interface SettingPalette {
  readonly floor: Rgb;
  readonly floorLine: Rgb;
  readonly wall: Rgb;
  readonly wallLow: Rgb;
  readonly detail: Rgb;
  readonly outdoor: boolean;
}

export const SETTING_PALETTES: Readonly<Record<Setting, SettingPalette>> = Object.freeze({
  gym: { floor: [184, 166, 138], floorLine: [158, 143, 122], wall: [214, 206, 188], wallLow: [186, 178, 162], detail: [150, 146, 140], outdoor: false },
  'street court': { floor: [88, 90, 96], floorLine: [206, 206, 200], wall: [150, 155, 160], wallLow: [118, 116, 124], detail: [100, 104, 110], outdoor: true },
  park: { floor: [112, 140, 96], floorLine: [98, 124, 84], wall: [150, 168, 150], wallLow: [92, 112, 88], detail: [80, 98, 78], outdoor: true },
  garage: { floor: [150, 150, 144], floorLine: [124, 124, 120], wall: [128, 136, 148], wallLow: [112, 118, 128], detail: [110, 100, 90], outdoor: false },
});

export const SKY_RGB: Readonly<Record<TimeOfDay, Rgb>> = Object.freeze({
  morning: [178, 200, 218],
  noon: [164, 198, 230],
  sunset: [226, 184, 156],
  night: [30, 36, 52],
});

/** Overall light level by time of day; indoor lights keep gyms and garages bright at night. */
export function brightness(time: TimeOfDay, outdoor: boolean): number {
  switch (time) {
    case 'morning': return 0.93;
    case 'noon': return 1;
    case 'sunset': return 0.86;
    case 'night': return outdoor ? 0.58 : 0.82;
  }
}

export function shadowStrength(time: TimeOfDay): number {
  return { morning: 0.34, noon: 0.42, sunset: 0.3, night: 0.22 }[time];
}

/**
 * RGB multiplier of a colour temperature relative to 6500 K (Tanner Helland's fit of the
 * Planckian locus), applied at 30% as a camera's auto white balance would leave it.
 */
export function colourTempTint(kelvin: number): Rgb {
  const fit = (k: number): Rgb => {
    const t = k / 100;
    const r = t <= 66 ? 255 : 329.698727446 * (t - 60) ** -0.1332047592;
    const g = t <= 66 ? 99.4708025861 * Math.log(t) - 161.1195681661 : 288.1221695283 * (t - 60) ** -0.0755148492;
    const b = t >= 66 ? 255 : t <= 19 ? 0 : 138.5177312231 * Math.log(t - 10) - 305.0447927307;
    const clamp = (v: number) => Math.min(255, Math.max(0, v));
    return [clamp(r), clamp(g), clamp(b)];
  };
  const k = fit(kelvin);
  const ref = fit(6500);
  return [0, 1, 2].map((i) => 1 + 0.3 * ((k[i] ?? 255) / (ref[i] ?? 255) - 1)) as unknown as Rgb;
}

/**
 * What the light multiplies every pixel of a frame by, per channel, as the 8-bit fill the renderer
 * composites with 'multiply': the time of day's level (indoor settings stay bright at night) times
 * the colour temperature's tint. A cameo's face painted over a frame is lit by the same numbers.
 */
export function lightFill(lighting: Lighting, setting: Setting): Rgb {
  const level = brightness(lighting.timeOfDay, SETTING_PALETTES[setting].outdoor);
  const tint = colourTempTint(lighting.colourTempK);
  return tint.map((c) => Math.min(255, Math.round(255 * level * c))) as unknown as Rgb;
}

export function rgbToHsv([r, g, b]: Rgb): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const d = max - min;
  let h = 0;
  if (d > 0) {
    if (max === r) h = ((g - b) / d + 6) % 6;
    else if (max === g) h = (b - r) / d + 2;
    else h = (r - g) / d + 4;
  }
  return [h * 60, max === 0 ? 0 : d / max, max / 255];
}
