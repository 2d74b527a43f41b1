export * from './elements.js';
export * from './wire.js';
export * from './parse.js';
export * from './build.js';
