// Importing this module registers every operator the IR supports.
import './elementwise.js';
import './nn.js';
import './shape.js';
import './logic.js';
import './indexing.js';

export * from './registry.js';
export { windowOf, windowOutput, type Window } from './nn.js';
