// Preloaded with `node --require` (NODE_OPTIONS) by a test: at exit, prints to stderr how many of
// the process's CommonJS modules came from @temporalio, so a test can tell whether a command loaded
// the engine at all.
process.on('exit', () => {
  const loaded = Object.keys(require.cache);
  process.stderr.write(`[loaded-modules] temporal=${loaded.filter((k) => k.includes('@temporalio')).length} total=${loaded.length}\n`);
});
