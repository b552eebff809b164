-- Point the copied production data at this environment. Rendered with Handlebars first:
-- {{ENV_NAME}} is e.g. projb-qa, {{host "service1"}} is service1.projb-qa.example.com.
UPDATE stores
   SET url = REPLACE(url, 'https://service1.example.com', 'https://{{host "service1"}}');

UPDATE settings SET value = '{{ENV_NAME}}'                             WHERE name = 'environment';
UPDATE settings SET value = 'https://{{host "service1"}}'              WHERE name = 'site.url';
UPDATE settings SET value = 'https://{{host "service2"}}/checkout'     WHERE name = 'checkout.url';
UPDATE settings SET value = 'true'                                     WHERE name = 'payments.sandbox';
UPDATE settings SET value = 'orders+{{ENV_NAME}}@{{BASE_DOMAIN}}'      WHERE name = 'mail.bcc';

-- No real addresses outside production.
UPDATE customers SET email = CONCAT('customer', id, '@{{ENV_NAME}}.invalid');
