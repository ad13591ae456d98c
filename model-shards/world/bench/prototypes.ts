import { renderTrace } from '../clip.ts';
import { parseScene, SETTINGS, TIMES_OF_DAY } from '../scene.ts';
import { simulate } from '../simulate.ts';
import { settingFeatures, type SettingPrototype } from './setting-classifier.ts';

const cache = new Map<number, Promise<SettingPrototype[]>>();

/**
 * Reference looks of each setting: the world renders an almost empty wide shot of every setting at
 * every time of day and three colour temperatures (and a panning view); the judge compares a video's backdrop with these.
 */
export function settingPrototypes(size: number): Promise<SettingPrototype[]> {
  let ready = cache.get(size);
  if (!ready) {
    ready = (async () => {
      const out: SettingPrototype[] = [];
      for (const setting of SETTINGS) {
        for (const timeOfDay of TIMES_OF_DAY) {
          for (const [colourTempK, motion] of [[3000, 'static'], [4800, 'static'], [6500, 'static'], [4800, 'pan']] as const) {
            const scene = parseScene({
              version: 1, seed: 1, durationS: 0.5, fps: 2, setting, lighting: { timeOfDay, azimuthDeg: 0, colourTempK },
              objects: [{ id: 'probe', material: 'tennis ball', colour: 'red', x: 0, y: 0.09 }],
              shots: [{ durationS: 0.5, framing: 'wide', motion }],
            });
            const { frames } = renderTrace(await simulate(scene), size);
            out.push({ setting, features: settingFeatures({ frames, size, fps: 2 }, { shotStarts: [0], frameCount: 1 }) });
          }
        }
      }
      return out;
    })();
    cache.set(size, ready);
  }
  return ready;
}
