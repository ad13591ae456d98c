import { transferHandlers, type TransferHandler } from 'comlink';
import { deserializeError, serializeError, type SerializedError } from '../../contracts/index.ts';

interface ThrownValue {
  readonly value: unknown;
}

/**
 * Comlink's built-in "throw" handler keeps only name, message and stack, so a worker's
 * IntegrityError would reach the page as a bare Error. This one sends `{code, message, details}`
 * and rebuilds the same class on the other side. Both sides must register it.
 */
const comlinkThrow = transferHandlers.get('throw');

const errorTransfer: TransferHandler<ThrownValue, SerializedError> = {
  // Comlink marks thrown values with a private symbol; its own handler is the only one that can tell.
  canHandle: (value): value is ThrownValue => comlinkThrow?.canHandle(value) ?? false,
  serialize: ({ value }) => [serializeError(value), []],
  deserialize: (serialized) => {
    throw deserializeError(serialized);
  },
};

export function registerErrorTransfer(): void {
  transferHandlers.set('throw', errorTransfer as TransferHandler<unknown, unknown>);
}
