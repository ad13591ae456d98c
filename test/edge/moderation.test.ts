import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { recipeIdOf, type Recipe } from '../../contracts/index.ts';
import type { ReportView } from '../../edge/src/moderation.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { call, person, type Who } from './people.ts';

let n = 0;

async function moderator(): Promise<Who> {
  const who = await person('mod');
  // What an instance operator does with `wrangler d1 execute`.
  await env.DB.prepare("UPDATE users SET role = 'moderator' WHERE id = ?").bind(who.me.id).run();
  return who;
}
const recipeWith = (prompt: string): Recipe => ({ ...DRAFT_RECIPE, prompt, seed: 5000 + n++ });
const recipeCount = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM recipes').first<{ n: number }>())?.n;

describe('the prompt policy at submit', () => {
  it('refuses a prompt that breaks it, naming the words, and writes nothing', async () => {
    const maker = await person('mod');
    const before = await recipeCount();
    const recipe = recipeWith('A naked figure throws a red ball in the gym');
    const res = await call(maker, 'POST', '/recipes', { recipe });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_input', details: { issues: [{ field: 'recipe.prompt', message: 'is refused by the prompt policy: "naked": sexual content is not allowed' }] } });
    expect(await recipeCount()).toBe(before);
    expect((await call(null, 'GET', `/recipes/${await recipeIdOf(recipe)}`)).status).toBe(404);
  });

  it("refuses a real person's likeness without a cameo, on publish and on a remix link", async () => {
    const maker = await person('mod');
    const recipe = recipeWith('Barack Obama throws a red basketball at the hoop');
    const res = await call(maker, 'POST', '/recipes', { recipe });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('\\"Barack Obama\\" looks like a real person');
    const link = `https://elsewhere.example/#recipe=${btoa(JSON.stringify(recipe)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`;
    expect((await call(maker, 'POST', '/recipes/from-link', { link })).status).toBe(400);
  });

  it('answers a policy check before generating, with the stricter filter for teens', async () => {
    const teen = await person('mod', 15);
    const prompt = 'A scary figure kicks a blue ball';
    expect(await (await call(null, 'POST', '/moderation/check', { prompt })).json()).toEqual({ allowed: true, violations: [] });
    expect(await (await call(teen, 'POST', '/moderation/check', { prompt })).json()).toMatchObject({ allowed: false, violations: [{ category: 'intense', match: 'scary' }] });
    expect((await call(null, 'POST', '/moderation/check', { prompt: '' })).status).toBe(400);
  });
});

describe('reports and the review queue', () => {
  it('queues reports for moderators, who remove a recipe for good or dismiss a report', async () => {
    const [maker, reporter, second, mod] = [await person('mod'), await person('mod'), await person('mod'), await moderator()];
    const bad = recipeWith('A purple bowling ball drops on the garage floor');
    const fine = recipeWith('A yellow tennis ball bounces in the park');
    expect((await call(maker, 'POST', '/recipes', { recipe: bad })).status).toBe(201);
    expect((await call(maker, 'POST', '/recipes', { recipe: fine })).status).toBe(201);
    const [badId, fineId] = [await recipeIdOf(bad), await recipeIdOf(fine)];

    const filed = await call(reporter, 'POST', '/reports', { recipeId: badId, reason: 'harassment', note: 'made to mock me' });
    expect(filed.status).toBe(201);
    const report = await filed.json<ReportView>();
    expect(report).toMatchObject({ recipeId: badId, reason: 'harassment', status: 'open' });
    expect((await call(reporter, 'POST', '/reports', { recipeId: badId, reason: 'spam' })).status).toBe(409);
    expect((await call(second, 'POST', '/reports', { recipeId: badId, reason: 'other' })).status).toBe(201);
    const fineReport = await (await call(reporter, 'POST', '/reports', { recipeId: fineId, reason: 'spam' })).json<ReportView>();
    expect((await call(reporter, 'POST', '/reports', { recipeId: fineId.replace(/^./, 'a'), reason: 'spam' })).status).toBe(404);
    expect((await call(reporter, 'POST', '/reports', { recipeId: badId, reason: 'boring' })).status).toBe(400);

    // Only moderators see the queue and decide.
    expect((await call(reporter, 'GET', '/moderation/reports')).status).toBe(403);
    expect((await call(reporter, 'POST', `/moderation/reports/${report.id}/decision`, { action: 'remove' })).status).toBe(403);
    const queue = await (await call(mod, 'GET', '/moderation/reports')).json<{ reports: (ReportView & { prompt: string; openReportsOnRecipe: number })[] }>();
    expect(queue.reports.find((r) => r.id === report.id)).toMatchObject({ prompt: bad.prompt, openReportsOnRecipe: 2 });

    expect(await (await call(mod, 'POST', `/moderation/reports/${fineReport.id}/decision`, { action: 'dismiss', note: 'not spam' })).json()).toMatchObject({ status: 'dismissed' });
    expect((await call(null, 'GET', `/recipes/${fineId}`)).status).toBe(200);

    expect(await (await call(mod, 'POST', `/moderation/reports/${report.id}/decision`, { action: 'remove' })).json()).toMatchObject({ status: 'removed' });
    expect((await call(null, 'GET', `/recipes/${badId}`)).status).toBe(404);
    expect((await call(mod, 'POST', `/moderation/reports/${report.id}/decision`, { action: 'dismiss' })).status).toBe(409);
    // Every open report on it is closed, and it can't be published here again.
    const mine = await (await call(second, 'GET', '/reports/mine')).json<{ reports: ReportView[] }>();
    expect(mine.reports.map((r) => r.status)).toEqual(['removed']);
    const again = await call(maker, 'POST', '/recipes', { recipe: bad });
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({ message: 'this recipe was removed by a moderator of this instance and cannot be published here again' });
  });
});
