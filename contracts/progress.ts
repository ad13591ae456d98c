import { z } from 'zod';

/**
 * Progress of a long job, keyed on `status`. Byte and step counts are "done of total" so a UI can
 * draw a bar without knowing the job.
 */
const count = z.int().min(0);

export const ProgressSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('download'), file: z.string(), bytesDone: count, bytesTotal: count }),
  z.strictObject({ status: z.literal('cached'), file: z.string(), bytes: count }),
  z.strictObject({ status: z.literal('compile'), graph: z.string(), done: count, total: count }),
  z.strictObject({
    status: z.literal('step'),
    step: count,
    totalSteps: count,
    /** Optional low-resolution RGBA preview of the current estimate. */
    preview: z.strictObject({ width: count, height: count, rgba: z.instanceof(Uint8ClampedArray) }).optional(),
  }),
  z.strictObject({ status: z.literal('decode'), framesDone: count, framesTotal: count }),
  z.strictObject({ status: z.literal('encode'), framesDone: count, framesTotal: count }),
  z.strictObject({ status: z.literal('done'), elapsedMs: z.number().min(0) }),
]);

export type Progress = z.output<typeof ProgressSchema>;
export type ProgressStatus = Progress['status'];
export type ProgressListener = (progress: Progress) => void;

/** The explicit state every long job is in. */
export type JobState = 'idle' | 'running' | 'canceled' | 'failed' | 'done';

/** Fraction complete in [0, 1] for a bar; `undefined` where the update carries no ratio. */
export function progressFraction(p: Progress): number | undefined {
  const ratio = (done: number, total: number) => (total > 0 ? Math.min(1, done / total) : undefined);
  switch (p.status) {
    case 'download': return ratio(p.bytesDone, p.bytesTotal);
    case 'cached': return 1;
    case 'compile': return ratio(p.done, p.total);
    case 'step': return ratio(p.step, p.totalSteps);
    case 'decode':
    case 'encode': return ratio(p.framesDone, p.framesTotal);
    case 'done': return 1;
  }
}
