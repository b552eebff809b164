INSERT INTO settings (name, value) VALUES
  ('environment',        'production'),
  ('site.url',           'https://service1.example.com'),
  ('checkout.url',       'https://service2.example.com/checkout'),
  ('payments.sandbox',   'false'),
  ('mail.bcc',           'orders@example.com');
