-- Lower environments never mail real people: every address goes to the environment's own domain.
UPDATE subscribers SET email = CONCAT('subscriber', id, '@{{ENV_NAME}}.invalid');
