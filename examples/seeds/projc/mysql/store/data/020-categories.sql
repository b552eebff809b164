INSERT INTO categories (id, slug, name) VALUES
  (1, 'apparel',     'Apparel'),
  (2, 'accessories', 'Accessories'),
  (3, 'home',        'Home & kitchen');
