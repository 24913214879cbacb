/**
 * The helper's frames pipe, supervisor end (native/notify.c "Frames pipe"): once it is in use the
 * helper writes every request frame into a pipe this process does not poll, and rings a one-byte
 * doorbell on the mediation channel when the pipe must be read (a frame that waits for an answer,
 * the first replay after a quiet RING_MS, a full pipe). So an exec loop of cached execs costs a
 * wake-up every few milliseconds rather than one per exec.
 *
 * Trust: the pipe is opened through /proc/<pid>/fd/<fd> of the helper, as the helper's hello frame
 * names it, and only if the object found there is a FIFO with the inode the helper reported — a
 * pid that no longer is the helper, or an fd that changed, is not opened (the frames then stay on
 * the channel). Nothing read here is trusted more than the channel: the frames go through the same
 * decoder, and a malformed one still ends the session.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * native/notify.c RING_NS (a test holds the two equal): the helper rings at least this often while
 * it writes replays. 40 ms: in a loop of cached execs each wake-up of this process (pipe read, then
 * a batch of records) takes the other core from the loop; at 10 ms the loop's mean exec cost was
 * ~4% higher (bench: a C fork/exec loop, interleaved builds), above 40 ms it gained nothing more.
 */
export const RING_MS = 40;
const CHUNK = 64 * 1024;

export class FramesPipe {
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  private constructor(private fd: number | null) {}

  /** The pipe the hello frame names, or null if it is not (any more) that pipe. */
  static open(pid: number, fd: number, ino: bigint): FramesPipe | null {
    let p: number;
    try {
      p = openSync(`/proc/${pid}/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK); // libuv adds O_CLOEXEC
    } catch {
      return null;
    }
    try {
      const st = fstatSync(p, { bigint: true });
      if (st.isFIFO() && st.ino === ino) return new FramesPipe(p);
    } catch {
      // not inspectable: not trusted
    }
    closeSync(p);
    return null;
  }

  /**
   * Hands every byte in the pipe now to `each`, in order, in chunks it may keep. Returns whether
   * there was any. A read shorter than the buffer means the pipe was empty at that moment.
   */
  drain(each: (chunk: Buffer) => void): boolean {
    let got = false;
    while (this.fd !== null) {
      let n: number;
      try {
        n = readSync(this.fd, this.buf, 0, CHUNK, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') break;
        throw e;
      }
      if (n === 0) break; // the helper is gone and everything it wrote has been read
      got = true;
      each(Buffer.from(this.buf.subarray(0, n)));
      if (n < CHUNK) break;
    }
    return got;
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
