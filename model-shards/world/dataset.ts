import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  CanceledError,
  ConflictError,
  deserializeError,
  InternalError,
  isZoetropeError,
  serializeError,
  ValidationError,
  type FieldIssue,
  type SerializedError,
} from '../../contracts/index.ts';
import { MIN_AUDIBLE_IMPULSE_NS, MIN_AUDIBLE_NORMAL_SPEED, toInt16 } from './audio.ts';
import { APPEARANCE_SIDE, appearanceRgb } from './cameo.ts';
import { makeClip, type Clip } from './clip.ts';
import { MATERIAL_SPECS } from './materials.ts';
import { lightFill } from './palette.ts';
import { createRenderer, MAX_FRAME_SIZE } from './render.ts';
import { CHARACTER } from './simulate.ts';
import { sampleScene } from './sample.ts';
import type { Scene } from './scene.ts';
import type { BodyPose, ContactEvent, NetPass } from './trace.ts';

/**
 * Exports world clips as shards that PyTorch reads with numpy alone: per shard a uint8 frames .npy
 * [n, T, S, S, 3], an int16 audio .npy [n, samples] and one JSON line of metadata per clip, plus an
 * index.json with every file's size and sha256. Optional layers add per-shard files: `background`
 * (the frames without their balls), `bare` (without their balls or boxes) and `appearance` (with
 * cameos: each clip's reference face, uint8 [n, 16, 16, 3]). Clip i is `sampleScene(seed + i)`, so a
 * dataset is a pure function of (seed, clips, clip options): the same bytes whatever the shard size
 * or workers.
 */

export const DATASET_VERSION = 1;
export const DATASET_GENERATOR = 'zoetrope-world';
const MAX_SEED = 0xffff_ffff;

/** Everything a clip depends on besides its seed. */
export interface ClipSpec {
  /** Frame side, px. */
  readonly size: number;
  readonly durationS: number;
  readonly fps: number;
  readonly sampleRate: number;
  /** Also render each clip without its balls (the background layer an object-slot decoder paints over). */
  readonly background: boolean;
  /**
   * Also render each clip without its balls or its boxes: what a decoder paints under boxes drawn
   * from slots of their own.
   */
  readonly bare: boolean;
  /**
   * Cameo clips: every scene has a figure wearing a random face (sampleScene's `cameo`), and the
   * face, as the reference image a user would give, is written to the appearance layer.
   */
  readonly cameos: boolean;
}

export interface ExportOptions extends Partial<ClipSpec> {
  /** Output folder: created if missing; a non-empty folder must hold a previous dataset, or pass `force`. */
  readonly out: string;
  readonly clips: number;
  /** Clip i uses scene seed `seed + i`. */
  readonly seed: number;
  /** Clips per shard; the last shard holds the rest. */
  readonly shardSize?: number;
  /** Worker threads rendering clips; 0 renders on the calling thread. */
  readonly workers?: number;
  /** Write into a non-empty folder that holds no previous dataset. */
  readonly force?: boolean;
}

export type ResolvedExportOptions = Required<ExportOptions>;

export const DEFAULT_EXPORT = Object.freeze({ size: 128, durationS: 2, fps: 12, sampleRate: 16_000, shardSize: 256, workers: 2, force: false, background: false, bare: false, cameos: false });

/** Inclusive bounds of the integer options (durationS is a number in its own range). */
export const EXPORT_LIMITS = Object.freeze({
  clips: [1, 1_000_000],
  seed: [0, MAX_SEED],
  size: [16, MAX_FRAME_SIZE],
  fps: [1, 60],
  sampleRate: [8000, 48_000],
  shardSize: [1, 100_000],
  workers: [0, 64],
} as const satisfies Record<string, readonly [number, number]>);
/** The scene schema's bounds on a clip's length, s. */
export const DURATION_LIMITS = Object.freeze([0.5, 20] as const);

/**
 * Checks every option and fills in the defaults. Throws one ValidationError listing each bad option
 * by its field name (`clips`, `durationS`, …); nothing has been written yet.
 */
export function resolveExportOptions(input: ExportOptions): ResolvedExportOptions {
  const issues: FieldIssue[] = [];
  const integer = (field: keyof typeof EXPORT_LIMITS, value: number, max: number = EXPORT_LIMITS[field][1]): void => {
    const [min] = EXPORT_LIMITS[field];
    if (!Number.isInteger(value) || value < min || value > max) issues.push({ field, message: `must be an integer ${min}–${max} (got ${String(value)})` });
  };
  const o: ResolvedExportOptions = { ...DEFAULT_EXPORT, ...definedOnly(input) };
  if (typeof o.out !== 'string' || o.out.trim() === '') issues.push({ field: 'out', message: 'is required: the folder to write the dataset to' });
  integer('clips', o.clips);
  // Scene seeds are uint32 and clip i takes seed + i, so the last clip's seed must still fit.
  const clipsOk = Number.isInteger(o.clips) && o.clips >= 1;
  integer('seed', o.seed, clipsOk ? Math.max(0, MAX_SEED - (o.clips - 1)) : MAX_SEED);
  integer('size', o.size);
  integer('fps', o.fps);
  integer('sampleRate', o.sampleRate);
  integer('shardSize', o.shardSize);
  integer('workers', o.workers);
  const [dMin, dMax] = DURATION_LIMITS;
  if (typeof o.durationS !== 'number' || !Number.isFinite(o.durationS) || o.durationS < dMin || o.durationS > dMax) {
    issues.push({ field: 'durationS', message: `must be a number of seconds ${dMin}–${dMax} (got ${String(o.durationS)})` });
  } else if (Number.isInteger(o.fps) && !isWhole(o.durationS * o.fps)) {
    // Frames and audio must cover the same span: a fractional frame count would drift them apart.
    issues.push({ field: 'durationS', message: `must give a whole number of frames at ${o.fps} fps (got ${Number((o.durationS * o.fps).toFixed(6))})` });
  }
  if (typeof o.force !== 'boolean') issues.push({ field: 'force', message: `must be true or false (got ${String(o.force)})` });
  if (typeof o.background !== 'boolean') issues.push({ field: 'background', message: `must be true or false (got ${String(o.background)})` });
  if (typeof o.bare !== 'boolean') issues.push({ field: 'bare', message: `must be true or false (got ${String(o.bare)})` });
  if (typeof o.cameos !== 'boolean') issues.push({ field: 'cameos', message: `must be true or false (got ${String(o.cameos)})` });
  if (issues.length > 0) throw new ValidationError(issues);
  return o;
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function isWhole(x: number): boolean {
  return Math.abs(x - Math.round(x)) < 1e-9;
}

export const framesPerClip = (spec: Pick<ClipSpec, 'durationS' | 'fps'>): number => Math.round(spec.durationS * spec.fps);
export const samplesPerClip = (spec: Pick<ClipSpec, 'durationS' | 'sampleRate'>): number => Math.round(spec.durationS * spec.sampleRate);

// ---------------------------------------------------------------------------------------------
// Per-clip metadata

/** A body in one frame: its world pose (without velocity) and where its centre lands in the image. */
export interface TrackPoint extends Pick<BodyPose, 'id' | 'material' | 'colour' | 'x' | 'y' | 'angle'> {
  /** Image position of the centre, px (y down), from the frame's CameraView. */
  readonly px: number;
  readonly py: number;
  /** Ball radius or half the side of a box, px. */
  readonly radiusPx: number;
  /** The centre lies inside the frame. */
  readonly visible: boolean;
}

/** The figure's head in one frame: where the world paints its face (a cameo's, when it wears one). */
export interface HeadPoint {
  readonly px: number;
  readonly py: number;
  readonly radiusPx: number;
  /** Some of the head lies inside the frame. */
  readonly visible: boolean;
}

export interface ContactRecord extends ContactEvent {
  /** round(t · sampleRate): where the audio's impact starts (may be ≥ samplesPerClip at the very end). */
  readonly sample: number;
  /** floor(t · fps), at most the last frame. */
  readonly frame: number;
  /** Whether the audio has an onset for it (the synthesiser's impulse and speed floors, inside the clip). */
  readonly audible: boolean;
}

export interface NetPassRecord extends NetPass {
  readonly sample: number;
  readonly frame: number;
}

export interface ClipMeta {
  readonly index: number;
  readonly seed: number;
  readonly prompt: string;
  readonly scene: Scene;
  /** One list per frame, one point per moving body. */
  readonly tracks: readonly (readonly TrackPoint[])[];
  /** With a figure in the scene: its head, one point per frame (the figure stands where it is; the camera moves). */
  readonly head?: readonly HeadPoint[];
  /** What the light multiplies every pixel by, per channel in [0, 1] (palette.ts, lightFill): how a face painted on the head should be lit. */
  readonly light: readonly [number, number, number];
  readonly contacts: readonly ContactRecord[];
  readonly netPasses: readonly NetPassRecord[];
}

export function clipMeta(clip: Clip, index: number): ClipMeta {
  const S = clip.size;
  const frameCount = clip.trace.frames.length;
  const samples = clip.audio.length;
  // Event times are sums of 1/240 s sub-steps, so one landing exactly on a frame boundary can come
  // out a hair early; the nudge keeps it in the frame it belongs to.
  const frameOf = (t: number) => Math.max(0, Math.min(frameCount - 1, Math.floor(t * clip.fps + 1e-9)));
  const sampleOf = (t: number) => Math.round(t * clip.sampleRate);
  const tracks = clip.trace.frames.map((pose, i) => {
    const view = clip.views[i];
    if (!view) throw new InternalError(`clip ${index} has no camera view for frame ${i}`);
    const ppm = S / view.width;
    const left = view.cx - view.width / 2;
    const top = view.cy + view.width / 2;
    return pose.bodies.map((b): TrackPoint => {
      const px = (b.x - left) * ppm;
      const py = (top - b.y) * ppm;
      return {
        id: b.id,
        material: b.material,
        colour: b.colour,
        x: b.x,
        y: b.y,
        angle: b.angle,
        px,
        py,
        radiusPx: MATERIAL_SPECS[b.material].size * ppm,
        visible: px >= 0 && px < S && py >= 0 && py < S,
      };
    });
  });
  const figure = clip.scene.character;
  const head = figure
    ? clip.views.map((view): HeadPoint => {
        const ppm = S / view.width;
        const px = (figure.x - (view.cx - view.width / 2)) * ppm;
        const py = (view.cy + view.width / 2 - CHARACTER.headY) * ppm;
        const radiusPx = CHARACTER.headRadius * ppm;
        return { px, py, radiusPx, visible: px + radiusPx > 0 && px - radiusPx < S && py + radiusPx > 0 && py - radiusPx < S };
      })
    : undefined;
  const contacts = clip.trace.contacts.map((c): ContactRecord => {
    const sample = sampleOf(c.t);
    const loud = c.impulse >= MIN_AUDIBLE_IMPULSE_NS && Math.abs(c.normalSpeed) >= MIN_AUDIBLE_NORMAL_SPEED;
    return { ...c, sample, frame: frameOf(c.t), audible: loud && sample >= 0 && sample < samples };
  });
  const netPasses = clip.trace.netPasses.map((p): NetPassRecord => ({ ...p, sample: sampleOf(p.t), frame: frameOf(p.t) }));
  const light = lightFill(clip.scene.lighting, clip.scene.setting).map((c) => c / 255) as [number, number, number];
  return { index, seed: clip.scene.seed, prompt: clip.prompt, scene: clip.scene, tracks, ...(head ? { head } : {}), light, contacts, netPasses };
}

// ---------------------------------------------------------------------------------------------
// One clip, ready to write: the unit of work a worker does

export interface RenderedClip {
  readonly index: number;
  /** T × S × S × 3 RGB bytes. */
  readonly frames: Uint8Array;
  /** The same frames without the balls, when the spec asks for the background layer. */
  readonly background?: Uint8Array;
  /** The same frames without the balls or the boxes, when the spec asks for the bare layer. */
  readonly bare?: Uint8Array;
  /** The figure's face as APPEARANCE_SIDE² × 3 RGB bytes, when the spec asks for cameos. */
  readonly appearance?: Uint8Array;
  readonly audio: Int16Array;
  /** The clip's ClipMeta as one JSON line, without the newline. */
  readonly metaLine: string;
}

export async function renderDatasetClip(index: number, baseSeed: number, spec: ClipSpec): Promise<RenderedClip> {
  const seed = baseSeed + index;
  const scene = sampleScene(seed, { durationS: spec.durationS, fps: spec.fps, cameo: spec.cameos });
  const clip = await makeClip(scene, { size: spec.size, sampleRate: spec.sampleRate });
  const frameBytes = framesPerClip(spec) * spec.size * spec.size * 3;
  // A mismatch here would silently shift every later clip in the shard: fail loudly instead.
  if (clip.frames.length !== frameBytes) throw new InternalError(`clip ${index} (seed ${seed}) has ${clip.frames.length} frame bytes, expected ${frameBytes}`);
  if (clip.audio.length !== samplesPerClip(spec)) throw new InternalError(`clip ${index} (seed ${seed}) has ${clip.audio.length} samples, expected ${samplesPerClip(spec)}`);
  const layer = (omitBoxes: boolean): Uint8Array => {
    const renderer = createRenderer(clip.trace, spec.size, { omitBalls: true, omitBoxes });
    const out = new Uint8Array(frameBytes);
    const one = spec.size * spec.size * 3;
    for (let f = 0; f < framesPerClip(spec); f++) out.set(renderer.frame(f), f * one);
    return out;
  };
  const background = spec.background ? layer(false) : undefined;
  const bare = spec.bare ? layer(true) : undefined;
  let appearance: Uint8Array | undefined;
  if (spec.cameos) {
    const face = scene.character?.appearance;
    if (!face || face.width !== APPEARANCE_SIDE || face.height !== APPEARANCE_SIDE) {
      throw new InternalError(`clip ${index} (seed ${seed}) has no ${APPEARANCE_SIDE}×${APPEARANCE_SIDE} face for its appearance layer`);
    }
    appearance = appearanceRgb(face);
  }
  return {
    index,
    frames: clip.frames,
    ...(background ? { background } : {}),
    ...(bare ? { bare } : {}),
    ...(appearance ? { appearance } : {}),
    audio: toInt16(clip.audio),
    metaLine: JSON.stringify(clipMeta(clip, index)),
  };
}

// ---------------------------------------------------------------------------------------------
// Worker protocol (dataset-worker.ts is its entry; renderDatasetClip also runs without it)

export interface DatasetWorkerRequest {
  readonly kind: 'render';
  readonly index: number;
  readonly baseSeed: number;
  readonly spec: ClipSpec;
}

export type DatasetWorkerReply =
  | { readonly kind: 'clip'; readonly clip: RenderedClip }
  | { readonly kind: 'error'; readonly index: number; readonly error: SerializedError };

/** Answers one request; the reply's buffers are listed for transfer, not copy. */
export async function answerDatasetRequest(request: DatasetWorkerRequest): Promise<{ reply: DatasetWorkerReply; transfer: ArrayBuffer[] }> {
  try {
    const clip = await renderDatasetClip(request.index, request.baseSeed, request.spec);
    const transfer = [clip.frames.buffer as ArrayBuffer, clip.audio.buffer as ArrayBuffer];
    if (clip.background) transfer.push(clip.background.buffer as ArrayBuffer);
    if (clip.bare) transfer.push(clip.bare.buffer as ArrayBuffer);
    if (clip.appearance) transfer.push(clip.appearance.buffer as ArrayBuffer);
    return { reply: { kind: 'clip', clip }, transfer };
  } catch (error) {
    // serializeError hides unknown errors' messages (meant for HTTP); here the user is the developer.
    const known = isZoetropeError(error) ? error : new InternalError(`clip ${request.index} (seed ${request.baseSeed + request.index}) failed: ${error instanceof Error ? error.message : String(error)}`);
    return { reply: { kind: 'error', index: request.index, error: serializeError(known) }, transfer: [] };
  }
}

interface ClipSource {
  render(index: number): Promise<RenderedClip>;
  close(): Promise<void>;
}

function inThreadSource(baseSeed: number, spec: ClipSpec): ClipSource {
  return { render: (index) => renderDatasetClip(index, baseSeed, spec), close: async () => {} };
}

interface Pending {
  resolve(clip: RenderedClip): void;
  reject(error: Error): void;
}

/**
 * Starts dataset-worker.ts under tsx. Node 20 ignores loader flags in a Worker's execArgv
 * (nodejs/node#47747: `execArgv: ['--import', 'tsx']` fails with ERR_UNKNOWN_FILE_EXTENSION), so
 * the worker starts from a few lines of JS that register tsx's hooks and then import the entry.
 * Bundled into a world kit (kit.ts), this module is world.mjs and the worker its sibling bundle.
 */
function startDatasetWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./dataset-worker.mjs', import.meta.url));
  const entry = new URL('./dataset-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((api) => api.register()).then(() => import(${JSON.stringify(entry)}));`;
  return new Worker(boot, { eval: true });
}

class WorkerSource implements ClipSource {
  private readonly workers: { readonly worker: Worker; readonly inFlight: Map<number, Pending> }[] = [];
  private failure: Error | undefined;

  constructor(
    count: number,
    private readonly baseSeed: number,
    private readonly spec: ClipSpec,
  ) {
    for (let i = 0; i < count; i++) {
      const worker = startDatasetWorker();
      const slot = { worker, inFlight: new Map<number, Pending>() };
      worker.on('message', (reply: DatasetWorkerReply) => {
        const index = reply.kind === 'clip' ? reply.clip.index : reply.index;
        const pending = slot.inFlight.get(index);
        slot.inFlight.delete(index);
        if (reply.kind === 'clip') pending?.resolve(reply.clip);
        else pending?.reject(deserializeError(reply.error));
      });
      const fail = (error: Error) => {
        this.failure ??= error;
        for (const pending of slot.inFlight.values()) pending.reject(error);
        slot.inFlight.clear();
      };
      worker.on('error', (error) => fail(new InternalError(`a dataset worker failed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => fail(new InternalError(`a dataset worker exited (code ${code})`)));
      this.workers.push(slot);
    }
  }

  render(index: number): Promise<RenderedClip> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.workers.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    return new Promise((resolve, reject) => {
      slot.inFlight.set(index, { resolve, reject });
      const request: DatasetWorkerRequest = { kind: 'render', index, baseSeed: this.baseSeed, spec: this.spec };
      slot.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    // Exits from here on are ours, not failures.
    this.failure ??= new CanceledError('the dataset workers were closed');
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

// ---------------------------------------------------------------------------------------------
// .npy (format 1.0) and the shard files

export type NpyDescr = '|u1' | '<i2';

/** The .npy preamble: magic, version 1.0, header length and a dict padded so data starts at a multiple of 64. */
export function npyHeader(descr: NpyDescr, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const headerLength = total - 10;
  if (headerLength > 0xffff) throw new RangeError('npy header longer than format 1.0 allows');
  const out = new Uint8Array(total);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, headerLength & 0xff, headerLength >> 8]);
  const text = dict + ' '.repeat(total - unpadded) + '\n';
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

export interface NpyHeader {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: readonly number[];
  /** Byte offset of the array data. */
  readonly dataOffset: number;
}

/** Reads the preamble of a version 1.0 or 2.0 .npy (what numpy.save writes for these arrays). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new RangeError('not a .npy file (bad magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [lengthBytes, headerLength] = major === 1 ? [2, view.getUint16(8, true)] : major === 2 ? [4, view.getUint32(8, true)] : [0, 0];
  if (lengthBytes === 0) throw new RangeError(`unsupported .npy version ${String(major)}`);
  const start = 8 + lengthBytes;
  const text = new TextDecoder('latin1').decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(text)?.[1];
  const order = /'fortran_order':\s*(True|False)/.exec(text)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || order === undefined || shape === undefined) throw new RangeError(`malformed .npy header: ${text.trim()}`);
  const dims = shape.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  return { descr, fortranOrder: order === 'True', shape: dims, dataOffset: start + headerLength };
}

export interface DatasetFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface DatasetShard {
  readonly name: string;
  readonly clips: number;
  readonly files: readonly DatasetFile[];
}

export interface DatasetIndex {
  readonly version: typeof DATASET_VERSION;
  readonly generator: typeof DATASET_GENERATOR;
  readonly seed: number;
  readonly clips: number;
  readonly size: number;
  readonly fps: number;
  readonly durationS: number;
  readonly sampleRate: number;
  readonly framesPerClip: number;
  readonly samplesPerClip: number;
  readonly shardSize: number;
  /**
   * Extra per-shard layers: `background` is `shard-*.background.npy`, the frames without their
   * balls; `bare` is `shard-*.bare.npy`, the frames without their balls or boxes; `appearance` is
   * `shard-*.appearance.npy`, uint8 [n, 16, 16, 3], each clip's cameo face.
   */
  readonly layers?: readonly DatasetLayer[];
  readonly shards: readonly DatasetShard[];
}

export type DatasetLayer = 'background' | 'bare' | 'appearance';

export const shardName = (k: number): string => `shard-${String(k).padStart(5, '0')}`;

/** Files an export writes (and temp files an interrupted one leaves): safe to replace. */
const DATASET_FILE = /^(index\.json|shard-\d{5,}\.(frames\.npy|background\.npy|bare\.npy|appearance\.npy|audio\.npy|meta\.jsonl))(\.tmp-\d+)?$/;

/** A file written under a temp name, hashed as it goes, renamed into place when complete. */
class HashedFile {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private readonly temp: string;

  private constructor(
    private readonly dir: string,
    readonly file: string,
    private readonly handle: FileHandle,
    temp: string,
  ) {
    this.temp = temp;
  }

  static async create(dir: string, file: string): Promise<HashedFile> {
    const temp = `${file}.tmp-${process.pid}`;
    return new HashedFile(dir, file, await open(join(dir, temp), 'w'), temp);
  }

  async write(data: Uint8Array): Promise<void> {
    this.hash.update(data);
    this.bytes += data.byteLength;
    let at = 0;
    while (at < data.byteLength) at += (await this.handle.write(data, at, data.byteLength - at)).bytesWritten;
  }

  async commit(): Promise<DatasetFile> {
    await this.handle.close();
    await rename(join(this.dir, this.temp), join(this.dir, this.file));
    return { file: this.file, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(join(this.dir, this.temp), { force: true });
  }
}

const littleEndian = endianness() === 'LE';

function int16Bytes(audio: Int16Array): Uint8Array {
  const bytes = new Uint8Array(audio.buffer, audio.byteOffset, audio.byteLength);
  if (littleEndian) return bytes;
  // .npy says '<i2': swap on a big-endian host.
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) {
    swapped[i] = bytes[i + 1] ?? 0;
    swapped[i + 1] = bytes[i] ?? 0;
  }
  return swapped;
}

class ShardWriter {
  private written = 0;

  private constructor(
    readonly name: string,
    private readonly clips: number,
    private readonly files: {
      readonly frames: HashedFile;
      readonly background?: HashedFile;
      readonly bare?: HashedFile;
      readonly appearance?: HashedFile;
      readonly audio: HashedFile;
      readonly meta: HashedFile;
    },
  ) {}

  static async open(dir: string, name: string, clips: number, spec: ClipSpec): Promise<ShardWriter> {
    const created: HashedFile[] = [];
    try {
      const make = async (file: string) => {
        const f = await HashedFile.create(dir, file);
        created.push(f);
        return f;
      };
      const frames = await make(`${name}.frames.npy`);
      const background = spec.background ? await make(`${name}.background.npy`) : undefined;
      const bare = spec.bare ? await make(`${name}.bare.npy`) : undefined;
      const appearance = spec.cameos ? await make(`${name}.appearance.npy`) : undefined;
      const audio = await make(`${name}.audio.npy`);
      const meta = await make(`${name}.meta.jsonl`);
      const frameShape = [clips, framesPerClip(spec), spec.size, spec.size, 3];
      await frames.write(npyHeader('|u1', frameShape));
      await background?.write(npyHeader('|u1', frameShape));
      await bare?.write(npyHeader('|u1', frameShape));
      await appearance?.write(npyHeader('|u1', [clips, APPEARANCE_SIDE, APPEARANCE_SIDE, 3]));
      await audio.write(npyHeader('<i2', [clips, samplesPerClip(spec)]));
      return new ShardWriter(name, clips, { frames, ...(background ? { background } : {}), ...(bare ? { bare } : {}), ...(appearance ? { appearance } : {}), audio, meta });
    } catch (error) {
      await Promise.all(created.map((f) => f.discard()));
      throw error;
    }
  }

  async append(clip: RenderedClip): Promise<void> {
    await this.files.frames.write(clip.frames);
    if (this.files.background) {
      if (!clip.background) throw new InternalError(`clip ${clip.index} came without its background layer`);
      await this.files.background.write(clip.background);
    }
    if (this.files.bare) {
      if (!clip.bare) throw new InternalError(`clip ${clip.index} came without its bare layer`);
      await this.files.bare.write(clip.bare);
    }
    if (this.files.appearance) {
      if (!clip.appearance) throw new InternalError(`clip ${clip.index} came without its appearance layer`);
      await this.files.appearance.write(clip.appearance);
    }
    await this.files.audio.write(int16Bytes(clip.audio));
    await this.files.meta.write(Buffer.from(`${clip.metaLine}\n`, 'utf8'));
    this.written++;
  }

  async commit(): Promise<DatasetShard> {
    if (this.written !== this.clips) throw new InternalError(`${this.name} got ${this.written} clips, expected ${this.clips}`);
    const files = [
      await this.files.frames.commit(),
      ...(this.files.background ? [await this.files.background.commit()] : []),
      ...(this.files.bare ? [await this.files.bare.commit()] : []),
      ...(this.files.appearance ? [await this.files.appearance.commit()] : []),
      await this.files.audio.commit(),
      await this.files.meta.commit(),
    ];
    return { name: this.name, clips: this.clips, files };
  }

  async discard(): Promise<void> {
    await Promise.all([this.files.frames.discard(), this.files.background?.discard(), this.files.bare?.discard(), this.files.appearance?.discard(), this.files.audio.discard(), this.files.meta.discard()]);
  }
}

/**
 * Makes `out` ready: creates it, or clears the files of a previous (possibly interrupted) dataset.
 * A non-empty folder holding anything else is refused unless `force`; files not ours are kept.
 */
async function prepareOutDir(out: string, force: boolean): Promise<void> {
  let entries: string[];
  try {
    if (!(await stat(out)).isDirectory()) throw new ValidationError([{ field: 'out', message: `must be a folder (${out} is a file)` }]);
    entries = await readdir(out);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(out, { recursive: true });
    return;
  }
  if (entries.length === 0) return;
  const previous = entries.every((name) => DATASET_FILE.test(name)) || (await isDatasetIndex(join(out, 'index.json')));
  if (!previous && !force) {
    throw new ConflictError(`${out} is not empty and holds no previous dataset (no ${DATASET_GENERATOR} index.json); use force (--force) to write into it anyway`);
  }
  // The index goes first, so a crash from here on never leaves an index naming replaced files.
  await rm(join(out, 'index.json'), { force: true });
  await Promise.all(entries.filter((name) => DATASET_FILE.test(name)).map((name) => rm(join(out, name), { force: true })));
}

async function isDatasetIndex(path: string): Promise<boolean> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && (parsed as Record<string, unknown>)['generator'] === DATASET_GENERATOR;
  } catch {
    return false;
  }
}

async function writeFileAtomic(dir: string, file: string, text: string): Promise<void> {
  const f = await HashedFile.create(dir, file);
  try {
    await f.write(Buffer.from(text, 'utf8'));
    await f.commit();
  } catch (error) {
    await f.discard();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The export

export type ExportProgress =
  | { readonly status: 'start'; readonly total: number; readonly workers: number }
  | { readonly status: 'clip'; readonly done: number; readonly total: number; readonly elapsedMs: number }
  | { readonly status: 'shard'; readonly name: string; readonly done: number; readonly total: number }
  | { readonly status: 'done'; readonly total: number; readonly elapsedMs: number };

export interface ExportRun {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ExportProgress) => void;
}

/**
 * Writes the dataset and returns its index. Workers render clips by index while this thread writes
 * them in order, so the bytes never depend on scheduling. On abort the workers are stopped, the
 * unfinished shard's temp files removed and a CanceledError thrown; finished shards stay, but no
 * index.json is written, so an interrupted folder never passes for a complete dataset.
 */
export async function exportDataset(options: ExportOptions, run: ExportRun = {}): Promise<DatasetIndex> {
  const o = resolveExportOptions(options);
  const { signal, onProgress } = run;
  const started = performance.now();
  const spec: ClipSpec = { size: o.size, durationS: o.durationS, fps: o.fps, sampleRate: o.sampleRate, background: o.background, bare: o.bare, cameos: o.cameos };
  if (signal?.aborted) throw new CanceledError('the export was canceled');
  await prepareOutDir(o.out, o.force);

  const workers = Math.min(o.workers, o.clips);
  const source = workers === 0 ? inThreadSource(o.seed, spec) : new WorkerSource(workers, o.seed, spec);
  onProgress?.({ status: 'start', total: o.clips, workers });
  // A few clips ahead per worker keep every worker busy while this thread writes; the window also
  // bounds how many finished clips wait in memory.
  const window = Math.max(1, workers) * 2;
  const pending = new Map<number, Promise<RenderedClip>>();
  let next = 0;
  const fill = () => {
    while (next < o.clips && pending.size < window) {
      const p = source.render(next);
      // Marked handled now; the loop awaits it in order and sees the rejection then.
      p.catch(() => {});
      pending.set(next++, p);
    }
  };
  let abortListener: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    abortListener = () => reject(new CanceledError('the export was canceled'));
    signal?.addEventListener('abort', abortListener, { once: true });
  });
  aborted.catch(() => {});

  const shards: DatasetShard[] = [];
  const shardCount = Math.ceil(o.clips / o.shardSize);
  let writer: ShardWriter | undefined;
  try {
    for (let k = 0; k < shardCount; k++) {
      const first = k * o.shardSize;
      const count = Math.min(o.shardSize, o.clips - first);
      writer = await ShardWriter.open(o.out, shardName(k), count, spec);
      for (let i = first; i < first + count; i++) {
        fill();
        const clip = await Promise.race([pending.get(i), aborted]);
        pending.delete(i);
        if (!clip) throw new InternalError(`clip ${i} was never requested`);
        await writer.append(clip);
        onProgress?.({ status: 'clip', done: i + 1, total: o.clips, elapsedMs: performance.now() - started });
      }
      shards.push(await writer.commit());
      writer = undefined;
      onProgress?.({ status: 'shard', name: shardName(k), done: k + 1, total: shardCount });
    }
    const layers: DatasetLayer[] = [...(o.background ? (['background'] as const) : []), ...(o.bare ? (['bare'] as const) : []), ...(o.cameos ? (['appearance'] as const) : [])];
    const index: DatasetIndex = {
      version: DATASET_VERSION,
      generator: DATASET_GENERATOR,
      seed: o.seed,
      clips: o.clips,
      size: o.size,
      fps: o.fps,
      durationS: o.durationS,
      sampleRate: o.sampleRate,
      framesPerClip: framesPerClip(spec),
      samplesPerClip: samplesPerClip(spec),
      shardSize: o.shardSize,
      ...(layers.length > 0 ? { layers } : {}),
      shards,
    };
    await writeFileAtomic(o.out, 'index.json', `${JSON.stringify(index, null, 2)}\n`);
    onProgress?.({ status: 'done', total: o.clips, elapsedMs: performance.now() - started });
    return index;
  } catch (error) {
    await writer?.discard();
    throw error;
  } finally {
    if (abortListener) signal?.removeEventListener('abort', abortListener);
    await source.close();
  }
}
