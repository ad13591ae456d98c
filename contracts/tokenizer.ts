import { z } from 'zod';
import { parseOrThrow } from './validation.ts';

/**
 * The prompt tokenizer a model ships (`tokenizer.json`): word-level, the TypeScript twin of
 * `model-shards/training/zoetrope/text.py`, so the tab, Node and training tokenize alike. Words
 * outside the vocabulary become [UNK] and are reported, never silently dropped.
 */
export const TOKENIZER_VERSION = 1;
export const TOKENIZER_SPECIALS = ['[PAD]', '[UNK]', '[BOS]'] as const;

export const TokenizerJsonSchema = z
  .strictObject({
    version: z.literal(TOKENIZER_VERSION, { error: `must be ${TOKENIZER_VERSION}` }),
    kind: z.literal('word'),
    pattern: z.string().min(1),
    lowercase: z.boolean(),
    maxTokens: z.int().min(2).max(4096),
    specials: z.tuple([z.literal('[PAD]'), z.literal('[UNK]'), z.literal('[BOS]')]),
    vocab: z.array(z.string().min(1)).min(3),
  })
  .superRefine((t, ctx) => {
    if (TOKENIZER_SPECIALS.some((s, i) => t.vocab[i] !== s)) ctx.addIssue({ code: 'custom', path: ['vocab'], message: `must start with ${TOKENIZER_SPECIALS.join(', ')}` });
    if (new Set(t.vocab).size !== t.vocab.length) ctx.addIssue({ code: 'custom', path: ['vocab'], message: 'must not repeat a word' });
    try {
      new RegExp(t.pattern, 'gu');
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `is not a valid regular expression (${(error as Error).message})` });
    }
  });
export type TokenizerJson = z.output<typeof TokenizerJsonSchema>;

export interface EncodedPrompt {
  /** Token ids, [BOS] first, at most maxTokens. */
  readonly ids: number[];
  /** Words the vocabulary does not hold (encoded as [UNK]), in order. */
  readonly unknownWords: string[];
  /** Whether the prompt was cut to maxTokens. */
  readonly truncated: boolean;
}

export class WordTokenizer {
  readonly maxTokens: number;
  readonly vocabSize: number;
  private readonly index: Map<string, number>;
  private readonly pattern: RegExp;
  private readonly lowercase: boolean;

  constructor(json: TokenizerJson) {
    this.maxTokens = json.maxTokens;
    this.vocabSize = json.vocab.length;
    this.index = new Map(json.vocab.map((w, i) => [w, i]));
    this.pattern = new RegExp(json.pattern, 'gu');
    this.lowercase = json.lowercase;
  }

  static parse(value: unknown): WordTokenizer {
    return new WordTokenizer(parseOrThrow(TokenizerJsonSchema, value, 'tokenizer'));
  }

  words(text: string): string[] {
    return [...(this.lowercase ? text.toLowerCase() : text).matchAll(this.pattern)].map((m) => m[0]);
  }

  encode(text: string): EncodedPrompt {
    const words = this.words(text);
    const unk = this.index.get('[UNK]') ?? 1;
    const ids = [this.index.get('[BOS]') ?? 2, ...words.map((w) => this.index.get(w) ?? unk)];
    return { ids: ids.slice(0, this.maxTokens), unknownWords: words.filter((w) => !this.index.has(w)), truncated: ids.length > this.maxTokens };
  }

  /** ids (int64 as BigInt64Array) and mask (float32), both [maxTokens], padded: what the text encoder takes. */
  tensors(text: string): { ids: BigInt64Array; mask: Float32Array; encoded: EncodedPrompt } {
    const encoded = this.encode(text);
    const ids = new BigInt64Array(this.maxTokens);
    const mask = new Float32Array(this.maxTokens);
    encoded.ids.forEach((id, i) => {
      ids[i] = BigInt(id);
      mask[i] = 1;
    });
    return { ids, mask, encoded };
  }
}
