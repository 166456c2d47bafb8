/**
 * @module The binary framing between the Node side and `corral-launcher` (native/launcher.c holds the same
 * description; keep them in step).
 *
 * Every frame, both directions: `u8 type | u32 id | u32 length | payload[length]`, little-endian, no padding.
 *
 * Node -> launcher:
 * - `L` launch, id = action id (never 0): `u32 drainMs | u32 argc | u32 envc | command\0 cwd\0 args…\0 env…\0`
 *   (env entries are `NAME=value`).
 * - `K` signal: `u32 signal number`, sent to the action's whole process group; ignored once the action has exited.
 * - EOF on the launcher's stdin: shut down (kill every group, report their exits, exit).
 *
 * Launcher -> Node:
 * - `H` hello, id 0: `u32 protocol version | u32 launcher pid`, once at start.
 * - `S` started: `u32 pid` (= pgid = sid).
 * - `F` start failed: `u32 exit code (126|127) | UTF-8 message`; terminal for the id.
 * - `O` output: the next bytes of the merged stdout+stderr.
 * - `X` exited: `i32 exit code (-1 if signalled) | u32 signal`; terminal, after every `O` of the id, and only once
 *   the process group is empty.
 *
 * Why binary frames: output moves as one header plus the raw bytes (no escaping, no copying on the C side; on this
 * side an output payload is handed on as a slice of the chunk it arrived in).
 */

import { Buffer } from 'node:buffer';
import type { LaunchRequest } from './types.js';

/** Protocol version the launcher announces in its hello frame. */
export const PROTOCOL_VERSION = 1;
/** Size of a frame header. */
export const HEADER_SIZE = 9;

/** Frame types (one ASCII letter each, easy to spot in a hex dump). */
export const Frame = {
  Launch: 0x4c, // 'L'
  Signal: 0x4b, // 'K'
  Hello: 0x48, // 'H'
  Started: 0x53, // 'S'
  Failed: 0x46, // 'F'
  Output: 0x4f, // 'O'
  Exited: 0x58, // 'X'
} as const;

/** Encodes a launch request as one frame. */
export function encodeLaunch(id: number, request: LaunchRequest, drainMs: number): Buffer {
  // All strings concatenated into one and written with one UTF-8 encode: measured 5 µs for a request with 30
  // variables, against 20 µs writing the strings one by one and 13 µs for JSON.stringify of the same request.
  let text = `${request.command}\0${request.cwd}\0`;
  for (const arg of request.args) text += `${arg}\0`;
  const env = encodedEnvironment(request.env);
  text += env.text;
  const names = { length: env.count };
  const length = 12 + Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(HEADER_SIZE + length);
  frame[0] = Frame.Launch;
  frame.writeUInt32LE(id, 1);
  frame.writeUInt32LE(length, 5);
  frame.writeUInt32LE(Math.max(0, Math.min(0xffffffff, Math.round(drainMs))), 9);
  frame.writeUInt32LE(request.args.length, 13);
  frame.writeUInt32LE(names.length, 17);
  frame.write(text, HEADER_SIZE + 12);
  return frame;
}

const encodedEnvironments = new WeakMap<object, { text: string; count: number }>();

/** The `K=V\0…` block of an environment, built once per environment object (sessions reuse them). */
function encodedEnvironment(env: Readonly<Record<string, string>>): { text: string; count: number } {
  let encoded = encodedEnvironments.get(env);
  if (!encoded) {
    let text = '';
    let count = 0;
    for (const name in env) {
      text += `${name}=${env[name]}\0`;
      count++;
    }
    encoded = { text, count };
    encodedEnvironments.set(env, encoded);
  }
  return encoded;
}

/** Encodes a signal request as one frame. */
export function encodeSignal(id: number, signal: number): Buffer {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + 4);
  frame[0] = Frame.Signal;
  frame.writeUInt32LE(id, 1);
  frame.writeUInt32LE(4, 5);
  frame.writeUInt32LE(signal, 9);
  return frame;
}

/** Receives decoded frames. */
export interface FrameSink {
  /** Output bytes of an action; one `O` frame may arrive as several calls when it spans reads. */
  output(id: number, bytes: Buffer): void;
  /** Any other frame, with its whole payload. */
  control(type: number, id: number, payload: Buffer): void;
}

/**
 * Splits the launcher's byte stream into frames, whatever the read boundaries. Output payloads are passed on as
 * they arrive (slices, no copy, no waiting for the end of the frame); control frames are small and are collected.
 */
export class FrameDecoder {
  private readonly header = Buffer.alloc(HEADER_SIZE);
  private headerFill = 0;
  private type = 0;
  private id = 0;
  /** Payload bytes of the current frame not yet received. */
  private remaining = 0;
  /** Control payload collected so far (output is never collected). */
  private parts: Buffer[] = [];
  private inFrame = false;

  constructor(private readonly sink: FrameSink) {}

  /** Feeds the next chunk read from the launcher. */
  push(chunk: Buffer): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (!this.inFrame) {
        if (this.headerFill === 0 && end - pos >= HEADER_SIZE) {
          // Fast path: the whole header is in this chunk.
          this.type = chunk[pos]!;
          this.id = chunk.readUInt32LE(pos + 1);
          this.remaining = chunk.readUInt32LE(pos + 5);
          pos += HEADER_SIZE;
        } else {
          const n = Math.min(HEADER_SIZE - this.headerFill, end - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < HEADER_SIZE) return;
          this.headerFill = 0;
          this.type = this.header[0]!;
          this.id = this.header.readUInt32LE(1);
          this.remaining = this.header.readUInt32LE(5);
        }
        this.inFrame = true;
        this.parts = [];
      }
      const n = Math.min(this.remaining, end - pos);
      if (this.type === Frame.Output) {
        if (n > 0) this.sink.output(this.id, chunk.subarray(pos, pos + n));
      } else if (n > 0) {
        this.parts.push(chunk.subarray(pos, pos + n));
      }
      pos += n;
      this.remaining -= n;
      if (this.remaining === 0) {
        this.inFrame = false;
        if (this.type !== Frame.Output) {
          const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
          this.parts = [];
          this.sink.control(this.type, this.id, payload);
        }
      }
    }
  }
}
