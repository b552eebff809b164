-- When a final state (a card, a notice) was sent under a message's key. Another worker's outbox may
-- still hold a progress state of the same message (its edit budget held it back): it is dropped
-- instead of overwriting the card. NULL: no final state sent yet (and for every key made before).
ALTER TABLE chat_messages ADD COLUMN final_at timestamptz;
