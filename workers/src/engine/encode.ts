import { registerAacEncoder } from '@mediabunny/aac-encoder';
import { AudioSample, AudioSampleSource, BufferTarget, canEncodeAudio, canEncodeVideo, CanvasSource, Mp4OutputFormat, Output, QUALITY_HIGH, WebMOutputFormat } from 'mediabunny';
import { UnsupportedError, withoutConsentTokens } from '../../../contracts/index.ts';
import type { GeneratedClip } from './generate.ts';
import { assertRecipeIs, checkInstanceSigning, signWithDeviceKey, signWithInstanceKey, type InstanceSigning, type ProvenanceReport } from './provenance.ts';

/**
 * A generated clip → a video file, in the browser: MP4 with H.264 + AAC (Chromium's WebCodecs has no
 * AAC encoder, so @mediabunny/aac-encoder supplies it), or WebM with VP9 + Opus where H.264 can't be
 * encoded. Every frame carries a visible watermark that moves (it can't be cropped off one corner),
 * and the file's metadata holds the recipe and says the clip is AI-generated. MP4 files also get a
 * C2PA manifest signed with the device's key or the instance's (provenance.ts); WebM can't carry one yet.
 */

/** What the encoder needs of a generated clip (frames RGB, frames × height × width × 3; audio mono in [-1, 1]). */
export type RawClip = Pick<GeneratedClip, 'frames' | 'frameCount' | 'width' | 'height' | 'fps' | 'audio' | 'sampleRate'>;

export interface EncodeOptions {
  /** The recipe (any JSON value), embedded in the file's metadata. */
  readonly recipe: unknown;
  readonly container?: 'mp4' | 'webm' | 'auto';
  /** Output size = clip size × scale (nearest-free smooth upscaling), so small drafts stay watchable. */
  readonly scale?: number;
  readonly watermark?: string;
  /**
   * `'device'` (default): sign a C2PA manifest with this device's key into MP4 files, or fail with
   * ProvenanceError; WebM files stay unsigned (reported in `provenance`). `{ kind: 'instance', … }`:
   * the same, signed by the instance's key through its edge API, for a recipe the signed-in person
   * published there. `'none'`: don't sign.
   */
  readonly provenance?: 'device' | 'none' | InstanceSigning;
}

export interface EncodedVideo {
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly container: 'mp4' | 'webm';
  readonly videoCodec: string;
  readonly audioCodec: string;
  readonly width: number;
  readonly height: number;
  readonly provenance: ProvenanceReport;
}

export const AI_GENERATED_NOTE = 'AI-generated with Zoetrope';

let aacReady: Promise<void> | null = null;
function ensureAac(): Promise<void> {
  aacReady ??= canEncodeAudio('aac').then((native) => {
    if (!native) registerAacEncoder();
  });
  return aacReady;
}

/** Where the watermark sits in frame i: it drifts around the frame, a full lap every 4 s. */
export function watermarkPosition(i: number, fps: number, width: number, height: number, box: { w: number; h: number }): { x: number; y: number } {
  const u = (i / fps / 4) % 1;
  const margin = Math.max(2, Math.round(width * 0.02));
  const spanX = Math.max(0, width - box.w - 2 * margin);
  const spanY = Math.max(0, height - box.h - 2 * margin);
  // Around the rectangle's edge: top → right → bottom → left.
  const t = u * 4;
  const side = Math.floor(t);
  const f = t - side;
  const [x, y] = side === 0 ? [f * spanX, 0] : side === 1 ? [spanX, f * spanY] : side === 2 ? [(1 - f) * spanX, spanY] : [0, (1 - f) * spanY];
  return { x: margin + x, y: margin + y };
}

export async function encodeClip(clip: RawClip, options: EncodeOptions): Promise<EncodedVideo> {
  const scale = options.scale ?? 2;
  const asked = options.provenance ?? 'device';
  if (typeof asked !== 'object' && asked !== 'device' && asked !== 'none') throw new RangeError(`provenance must be 'device', 'none' or { kind: 'instance', … } (got ${String(asked)})`);
  // Checked before any encoding, so a malformed request costs nothing.
  const provenance = typeof asked === 'object' ? checkInstanceSigning(asked) : asked;
  if (typeof provenance === 'object') await assertRecipeIs(options.recipe, provenance.recipeId);
  if (!Number.isInteger(scale) || scale < 1 || scale > 8) throw new RangeError(`scale must be an integer 1–8 (got ${scale})`);
  if (clip.frames.length !== clip.frameCount * clip.width * clip.height * 3) throw new RangeError(`frames must hold ${clip.frameCount} RGB frames of ${clip.width}×${clip.height}`);
  const width = clip.width * scale;
  const height = clip.height * scale;
  const wantMp4 = (options.container ?? 'auto') !== 'webm' && (await canEncodeVideo('avc', { width, height }));
  if (options.container === 'mp4' && !wantMp4) throw new UnsupportedError({ feature: 'H.264 encoding in this browser (use WebM)' });
  if (wantMp4) await ensureAac();
  const container = wantMp4 ? 'mp4' : 'webm';
  const videoCodec = wantMp4 ? 'avc' : 'vp9';
  const audioCodec = wantMp4 ? 'aac' : 'opus';
  if (!wantMp4 && !(await canEncodeVideo('vp9', { width, height }))) throw new UnsupportedError({ feature: 'video encoding (neither H.264 nor VP9) in this browser' });

  const output = new Output({ format: wantMp4 ? new Mp4OutputFormat({ fastStart: 'in-memory' }) : new WebMOutputFormat(), target: new BufferTarget() });
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new UnsupportedError({ feature: 'OffscreenCanvas 2D' });
  const video = new CanvasSource(canvas, { codec: videoCodec, bitrate: QUALITY_HIGH, keyFrameInterval: 1 });
  const audio = new AudioSampleSource({ codec: audioCodec, bitrate: 96_000 });
  output.addVideoTrack(video, { frameRate: clip.fps });
  output.addAudioTrack(audio);
  // The recipe rides in the file (remix from a download) without its cameos' consent tokens.
  const recipe = JSON.stringify(withoutConsentTokens(options.recipe));
  output.setMetadataTags({ comment: recipe, description: AI_GENERATED_NOTE, title: typeof (options.recipe as { prompt?: unknown })?.prompt === 'string' ? (options.recipe as { prompt: string }).prompt.slice(0, 200) : 'Zoetrope clip' });
  await output.start();

  const frame = new OffscreenCanvas(clip.width, clip.height);
  const fctx = frame.getContext('2d');
  if (!fctx) throw new UnsupportedError({ feature: 'OffscreenCanvas 2D' });
  const image = fctx.createImageData(clip.width, clip.height);
  const mark = options.watermark ?? 'Zoetrope · AI';
  const fontPx = Math.max(9, Math.round(height * 0.06));
  ctx.font = `600 ${fontPx}px sans-serif`;
  const box = { w: Math.ceil(ctx.measureText(mark).width) + 6, h: fontPx + 4 };
  const frameBytes = clip.width * clip.height * 3;
  for (let i = 0; i < clip.frameCount; i++) {
    for (let p = 0, q = i * frameBytes; p < clip.width * clip.height; p++, q += 3) {
      image.data[p * 4] = clip.frames[q] ?? 0;
      image.data[p * 4 + 1] = clip.frames[q + 1] ?? 0;
      image.data[p * 4 + 2] = clip.frames[q + 2] ?? 0;
      image.data[p * 4 + 3] = 255;
    }
    fctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(frame, 0, 0, width, height);
    const { x, y } = watermarkPosition(i, clip.fps, width, height, box);
    ctx.fillStyle = 'rgba(0, 0, 0, 0.35)';
    ctx.fillRect(x, y, box.w, box.h);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.85)';
    ctx.font = `600 ${fontPx}px sans-serif`;
    ctx.textBaseline = 'top';
    ctx.fillText(mark, x + 3, y + 2);
    await video.add(i / clip.fps, 1 / clip.fps);
  }
  // Audio in 20 ms pieces (AAC and Opus encoders take any size; small pieces keep memory flat).
  const piece = Math.round(clip.sampleRate * 0.02);
  for (let s = 0; s < clip.audio.length; s += piece) {
    const data = clip.audio.slice(s, Math.min(clip.audio.length, s + piece));
    const sample = new AudioSample({ data, format: 'f32', numberOfChannels: 1, sampleRate: clip.sampleRate, timestamp: s / clip.sampleRate });
    await audio.add(sample);
    sample.close();
  }
  await output.finalize();
  const buffer = (output.target as BufferTarget).buffer;
  if (!buffer) throw new Error('the encoder produced no file');
  const mimeType = await output.getMimeType();
  const done = { mimeType, container, videoCodec, audioCodec, width, height } as const;
  if (provenance === 'none') return { ...done, bytes: new Uint8Array(buffer), provenance: { signed: false, reason: 'not_requested' } };
  if (container === 'webm') return { ...done, bytes: new Uint8Array(buffer), provenance: { signed: false, reason: 'container_unsupported' } };
  const signed = provenance === 'device' ? await signWithDeviceKey(new Uint8Array(buffer), 'video/mp4', options.recipe) : await signWithInstanceKey(new Uint8Array(buffer), 'video/mp4', options.recipe, provenance);
  return { ...done, bytes: signed.bytes, provenance: signed.provenance };
}
