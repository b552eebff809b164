-- Keys and indexes, added once all data is in.
ALTER TABLE orders
  ADD CONSTRAINT uq_orders_number UNIQUE (order_number),
  ADD CONSTRAINT ck_orders_status CHECK (status IN ('new', 'paid', 'shipped', 'cancelled', 'refunded'));

ALTER TABLE order_lines
  ADD CONSTRAINT fk_order_lines_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  ADD CONSTRAINT ck_order_lines_quantity CHECK (quantity > 0);

ALTER TABLE webhooks
  ADD CONSTRAINT uq_webhooks_event UNIQUE (event);

CREATE INDEX ix_order_lines_order_id ON order_lines (order_id);
CREATE INDEX ix_orders_customer_email ON orders (customer_email);
CREATE INDEX ix_orders_created_at ON orders (created_at);
