// Block Kit for the Slack adapter: pure functions from the core's replies, a workflow's progress and
// environment cards to Slack payloads, one module per surface. No I/O and no clock (callers pass
// `now`), so each is tested with snapshots. Every message carries a plain-text `text` for
// notifications and screen readers.
export { ACTION, actionPattern, clip, esc, formatDuration, mentions, principal, SLACK_LIMITS, type KnownBlock, type MessagePayload } from './common.js';
export { alertMessage } from './alert.js';
export { environmentCard, extendChoice, extendValue, EXTEND_CHOICES, FAILED_COLOR, retryValue, type CardPermissions } from './card.js';
export { createModal, CREATE_CALLBACK_ID, TTL_CHOICES } from './form.js';
export { homeView } from './home.js';
export { noticeMessage, replyMessage, resetChooser, retryCopyValue, storageCopyMessage } from './notices.js';
export { progressMessage } from './progress.js';
