// The Adaptive Card builders (schema 1.5): pure functions of the chat core's reply models.
export * from './common.js';
export * from './card.js';
export * from './progress.js';
export * from './replies.js';
