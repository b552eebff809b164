// Every workflow the worker registers (the bundle's entry point).
export { selfCheck } from './self-check.js';
