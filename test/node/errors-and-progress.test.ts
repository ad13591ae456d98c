import { expose, wrap, type Remote } from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CanceledError,
  ConsentError,
  deserializeError,
  ERROR_CODES,
  ForbiddenError,
  IntegrityError,
  InternalError,
  NotFoundError,
  PayloadTooLargeError,
  progressFraction,
  ProgressSchema,
  ProvenanceError,
  QuotaExceededError,
  RateLimitedError,
  RemoteInstanceError,
  serializeError,
  UnauthorizedError,
  UnsupportedError,
  ValidationError,
  ConflictError,
  ZoetropeError,
  type Progress,
} from '../../contracts/index.ts';
import { registerErrorTransfer } from '../../workers/src/index.ts';

const ONE_OF_EACH: ZoetropeError[] = [
  new ValidationError([{ field: 'recipe.seed', message: 'must be an integer 0–4294967295' }]),
  new NotFoundError({ resource: 'recipe', id: 'abc' }),
  new UnauthorizedError(),
  new ForbiddenError(),
  new ConsentError({ reason: 'revoked' }),
  new ConflictError('that handle is taken'),
  new PayloadTooLargeError({ limitBytes: 1024 }),
  new RateLimitedError({ retryAfterS: 30 }),
  new IntegrityError({ url: '/m/denoiser.onnx.data.0', expected: 'a'.repeat(64), actual: 'b'.repeat(64) }),
  new QuotaExceededError({ neededBytes: 40e6, availableBytes: 1e6 }),
  new CanceledError(),
  new UnsupportedError({ feature: 'WebGPU' }),
  new RemoteInstanceError({ url: 'https://other.example/api/recipes/x', reason: 'unreachable' }),
  new ProvenanceError({ reason: 'sign_failed' }),
  new InternalError(),
];

describe('errors', () => {
  it('has one class per stable code', () => {
    expect(ONE_OF_EACH.map((e) => e.code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it.each(ONE_OF_EACH.map((e) => [e.name, e] as const))('%s survives JSON with its class, code and fields', (_name, error) => {
    const wire = JSON.parse(JSON.stringify(error)) as unknown;
    expect(wire).toEqual({ code: error.code, message: error.message, details: error.details });
    const rebuilt = deserializeError(wire);
    expect(rebuilt).toBeInstanceOf(error.constructor);
    expect(rebuilt.name).toBe(error.name);
    expect(rebuilt.message).toBe(error.message);
    expect(rebuilt.details).toEqual(error.details);
    expect(rebuilt.httpStatus).toBe(error.httpStatus);
  });

  it('keeps typed fields readable on the rebuilt error', () => {
    const rebuilt = deserializeError(ONE_OF_EACH[8]!.toJSON());
    expect(rebuilt).toBeInstanceOf(IntegrityError);
    expect((rebuilt as IntegrityError).url).toBe('/m/denoiser.onnx.data.0');
  });

  it('never leaks an unknown error and survives malformed payloads', () => {
    expect(serializeError(new TypeError('db password is hunter2'))).toEqual({ code: 'internal', message: 'something went wrong on our side', details: {} });
    expect(serializeError(new DOMException('stop', 'AbortError')).code).toBe('canceled');
    for (const junk of [null, 'oops', { code: 'nope', message: 'x' }, { code: 'integrity' }, { code: 'integrity', message: 'bad', details: [1] }]) {
      expect(deserializeError(junk)).toBeInstanceOf(ZoetropeError);
    }
    expect(deserializeError({ code: 'not_a_code', message: 'from a newer peer' })).toMatchObject({ code: 'internal', message: 'from a newer peer' });
  });

  describe('across comlink', () => {
    const channels: InstanceType<typeof MessageChannel>[] = [];
    afterEach(() => channels.splice(0).forEach((c) => (c.port1.close(), c.port2.close())));

    function connect<T extends object>(api: T): Remote<T> {
      const channel = new MessageChannel();
      channels.push(channel);
      expose(api, channel.port1);
      return wrap<T>(channel.port2);
    }

    it('arrive as the same class with their fields, through a real structured-clone channel', async () => {
      registerErrorTransfer();
      const remote = connect({
        load(url: string): string {
          throw new IntegrityError({ url, expected: '0'.repeat(64), actual: 'f'.repeat(64) });
        },
        echo(value: { value: number }) {
          return value; // an ordinary object with a `value` member is not mistaken for a thrown one
        },
        crash(): never {
          throw new RangeError('secret internal detail');
        },
      });
      const error = await remote.load('/shard.bin').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrityError);
      expect(error).toMatchObject({ code: 'integrity', url: '/shard.bin', actual: 'f'.repeat(64) });
      expect(await remote.echo({ value: 3 })).toEqual({ value: 3 });
      await expect(remote.crash()).rejects.toMatchObject({ code: 'internal', message: 'something went wrong on our side' });
    });
  });
});

describe('progress', () => {
  const updates: Progress[] = [
    { status: 'download', file: 'denoiser.onnx.data.0', bytesDone: 512, bytesTotal: 2048 },
    { status: 'cached', file: 'tokenizer.json', bytes: 100 },
    { status: 'compile', graph: 'denoiser', done: 1, total: 4 },
    { status: 'step', step: 3, totalSteps: 4, preview: { width: 2, height: 1, rgba: new Uint8ClampedArray(8) } },
    { status: 'decode', framesDone: 6, framesTotal: 24 },
    { status: 'encode', framesDone: 24, framesTotal: 24 },
    { status: 'done', elapsedMs: 5120 },
  ];

  it('validates every kind of update and gives a bar fraction', () => {
    for (const p of updates) expect(ProgressSchema.parse(p)).toEqual(p);
    expect(updates.map(progressFraction)).toEqual([0.25, 1, 0.25, 0.75, 0.25, 1, 1]);
    expect(progressFraction({ status: 'download', file: 'x', bytesDone: 0, bytesTotal: 0 })).toBeUndefined();
  });

  it('refuses updates of unknown status or negative counts', () => {
    expect(ProgressSchema.safeParse({ status: 'warming', done: 1 }).success).toBe(false);
    expect(ProgressSchema.safeParse({ status: 'step', step: -1, totalSteps: 4 }).success).toBe(false);
  });
});
