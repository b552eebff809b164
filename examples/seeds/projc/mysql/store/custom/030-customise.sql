-- Serve product images from this environment's shop ({{host "shop"}}).
UPDATE products
   SET image_url = REPLACE(image_url, 'https://shop.example.com/', 'https://{{host "shop"}}/');

-- Mark test data visibly in every environment.
UPDATE categories SET name = CONCAT(name, ' ({{ENV_NAME}})') WHERE slug = 'apparel';
