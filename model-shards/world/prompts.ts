import { ValidationError } from '../../contracts/index.ts';
import { MATERIAL_SPECS } from './materials.ts';
import { SeededRandom } from './rng.ts';
import {
  COLOURS,
  MATERIALS,
  parseScene,
  STAGE_HALF_WIDTH,
  type CAMERA_MOTIONS,
  type Colour,
  type FRAMINGS,
  type Material,
  type Scene,
  type Setting,
  type Shot,
  type TimeOfDay,
  type WorldObject,
} from './scene.ts';

/**
 * Natural-language prompts for world scenes: `describeScene` writes a varied English prompt from a
 * scene, `parsePrompt` reads one back into `PromptFacts`, the part of a scene a prompt states and a
 * judge can check. The parser understands exactly the grammar the generator writes (and modest
 * variations of it); anything else is reported, never guessed.
 */

export type Framing = (typeof FRAMINGS)[number];
export type CameraMotion = (typeof CAMERA_MOTIONS)[number];
export type BallMaterial = Exclude<Material, 'wooden box'>;
export type CharacterAction = 'throw' | 'kick';

/** Free objects of one material and colour. */
export interface ObjectFact {
  material: Material;
  colour: Colour;
  count: number;
}

/** What a prompt says about one shot; a field the prompt leaves out stays undefined. */
export interface ShotFact {
  framing?: Framing;
  motion?: CameraMotion;
}

/** What a prompt states: plain JSON, shared by the generator and the judge. */
export interface PromptFacts {
  setting?: Setting;
  timeOfDay?: TimeOfDay;
  /** Free objects grouped by material and colour, in `MATERIALS` then `COLOURS` order. */
  objects: ObjectFact[];
  hoop: boolean;
  ramp: boolean;
  pendulum?: { material: BallMaterial; colour: Colour };
  boxStack?: { colour: Colour; count: number };
  character?: { action: CharacterAction };
  /** One entry per shot; empty when the prompt says nothing about the camera. */
  shots: ShotFact[];
}

export interface ParsedPrompt {
  facts: PromptFacts;
  /** Words outside the parser's vocabulary, unique, in order of appearance. */
  unknownWords: string[];
  /**
   * Known words that could not be turned into a fact (`"a red ball": material not stated`,
   * two settings named), so a judge can tell a vague prompt from an empty one.
   */
  unresolved: string[];
}

export const MAX_PROMPT_CHARS = 2000;

/** Colours a prompt may leave out: "a basketball" is orange, "a tennis ball" yellow. */
export const DEFAULT_COLOURS: Readonly<Partial<Record<Material, Colour>>> = Object.freeze({ basketball: 'orange', 'tennis ball': 'yellow' });

/** Noise stream of prompt wording, apart from the scene sampler's, so one seed drives both. */
const PROMPT_STREAM = 0x70726f6d;

// ---------------------------------------------------------------------------------------------
// Facts of a scene

function compareObjectFacts(a: ObjectFact, b: ObjectFact): number {
  return MATERIALS.indexOf(a.material) - MATERIALS.indexOf(b.material) || COLOURS.indexOf(a.colour) - COLOURS.indexOf(b.colour);
}

function addObject(list: ObjectFact[], material: Material, colour: Colour, count: number): void {
  const same = list.find((o) => o.material === material && o.colour === colour);
  if (same) same.count += count;
  else list.push({ material, colour, count });
}

export function factsOfScene(scene: Scene): PromptFacts {
  const objects: ObjectFact[] = [];
  for (const o of scene.objects) addObject(objects, o.material, o.colour, 1);
  objects.sort(compareObjectFacts);
  const facts: PromptFacts = {
    setting: scene.setting,
    timeOfDay: scene.lighting.timeOfDay,
    objects,
    hoop: scene.hoop !== undefined,
    ramp: scene.ramp !== undefined,
    shots: scene.shots.map((s) => ({ framing: s.framing, motion: s.motion })),
  };
  if (scene.pendulum) facts.pendulum = { material: scene.pendulum.bob.material, colour: scene.pendulum.bob.colour };
  if (scene.boxStack) facts.boxStack = { colour: scene.boxStack.colour, count: scene.boxStack.count };
  if (scene.character) facts.character = { action: scene.character.action };
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Vocabulary, shared by the generator (what it may write) and the parser (what it understands)

type Noun = 'ball' | 'basketball' | 'box';

type Lex =
  | { kind: 'setting'; setting: Setting }
  /** "court" alone: indoor or street, the parser cannot tell. */
  | { kind: 'court' }
  | { kind: 'time'; time: TimeOfDay }
  | { kind: 'framing'; framing: Framing }
  | { kind: 'motion'; motion: CameraMotion }
  | { kind: 'cut' }
  | { kind: 'shotLabel' }
  | { kind: 'hoop' }
  | { kind: 'ramp' }
  | { kind: 'pendulum' }
  | { kind: 'stackOf' }
  | { kind: 'stacked' }
  | { kind: 'stack' }
  | { kind: 'character' }
  | { kind: 'action'; action: CharacterAction }
  | { kind: 'det'; definite: boolean; count?: number }
  | { kind: 'colour'; colour: Colour }
  | { kind: 'material'; material: Material }
  /** A word allowed inside a noun phrase; "bouncy" makes a plain "ball" a rubber ball. */
  | { kind: 'adjective'; implies?: Material }
  | { kind: 'noun'; noun: Noun; plural: boolean }
  | { kind: 'filler' }
  | { kind: 'punct' }
  | { kind: 'unknown' };

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five'] as const;
const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'next', 'last', 'final'] as const;

/** Multi-word phrases, matched longest first. `#` stands for a number (word or digits). */
const PHRASES: readonly (readonly [string, Lex])[] = [
  ['indoor court', { kind: 'setting', setting: 'gym' }],
  ['indoor basketball court', { kind: 'setting', setting: 'gym' }],
  ['school gym', { kind: 'setting', setting: 'gym' }],
  ['street court', { kind: 'setting', setting: 'street court' }],
  ['outdoor court', { kind: 'setting', setting: 'street court' }],
  ['outdoor basketball court', { kind: 'setting', setting: 'street court' }],
  ['grassy park', { kind: 'setting', setting: 'park' }],
  ['lawn in a park', { kind: 'setting', setting: 'park' }],
  ['lawn in the park', { kind: 'setting', setting: 'park' }],
  ['park lawn', { kind: 'setting', setting: 'park' }],
  ['home garage', { kind: 'setting', setting: 'garage' }],
  ['basketball court', { kind: 'court' }],
  ['early morning', { kind: 'time', time: 'morning' }],
  ['early in the morning', { kind: 'time', time: 'morning' }],
  ['bright midday', { kind: 'time', time: 'noon' }],
  ['golden hour', { kind: 'time', time: 'sunset' }],
  ['evening sun', { kind: 'time', time: 'sunset' }],
  ['evening light', { kind: 'time', time: 'sunset' }],
  ['setting sun', { kind: 'time', time: 'sunset' }],
  ['sun sets', { kind: 'time', time: 'sunset' }],
  ['late at night', { kind: 'time', time: 'night' }],
  ['night time', { kind: 'time', time: 'night' }],
  ['wide shot', { kind: 'framing', framing: 'wide' }],
  ['wide angle', { kind: 'framing', framing: 'wide' }],
  ['wide angle shot', { kind: 'framing', framing: 'wide' }],
  ['wide view', { kind: 'framing', framing: 'wide' }],
  ['close up', { kind: 'framing', framing: 'close' }],
  ['close shot', { kind: 'framing', framing: 'close' }],
  ['static camera', { kind: 'motion', motion: 'static' }],
  ['still camera', { kind: 'motion', motion: 'static' }],
  ['fixed camera', { kind: 'motion', motion: 'static' }],
  ['stationary camera', { kind: 'motion', motion: 'static' }],
  ['locked off', { kind: 'motion', motion: 'static' }],
  ['stays still', { kind: 'motion', motion: 'static' }],
  ['holds still', { kind: 'motion', motion: 'static' }],
  ['does not move', { kind: 'motion', motion: 'static' }],
  ['tracking shot', { kind: 'motion', motion: 'follow' }],
  ['then cut to', { kind: 'cut' }],
  ['cut to', { kind: 'cut' }],
  ['cuts to', { kind: 'cut' }],
  ['cutting to', { kind: 'cut' }],
  ['shot #', { kind: 'shotLabel' }],
  ...ORDINALS.map((o): readonly [string, Lex] => [`${o} shot`, { kind: 'shotLabel' }]),
  ['basketball hoop', { kind: 'hoop' }],
  ['wooden ramp', { kind: 'ramp' }],
  ['stack of', { kind: 'stackOf' }],
  ['tower of', { kind: 'stackOf' }],
  ['pile of', { kind: 'stackOf' }],
  ['stacked up', { kind: 'stacked' }],
  ['in a stack', { kind: 'stacked' }],
  ['in a tower', { kind: 'stacked' }],
  ['basketball player', { kind: 'character' }],
  ['a pair of', { kind: 'det', definite: false, count: 2 }],
  ['pair of', { kind: 'det', definite: false, count: 2 }],
];

const WORDS = new Map<string, Lex>();
function define(lex: Lex, words: string): void {
  for (const w of words.split(' ')) WORDS.set(w, lex);
}
define({ kind: 'setting', setting: 'gym' }, 'gym gymnasium');
define({ kind: 'setting', setting: 'street court' }, 'blacktop');
define({ kind: 'setting', setting: 'park' }, 'park');
define({ kind: 'setting', setting: 'garage' }, 'garage workshop');
define({ kind: 'court' }, 'court');
define({ kind: 'time', time: 'morning' }, 'morning');
define({ kind: 'time', time: 'noon' }, 'noon midday');
define({ kind: 'time', time: 'sunset' }, 'sunset');
define({ kind: 'time', time: 'night' }, 'night nighttime');
define({ kind: 'framing', framing: 'wide' }, 'wide');
define({ kind: 'framing', framing: 'close' }, 'closeup');
define({ kind: 'motion', motion: 'static' }, 'static');
define({ kind: 'motion', motion: 'pan' }, 'pan pans panning panned');
define({ kind: 'motion', motion: 'follow' }, 'follow follows following followed tracking tracks track');
define({ kind: 'hoop' }, 'hoop basket');
define({ kind: 'ramp' }, 'ramp slope incline');
define({ kind: 'pendulum' }, 'pendulum');
define({ kind: 'stacked' }, 'stacked');
define({ kind: 'stack' }, 'stack tower');
define({ kind: 'character' }, 'person kid child player figure someone athlete boy girl man woman');
define({ kind: 'action', action: 'throw' }, 'throw throws threw thrown throwing toss tosses tossed tossing shoot shoots shooting lob lobs lobbed');
define({ kind: 'action', action: 'kick' }, 'kick kicks kicked kicking');
define({ kind: 'det', definite: false, count: 1 }, 'a an another');
define({ kind: 'det', definite: true }, 'the');
NUMBER_WORDS.forEach((w, n) => WORDS.set(w, { kind: 'det', definite: false, count: n }));
for (const c of COLOURS) WORDS.set(c, { kind: 'colour', colour: c });
define({ kind: 'material', material: 'rubber ball' }, 'rubber');
define({ kind: 'material', material: 'bowling ball' }, 'bowling');
define({ kind: 'material', material: 'tennis ball' }, 'tennis');
define({ kind: 'material', material: 'wooden box' }, 'wooden');
define({ kind: 'adjective', implies: 'rubber ball' }, 'bouncy');
define({ kind: 'adjective' }, 'heavy fuzzy bright single');
define({ kind: 'noun', noun: 'ball', plural: false }, 'ball');
define({ kind: 'noun', noun: 'ball', plural: true }, 'balls');
define({ kind: 'noun', noun: 'basketball', plural: false }, 'basketball');
define({ kind: 'noun', noun: 'basketball', plural: true }, 'basketballs');
define({ kind: 'noun', noun: 'box', plural: false }, 'box crate');
define({ kind: 'noun', noun: 'box', plural: true }, 'boxes crates');

/** Verbs that hang a ball on a pendulum ("swings on a pendulum"); they are also plain verbs. */
const HANG_VERBS = new Set('swing swings swinging swung hang hangs hanging hung dangle dangles dangling sway sways swaying'.split(' '));
/** Verbs between a noun phrase and "stacked" ("three crates sit stacked"). */
const STACK_LINKS = new Set('is are sit sits stand stands'.split(' '));

// Words that carry no fact: function words, verbs of motion and sound, places on the stage.
const FILLERS = `
  on in with and of at to its it is are then while as into onto off over down up across toward towards from
  by for near nearby next beside under above below through against around away back forth after before until
  when where which that who there here this these those them they their each other both all also too just again
  together finally meanwhile now slowly gently quickly fast hard high low softly briefly steadily smoothly
  be being been was were has have had does do not so than out about along behind between inside top side end
  middle centre center floor ground wall walls grass asphalt concrete air scene stage action view frame camera
  shot lights light sun sunlight bob string rope place whose watch watches holds hold holding stands stand
  standing stood sits sit sitting sat rests rest resting lies lie lying lay leans lean leaning mounted
  bounce bounces bounced bouncing roll rolls rolled rolling fall falls fell falling drop drops dropped dropping
  ${[...HANG_VERBS].join(' ')} topple topples toppled toppling knock knocks knocked knocking hit hits hitting
  score scores scored scoring land lands landed landing slide slides slid sliding tumble tumbles tumbled tumbling
  fly flies flew flying sail sails sailed sailing spin spins spinning rebound rebounds rebounded crash crashes
  crashed collide collides collided wobble wobbles wobbling move moves moving moved stay stays go goes going
  went come comes rise rises rising settle settles stop stops hop hops thud thuds clatter clatters bang bangs
  swish filmed seen shown framed happens happen first next last later
`;
for (const w of FILLERS.split(/\s+/)) if (w && !WORDS.has(w)) WORDS.set(w, { kind: 'filler' });

interface PhraseEntry {
  readonly words: readonly string[];
  readonly lex: Lex;
}
const PHRASES_BY_FIRST = new Map<string, PhraseEntry[]>();
for (const [text, lex] of PHRASES) {
  const words = text.split(' ');
  const first = words[0] ?? '';
  const list = PHRASES_BY_FIRST.get(first) ?? [];
  list.push({ words, lex });
  list.sort((a, b) => b.words.length - a.words.length);
  PHRASES_BY_FIRST.set(first, list);
}

// ---------------------------------------------------------------------------------------------
// Parser

interface Token {
  readonly text: string;
  readonly kind: 'word' | 'number' | 'punct';
}

interface Item {
  readonly lex: Lex;
  readonly text: string;
}

function tokenize(text: string): Token[] {
  const normal = text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u2013\u2014]/g, ',')
    .replace(/\bcan't\b/g, 'can not')
    .replace(/\bwon't\b/g, 'will not')
    .replace(/n't\b/g, ' not')
    // Possessive or "is": neither carries a fact here.
    .replace(/'s\b/g, '')
    .replace(/'re\b/g, ' are');
  const tokens: Token[] = [];
  for (const m of normal.matchAll(/\p{L}+|\p{Nd}+|[.,;:!?()]/gu)) {
    const t = m[0];
    tokens.push({ text: t, kind: /^\p{L}/u.test(t) ? 'word' : /^\p{Nd}/u.test(t) ? 'number' : 'punct' });
  }
  return tokens;
}

function numberValue(token: Token | undefined): number | undefined {
  if (!token) return undefined;
  if (token.kind === 'number') return Number(token.text);
  const n = (NUMBER_WORDS as readonly string[]).indexOf(token.text);
  return n >= 0 ? n : undefined;
}

function lexItems(tokens: readonly Token[]): Item[] {
  const items: Item[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as Token;
    if (token.kind === 'punct') {
      items.push({ lex: { kind: 'punct' }, text: token.text });
      i++;
      continue;
    }
    if (token.kind === 'number') {
      items.push({ lex: { kind: 'det', definite: false, count: Number(token.text) }, text: token.text });
      i++;
      continue;
    }
    const phrase = PHRASES_BY_FIRST.get(token.text)?.find((p) =>
      p.words.every((w, k) => {
        const t = tokens[i + k];
        return w === '#' ? numberValue(t) !== undefined : t?.kind === 'word' && t.text === w;
      }),
    );
    if (phrase) {
      items.push({ lex: phrase.lex, text: tokens.slice(i, i + phrase.words.length).map((t) => t.text).join(' ') });
      i += phrase.words.length;
      continue;
    }
    items.push({ lex: WORDS.get(token.text) ?? { kind: 'unknown' }, text: token.text });
    i++;
  }
  return items;
}

interface NounPhrase {
  readonly start: number;
  /** Index after the last item. */
  readonly end: number;
  readonly text: string;
  readonly definite: boolean;
  readonly count?: number;
  readonly plural: boolean;
  readonly noun: Noun;
  readonly colour?: Colour;
  readonly material?: Material;
  /** Why its facts cannot be trusted, if they cannot. */
  readonly problem?: string;
}

type Role = 'free' | 'bob' | 'stack';

function materialOf(noun: Noun, mods: readonly Material[], implied: Material | undefined): Material | undefined | 'conflict' {
  const stated = [...new Set(mods)];
  if (stated.length > 1) return 'conflict';
  const mod = stated[0];
  if (noun === 'basketball') return mod === undefined ? 'basketball' : 'conflict';
  if (noun === 'box') return mod === undefined || mod === 'wooden box' ? 'wooden box' : 'conflict';
  if (mod === 'wooden box') return 'conflict';
  return mod ?? implied;
}

/**
 * Noun phrases: determiners, then colours, materials and adjectives, then a ball/box noun. Unknown
 * words inside a phrase ("a black basketball") make its facts untrusted rather than guessed.
 */
function nounPhrases(items: readonly Item[], unresolved: string[]): NounPhrase[] {
  const out: NounPhrase[] = [];
  let i = 0;
  while (i < items.length) {
    const start = i;
    let definite = false;
    let count: number | undefined;
    while (items[i]?.lex.kind === 'det') {
      const lex = items[i]?.lex;
      if (lex?.kind === 'det') {
        definite ||= lex.definite;
        if (lex.count !== undefined) count = lex.count;
      }
      i++;
    }
    // "one of the red balls" refers to balls named elsewhere.
    if (i > start && items[i]?.text === 'of') {
      i++;
      continue;
    }
    const colours: Colour[] = [];
    const mods: Material[] = [];
    const unknown: string[] = [];
    let implied: Material | undefined;
    for (;;) {
      const item = items[i];
      if (!item) break;
      const lex = item.lex;
      if (lex.kind === 'colour') colours.push(lex.colour);
      else if (lex.kind === 'material') mods.push(lex.material);
      else if (lex.kind === 'adjective') implied = lex.implies ?? implied;
      else if (lex.kind === 'unknown') unknown.push(item.text);
      else break;
      i++;
    }
    const head = items[i];
    const words = (end: number) =>
      items
        .slice(start, end)
        .map((t) => t.text)
        .join(' ');
    if (head?.lex.kind !== 'noun') {
      if (colours.length > 0 || mods.length > 0) unresolved.push(`"${words(i)}": names no ball or box`);
      // Nothing consumed: step over this word; otherwise resume at the word that ended the phrase.
      if (i === start) i++;
      continue;
    }
    i++;
    const distinctColours = [...new Set(colours)];
    const material = materialOf(head.lex.noun, mods, implied);
    const problem =
      unknown.length > 0
        ? `has words the parser does not know (${unknown.join(', ')})`
        : distinctColours.length > 1
          ? 'names two colours'
          : material === 'conflict'
            ? 'names two materials'
            : undefined;
    out.push({
      start,
      end: i,
      text: words(i),
      definite,
      ...(count !== undefined ? { count } : {}),
      plural: head.lex.plural,
      noun: head.lex.noun,
      ...(distinctColours.length === 1 && distinctColours[0] ? { colour: distinctColours[0] } : {}),
      ...(material !== undefined && material !== 'conflict' ? { material } : {}),
      ...(problem ? { problem } : {}),
    });
  }
  return out;
}

function roleOf(np: NounPhrase, items: readonly Item[]): Role {
  const before = (k: number) => items[np.start - k];
  const after = (k: number) => items[np.end + k];
  if (before(1)?.lex.kind === 'stackOf') return 'stack';
  let k = 0;
  while (k < 2 && STACK_LINKS.has(after(k)?.text ?? '')) k++;
  if (after(k)?.lex.kind === 'stacked') return 'stack';
  // "<ball> (is) (swings|hangs) on/from (a|the) pendulum" or "a pendulum with <ball>".
  if (before(1)?.text === 'with' && before(2)?.lex.kind === 'pendulum') return 'bob';
  k = 0;
  if (after(k)?.text === 'is' || after(k)?.text === 'are') k++;
  if (HANG_VERBS.has(after(k)?.text ?? '')) k++;
  if (after(k)?.text === 'on' || after(k)?.text === 'from') {
    k++;
    if (after(k)?.lex.kind === 'det' && (after(k)?.text === 'a' || after(k)?.text === 'the')) k++;
    if (after(k)?.lex.kind === 'pendulum') return 'bob';
  }
  return 'free';
}

interface Entity {
  readonly role: Role;
  readonly material: Material;
  readonly colour: Colour;
}

function nounFits(noun: Noun, material: Material): boolean {
  return noun === 'box' ? material === 'wooden box' : noun === 'basketball' ? material === 'basketball' : material !== 'wooden box';
}

function refersTo(np: { noun: Noun; material?: Material; colour?: Colour }, e: { material: Material; colour: Colour }): boolean {
  return nounFits(np.noun, e.material) && (np.material === undefined || np.material === e.material) && (np.colour === undefined || np.colour === e.colour);
}

/** The one value a list agrees on, or a note for `unresolved` when it names two. */
function single<T>(values: readonly T[], what: string, unresolved: string[]): T | undefined {
  const distinct = [...new Set(values)];
  if (distinct.length > 1) unresolved.push(`${what}: names ${distinct.join(' and ')}`);
  return distinct.length === 1 ? distinct[0] : undefined;
}

function shotFacts(items: readonly Item[], index: number, unresolved: string[]): ShotFact {
  const framings: Framing[] = [];
  const motions: CameraMotion[] = [];
  for (const { lex } of items) {
    if (lex.kind === 'framing') framings.push(lex.framing);
    if (lex.kind === 'motion') motions.push(lex.motion);
  }
  const shot: ShotFact = {};
  const framing = single(framings, `shot ${index + 1} framing`, unresolved);
  const motion = single(motions, `shot ${index + 1} camera motion`, unresolved);
  if (framing) shot.framing = framing;
  if (motion) shot.motion = motion;
  return shot;
}

function isCameraItem(item: Item): boolean {
  return item.lex.kind === 'framing' || item.lex.kind === 'motion';
}

/**
 * Shots: "then cut to" and "shot 2:" start a new shot. Text before a first "Shot 1:" label is a
 * preamble, not a shot; text before a first "cut to" is the first shot.
 */
function parseShots(items: readonly Item[], unresolved: string[]): ShotFact[] {
  const marks = items.flatMap((item, i) => (item.lex.kind === 'cut' || item.lex.kind === 'shotLabel' ? [i] : []));
  if (marks.length === 0) return items.some(isCameraItem) ? [shotFacts(items, 0, unresolved)] : [];
  const segments: Item[][] = [];
  const first = items.slice(0, marks[0]);
  const firstIsLabel = items[marks[0] ?? 0]?.lex.kind === 'shotLabel';
  const hasWords = first.some((t) => t.lex.kind !== 'punct');
  if (!firstIsLabel && hasWords) segments.push(first);
  else if (first.some(isCameraItem)) unresolved.push('camera words before the first shot label');
  marks.forEach((m, k) => segments.push(items.slice(m + 1, marks[k + 1] ?? items.length)));
  return segments.map((s, i) => shotFacts(s, i, unresolved));
}

/**
 * Reads the facts a prompt states. Throws a ValidationError naming `prompt` when the text is empty
 * or longer than MAX_PROMPT_CHARS.
 */
export function parsePrompt(text: string): ParsedPrompt {
  if (typeof text !== 'string') throw new ValidationError([{ field: 'prompt', message: 'must be a string' }]);
  if (text.trim() === '') throw new ValidationError([{ field: 'prompt', message: 'must not be empty' }]);
  if (text.length > MAX_PROMPT_CHARS) throw new ValidationError([{ field: 'prompt', message: `must be at most ${MAX_PROMPT_CHARS} characters (got ${text.length})` }]);

  const items = lexItems(tokenize(text));
  const unresolved: string[] = [];
  const unknownWords = [...new Set(items.filter((t) => t.lex.kind === 'unknown').map((t) => t.text))];

  const facts: PromptFacts = { objects: [], hoop: false, ramp: false, shots: [] };
  const settings: Setting[] = [];
  const times: TimeOfDay[] = [];
  const actions: CharacterAction[] = [];
  for (const { lex } of items) {
    if (lex.kind === 'setting') settings.push(lex.setting);
    if (lex.kind === 'time') times.push(lex.time);
    if (lex.kind === 'action') actions.push(lex.action);
    if (lex.kind === 'hoop') facts.hoop = true;
    if (lex.kind === 'ramp') facts.ramp = true;
  }
  const setting = single(settings, 'setting', unresolved);
  if (setting) facts.setting = setting;
  else if (settings.length === 0 && items.some((t) => t.lex.kind === 'court')) unresolved.push('"court": indoor or street court not stated');
  const time = single(times, 'time of day', unresolved);
  if (time) facts.timeOfDay = time;
  const action = single(actions, 'character action', unresolved);
  if (action) facts.character = { action };
  else if (actions.length === 0 && items.some((t) => t.lex.kind === 'character')) unresolved.push('character: neither throws nor kicks');

  // Objects: indefinite phrases ("a", "two") introduce things; definite or bare ones ("the red
  // ball") refer to them, and introduce one only when nothing named earlier or later fits.
  const entities: Entity[] = [];
  const bobs: Entity[] = [];
  const stacks: { colour: Colour; count: number }[] = [];
  const phrases = nounPhrases(items, unresolved).map((np) => ({ np, role: roleOf(np, items) }));
  const introduce = (np: NounPhrase, role: Role): void => {
    if (np.problem) {
      unresolved.push(`"${np.text}": ${np.problem}`);
      return;
    }
    const material = np.material;
    if (material === undefined) {
      unresolved.push(`"${np.text}": material not stated`);
      return;
    }
    const colour = np.colour ?? DEFAULT_COLOURS[material];
    if (colour === undefined) {
      unresolved.push(`"${np.text}": colour not stated`);
      return;
    }
    const count = np.count ?? (np.plural ? undefined : 1);
    if (count === undefined || count < 1) {
      unresolved.push(`"${np.text}": count not stated`);
      return;
    }
    if (role === 'bob') {
      if (material === 'wooden box' || count !== 1) unresolved.push(`"${np.text}": a pendulum holds one ball`);
      else bobs.push({ role, material, colour });
    } else if (role === 'stack') {
      if (material !== 'wooden box') unresolved.push(`"${np.text}": only boxes stack`);
      else stacks.push({ colour, count });
    } else {
      addObject(facts.objects, material, colour, count);
    }
    entities.push({ role, material, colour });
  };
  for (const { np, role } of phrases) if (!np.definite && np.count !== undefined) introduce(np, role);
  for (const { np, role } of phrases) {
    if (!np.definite && np.count !== undefined) continue;
    if (entities.some((e) => refersTo(np, e))) continue;
    if (np.plural && np.count === undefined) unresolved.push(`"${np.text}": refers to nothing named and gives no count`);
    else introduce(np, role);
  }
  facts.objects.sort(compareObjectFacts);

  const bob = single(bobs.map((b) => `${b.colour} ${b.material}`), 'pendulum', unresolved);
  const bobEntity = bobs.find((b) => `${b.colour} ${b.material}` === bob);
  if (bobEntity && bobEntity.material !== 'wooden box') facts.pendulum = { material: bobEntity.material, colour: bobEntity.colour };
  else if (bobs.length === 0 && items.some((t) => t.lex.kind === 'pendulum')) unresolved.push('pendulum: its ball is not described');
  const stack = single(stacks.map((s) => `${s.count} ${s.colour}`), 'box stack', unresolved);
  const stackEntity = stacks.find((s) => `${s.count} ${s.colour}` === stack);
  if (stackEntity) facts.boxStack = stackEntity;
  else if (stacks.length === 0 && items.some((t) => t.lex.kind === 'stack' || t.lex.kind === 'stackOf' || t.lex.kind === 'stacked')) {
    unresolved.push('stack: its boxes are not described');
  }

  facts.shots = parseShots(items, unresolved);
  return { facts, unknownWords, unresolved };
}

// ---------------------------------------------------------------------------------------------
// Generator

interface MaterialWording {
  /** Adjective before the colour ("a heavy blue bowling ball"). */
  readonly adjective?: string;
  readonly singular: string;
  readonly plural: string;
}

const MATERIAL_WORDS: Readonly<Record<Material, readonly MaterialWording[]>> = {
  'rubber ball': [
    { singular: 'rubber ball', plural: 'rubber balls' },
    { adjective: 'bouncy', singular: 'rubber ball', plural: 'rubber balls' },
    { singular: 'bouncy ball', plural: 'bouncy balls' },
  ],
  basketball: [{ singular: 'basketball', plural: 'basketballs' }],
  'bowling ball': [
    { singular: 'bowling ball', plural: 'bowling balls' },
    { adjective: 'heavy', singular: 'bowling ball', plural: 'bowling balls' },
  ],
  'tennis ball': [
    { singular: 'tennis ball', plural: 'tennis balls' },
    { adjective: 'fuzzy', singular: 'tennis ball', plural: 'tennis balls' },
  ],
  'wooden box': [
    { singular: 'wooden box', plural: 'wooden boxes' },
    { singular: 'wooden crate', plural: 'wooden crates' },
    { singular: 'crate', plural: 'crates' },
  ],
};

/** A place: its noun phrase and the preposition that puts something there. */
interface Place {
  readonly noun: string;
  readonly prep: 'in' | 'on';
}

const SETTING_WORDS: Readonly<Record<Setting, readonly Place[]>> = {
  gym: [
    { noun: 'a gym', prep: 'in' },
    { noun: 'the gym', prep: 'in' },
    { noun: 'a gymnasium', prep: 'in' },
    { noun: 'an indoor court', prep: 'on' },
  ],
  'street court': [
    { noun: 'a street court', prep: 'on' },
    { noun: 'an outdoor court', prep: 'on' },
    { noun: 'the blacktop', prep: 'on' },
  ],
  park: [
    { noun: 'a park', prep: 'in' },
    { noun: 'a grassy park', prep: 'in' },
    { noun: 'a lawn in a park', prep: 'on' },
  ],
  garage: [
    { noun: 'a garage', prep: 'in' },
    { noun: 'a home garage', prep: 'in' },
    { noun: 'a workshop', prep: 'in' },
  ],
};

/** What a thing rests on, per setting: carries no fact, only reads right. */
const SURFACE_WORDS: Readonly<Record<Setting, readonly string[]>> = {
  gym: ['floor'],
  'street court': ['ground', 'asphalt'],
  park: ['grass', 'ground'],
  garage: ['floor', 'concrete floor'],
};

/** Times of day as an adverbial ("at golden hour") and as a noun ("Golden hour on …"). */
const TIME_WORDS: Readonly<Record<TimeOfDay, { readonly adverbial: readonly string[]; readonly noun: readonly string[] }>> = {
  morning: { adverbial: ['in the morning', 'early in the morning', 'in the early morning', 'in morning light'], noun: ['morning', 'early morning'] },
  noon: { adverbial: ['at noon', 'at midday', 'in bright midday light', 'under the noon sun'], noun: ['noon', 'midday', 'bright midday'] },
  sunset: { adverbial: ['at sunset', 'at golden hour', 'in the evening sun', 'as the sun sets'], noun: ['sunset', 'golden hour'] },
  night: { adverbial: ['at night', 'late at night', 'at nighttime'], noun: ['night', 'late at night'] },
};

const CHARACTER_WORDS = ['person', 'kid', 'child', 'player', 'figure', 'someone'] as const;

const FRAMING_WORDS: Readonly<Record<Framing, readonly string[]>> = {
  wide: ['wide shot', 'wide-angle shot', 'wide view'],
  close: ['close-up', 'close shot', 'closeup'],
};

type ObjectMotion = 'fall' | 'roll' | 'rampRoll' | 'rest';

function article(next: string): string {
  return /^[aeiou]/.test(next) ? 'an' : 'a';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function listPhrase(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
}

/** A rough reading of an object's start, to pick a verb that will be true of the clip. */
function motionOf(o: WorldObject, scene: Scene): ObjectMotion {
  const size = MATERIAL_SPECS[o.material].size;
  const still = Math.abs(o.vx) < 0.3 && Math.abs(o.vy) < 0.3;
  if (o.y > size + 0.05 && still && scene.ramp) {
    // Mirrors simulate.ts rampVertices: the ramp runs from its wall inwards by length·cos(angle).
    const base = scene.ramp.length * Math.cos((scene.ramp.angleDeg * Math.PI) / 180);
    const fromWall = STAGE_HALF_WIDTH - (scene.ramp.side === 'right' ? o.x : -o.x);
    if (fromWall >= 0 && fromWall <= base) return 'rampRoll';
  }
  if (o.y > size + 0.05 || o.vy > 0.5) return 'fall';
  if (!still || Math.abs(o.spin) > 2) return 'roll';
  return 'rest';
}

/** Verb phrases [singular, plural] for a motion; they name no fact the parser reads. */
function verbPhrases(material: Material, motion: ObjectMotion, surface: string): readonly (readonly [string, string])[] {
  const box = material === 'wooden box';
  switch (motion) {
    case 'fall':
      if (box) return [['falls', 'fall'], [`drops onto the ${surface}`, `drop onto the ${surface}`], ['tumbles down', 'tumble down'], ['lands with a thud', 'land with a thud']];
      if (material === 'bowling ball') return [['drops with a heavy thud', 'drop with a heavy thud'], ['falls', 'fall'], [`drops onto the ${surface}`, `drop onto the ${surface}`], ['lands with a thud', 'land with a thud']];
      return [['bounces', 'bounce'], ['drops and bounces', 'drop and bounce'], [`bounces on the ${surface}`, `bounce on the ${surface}`], ['falls and bounces', 'fall and bounce']];
    case 'rampRoll':
      return box ? [['slides down the ramp', 'slide down the ramp']] : [['rolls down the ramp', 'roll down the ramp'], ['rolls down the slope', 'roll down the slope']];
    case 'roll':
      return box ? [['slides', 'slide'], [`slides across the ${surface}`, `slide across the ${surface}`]] : [['rolls', 'roll'], [`rolls across the ${surface}`, `roll across the ${surface}`]];
    case 'rest':
      return [[`sits on the ${surface}`, `sit on the ${surface}`], [`rests on the ${surface}`, `rest on the ${surface}`]];
  }
}

interface Group {
  readonly fact: ObjectFact;
  readonly members: readonly WorldObject[];
}

/** How the prompt can name an existing thing; `spec` is what the parser would read from it. */
interface Reference {
  readonly text: string;
  readonly spec: { noun: Noun; material?: Material; colour?: Colour };
}

class PromptWriter {
  private readonly rng: SeededRandom;
  private readonly surface: string;
  private readonly characterNoun: string;
  private readonly groups: Group[];
  /** Everything a reference could point at, to keep references unambiguous. */
  private readonly things: { material: Material; colour: Colour }[];

  constructor(
    private readonly scene: Scene,
    seed: number,
  ) {
    this.rng = new SeededRandom(seed, PROMPT_STREAM);
    this.surface = this.rng.pick(SURFACE_WORDS[scene.setting]);
    this.characterNoun = this.rng.pick(CHARACTER_WORDS);
    this.groups = factsOfScene(scene).objects.map((fact) => ({
      fact,
      members: scene.objects.filter((o) => o.material === fact.material && o.colour === fact.colour),
    }));
    this.things = [
      ...this.groups.map((g) => g.fact),
      ...(scene.pendulum ? [scene.pendulum.bob] : []),
      ...(scene.boxStack ? [{ material: 'wooden box' as const, colour: scene.boxStack.colour }] : []),
    ];
  }

  /** "a bouncy red rubber ball", "two tennis balls", "a pair of heavy blue bowling balls". */
  private introduce(material: Material, colour: Colour, count: number): string {
    const wording = this.rng.pick(MATERIAL_WORDS[material]);
    const showColour = colour !== DEFAULT_COLOURS[material] || this.rng.chance(0.5);
    const words = [wording.adjective, showColour ? colour : undefined, count === 1 ? wording.singular : wording.plural].filter((w) => w !== undefined).join(' ');
    const det = count === 1 ? this.rng.pick([article(words), article(words), article(words), article(words), 'one']) : count === 2 ? this.rng.pick(['two', 'a pair of']) : (NUMBER_WORDS[count] ?? String(count));
    return `${det} ${words}`;
  }

  /** "the red ball", "the basketball", "the blue bowling ball": the shortest that names one thing. */
  private refer(material: Material, colour: Colour, plural = false): string {
    const noun: Noun = material === 'wooden box' ? 'box' : material === 'basketball' ? 'basketball' : 'ball';
    const short = noun === 'box' ? this.rng.pick(['box', 'crate']) : noun;
    const full = this.rng.pick(MATERIAL_WORDS[material]);
    const options: Reference[] = this.rng.shuffle([
      { text: `${colour} ${short}`, spec: { noun, colour } },
      { text: `${colour} ${material === 'wooden box' ? full.singular : material}`, spec: { noun, material, colour } },
      ...(DEFAULT_COLOURS[material] === colour || noun === 'basketball' ? [{ text: material, spec: { noun, material } }] : []),
    ]);
    const unique = options.find((r) => this.things.filter((t) => refersTo(r.spec, t)).length === 1);
    const text = (unique ?? options[0] ?? { text: `${colour} ${material}` }).text;
    return `the ${plural ? pluralise(text) : text}`;
  }

  private referTo(target: Shot['target']): string | undefined {
    const scene = this.scene;
    switch (target) {
      case undefined:
        return undefined;
      case 'hoop':
        return this.rng.pick(['the hoop', 'the basket']);
      case 'stack':
        return this.rng.pick(['the stack', 'the tower of boxes', 'the stack of crates']);
      case 'pendulum':
        return 'the pendulum';
      case 'ramp':
        return 'the ramp';
      case 'character':
        return `the ${this.characterNoun === 'someone' ? 'person' : this.characterNoun}`;
      default: {
        if (scene.pendulum?.bob.id === target) return this.rng.chance(0.5) ? 'the pendulum' : this.refer(scene.pendulum.bob.material, scene.pendulum.bob.colour);
        const o = scene.objects.find((x) => x.id === target);
        if (!o) return undefined;
        const group = this.groups.find((g) => g.members.includes(o));
        return group && group.fact.count > 1 ? `one of ${this.refer(o.material, o.colour, true)}` : this.refer(o.material, o.colour);
      }
    }
  }

  /** Camera wording of one shot: a short label ("Panning close-up") and a noun phrase. */
  private shotPhrase(shot: Shot): { label: string; phrase: string } {
    const f = this.rng.pick(FRAMING_WORDS[shot.framing]);
    const target = this.referTo(shot.target);
    const of = target ? ` ${this.rng.pick(['of', 'on'])} ${target}` : '';
    switch (shot.motion) {
      case 'static':
        return {
          label: this.rng.pick([`static ${f}`, `locked-off ${f}`, `${f}, static camera`]),
          phrase: this.rng.pick([`a static ${f}${of}`, `a ${f}${of} from a fixed camera`, `a locked-off ${f}${of}`]),
        };
      case 'pan':
        return {
          label: this.rng.pick([`panning ${f}`, `${f}, the camera panning`]),
          phrase: this.rng.pick([`a ${f} that pans across the scene`, `a panning ${f}${of}`, `a ${f} as the camera pans across the scene`]),
        };
      case 'follow': {
        const followed = target ?? 'the action';
        const tracking = shot.framing === 'wide' ? 'a wide tracking shot' : this.rng.pick(['a close-up tracking shot', 'a tracking close-up']);
        return {
          label: this.rng.pick([`tracking ${f}`, `${f} following ${followed}`]),
          phrase: this.rng.pick([`a ${f} that follows ${followed}`, `a ${f} following ${followed}`, `${tracking} of ${followed}`, `a ${f}, the camera tracking ${followed}`]),
        };
      }
    }
  }

  /** Clauses about what is in the scene, each a full clause in lower case, in a natural order. */
  private thingClauses(fixturesSaid: boolean): string[] {
    const scene = this.scene;
    const rng = this.rng;
    const fixtures: string[] = [];
    const clauses: string[] = [];

    if (!fixturesSaid) {
      if (scene.hoop) {
        const hoop = rng.pick(['a hoop', 'a basketball hoop', 'a basket']);
        fixtures.push(rng.pick([`${hoop} hangs on the wall`, `${hoop} is mounted on the wall`, `there is ${hoop}`]));
      }
      if (scene.ramp) {
        const ramp = rng.pick(['a ramp', 'a wooden ramp', 'an incline', 'a slope']);
        fixtures.push(rng.pick([`${ramp} leans against the wall`, `there is ${ramp}`, `${ramp} rises toward the wall`]));
      }
    }
    if (scene.boxStack) {
      const { count, colour } = scene.boxStack;
      const n = NUMBER_WORDS[count] ?? String(count);
      const boxes = rng.pick(MATERIAL_WORDS['wooden box']).plural;
      const stand = rng.pick([' stands nearby', ` stands on the ${this.surface}`, ' stands in the middle']);
      clauses.push(
        rng.pick([
          `a stack of ${n} ${colour} ${boxes}${stand}`,
          `a tower of ${n} ${colour} ${boxes}${stand}`,
          `${n} ${colour} ${boxes} are stacked on top of each other`,
          `${n} ${colour} ${boxes} sit stacked up`,
        ]),
      );
    }
    if (scene.pendulum) {
      const bob = this.introduce(scene.pendulum.bob.material, scene.pendulum.bob.colour, 1);
      const swinging = Math.abs(scene.pendulum.startAngleDeg) >= 2;
      clauses.push(
        rng.pick(
          swinging
            ? [`${bob} swings on a pendulum`, `${bob} swings from a pendulum`, `a pendulum with ${bob} swings back and forth`, `${bob} on a pendulum swings back and forth`]
            : [`${bob} hangs from a pendulum`, `a pendulum with ${bob} hangs in place`, `${bob} hangs on a pendulum`],
        ),
      );
    }

    const character = scene.character;
    const thrown = character ? scene.objects.find((o) => o.id === character.objectId) : undefined;
    const thrownGroup = thrown ? this.groups.find((g) => g.members.includes(thrown)) : undefined;
    // A lone thrown object is introduced by the throw itself ("a kid throws a red ball"): on its
    // own it would only be "there is a red ball", since it starts in the hand.
    const introducedByThrow = thrownGroup !== undefined && thrownGroup.fact.count === 1;
    for (const group of this.groups) {
      if (group === thrownGroup && introducedByThrow) continue;
      const { material, colour, count } = group.fact;
      const np = this.introduce(material, colour, count);
      const moving = group.members.filter((o) => o !== thrown);
      const motions = [...new Set(moving.map((o) => motionOf(o, scene)))];
      const motion = motions.length === 1 ? motions[0] : undefined;
      if (motion === undefined) {
        clauses.push(`there ${count === 1 ? 'is' : 'are'} ${np}`);
      } else {
        const [singular, plural] = rng.pick(verbPhrases(material, motion, this.surface));
        clauses.push(`${np} ${count === 1 ? singular : plural}`);
      }
    }
    if (character && thrown && thrownGroup) {
      clauses.push(this.characterClause(character, thrown, thrownGroup, introducedByThrow));
    }
    // Fixtures come first ("rolls down the ramp" may follow) and the character last, since it acts
    // on what was named before it; the rest may come in any order.
    const last = character ? clauses.pop() : undefined;
    return [...rng.shuffle(fixtures), ...rng.shuffle(clauses), ...(last === undefined ? [] : [last])];
  }

  private characterClause(character: NonNullable<Scene['character']>, thrown: WorldObject, group: Group, introduce: boolean): string {
    const scene = this.scene;
    const rng = this.rng;
    const someone = this.characterNoun === 'someone';
    const subject = someone ? 'someone' : `${article(this.characterNoun)} ${this.characterNoun}`;
    const object = introduce
      ? this.introduce(thrown.material, thrown.colour, 1)
      : group.fact.count > 1
        ? `one of ${this.refer(thrown.material, thrown.colour, true)}`
        : this.refer(thrown.material, thrown.colour);
    const facesHoop = scene.hoop !== undefined && scene.hoop.side === character.facing;
    const facesStack = scene.boxStack !== undefined && (scene.boxStack.x > character.x) === (character.facing === 'right');
    let direction = '';
    if (character.action === 'throw' && facesHoop) direction = rng.pick([' toward the hoop', ' at the basket', ' toward the basket', ' at the hoop']);
    else if (facesStack) direction = rng.pick([' toward the stack', ' at the stack']);
    else if (rng.chance(0.4)) direction = character.action === 'throw' ? ' into the air' : ` across the ${this.surface}`;
    if (character.action === 'throw') {
      const verb = rng.pick(facesHoop ? ['throws', 'tosses', 'shoots'] : ['throws', 'tosses']);
      const forms = [`${subject} ${verb} ${object}${direction}`, `${object} is ${rng.pick(['thrown', 'tossed'])} by ${subject}${direction}`];
      if (introduce) forms.push(`${subject} holds ${object} and ${verb} it${direction}`);
      return rng.pick(forms);
    }
    const forms = [`${subject} kicks ${object}${direction}`, `${object} is kicked by ${subject}${direction}`];
    if (introduce) forms.push(`${subject} stands next to ${object} and kicks it${direction}`);
    return rng.pick(forms);
  }

  /** Clauses joined into sentences of one or two clauses. */
  private sentences(clauses: readonly string[]): string[] {
    const out: string[] = [];
    let i = 0;
    while (i < clauses.length) {
      const a = clauses[i] ?? '';
      const b = clauses[i + 1];
      if (b !== undefined && this.rng.chance(0.5)) {
        out.push(`${a}${this.rng.pick([' and ', ', and ', ', while ', '; ', ' as '])}${b}`);
        i += 2;
      } else {
        out.push(a);
        i++;
      }
    }
    return out;
  }

  write(): string {
    const scene = this.scene;
    const rng = this.rng;
    const place = rng.pick(SETTING_WORDS[scene.setting]);
    const times = TIME_WORDS[scene.lighting.timeOfDay];
    const when = rng.pick(times.adverbial);
    const where = `${place.prep} ${place.noun}`;
    const fixtures = [...(scene.hoop ? [rng.pick(['a hoop', 'a basketball hoop', 'a basket'])] : []), ...(scene.ramp ? [rng.pick(['a ramp', 'a wooden ramp', 'an incline'])] : [])];
    // Where the place and time go: before the first clause, as their own opening or closing
    // sentence, or after the first clause.
    const placement = rng.pick(['prefix', 'opener', 'closer', 'suffix'] as const);
    const withFixtures = fixtures.length > 0 && placement !== 'suffix' && placement !== 'closer' && rng.chance(0.6);
    const withPhrase = withFixtures ? ` with ${listPhrase(fixtures)}` : '';
    const sentences = this.sentences(this.thingClauses(withFixtures));
    const whereWhen = rng.chance(0.5) ? `${where} ${when}` : `${when} ${where}`;

    switch (placement) {
      case 'prefix':
        sentences[0] = `${whereWhen}${withPhrase}, ${sentences[0] ?? ''}`;
        break;
      case 'opener':
        sentences.unshift(rng.chance(0.5) ? `${rng.pick(times.noun)} ${where}${withPhrase}` : `${place.noun} ${when}${withPhrase ? `,${withPhrase}` : ''}`);
        break;
      case 'closer':
        sentences.push(rng.pick([`all of this happens ${whereWhen}`, `the scene is ${place.noun} ${when}`]));
        break;
      case 'suffix':
        sentences[0] = `${sentences[0] ?? ''} ${whereWhen}`;
        break;
    }

    const [first, ...rest] = scene.shots;
    if (!first) return finish(sentences);
    const numbered = rest.length > 0 && rng.chance(0.35);
    const firstCamera = this.shotPhrase(first);
    if (numbered) {
      const ordinal = rng.chance(0.3);
      const label = (i: number) => (ordinal ? `${capitalise(ORDINALS[i] ?? 'next')} shot` : `Shot ${i + 1}`);
      const out = [`${label(0)}: ${firstCamera.phrase}`, ...sentences];
      rest.forEach((shot, i) => out.push(`${label(i + 1)}: ${this.shotPhrase(shot).phrase}`));
      return finish(out);
    }
    switch (rng.pick(['label', 'opener', 'closer'] as const)) {
      case 'label':
        sentences[0] = `${capitalise(firstCamera.label)}: ${sentences[0] ?? ''}`;
        break;
      case 'opener':
        sentences.unshift(firstCamera.phrase);
        break;
      case 'closer':
        sentences.push(rng.pick([firstCamera.phrase, `filmed as ${firstCamera.phrase}`, `seen in ${firstCamera.phrase}`]));
        break;
    }
    for (const shot of rest) sentences.push(`${rng.pick(['then cut to', 'cut to', 'the camera then cuts to'])} ${this.shotPhrase(shot).phrase}`);
    return finish(sentences);
  }
}

function pluralise(noun: string): string {
  return noun.endsWith('box') ? `${noun}es` : `${noun}s`;
}

function finish(sentences: readonly string[]): string {
  return sentences.map((s) => `${capitalise(s.trim())}.`).join(' ');
}

/**
 * A natural English prompt for a scene, deterministic from (scene, seed): different seeds vary
 * the wording, order and synonyms, never the facts (`parsePrompt` reads back `factsOfScene`).
 */
export function describeScene(scene: Scene, seed: number): string {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new ValidationError([{ field: 'seed', message: `must be an integer 0–4294967295 (got ${seed})` }]);
  }
  return new PromptWriter(parseScene(scene), seed).write();
}
