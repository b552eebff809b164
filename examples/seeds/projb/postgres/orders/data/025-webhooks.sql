INSERT INTO webhooks (id, event, url, active) VALUES
  (1, 'order.paid',     'https://service2.example.com/hooks/paid',     true),
  (2, 'order.shipped',  'https://service2.example.com/hooks/shipped',  true),
  (3, 'order.refunded', 'https://service2.example.com/hooks/refunded', true),
  (4, 'stock.changed',  'https://service1.example.com/hooks/stock',    true);
