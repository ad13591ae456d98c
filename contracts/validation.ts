import type { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.ts';

/** `recipe.cameos[0].cameoId` from a root name and a zod issue path. */
export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out || '(input)';
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** Zod's default wording ("Invalid input: expected number, received undefined") reads badly in a form. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) return 'is required';
  const isDefault = /^(Invalid|Unrecognized|Too small|Too big)/.test(issue.message);
  if (!isDefault) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `must be ${/^(object|array|int)/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : ''}`;
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
    message: describeIssue(issue, value),
  }));
  throw new ValidationError(issues);
}
