-- Only for qa environments, after the common custom scripts: a known login for testers.
INSERT INTO customers (store_id, email, full_name, city, signed_up)
VALUES (1, 'qa.tester@{{ENV_NAME}}.invalid', 'QA Tester', 'Springfield', CURRENT_DATE);

UPDATE settings SET value = 'qa-bcc@{{BASE_DOMAIN}}' WHERE name = 'mail.bcc';
