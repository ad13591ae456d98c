import { expect } from 'chai';
import { wrap, type Remote } from 'comlink';
import { ALL_FORMATS, BufferSource, EncodedPacketSink, Input } from 'mediabunny';
import { AI_GENERATED_NOTE, watermarkPosition, type RawClip } from '../../workers/src/engine/encode.ts';
import type { EncoderApi } from '../../workers/src/engine/encoder.worker.ts';
import { registerErrorTransfer } from '../../workers/src/index.ts';

registerErrorTransfer();

/** 24 frames of 64×64 at 12 fps: a red square crossing a grey stage; a 440 Hz tone with a knock. */
function syntheticClip(): RawClip {
  const [n, w, h, fps, rate] = [24, 64, 64, 12, 24_000];
  const frames = new Uint8Array(n * w * h * 3).fill(120);
  for (let f = 0; f < n; f++) {
    for (let y = 20; y < 36; y++) for (let x = 2 * f; x < 2 * f + 16; x++) frames.set([220, 30, 30], ((f * h + y) * w + x) * 3);
  }
  const audio = Float32Array.from({ length: (n / fps) * rate }, (_, i) => 0.2 * Math.sin((2 * Math.PI * 440 * i) / rate) + (i > rate && i < rate + 800 ? 0.5 * Math.exp(-(i - rate) / 200) : 0));
  return { frames, frameCount: n, width: w, height: h, fps, audio, sampleRate: rate };
}

async function readBack(bytes: Uint8Array) {
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  const videoTrack = await input.getPrimaryVideoTrack();
  const audioTracks = await input.getAudioTracks();
  let packets = 0;
  if (videoTrack) for await (const _ of new EncodedPacketSink(videoTrack).packets()) packets++;
  return { duration: await input.computeDuration(), videoTrack, audioTracks, packets, tags: await input.getMetadataTags(), format: (await input.getFormat()).name };
}

describe('encoder worker: MP4 (H.264 + AAC) or WebM, watermarked, with the recipe', () => {
  let worker: Worker;
  let encoder: Remote<EncoderApi>;
  const recipe = { version: 1, prompt: 'a red ball bounces in a gym', seed: 7 };
  before(() => {
    worker = new Worker(new URL('../../workers/src/engine/encoder.worker.ts', import.meta.url), { type: 'module' });
    encoder = wrap<EncoderApi>(worker);
  });
  after(() => worker.terminate());

  it('writes an MP4 that decodes back: both tracks, every frame, the duration and the recipe', async () => {
    const video = await encoder.encode(syntheticClip(), { recipe, container: 'mp4' });
    expect(video.container).to.equal('mp4');
    expect(video.mimeType).to.match(/^video\/mp4/);
    expect([video.width, video.height]).to.deep.equal([128, 128]);
    const back = await readBack(video.bytes);
    expect(back.videoTrack?.codec).to.equal('avc');
    expect(back.audioTracks.map((t) => t.codec)).to.deep.equal(['aac']);
    expect(back.packets).to.equal(24);
    expect(back.duration).to.be.within(1.95, 2.1);
    expect(JSON.parse(back.tags.comment ?? 'null')).to.deep.equal(recipe);
    expect(back.tags.description).to.equal(AI_GENERATED_NOTE);
    expect(video.provenance).to.include({ signed: true, standard: 'c2pa' });
  });

  it("keeps cameos' consent tokens out of the file's metadata", async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const withCameo = { ...recipe, cameos: [{ cameoId: 'cam_1', consentToken: token }] };
    const video = await encoder.encode(syntheticClip(), { recipe: withCameo, container: 'webm', scale: 1 });
    const back = await readBack(video.bytes);
    expect(JSON.parse(back.tags.comment ?? 'null')).to.deep.equal({ ...recipe, cameos: [{ cameoId: 'cam_1' }] });
    expect(new TextDecoder('latin1').decode(video.bytes)).not.to.include(token);
  });

  it('writes WebM (VP9 + Opus) when asked', async () => {
    const video = await encoder.encode(syntheticClip(), { recipe, container: 'webm', scale: 1 });
    const back = await readBack(video.bytes);
    expect(video.container).to.equal('webm');
    expect(back.videoTrack?.codec).to.equal('vp9');
    expect(back.audioTracks.map((t) => t.codec)).to.deep.equal(['opus']);
    expect(back.packets).to.equal(24);
  });

  it('moves the watermark around the frame over time', () => {
    const box = { w: 40, h: 10 };
    const spots = Array.from({ length: 48 }, (_, i) => watermarkPosition(i, 12, 128, 128, box));
    expect(new Set(spots.map((p) => `${Math.round(p.x)},${Math.round(p.y)}`)).size).to.be.greaterThan(20);
    for (const p of spots) {
      expect(p.x).to.be.within(0, 128 - box.w);
      expect(p.y).to.be.within(0, 128 - box.h);
    }
  });
});
