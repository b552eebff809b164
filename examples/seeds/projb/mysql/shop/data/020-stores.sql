INSERT INTO stores (id, code, name, url, created_at) VALUES
  (1, 'main', 'Main store',   'https://service1.example.com',         '2023-01-10 09:00:00'),
  (2, 'outlet', 'Outlet',     'https://service1.example.com/outlet',  '2023-06-01 09:00:00'),
  (3, 'b2b', 'Business',      'https://service1.example.com/b2b',     '2024-02-15 09:00:00');
