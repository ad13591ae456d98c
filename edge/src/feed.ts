import { Hono } from 'hono';
import { z } from 'zod';
import { checkPrompt, MAX_INSTRUCTION_LENGTH, parseFeedInstruction, RecipeSchema, steerItem, topicsOfPrompt, ValidationError, type FeedSteering, type FeedTopicId } from '../../contracts/index.ts';
import { settingsOf } from './accounts.ts';
import { requireUser, type AuthEnv } from './auth.ts';
import { parseJsonBody } from './request-body.ts';

/**
 * The feed: published recipes ranked for making and remixing — how often a video was remixed, how
 * new it is, whether it is itself a remix — never for watch time, which is not recorded at all. Each
 * person steers it with a plain-language instruction, read into topic weights and explained back.
 * Feed time is counted from page requests: a stretch of continuous scrolling brings a wellbeing
 * check-in, and an account's daily cap (teens by default) ends the feed for the day.
 */
export const FEED_PAGE_DEFAULT = 20;
export const FEED_PAGE_MAX = 50;
/** A check-in after this long of continuous scrolling. */
export const CHECK_IN_AFTER_S = 20 * 60;
/** A pause longer than this between two pages ends a stretch. */
export const STRETCH_GAP_S = 5 * 60;
/** At most this much of the gap between two pages counts as feed time (someone reading, not gone). */
export const MAX_COUNTED_GAP_S = 2 * 60;
const CANDIDATES = 500;

export interface FeedItem {
  readonly recipeId: string;
  readonly prompt: string;
  readonly publishedBy: string;
  readonly publishedAt: number;
  readonly parent: string | null;
  readonly remixes: number;
  readonly topics: readonly FeedTopicId[];
  /** Why it is here, in words ("4 remixes", "new today", "more basketball"). */
  readonly why: readonly string[];
}

export interface FeedTime {
  readonly minutesToday: number;
  readonly dailyLimitMinutes: number | null;
  readonly stretchMinutes: number;
}

export type FeedPage =
  | { readonly state: 'ok'; readonly items: readonly FeedItem[]; readonly nextCursor: string | null; readonly steering: string; readonly time: FeedTime }
  | { readonly state: 'check-in'; readonly message: string; readonly answers: readonly CheckInAnswer[]; readonly time: FeedTime }
  | { readonly state: 'daily-limit'; readonly message: string; readonly resetsAt: number; readonly time: FeedTime };

export const CHECK_IN_ANSWERS = ['keep-going', 'take-a-break'] as const;
export type CheckInAnswer = (typeof CHECK_IN_ANSWERS)[number];

export const SteeringSchema = z.strictObject({ instruction: z.string().max(MAX_INSTRUCTION_LENGTH, `must be at most ${MAX_INSTRUCTION_LENGTH} characters`) });
export const CheckInSchema = z.strictObject({ answer: z.enum(CHECK_IN_ANSWERS) });

const NO_STEERING: FeedSteering = parseFeedInstruction('');
const utcDay = (s: number) => new Date(s * 1000).toISOString().slice(0, 10);
const nextUtcMidnight = (s: number) => {
  const d = new Date(s * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) / 1000;
};

export async function steeringOf(db: D1Database, userId: string): Promise<{ instruction: string; steering: FeedSteering }> {
  const row = await db.prepare('SELECT instruction, steering_json FROM feed_steering WHERE user_id = ?').bind(userId).first<{ instruction: string; steering_json: string }>();
  return row ? { instruction: row.instruction, steering: JSON.parse(row.steering_json) as FeedSteering } : { instruction: '', steering: NO_STEERING };
}

/**
 * Counts a feed request at `now` towards today's feed time and the current stretch, and returns
 * where the person stands. Reading time between pages counts up to MAX_COUNTED_GAP_S.
 */
export async function recordFeedTime(db: D1Database, userId: string, now: number): Promise<{ secondsToday: number; stretchS: number }> {
  const day = utcDay(now);
  const row = await db.prepare('SELECT day, seconds_today, stretch_started_at, last_seen_at FROM feed_time WHERE user_id = ?').bind(userId).first<{ day: string; seconds_today: number; stretch_started_at: number; last_seen_at: number }>();
  let seconds = row && row.day === day ? row.seconds_today : 0;
  let stretchStart = now;
  if (row) {
    const gap = Math.max(0, now - row.last_seen_at);
    if (gap <= STRETCH_GAP_S) {
      stretchStart = row.stretch_started_at;
      if (row.day === day) seconds += Math.min(gap, MAX_COUNTED_GAP_S);
    }
  }
  await db
    .prepare(
      `INSERT INTO feed_time (user_id, day, seconds_today, stretch_started_at, last_seen_at, check_ins_today) VALUES (?1, ?2, ?3, ?4, ?5, 0)
       ON CONFLICT (user_id) DO UPDATE SET check_ins_today = CASE WHEN day = ?2 THEN check_ins_today ELSE 0 END, day = ?2, seconds_today = ?3, stretch_started_at = ?4, last_seen_at = ?5`,
    )
    .bind(userId, day, seconds, stretchStart, now)
    .run();
  return { secondsToday: seconds, stretchS: now - stretchStart };
}

/** Minutes of feed today (for the family view); 0 when none. */
export async function feedMinutesToday(db: D1Database, userId: string, now: number): Promise<number> {
  const row = await db.prepare('SELECT day, seconds_today FROM feed_time WHERE user_id = ?').bind(userId).first<{ day: string; seconds_today: number }>();
  return row && row.day === utcDay(now) ? Math.floor(row.seconds_today / 60) : 0;
}

interface Candidate {
  id: string;
  canonical_json: string;
  parent_id: string | null;
  published_at: number;
  publisher: string;
  remixes: number;
  open_reports: number;
}

/** Scores and orders candidates; excluded ones (steering or the strict filter) are dropped. */
export function rankFeed(candidates: readonly Candidate[], steering: FeedSteering, strict: boolean, now: number): FeedItem[] {
  const scored: { item: FeedItem; score: number }[] = [];
  for (const c of candidates) {
    const recipe = RecipeSchema.parse(JSON.parse(c.canonical_json));
    // The stricter filter leaves out anything reported and not yet reviewed, and what is merely intense.
    if (strict && (c.open_reports > 0 || !checkPrompt(recipe.prompt, { strict: true, hasCameo: recipe.cameos.length > 0 }).allowed)) continue;
    const topics = topicsOfPrompt(recipe.prompt);
    const steer = steerItem(steering, topics);
    if (!steer) continue;
    const ageH = Math.max(0, now - c.published_at) / 3600;
    const why: string[] = [];
    if (c.remixes > 0) why.push(`${c.remixes} remix${c.remixes === 1 ? '' : 'es'}`);
    if (ageH < 24) why.push('new today');
    if (c.parent_id) why.push('a remix');
    why.push(...steer.reasons);
    const score = Math.log2(1 + c.remixes) + 1.5 * Math.exp(-ageH / 48) + (c.parent_id ? 0.25 : 0) + 1.5 * steer.score;
    scored.push({ score, item: { recipeId: c.id, prompt: recipe.prompt, publishedBy: c.publisher, publishedAt: c.published_at, parent: c.parent_id, remixes: c.remixes, topics, why } });
  }
  scored.sort((a, b) => b.score - a.score || b.item.publishedAt - a.item.publishedAt || a.item.recipeId.localeCompare(b.item.recipeId));
  // Variety: each further item from the same person ranks a little lower, so no one fills the feed.
  const seen = new Map<string, number>();
  const diversified = scored.map(({ item, score }) => {
    const n = seen.get(item.publishedBy) ?? 0;
    seen.set(item.publishedBy, n + 1);
    return { item, score: score - 0.75 * n };
  });
  diversified.sort((a, b) => b.score - a.score || a.item.recipeId.localeCompare(b.item.recipeId));
  return diversified.map((d) => d.item);
}

async function candidates(db: D1Database): Promise<Candidate[]> {
  const rows = await db
    .prepare(
      `SELECT r.id, r.canonical_json, r.parent_id, MIN(p.created_at) AS published_at,
         (SELECT u.handle FROM recipe_publications p2 JOIN users u ON u.id = p2.user_id WHERE p2.recipe_id = r.id ORDER BY p2.created_at, u.handle LIMIT 1) AS publisher,
         (SELECT COUNT(*) FROM recipes c WHERE c.parent_id = r.id AND EXISTS (SELECT 1 FROM recipe_publications pc WHERE pc.recipe_id = c.id)) AS remixes,
         (SELECT COUNT(*) FROM reports rp WHERE rp.recipe_id = r.id AND rp.status = 'open') AS open_reports
       FROM recipes r JOIN recipe_publications p ON p.recipe_id = r.id
       GROUP BY r.id ORDER BY published_at DESC LIMIT ?`,
    )
    .bind(CANDIDATES)
    .all<Candidate>();
  return rows.results;
}

function parsePaging(cursor: string | undefined, limit: string | undefined): { offset: number; limit: number } {
  const offset = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(offset) || offset < 0 || offset > CANDIDATES) throw new ValidationError([{ field: 'feed.cursor', message: 'must be a cursor from a previous page' }]);
  const n = limit === undefined ? FEED_PAGE_DEFAULT : Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > FEED_PAGE_MAX) throw new ValidationError([{ field: 'feed.limit', message: `must be a whole number 1–${FEED_PAGE_MAX}` }]);
  return { offset, limit: n };
}

/** One page of the feed for `userId` at `now`, counting the request as feed time. */
export async function feedPage(db: D1Database, userId: string, now: number, paging: { offset: number; limit: number }): Promise<FeedPage> {
  const settings = await settingsOf(db, userId);
  const { secondsToday, stretchS } = await recordFeedTime(db, userId, now);
  const time: FeedTime = { minutesToday: Math.floor(secondsToday / 60), dailyLimitMinutes: settings.dailyFeedMinutes, stretchMinutes: Math.floor(stretchS / 60) };
  if (settings.dailyFeedMinutes !== null && secondsToday >= settings.dailyFeedMinutes * 60) {
    return { state: 'daily-limit', message: `That's your ${settings.dailyFeedMinutes} minutes of feed for today. Making videos and your drafts are still open.`, resetsAt: nextUtcMidnight(now), time };
  }
  if (stretchS >= CHECK_IN_AFTER_S) {
    return { state: 'check-in', message: `You've been scrolling for ${Math.floor(stretchS / 60)} minutes. How about making something, or a break?`, answers: CHECK_IN_ANSWERS, time };
  }
  const { instruction, steering } = await steeringOf(db, userId);
  const ranked = rankFeed(await candidates(db), steering, settings.contentFilter === 'strict', now);
  const items = ranked.slice(paging.offset, paging.offset + paging.limit);
  const next = paging.offset + items.length;
  return { state: 'ok', items, nextCursor: next < ranked.length ? String(next) : null, steering: instruction ? steering.explanation : NO_STEERING.explanation, time };
}

/** Answers a check-in: either way a new stretch starts now; the answer only changes the message. */
export async function answerCheckIn(db: D1Database, userId: string, answer: CheckInAnswer, now: number): Promise<{ answer: CheckInAnswer; message: string }> {
  await db.prepare('UPDATE feed_time SET stretch_started_at = ?2, last_seen_at = ?2, check_ins_today = check_ins_today + 1 WHERE user_id = ?1').bind(userId, now).run();
  return { answer, message: answer === 'take-a-break' ? 'Enjoy the break. Your feed will be here when you come back.' : 'Carry on — we will check in again in a while.' };
}

const nowS = () => Math.floor(Date.now() / 1000);

export const feed = new Hono<AuthEnv>()
  .get('/', async (c) => {
    const user = requireUser(c);
    const paging = parsePaging(c.req.query('cursor'), c.req.query('limit'));
    c.header('Cache-Control', 'no-store');
    return c.json(await feedPage(c.env.DB, user.id, nowS(), paging));
  })
  .get('/steering', async (c) => {
    const user = requireUser(c);
    const { instruction, steering } = await steeringOf(c.env.DB, user.id);
    return c.json({ instruction, ...steering });
  })
  .put('/steering', async (c) => {
    const user = requireUser(c);
    const { instruction } = await parseJsonBody(c, SteeringSchema, 'steering');
    const steering = parseFeedInstruction(instruction.trim());
    await c.env.DB.prepare(
      'INSERT INTO feed_steering (user_id, instruction, steering_json, updated_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id) DO UPDATE SET instruction = ?2, steering_json = ?3, updated_at = ?4',
    )
      .bind(user.id, instruction.trim(), JSON.stringify(steering), nowS())
      .run();
    return c.json({ instruction: instruction.trim(), ...steering });
  })
  .post('/check-in', async (c) => {
    const user = requireUser(c);
    const { answer } = await parseJsonBody(c, CheckInSchema, 'checkIn');
    return c.json(await answerCheckIn(c.env.DB, user.id, answer, nowS()));
  });
