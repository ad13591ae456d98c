import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { recipeIdOf, type Recipe } from '../../contracts/index.ts';
import type { ChildView } from '../../edge/src/family.ts';
import { answerCheckIn, CHECK_IN_AFTER_S, feedPage, type FeedItem, type FeedPage } from '../../edge/src/feed.ts';
import { DRAFT_RECIPE } from '../fixtures/recipes.ts';
import { call, person, type Who } from './people.ts';

let n = 0;


async function publish(who: Who, prompt: string, parent: string | null = null): Promise<string> {
  const recipe: Recipe = { ...DRAFT_RECIPE, prompt, seed: 1000 + n++, parent };
  const res = await call(who, 'POST', '/recipes', { recipe });
  expect(res.status, await res.clone().text()).toBe(201);
  return recipeIdOf(recipe);
}
const feedOf = async (who: Who) => {
  const res = await call(who, 'GET', '/feed?limit=50');
  expect(res.status).toBe(200);
  return res.json<FeedPage>();
};
const itemsOf = (page: FeedPage) => (page.state === 'ok' ? page.items : []);
const order = (items: readonly FeedItem[], ids: string[]) => items.filter((i) => ids.includes(i.recipeId)).map((i) => i.recipeId);

describe('the feed', () => {
  it('ranks for remixes, steers by a plain-language instruction and explains it back', async () => {
    const [maker, remixer, viewer] = [await person('feed'), await person('feed'), await person('feed')];
    const hoop = await publish(maker, 'A red basketball bounces under the hoop in the gym');
    const boxes = await publish(maker, 'A stack of four purple crates stands in the garage as a green tennis ball bounces');
    const bowling = await publish(maker, 'A heavy yellow bowling ball drops in the park');
    await publish(remixer, 'A stack of four purple crates stands in the garage at night as a green tennis ball bounces', boxes);

    const plain = await feedOf(viewer);
    expect(plain.state).toBe('ok');
    // Unsteered, the remixed video ranks first; every item says why it is there.
    expect(order(itemsOf(plain), [hoop, boxes, bowling])[0]).toBe(boxes);
    expect(itemsOf(plain).find((i) => i.recipeId === boxes)?.why).toEqual(['1 remix', 'new today']);

    const steer = await call(viewer, 'PUT', '/feed/steering', { instruction: 'more basketball, less toppling boxes, nothing loud' });
    expect(steer.status).toBe(200);
    expect(await steer.json()).toMatchObject({ weights: { basketball: 1, boxes: -1 }, exclude: ['loud'], explanation: 'More basketball. Less box stacks. No loud sounds.' });

    const steered = await feedOf(viewer);
    expect(steered.state === 'ok' && steered.steering).toBe('More basketball. Less box stacks. No loud sounds.');
    expect(order(itemsOf(steered), [hoop, boxes, bowling])).toEqual([hoop, boxes]);
    expect(itemsOf(steered).find((i) => i.recipeId === hoop)?.why).toContain('more basketball');
    // The instruction is stored as written; the steering is what it was read as.
    expect(await (await call(viewer, 'GET', '/feed/steering')).json()).toMatchObject({ instruction: 'more basketball, less toppling boxes, nothing loud' });
  });

  it('pages with a cursor and refuses a bad one', async () => {
    const [maker, viewer] = [await person('feed'), await person('feed')];
    for (let i = 0; i < 3; i++) await publish(maker, `A green tennis ball bounces ${i + 1} times in the park`);
    const first = await (await call(viewer, 'GET', '/feed?limit=2')).json<FeedPage>();
    expect(first.state === 'ok' && first.items.length).toBe(2);
    const cursor = first.state === 'ok' ? first.nextCursor : null;
    expect(cursor).not.toBeNull();
    const second = await (await call(viewer, 'GET', `/feed?limit=2&cursor=${cursor}`)).json<FeedPage>();
    expect(itemsOf(second).map((i) => i.recipeId)).not.toContain(itemsOf(first)[0]?.recipeId);
    const bad = await call(viewer, 'GET', '/feed?cursor=-4');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ message: 'feed.cursor must be a cursor from a previous page' });
    expect((await call(viewer, 'GET', '/feed?limit=500')).status).toBe(400);
    expect((await call(null, 'GET', '/feed')).status).toBe(401);
  });

  it('checks in after a stretch of continuous scrolling, and a pause starts a new stretch', async () => {
    const viewer = await person('feed');
    const t0 = 1_900_000_000;
    let page: FeedPage | null = null;
    // A page every 2 minutes for 20 minutes.
    for (let t = t0; t <= t0 + CHECK_IN_AFTER_S; t += 120) page = await feedPage(env.DB, viewer.me.id, t, { offset: 0, limit: 5 });
    expect(page).toMatchObject({ state: 'check-in', answers: ['keep-going', 'take-a-break'], time: { stretchMinutes: 20, minutesToday: 20 } });
    expect(await answerCheckIn(env.DB, viewer.me.id, 'take-a-break', t0 + CHECK_IN_AFTER_S + 10)).toMatchObject({ answer: 'take-a-break' });
    // The same answer over HTTP, as the app sends it.
    const answered = await call(viewer, 'POST', '/feed/check-in', { answer: 'keep-going' });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ answer: 'keep-going', message: expect.stringContaining('check in again') });
    expect((await feedPage(env.DB, viewer.me.id, t0 + CHECK_IN_AFTER_S + 60, { offset: 0, limit: 5 })).state).toBe('ok');
    // After a 10-minute pause, the stretch starts again.
    const later = await feedPage(env.DB, viewer.me.id, t0 + CHECK_IN_AFTER_S + 660, { offset: 0, limit: 5 });
    expect(later.state).toBe('ok');
    expect(later.time.stretchMinutes).toBe(0);
  });
});

describe('teen limits and parental controls', () => {
  it('gives teens a daily cap that ends the feed for the day, and lets them tighten but not loosen it', async () => {
    const teen = await person('feed', 15);
    expect(teen.me.settings).toEqual({ dailyFeedMinutes: 60, contentFilter: 'strict', contactFromUnknownAdults: false });
    const loosen = await call(teen, 'PATCH', '/settings', { dailyFeedMinutes: 120, contentFilter: 'standard' });
    expect(loosen.status).toBe(403);
    expect(await loosen.json()).toMatchObject({ message: "a teen account's limits can only be loosened by a linked parent (dailyFeedMinutes, contentFilter)" });
    expect((await (await call(teen, 'GET', '/settings')).json<{ settings: unknown }>()).settings).toEqual(teen.me.settings);
    const tighten = await call(teen, 'PATCH', '/settings', { dailyFeedMinutes: 10 });
    expect(await tighten.json()).toEqual({ settings: { dailyFeedMinutes: 10, contentFilter: 'strict', contactFromUnknownAdults: false } });

    const day = Date.UTC(2030, 0, 2, 8) / 1000;
    let page: FeedPage | null = null;
    for (let t = day; t <= day + 10 * 60; t += 60) page = await feedPage(env.DB, teen.me.id, t, { offset: 0, limit: 5 });
    expect(page).toMatchObject({ state: 'daily-limit', resetsAt: Date.UTC(2030, 0, 3) / 1000, time: { minutesToday: 10, dailyLimitMinutes: 10 } });
    expect((await feedPage(env.DB, teen.me.id, Date.UTC(2030, 0, 3, 7) / 1000, { offset: 0, limit: 5 })).state).toBe('ok');
    expect((await call(teen, 'PATCH', '/settings', { dailyFeedMinutes: 2 })).status).toBe(400);
  });

  it('filters what a teen sees more strictly: nothing reported and not yet reviewed, nothing intense', async () => {
    const [maker, reporter, adult, teen] = [await person('feed'), await person('feed'), await person('feed'), await person('feed', 16)];
    const reported = await publish(maker, 'A blue basketball bounces twice in the street court');
    const intense = await publish(maker, 'A scary figure kicks a green tennis ball in the park');
    const calm = await publish(maker, 'A pink tennis ball rolls down the ramp in the gym');
    expect((await call(reporter, 'POST', '/reports', { recipeId: reported, reason: 'spam' })).status).toBe(201);
    expect(order(itemsOf(await feedOf(adult)), [reported, intense, calm]).sort()).toEqual([reported, intense, calm].sort());
    expect(order(itemsOf(await feedOf(teen)), [reported, intense, calm])).toEqual([calm]);
  });

  it('links a parent with the teen’s code; the parent sets limits and sees settings, never content', async () => {
    const [teen, parent, stranger] = [await person('feed', 14), await person('feed', 40), await person('feed', 35)];
    expect((await call(parent, 'POST', '/family/link-code')).status).toBe(403);
    const made = await call(teen, 'POST', '/family/link-code');
    expect(made.status).toBe(201);
    const { code } = await made.json<{ code: string }>();
    expect(code).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}$/);

    expect((await call(stranger, 'POST', '/family/children', { code: 'ABCD-2345' })).status).toBe(400);
    const link = await call(parent, 'POST', '/family/children', { code: code.toLowerCase() });
    expect(link.status).toBe(201);
    const child = await link.json<ChildView>();
    expect(Object.keys(child).sort()).toEqual(['feedMinutesToday', 'handle', 'id', 'linkedAt', 'settings']);
    // The code is single-use, and a teen cannot be a parent.
    expect((await call(stranger, 'POST', '/family/children', { code })).status).toBe(400);
    expect((await call(teen, 'POST', '/family/children', { code })).status).toBe(403);

    const set = await call(parent, 'PATCH', `/family/children/${teen.me.id}/settings`, { dailyFeedMinutes: 90, contactFromUnknownAdults: false });
    expect(set.status).toBe(200);
    expect(await (await call(teen, 'GET', '/settings')).json()).toEqual({ settings: { dailyFeedMinutes: 90, contentFilter: 'strict', contactFromUnknownAdults: false }, linkedParent: parent.me.handle });
    expect((await (await call(parent, 'GET', '/family/children')).json<{ children: ChildView[] }>()).children.map((c) => c.handle)).toEqual([teen.me.handle]);

    // Content stays the teen's own: their cameo is not the parent's to see.
    const cameo = await (await call(teen, 'POST', '/cameos', { name: 'Me', audience: 'only_me' })).json<{ id: string }>();
    expect((await call(parent, 'GET', `/cameos/${cameo.id}`)).status).toBe(404);
    // Only the linked parent: anyone else gets 404, signed out 401.
    expect((await call(stranger, 'PATCH', `/family/children/${teen.me.id}/settings`, { dailyFeedMinutes: 600 })).status).toBe(404);
    expect((await call(null, 'GET', '/family/children')).status).toBe(401);
    expect((await call(stranger, 'DELETE', `/family/children/${teen.me.id}`)).status).toBe(404);
    expect((await call(parent, 'DELETE', `/family/children/${teen.me.id}`)).status).toBe(204);
    expect((await (await call(teen, 'GET', '/settings')).json<{ linkedParent: string | null }>()).linkedParent).toBeNull();
  });

  it('keeps unknown adults from contacting a teen, and lets known people through', async () => {
    const [teen, adult, parent] = [await person('feed', 15), await person('feed', 30), await person('feed', 45)];
    const adultCameo = await (await call(adult, 'POST', '/cameos', { name: 'Adult', audience: 'approved' })).json<{ id: string }>();
    const refused = await call(adult, 'POST', `/cameos/${adultCameo.id}/grants`, { handle: teen.me.handle });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ message: `${teen.me.handle} does not accept contact from people they don't know` });
    expect((await (await call(adult, 'GET', `/cameos/${adultCameo.id}`)).json<{ grants: unknown[] }>()).grants).toEqual([]);

    // The teen granting the adult one of their own cameos makes the adult someone they know.
    const teenCameo = await (await call(teen, 'POST', '/cameos', { name: 'Teen', audience: 'approved' })).json<{ id: string }>();
    expect((await call(teen, 'POST', `/cameos/${teenCameo.id}/grants`, { handle: adult.me.handle })).status).toBe(201);
    expect((await call(adult, 'POST', `/cameos/${adultCameo.id}/grants`, { handle: teen.me.handle })).status).toBe(201);

    // A linked parent is known too.
    const { code } = await (await call(teen, 'POST', '/family/link-code')).json<{ code: string }>();
    expect((await call(parent, 'POST', '/family/children', { code })).status).toBe(201);
    const parentCameo = await (await call(parent, 'POST', '/cameos', { name: 'Parent', audience: 'approved' })).json<{ id: string }>();
    expect((await call(parent, 'POST', `/cameos/${parentCameo.id}/grants`, { handle: teen.me.handle })).status).toBe(201);
  });
});
