// Shared by the Feathers client scripts: wait on a condition instead of a fixed time.
'use strict';

function waitFor(predicate, timeoutMs) {
  // Resolves once predicate() holds, or after timeoutMs (the caller's checks then say what is missing).
  return new Promise((resolve) => {
    const start = Date.now();
    const tick = () => {
      if (predicate() || Date.now() - start > timeoutMs) return resolve();
      setTimeout(tick, 20);
    };
    tick();
  });
}

module.exports = { waitFor };
