/**
 * Feed steering: a plain-language instruction ("more basketball, less toppling boxes, nothing loud")
 * turned into ranking weights over the topics Zoetrope's videos are made of, and explained back in
 * words. A fixed grammar over a fixed topic list, so the same instruction always means the same thing
 * on every instance and in the composer's live preview; what it does not understand it says so,
 * instead of guessing.
 */

export interface FeedTopic {
  readonly id: string;
  /** How the topic is named back to the user. */
  readonly label: string;
  /** Word stems that mean the topic, in an instruction and in a recipe's prompt (whole words, lower case; a trailing * matches any ending). */
  readonly words: readonly string[];
}

export const FEED_TOPICS = [
  { id: 'basketball', label: 'basketball', words: ['basketball*', 'hoop*', 'basket', 'baskets', 'dunk*'] },
  { id: 'tennis', label: 'tennis balls', words: ['tennis'] },
  { id: 'bowling', label: 'bowling balls', words: ['bowling'] },
  { id: 'rubber', label: 'bouncy rubber balls', words: ['rubber', 'bouncy', 'bounce*'] },
  { id: 'boxes', label: 'box stacks', words: ['box', 'boxes', 'crate*', 'stack*', 'tower*', 'toppl*', 'topple*'] },
  { id: 'pendulum', label: 'pendulums', words: ['pendulum*', 'swing*'] },
  { id: 'ramp', label: 'ramps', words: ['ramp*', 'slope*', 'incline*'] },
  { id: 'people', label: 'people', words: ['person', 'people', 'player*', 'figure*', 'child', 'children', 'kid*', 'someone', 'kick*', 'throw*', 'toss*'] },
  { id: 'gym', label: 'the gym', words: ['gym*', 'gymnasium*', 'indoor'] },
  { id: 'park', label: 'the park', words: ['park*', 'lawn*', 'grass*', 'grassy'] },
  { id: 'garage', label: 'the garage', words: ['garage*', 'workshop*'] },
  { id: 'street', label: 'street courts', words: ['street*', 'asphalt', 'outdoor'] },
  { id: 'night', label: 'night scenes', words: ['night*', 'nighttime', 'dark'] },
  { id: 'closeups', label: 'close-ups', words: ['close*', 'closeup*'] },
  { id: 'cuts', label: 'multi-shot videos', words: ['cut', 'cuts', 'shots', 'multi'] },
  { id: 'cameos', label: 'cameos', words: ['cameo*', 'friend*', 'faces'] },
  // Loud: what lands hard. Bowling balls thud and box stacks crash when they topple.
  { id: 'loud', label: 'loud sounds', words: ['loud*', 'noise*', 'noisy', 'thud*', 'crash*', 'bang*'] },
] as const satisfies readonly FeedTopic[];

export type FeedTopicId = (typeof FEED_TOPICS)[number]['id'];

export interface FeedSteering {
  /** Topic → weight added to an item's score for having it: +1 more, +2 lots more, −1 less. */
  readonly weights: Readonly<Partial<Record<FeedTopicId, number>>>;
  /** Topics whose items never show. */
  readonly exclude: readonly FeedTopicId[];
  /** When not empty, only items with at least one of these show. */
  readonly only: readonly FeedTopicId[];
  /** Parts of the instruction that named no topic, quoted back. */
  readonly unrecognized: readonly string[];
  /** The steering in words, as the feed will apply it. */
  readonly explanation: string;
}

export const MAX_INSTRUCTION_LENGTH = 500;

type Intent = 'more' | 'lots' | 'less' | 'none' | 'only';

// Longest phrases first: "not too many" must win over "not".
const INTENTS: readonly (readonly [RegExp, Intent])[] = [
  [/^(?:a lot more|lots more|lots of|loads of|plenty of|way more|much more|tons of)\b/, 'lots'],
  [/^(?:only|just|nothing but)\b/, 'only'],
  [/^(?:not too many|not so many|not much|not many|fewer|less|a bit less|a little less|fewer of|less of|tone down|cut down on)\b/, 'less'],
  [/^(?:no more|no|nothing|never|without|none of|hide|avoid|skip|block|don't show|do not show|stop showing|i hate)\b/, 'none'],
  [/^(?:more|more of|show me|i like|i love|i want|give me|extra|some)\b/, 'more'],
];
// Words that open a clause without changing what it asks for ("actually more ramps").
const LEAD_IN = /^(?:(?:actually|also|please|oh|ok|okay|though|then|maybe|i'd like|i would like|i'd rather|rather)\s+)+/;
const FILLER = /\b(?:please|the|a|an|of|with|videos?|clips?|stuff|things?|ones?|scenes?|me|any|that|are|is|which|what|have|has)\b/g;

function stemMatches(stem: string, word: string): boolean {
  return stem.endsWith('*') ? word.startsWith(stem.slice(0, -1)) : word === stem;
}

/** The topics a piece of text mentions (whole-word matches of each topic's stems). */
export function topicsIn(text: string): FeedTopicId[] {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  return FEED_TOPICS.filter((t) => words.some((w) => t.words.some((s) => stemMatches(s, w)))).map((t) => t.id);
}

/**
 * The topics of a recipe's prompt: what it names, and what follows from it in this world — a bowling
 * ball lands with a thud and a toppling stack crashes, so both are loud.
 */
export function topicsOfPrompt(prompt: string): FeedTopicId[] {
  const topics = topicsIn(prompt);
  if (!topics.includes('loud') && (topics.includes('bowling') || /\btoppl/i.test(prompt))) topics.push('loud');
  return topics;
}

const label = (id: FeedTopicId) => FEED_TOPICS.find((t) => t.id === id)?.label ?? id;
const list = (ids: readonly FeedTopicId[]) => {
  const words = ids.map(label);
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
};

/**
 * Reads an instruction clause by clause (split at commas, semicolons, full stops, "and", "but").
 * Each clause is an intent ("more", "lots of", "less", "no", "only"; none means "more") and the
 * topics it names. A later clause about the same topic overrides an earlier one.
 */
export function parseFeedInstruction(instruction: string): FeedSteering {
  if (instruction.length > MAX_INSTRUCTION_LENGTH) throw new RangeError(`the instruction is ${instruction.length} characters; at most ${MAX_INSTRUCTION_LENGTH}`);
  const weights: Partial<Record<FeedTopicId, number>> = {};
  const exclude = new Set<FeedTopicId>();
  const only = new Set<FeedTopicId>();
  const unrecognized: string[] = [];
  const clauses = instruction
    .toLowerCase()
    .replace(/[’']/g, "'")
    .split(/[,;.!?\n]|\band\b|\bbut\b|\bplus\b/)
    .map((c) => c.trim())
    .filter(Boolean);
  let previous: Intent = 'more';
  for (const clause of clauses) {
    let intent: Intent | null = null;
    let rest = clause.replace(LEAD_IN, '');
    for (const [pattern, meaning] of INTENTS) {
      const m = pattern.exec(rest);
      if (m) {
        intent = meaning;
        rest = rest.slice(m[0].length).trim();
        break;
      }
    }
    // "no loud sounds and crashes": a clause with no intent of its own carries on the previous one.
    const effective: Intent = intent ?? previous;
    previous = effective;
    const topics = topicsIn(rest);
    if (topics.length === 0) {
      const leftover = rest.replace(FILLER, ' ').replace(/\s+/g, ' ').trim();
      if (leftover) unrecognized.push(clause);
      continue;
    }
    for (const topic of topics) {
      exclude.delete(topic);
      only.delete(topic);
      delete weights[topic];
      if (effective === 'none') exclude.add(topic);
      else if (effective === 'only') only.add(topic);
      else weights[topic] = effective === 'lots' ? 2 : effective === 'less' ? -1 : 1;
    }
  }
  const more = (Object.keys(weights) as FeedTopicId[]).filter((t) => (weights[t] ?? 0) > 0);
  const less = (Object.keys(weights) as FeedTopicId[]).filter((t) => (weights[t] ?? 0) < 0);
  const parts: string[] = [];
  if (only.size) parts.push(`Only videos with ${list([...only])}.`);
  if (more.length) parts.push(`More ${list(more)}${more.some((t) => weights[t] === 2) ? ` (${list(more.filter((t) => weights[t] === 2))} most of all)` : ''}.`);
  if (less.length) parts.push(`Less ${list(less)}.`);
  if (exclude.size) parts.push(`No ${list([...exclude])}.`);
  if (unrecognized.length) parts.push(`Not understood: ${unrecognized.map((u) => `"${u}"`).join(', ')} — the feed knows ${FEED_TOPICS.map((t) => t.label).join(', ')}.`);
  if (!parts.length) parts.push('No steering: the feed ranks by remixes and freshness.');
  return { weights, exclude: [...exclude], only: [...only], unrecognized, explanation: parts.join(' ') };
}

/** An instruction's effect on one item: the score it adds, or null when the item must not show. */
export function steerItem(steering: FeedSteering, topics: readonly FeedTopicId[]): { score: number; reasons: string[] } | null {
  if (topics.some((t) => steering.exclude.includes(t))) return null;
  if (steering.only.length && !topics.some((t) => steering.only.includes(t))) return null;
  let score = 0;
  const reasons: string[] = [];
  for (const t of topics) {
    const w = steering.weights[t];
    if (!w) continue;
    score += w;
    reasons.push(`${w > 0 ? 'more' : 'less'} ${label(t)}`);
  }
  return { score, reasons };
}
