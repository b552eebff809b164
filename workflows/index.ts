// Every workflow the worker registers (the bundle's entry point).
export { selfCheck } from './self-check.js';
export { createEnvironment } from './create-environment.js';
export { destroyEnvironment } from './destroy-environment.js';
export { resetDatabases } from './reset-databases.js';
export { environmentLifecycle } from './lifecycle.js';
export { storageCopy } from './storage-copy.js';
export { storageRefresh } from './storage-refresh.js';
export { gitPush } from './git-push.js';
export { trackService } from './track-service.js';
export { promotionCheck } from './promotion-check.js';
