INSERT INTO orders (id, order_number, customer_email, status, total, currency, created_at) VALUES
  (1001, 'B-2024-0001', 'jane.doe@example.com',     'shipped',   37.50, 'USD', '2024-03-02 10:15:00+00'),
  (1002, 'B-2024-0002', 'john.smith@example.com',   'shipped',   34.00, 'USD', '2024-03-05 16:40:00+00'),
  (1003, 'B-2024-0003', 'maria.garcia@example.com', 'paid',      47.80, 'USD', '2024-04-13 08:05:00+00'),
  (1004, 'B-2024-0004', 'li.wei@example.com',       'new',       58.00, 'USD', '2024-05-21 11:30:00+00'),
  (1005, 'B-2024-0005', 'anna.k@example.com',       'cancelled', 12.50, 'USD', '2024-05-22 19:00:00+00'),
  (1006, 'B-2024-0006', 'procurement@acme.example.com', 'paid', 290.00, 'USD', '2024-06-01 09:00:00+00');
