INSERT INTO accounts (id, email, display_name) VALUES
  (1, 'editor@{{ENV_NAME}}.invalid', 'Editor'),
  (2, 'writer@{{ENV_NAME}}.invalid', 'Writer'),
  (3, 'reviewer@{{ENV_NAME}}.invalid', 'Reviewer');
