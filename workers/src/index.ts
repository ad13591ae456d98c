// Public surface of the generation engine (DESIGN.md: workers/). The engine itself lands with
// the in-browser engine issue; the capability probe and the worker protocol's error transport are
// shared from day one.
export { probeCapabilities, type Capabilities } from './capabilities.ts';
export { registerErrorTransfer } from './error-transfer.ts';
export type { EncodedVideo, EncodeOptions } from './engine/encode.ts';
export type { ProvenanceReport, RecipeAssertion } from './engine/provenance.ts';
