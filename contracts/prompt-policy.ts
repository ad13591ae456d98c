/**
 * The prompt policy, checked where a prompt is submitted: in the composer before a Draft is generated
 * (so the tab refuses early), and again by the edge API when a recipe is published, imported or sent
 * for a Pro render (so no client can skip it). One list of rules here so every place agrees.
 *
 * A word list, not a classifier: it catches plain requests and says exactly which words it refused,
 * and it will miss paraphrases — reports and the review queue are the second line.
 */

export const POLICY_CATEGORIES = ['sexual', 'violence', 'self_harm', 'hate', 'weapons', 'likeness', 'intense'] as const;
export type PolicyCategory = (typeof POLICY_CATEGORIES)[number];

export interface PolicyViolation {
  readonly category: PolicyCategory;
  /** The words of the prompt that matched. */
  readonly match: string;
  readonly message: string;
}

export interface PolicyVerdict {
  readonly allowed: boolean;
  readonly violations: readonly PolicyViolation[];
}

export interface PolicyOptions {
  /** The recipe uses at least one cameo with a consent token: a named person may be that cameo. */
  readonly hasCameo?: boolean;
  /** The stricter filter (teen accounts, or chosen): also refuses what is merely intense. */
  readonly strict?: boolean;
}

interface Rule {
  readonly category: PolicyCategory;
  readonly pattern: RegExp;
  readonly message: string;
  readonly strictOnly?: boolean;
}

const RULES: readonly Rule[] = [
  { category: 'sexual', pattern: /\b(?:nude|nudity|naked|topless|sex|sexual|sexy|porn\w*|nsfw|erotic\w*|explicit|lingerie|strip(?:per|tease|ping)|undress\w*)\b/i, message: 'sexual content is not allowed' },
  { category: 'violence', pattern: /\b(?:blood\w*|gore|gory|kill\w*|murder\w*|stab\w*|behead\w*|decapitat\w*|tortur\w*|corpse\w*|dead bod(?:y|ies)|massacre\w*|dismember\w*|mutilat\w*|shoots? (?:a |the )?(?:man|woman|person|people|child|kid|him|her|them))\b/i, message: 'graphic violence is not allowed' },
  { category: 'self_harm', pattern: /\b(?:suicid\w*|self[- ]harm\w*|kill (?:him|her|them|my)sel(?:f|ves)|hang(?:s|ing)? (?:him|her|my)self|overdos\w*)\b/i, message: 'self-harm is not allowed (if you are struggling, please reach out to someone you trust or a local helpline)' },
  { category: 'hate', pattern: /\b(?:nazi\w*|swastika\w*|kkk|white power|ethnic cleansing|genocid\w*)\b/i, message: 'hateful content is not allowed' },
  { category: 'weapons', pattern: /\b(?:guns?|firearms?|rifles?|pistols?|shotguns?|grenades?|bombs?|explosives?|knife attack|machine gun\w*)\b/i, message: 'weapons are not allowed' },
  { category: 'likeness', pattern: /\b(?:celebrit(?:y|ies)|famous (?:person|people|actor|actress|singer|athlete)|the president|prime minister|politician|the pope|the king|the queen)\b/i, message: "a real person's likeness needs their cameo and its consent token" },
  { category: 'intense', pattern: /\b(?:scary|horror|terrif\w*|creepy|monster\w*|fight\w*|punch\w*|crash(?:es|ing)? into (?:a |the )?(?:person|people|child|kid|figure))\b/i, message: 'not shown with the stricter filter', strictOnly: true },
];

// Capitalised words that start sentences or name the world's own things, never a person.
const NOT_NAMES = new Set(
  'a an the then cut shot shots first second third fourth last wide close closeup static panning tracking locked filmed seen all this there in on at late early one two three four five six and as while with from into by of morning noon midday sunset evening night nighttime golden hour dawn dusk gym gymnasium park garage workshop street court indoor outdoor lawn grassy home scene camera view red orange yellow green blue purple pink white black grey gray brown'.split(' '),
);

/** Two or more capitalised words in a row that are not the world's vocabulary: probably someone's name. */
function namedPeople(prompt: string): string[] {
  const names: string[] = [];
  const pattern = /\b([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?)(?:\s+([A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?))+/g;
  for (const m of prompt.matchAll(pattern)) {
    const words = m[0].split(/\s+/);
    const kept = words.filter((w) => !NOT_NAMES.has(w.toLowerCase()));
    if (kept.length >= 2) names.push(kept.join(' '));
  }
  // An @handle is a person on some instance.
  for (const m of prompt.matchAll(/(?:^|\s)@([A-Za-z0-9_]{3,30})\b/g)) names.push(`@${m[1]}`);
  return names;
}

/** Checks a prompt against the policy. Never throws: the verdict lists every violation found. */
export function checkPrompt(prompt: string, options: PolicyOptions = {}): PolicyVerdict {
  const violations: PolicyViolation[] = [];
  for (const rule of RULES) {
    if (rule.strictOnly && !options.strict) continue;
    if (rule.category === 'likeness' && options.hasCameo) continue;
    const m = rule.pattern.exec(prompt);
    if (m) violations.push({ category: rule.category, match: m[0], message: rule.message });
  }
  if (!options.hasCameo) {
    for (const name of namedPeople(prompt)) violations.push({ category: 'likeness', match: name, message: `"${name}" looks like a real person: their likeness needs their cameo and its consent token` });
  }
  return { allowed: violations.length === 0, violations };
}

/** One sentence naming what was refused and why, for an error message. */
export function describeViolations(verdict: PolicyVerdict): string {
  return verdict.violations.map((v) => `"${v.match}": ${v.message}`).join('; ');
}
