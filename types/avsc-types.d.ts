/**
 * avsc's type system alone (`lib/types.js`), without the RPC services and container files that its
 * main entry also loads: a third of the code, and about 8 ms less at a Lambda cold start.
 */
declare module 'avsc/lib/types.js' {
  export { Type } from 'avsc';
}

/** avsc's byte cursor (`lib/utils.js`): the primitive encodings its types write with. */
declare module 'avsc/lib/utils.js' {
  export class Tap {
    constructor(buf: Buffer, pos?: number);
    buf: Buffer;
    pos: number;
    /** False once a write ran past the end of `buf` (nothing past it was written). */
    isValid(): boolean;
    writeLong(n: number): void;
    writeDouble(n: number): void;
    writeString(s: string): void;
    writeFixed(buf: Buffer, len?: number): void;
  }
}
