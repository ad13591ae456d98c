/** The encoder's own worker: a generated clip in, an MP4 (or WebM) file out, via comlink. */
import { expose, transfer } from 'comlink';
import { registerErrorTransfer } from '../error-transfer.ts';
import { encodeClip, type EncodedVideo, type EncodeOptions, type RawClip } from './encode.ts';

registerErrorTransfer();

const api = {
  async encode(clip: RawClip, options: EncodeOptions): Promise<EncodedVideo> {
    const video = await encodeClip(clip, options);
    return transfer(video, [video.bytes.buffer]);
  },
};

export type EncoderApi = typeof api;
expose(api);
