// Public surface of the generation engine (DESIGN.md: workers/). The engine itself lands with
// the in-browser engine issue; the worker protocol's error transport is shared from day one.
export { registerErrorTransfer } from './error-transfer.ts';
