import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../contracts/index.ts';
import { sceneFromFacts, sceneFromPrompt } from '../../model-shards/world/compose.ts';
import { describeScene, factsOfScene, parsePrompt } from '../../model-shards/world/prompts.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';
import { simulate } from '../../model-shards/world/simulate.ts';

describe('prompt → scene → prompt', () => {
  it('keeps every stated fact through a composed scene, for 200 sampled prompts', () => {
    for (let seed = 0; seed < 200; seed++) {
      const prompt = describeScene(sampleScene(seed), seed);
      const facts = parsePrompt(prompt).facts;
      const composed = sceneFromFacts(facts, seed + 1000);
      expect(factsOfScene(composed), `seed ${seed}: ${prompt}`).toEqual(facts);
      const again = parsePrompt(describeScene(composed, seed + 7));
      expect(again.unknownWords).toEqual([]);
      expect(again.facts, `seed ${seed}`).toEqual(facts);
    }
  });

  it('fills what a short prompt leaves unsaid from the seed, deterministically', async () => {
    const { scene, unknownWords } = sceneFromPrompt('A red rubber ball bounces in the gym at night.', 42);
    expect(unknownWords).toEqual([]);
    expect(scene).toEqual(sceneFromPrompt('A red rubber ball bounces in the gym at night.', 42).scene);
    expect(scene).toMatchObject({ setting: 'gym', lighting: { timeOfDay: 'night' }, objects: [{ material: 'rubber ball', colour: 'red' }], shots: [{ framing: 'wide', motion: 'static' }] });
    const trace = await simulate(scene);
    expect(trace.contacts.some((c) => c.bodyId === 'ball-1' && c.surface === 'floor')).toBe(true);
  });

  it('gives a figure its ball and composes multi-shot camera work', () => {
    const { scene } = sceneFromPrompt('A kid kicks a blue basketball on a street court. Then cut to a close-up that follows the ball.', 3);
    expect(scene.character).toMatchObject({ action: 'kick', objectId: 'ball-1' });
    expect(scene.shots.map((s) => `${s.framing}/${s.motion}`)).toEqual(['wide/static', 'close/follow']);
  });

  it('reports words it does not know and refuses prompts with nothing that moves', () => {
    expect(sceneFromPrompt('A purple giraffe bounces and a red rubber ball drops', 1).unknownWords).toEqual(['giraffe']);
    expect(() => sceneFromPrompt('A quiet gym at night', 1)).toThrow(ValidationError);
    expect(() => sceneFromPrompt('A quiet gym at night', 1)).toThrow(/prompt names nothing that moves/);
  });
});
