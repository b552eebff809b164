ALTER TABLE categories
  ADD CONSTRAINT uq_categories_slug UNIQUE (slug);

ALTER TABLE products
  ADD CONSTRAINT uq_products_sku UNIQUE (sku),
  ADD CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id),
  ADD INDEX ix_products_price (price);
