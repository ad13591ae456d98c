import { describe, expect, it } from 'vitest';
import { coseSign1Es256, coseSign1ReserveSize } from '../../workers/src/engine/cose-sign1.ts';

/** The C2PA claim signature's COSE_Sign1 must fill the space c2pa-rs reserved to the byte. */
describe('COSE_Sign1 for C2PA (ES256, detached payload)', () => {
  const certificate = new Uint8Array(420).fill(0x30);
  const signer = { certificates: [certificate], sign: () => Promise.resolve(new Uint8Array(64).fill(7)) };

  it('pads to exactly the reserved size; refuses only sizes no single pad entry can fill', async () => {
    const fits = async (size: number) => {
      const out = await coseSign1Es256(new Uint8Array([1, 2, 3]), signer, size).catch(() => null);
      if (out) {
        expect(out.length).toBe(size);
        expect([...out.subarray(0, 2)]).toEqual([0xd2, 0x84]); // tag 18, array of 4
      }
      return out !== null;
    };
    let unpadded = 0; // the size with an empty unprotected header
    while (!(await fits(unpadded))) unpadded++;
    const refused: number[] = [];
    for (let size = unpadded + 1; size < unpadded + 300; size++) if (!(await fits(size))) refused.push(size - unpadded);
    // A "pad" entry costs at least 5 bytes, and its byte-string head grows from 1 to 2 bytes at 24
    // and from 2 to 3 at 256, skipping one total size each time.
    expect(refused).toEqual([1, 2, 3, 4, 4 + 25, 4 + 258]);
    expect(await fits(coseSign1ReserveSize([certificate]))).toBe(true);
  });

  it('signs the RFC 9052 Sig_structure: ["Signature1", protected, empty aad, payload]', async () => {
    let signed: Uint8Array | undefined;
    await coseSign1Es256(new Uint8Array([9, 9]), { certificates: [certificate], sign: (d) => ((signed = d), Promise.resolve(new Uint8Array(64))) }, 1000);
    const text = new TextEncoder().encode('Signature1');
    expect([...signed!.subarray(0, 2 + text.length)]).toEqual([0x84, 0x6a, ...text]);
    expect([...signed!.subarray(-3)]).toEqual([0x42, 9, 9]);
  });
});
