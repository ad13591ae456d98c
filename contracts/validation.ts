import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.ts';

/** `recipe.cameos[0].cameoId` from a root name and a zod issue path. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(input)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // Zod's default wording ("Invalid input: expected number, received undefined") reads badly in a form.
      return /received undefined/.test(issue.message) ? 'is required' : `must be ${issue.expected === 'object' || issue.expected === 'array' ? 'an' : 'a'} ${issue.expected}`;
    case 'unrecognized_keys':
      return `has unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    default:
      return issue.message;
  }
}

/**
 * Parses `value` with `schema` or throws a ValidationError naming every offending field under
 * `root` (e.g. `recipe.durationS must be 1–10`).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    field: fieldPath(root, issue.path),
    message: describeIssue(issue),
  }));
  throw new ValidationError(issues);
}
