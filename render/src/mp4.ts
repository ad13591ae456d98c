import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UnsupportedError } from '../../contracts/index.ts';
import type { GeneratedClip } from '../onnx-model.ts';

/**
 * A generated clip as MP4 (H.264 + AAC) through ffmpeg: the reference generator (scripts/generate.ts)
 * writes files with it, the render node encodes each job with it. ffmpeg must be on PATH; the scripts
 * install it with apt (scripts/system-packages.ts), a render node's host is expected to have it.
 */

/** 16-bit mono WAV bytes of PCM in [-1, 1]. */
export function wavBytes(pcm: Float32Array, sampleRate: number): Uint8Array {
  const out = new DataView(new ArrayBuffer(44 + pcm.length * 2));
  const text = (offset: number, s: string) => [...s].forEach((c, i) => out.setUint8(offset + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  out.setUint32(4, 36 + pcm.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true);
  out.setUint16(22, 1, true);
  out.setUint32(24, sampleRate, true);
  out.setUint32(28, sampleRate * 2, true);
  out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  text(36, 'data');
  out.setUint32(40, pcm.length * 2, true);
  pcm.forEach((v, i) => out.setInt16(44 + i * 2, Math.round(Math.max(-1, Math.min(1, v)) * 32767), true));
  return new Uint8Array(out.buffer);
}

export interface Mp4Options {
  /** Output size, when it differs from the model's (scaled with ffmpeg's bicubic filter); both even. */
  readonly width?: number;
  readonly height?: number;
  /** Cut the clip to this many seconds (it is never lengthened). */
  readonly durationS?: number;
}

/** Throws UnsupportedError when ffmpeg cannot be run. */
export function assertFfmpeg(): void {
  const probe = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) throw new UnsupportedError({ feature: 'MP4 encoding without ffmpeg (install it: apt-get install -y ffmpeg)' });
}

export async function writeMp4(clip: GeneratedClip, out: string, comment: string, options: Mp4Options = {}): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'zoetrope-mp4-'));
  try {
    const wav = join(dir, 'audio.wav');
    await writeFile(wav, wavBytes(clip.audio, clip.sampleRate));
    const args = ['-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${clip.width}x${clip.height}`, '-r', String(clip.fps), '-i', '-', '-i', wav];
    const { width = clip.width, height = clip.height } = options;
    if (width !== clip.width || height !== clip.height) args.push('-vf', `scale=${width}:${height}:flags=bicubic`);
    if (options.durationS !== undefined) args.push('-t', String(options.durationS));
    args.push('-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', '16', '-c:a', 'aac', '-b:a', '96k', '-shortest', '-movflags', '+faststart', '-metadata', `comment=${comment}`, out);
    await new Promise<void>((done, fail) => {
      const ff = spawn('ffmpeg', args, { stdio: ['pipe', 'inherit', 'pipe'] });
      let stderr = '';
      ff.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ff.on('error', fail);
      ff.on('close', (code) => (code === 0 ? done() : fail(new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`))));
      ff.stdin.end(clip.frames);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The clip as MP4 bytes (ffmpeg needs a seekable file for +faststart, so through a temporary one). */
export async function encodeMp4(clip: GeneratedClip, comment: string, options: Mp4Options = {}): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'zoetrope-render-'));
  try {
    const out = join(dir, 'clip.mp4');
    await writeMp4(clip, out, comment, options);
    return new Uint8Array(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
