-- Keys and indexes, added once all data is in.
ALTER TABLE stores
  ADD CONSTRAINT uq_stores_code UNIQUE (code);

ALTER TABLE customers
  ADD CONSTRAINT uq_customers_email UNIQUE (email),
  ADD CONSTRAINT fk_customers_store FOREIGN KEY (store_id) REFERENCES stores (id),
  ADD INDEX ix_customers_city (city);
