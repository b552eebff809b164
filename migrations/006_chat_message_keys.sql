-- Every message an operation sends is kept under its key (the workflow run and what the message
-- is: 'progress', 'outcome', 'warning-<deadline>'), so a send that is retried edits the message
-- instead of posting it again. The reference is empty while the first post's answer is awaited
-- (or was lost: then the platform is asked for the message by its key). The console (the CLI, and
-- platforms that are off) keeps its messages here too.
ALTER TABLE chat_messages ADD COLUMN kind text NOT NULL DEFAULT 'progress';
ALTER TABLE chat_messages ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE chat_messages ALTER COLUMN message_ref DROP NOT NULL;
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_platform_operation_key;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_platform_operation_kind_key UNIQUE (platform, operation, kind);
ALTER TABLE chat_messages DROP CONSTRAINT chat_messages_platform_check;
ALTER TABLE chat_messages ADD CONSTRAINT chat_messages_platform_check CHECK (platform IN ('slack', 'teams', 'console'));
COMMENT ON COLUMN chat_messages.operation IS 'the workflow run: <workflow id>:<run id>';
