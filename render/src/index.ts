// The Pro render node's public surface (render/README.md).
export { clipSha256, describeFailure, RenderNode, type JobOutcome, type RenderNodeEvent, type RenderNodeOptions, type RenderNodeState } from './render-node.ts';
export { decodeAppearance, MAX_APPEARANCE_BYTES, readAppearance } from './appearance.ts';
export { assertFfmpeg, encodeMp4, wavBytes, writeMp4, type Mp4Options } from './mp4.ts';
export { OnnxModel, verifyModelFolder, type GeneratedClip, type GenerateOptions } from '../onnx-model.ts';
