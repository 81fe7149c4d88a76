// What every entry point (node, browser, Worker) exports besides `createClient`.

export { EdgeflagClient } from './client.js';
export { EdgeflagError } from './errors.js';
export type { EdgeflagErrorCode } from './errors.js';
export type * from './types.js';
