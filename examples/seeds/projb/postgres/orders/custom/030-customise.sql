-- Point the copied production data at this environment. Rendered with Handlebars first:
-- {{ENV_NAME}} is e.g. projb-qa, {{host "service2"}} is service2.projb-qa.example.com.
UPDATE webhooks
   SET url = replace(url, 'https://service2.example.com', 'https://{{host "service2"}}');
UPDATE webhooks
   SET url = replace(url, 'https://service1.example.com', 'https://{{host "service1"}}');

-- No real addresses outside production.
UPDATE orders SET customer_email = 'customer' || id || '@{{ENV_NAME}}.invalid';

-- Rows were loaded with explicit ids: let the identity columns continue after them.
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
SELECT setval(pg_get_serial_sequence('order_lines', 'id'), (SELECT max(id) FROM order_lines));
