import { describe, expect, it } from 'vitest';
import { checkPrompt, describeViolations, parseFeedInstruction, steerItem, topicsIn, topicsOfPrompt } from '../../contracts/index.ts';
import { describeScene } from '../../model-shards/world/prompts.ts';
import { sampleScene } from '../../model-shards/world/sample.ts';

describe('feed steering', () => {
  it('turns the issue’s instruction into weights and says it back', () => {
    const s = parseFeedInstruction('more basketball, less toppling boxes, nothing loud');
    expect(s.weights).toEqual({ basketball: 1, boxes: -1 });
    expect(s.exclude).toEqual(['loud']);
    expect(s.only).toEqual([]);
    expect(s.unrecognized).toEqual([]);
    expect(s.explanation).toBe('More basketball. Less box stacks. No loud sounds.');
  });

  it('reads intensity, "only", carried-over intents and later overrides', () => {
    const s = parseFeedInstruction('Lots of pendulums and ramps. Only the park! No crashes and thuds; actually more ramps');
    expect(s.weights).toEqual({ pendulum: 2, ramp: 1 });
    expect(s.only).toEqual(['park']);
    expect(s.exclude).toEqual(['loud']);
    expect(s.explanation).toContain('pendulums most of all');
  });

  it('quotes back what it did not understand instead of guessing', () => {
    const s = parseFeedInstruction('more cats, fewer tennis balls');
    expect(s.weights).toEqual({ tennis: -1 });
    expect(s.unrecognized).toEqual(['more cats']);
    expect(s.explanation).toMatch(/Not understood: "more cats" — the feed knows basketball, tennis balls/);
    expect(parseFeedInstruction('').explanation).toMatch(/No steering/);
    expect(() => parseFeedInstruction('x'.repeat(501))).toThrow(/501 characters; at most 500/);
  });

  it('steers items by the topics of their prompts', () => {
    const s = parseFeedInstruction('more basketball, less boxes, nothing loud');
    const hoop = topicsIn('A red basketball bounces under the hoop in the gym.');
    expect(hoop).toEqual(['basketball', 'rubber', 'gym']);
    expect(steerItem(s, hoop)).toEqual({ score: 1, reasons: ['more basketball'] });
    expect(steerItem(s, topicsIn('A stack of four crates stands nearby.'))?.score).toBe(-1);
    expect(steerItem(s, topicsIn('A ball lands with a heavy thud.'))).toBeNull();
    // Bowling balls and toppling stacks are loud in this world, whether or not the prompt says so.
    expect(topicsOfPrompt('A heavy pink bowling ball drops in the park')).toEqual(['bowling', 'park', 'loud']);
    expect(steerItem(s, topicsOfPrompt('Four crates topple in the garage'))).toBeNull();
  });
});

describe('prompt policy', () => {
  it('lets every prompt the world writes through, even with the strict filter', () => {
    for (let seed = 0; seed < 300; seed++) {
      const prompt = describeScene(sampleScene(seed), seed);
      expect(checkPrompt(prompt, { strict: true }).violations, prompt).toEqual([]);
    }
  });

  it('names what it refuses and why', () => {
    const v = checkPrompt('A naked figure holds a gun in the gym');
    expect(v.allowed).toBe(false);
    expect(v.violations.map((x) => x.category)).toEqual(['sexual', 'weapons']);
    expect(describeViolations(v)).toBe('"naked": sexual content is not allowed; "gun": weapons are not allowed');
    expect(checkPrompt('A player shoots the ball at the hoop').allowed).toBe(true);
    expect(checkPrompt('A player shoots a man').violations[0]?.category).toBe('violence');
  });

  it('refuses a named person without a cameo, and allows them with one', () => {
    const named = checkPrompt('Barack Obama throws a red basketball in the park');
    expect(named.violations).toEqual([{ category: 'likeness', match: 'Barack Obama', message: expect.stringContaining('looks like a real person') }]);
    expect(checkPrompt('Barack Obama throws a red basketball', { hasCameo: true }).allowed).toBe(true);
    expect(checkPrompt('@jamie_k kicks a ball').violations[0]?.match).toBe('@jamie_k');
    expect(checkPrompt('a celebrity dunks').violations[0]?.category).toBe('likeness');
    expect(checkPrompt('Shot 1: a Static Wide view. Then cut to Golden Hour in the Park.').allowed).toBe(true);
  });

  it('refuses what is merely intense only under the strict filter', () => {
    expect(checkPrompt('a scary monster kicks the box stack').allowed).toBe(true);
    expect(checkPrompt('a scary monster kicks the box stack', { strict: true }).violations.map((v) => v.match)).toEqual(['scary']);
  });
});
